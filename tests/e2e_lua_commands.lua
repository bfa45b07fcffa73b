-- e2e_lua_commands.lua - the command registry seen from Lua: every command is a function of the
-- module; option checking (unknown names and bad values with suggestions, types, choices, aliases,
-- positionals), command metadata, threads, and the prelude helpers (args, markdown, repr, write).
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp

local cmds = R.commands()
local byname = {}
for _, c in ipairs(cmds) do byname[c.name] = c end
for _, n in ipairs{"data", "model", "load", "save", "train", "eval", "info", "layers", "curve", "who", "help", "quit", "threads", "param"} do
  T.check(byname[n] and type(R[n]) == "function", "command " .. n .. " is a module function")
end
local epochs
for _, o in ipairs(byname.train.options) do if o.name == "epochs" then epochs = o end end
T.check(epochs and epochs.type == "INT" and epochs.default == "1" and epochs.help, "train's epochs option has type, default and help")

T.errors(function() R.train{epoch = 3} end, "unknown option", "unknown option 'epoch'", "did you mean 'epochs'")
T.errors(function() R.model{hiden = 3} end, "unknown option with a typo", "did you mean 'hidden'")
T.errors(function() R.model{hidden = "many"} end, "bad integer", "bad value 'many' for hidden=", "integer")
T.errors(function() R.model{hidden = 1.5} end, "non-integral number", "expected an integer")
T.errors(function() R.model{act = "lerp"} end, "bad choice", "did you mean 'lerp_psa'")
T.errors(function() R.model{act = "tanh"} end, "bad choice without a near name", "choices: relu/gelu/lerp_psa/bspline")
T.errors(function() R.info("a", "b") end, "too many positionals", "too many arguments")
T.errors(function() R.train{on_epoch = 3, model = R.model{hidden = 8}} end, "function option", "Lua function")
T.errors(function() R.eval{model = "nope"} end, "unknown model name", "no model named 'nope'")
T.errors(function() R.train{[true] = 1} end, "bad key", "option names")
T.errors(function() R.help("trian") end, "help suggestion", "did you mean 'train'")

-- strings are converted like command lines do
local m = R.model{act = "relu", hidden = "24", seed = "5", name = "s"}
T.eq(m:info().hidden, 24, "string numbers convert")
T.errors(function() R.curve{n = "0x"} end, "bad number string", "expected an integer")
T.errors(function() R.train{quiet = "maybe"} end, "bad boolean", "true or false")

-- positionals by position and by name, options table after positionals
local x1 = R.curve{n = 3}
T.eq(#x1, 3, "curve n from a table")
T.eq(#R.param("classifier.weight", {model = "s"}), 10, "positional then an option table")
local p = R.param("classifier.bias")
T.eq(#p, 10, "param positional")
T.eq(#R.param{name = "classifier.bias"}, 10, "positional by name")

-- threads
local n0 = R.threads()
T.eq(R.threads(2), 2, "threads set"); T.eq(R.threads(1), 1, "threads set back")
T.check(n0 >= 1, "threads get")

-- prelude helpers
local o, rest = R.args({"--quick", "--epochs=3", "--hs", "8,16", "file", "--name", "x"},
                       {quick = false, epochs = 1, hs = {}, name = "a"})
T.eq(o.quick, true, "args flag"); T.eq(o.epochs, 3, "args number")
T.eq(o.hs[2], 16, "args list"); T.eq(o.name, "x", "args string"); T.eq(rest[1], "file", "args rest")
T.errors(function() R.args({"--nope"}, {a = 1}) end, "args unknown option", "unknown option --nope")
local md = R.markdown({"a", "b"}, {{1, 2}, {"x"}})
T.eq(md, "| a | b |\n|---|---|\n| 1 | 2 |\n| x |  |\n", "markdown table")
T.eq(R.repr({acc = 0.5, n = 3, 1, 2}), "{1, 2, acc = 0.5, n = 3}", "repr of a table")
T.eq(R.repr("s"), "s", "repr of a string")
local dir = T.tmpdir()
R.write(dir .. "/a/b.txt", "hello")
local f = io.open(dir .. "/a/b.txt"); T.eq(f:read("a"), "hello", "write makes directories"); f:close()
os.execute("rm -rf '" .. dir .. "'")
T.check(type(R.clock()) == "number", "clock")
T.eq(R.version, "0.1", "version")
T.check(package.loaded.resmlp == R and require("resmlp") == R, "require 'resmlp'")
-- matmul precision: resmlp.precision() reads, ("bf16") sets where the CPU path has bf16 units, info reports it
T.eq(R.precision(), "fp32", "precision defaults to fp32")
local pb = R.precision("bf16")
T.check(pb == "bf16" or pb == "fp32", "precision('bf16') returns the precision in effect")
local mi = R.info(R.model{hidden = 8, name = "pm"})
T.eq(mi.precision, pb, "info reports the precision")
T.check(type(mi.isa) == "string" and #mi.isa > 0, "info reports the matmul path")
T.eq(R.precision("fp32"), "fp32", "back to fp32")
T.errors(function() R.precision("fp16") end, "bad precision", "fp32/bf16")
T.done()
