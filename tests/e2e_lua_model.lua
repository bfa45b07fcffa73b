-- e2e_lua_model.lua - Lua API of models: construction (parameter counts of the paper), info, layers,
-- Tensor views (shape, indexing, totable, printing, closed-model errors), assign/copy, save/load
-- round trip, curves, close and <close>, the workspace. Run by tests/run.sh with `./resmlp run`.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp

-- parameter counts from the paper's code (REFERENCE.md)
for _, c in ipairs{{"relu", 96, 100074}, {"relu", 192, 174186}, {"lerp_psa", 96, 120042}, {"bspline", 96, 149994}} do
  local m <close> = R.model{act = c[1], hidden = c[2], name = "count_" .. c[1] .. c[2]}
  T.eq(m:info().params, c[3], c[1] .. " h=" .. c[2] .. " parameters")
end

local m = R.model{act = "lerp_psa", hidden = 16, seed = 7, name = "lp"}
T.eq(getmetatable(m).__name, "resmlp.Model", "Model metatable")
T.check(tostring(m):find("lerp_psa", 1, true), "tostring names the activation")
T.eq(R.current(), m, "a new model becomes current")
T.eq(R.ws.lp, m, "and is in the workspace under its name")
local info = m:info()
T.eq(info.act, "lerp_psa", "info.act"); T.eq(info.hidden, 16, "info.hidden"); T.eq(info.grid, 64, "info.grid")
T.eq(info.layers, 4, "info.layers"); T.eq(info.name, "lp", "info.name")
T.check(info.bytes > info.params * 4, "memory covers at least the parameters")

local layers = m:layers()
T.eq(#layers, 1 + 4 * 9 + 2, "module count (embed, 9 per block, head)")
local acts = 0
for _, l in ipairs(layers) do if l.activation then acts = acts + 1 end end
T.eq(acts, 8, "two learned activation layers per block")
T.eq(layers[1].name, "embed_linear", "first module")
T.eq(layers[#layers].name, "classifier", "last module")

-- tensors
local names = m:params()
T.check(#names > 20, "params() lists tensors")
local w = m:param("classifier.weight")
T.eq(getmetatable(w).__name, "resmlp.Tensor", "Tensor metatable")
T.eq(#w, 10, "#t is the first dimension")
local sh = w:shape(); T.eq(sh[1], 10, "shape[1]"); T.eq(sh[2], 96, "shape[2]")
T.eq(w:dim(), 2, "dim"); T.eq(w:numel(), 960, "numel")
T.eq(w[2][3], w:get(2, 3), "row view indexing equals get")
local tt = w:totable(); T.eq(tt[10][96], w:get(9, 95), "totable (a plain 1-based Lua table) vs 0-based get")
T.eq(w[0][0], w:get(0, 0), "0-based: t[0] is the first row")
T.errors(function() return w[#w] end, "past the end", "out of range 0..")
T.check(w:min() <= w:mean() and w:mean() <= w:max() and w:std() > 0, "stats")
T.check(w:show():find("...", 1, true), "t:show() prints large tensors as head ... tail")
T.check(not tostring(w):find("\n") and tostring(w):find("Tensor classifier.weight (10, 96) min", 1, true), "tostring: one line: " .. tostring(w))
T.errors(function() return w[11] end, "index out of range", "out of range")
T.errors(function() return m:param("classifer.weight") end, "unknown tensor", "did you mean 'classifier.weight'")
local b = m:param("layers.0.layers.1.layers.0.psa.o_weight")
T.eq(b:dim(), 1, "1-D tensor"); T.eq(b[0], 1.0, "o_weight init 1")

-- assign from a table and from a tensor, copy
local zeros = {}
for i = 1, 10 do zeros[i] = 0.5 end
m:assign("classifier.bias", zeros)
T.eq(m:param("classifier.bias")[2], 0.5, "assign from a table (its 3rd value is index 2)")
local m2 = m:copy()
T.eq(m2:param("classifier.bias")[2], 0.5, "copy keeps values")
m2:assign("classifier.weight", m:param("classifier.weight"))
T.eq(m2:param("classifier.weight"):get(4, 5), w:get(4, 5), "assign from a tensor")
T.errors(function() m:assign("classifier.bias", {1, 2}) end, "assign size mismatch", "10 values")

-- curves: the LERP function vs the smooth ResPSA agree closely inside the grid
local x, y = m:curve{block = 1, layer = "mlp.2", ch = 3, lo = -2, hi = 2, n = 9}
local _, ys = m:curve{block = 1, layer = "mlp.2", ch = 3, lo = -2, hi = 2, n = 9, which = "smooth"}
T.eq(#x, 9, "curve points"); T.near(x[5], 0, 1e-6, "x midpoint")
local maxd = 0
for i = 1, 9 do maxd = math.max(maxd, math.abs(y[i] - ys[i])) end
T.check(maxd < 0.5, "lerp close to smooth ResPSA (max diff " .. maxd .. ")")
local x2 = m:curve{layer = "layers.3.layers.1.layers.0", n = 3}
T.eq(#x2, 3, "curve by full layer name")
T.errors(function() m:curve{ch = 500} end, "channel range", "out of range")

-- save / load round trip
local dir = T.tmpdir()
local path = dir .. "/sub/lp.safetensors"
T.eq(m:save(path), path, "save returns the path")
local l = R.load(path)
T.eq(R.current(), l, "load makes the model current")
T.check(R.ws.lp == l, "load names it after the file")
T.eq(l:param("classifier.bias")[2], 0.5, "loaded values")
T.eq(l:param("layers.2.layers.1.layers.2.psa.v_weight"):get(5, 2), m:param("layers.2.layers.1.layers.2.psa.v_weight"):get(5, 2), "psa weights round trip")
local l2 = R.load("other", path)
T.eq(R.ws.other, l2, "load NAME PATH")
R.model("lp")
T.eq(R.current(), l, "model NAME selects the current model")
T.errors(function() R.model("nosuch") end, "selecting an unknown model", "no model named 'nosuch'")
T.errors(function() R.load(dir .. "/missing.safetensors") end, "loading a missing file", "missing.safetensors")

-- close: idempotent, later use is an error, tensors of a closed model refuse access
local c = R.model{hidden = 8, name = "tmp"}
local ct = c:param("classifier.bias")
c:close(); c:close()
T.check(tostring(c):find("closed", 1, true), "tostring of a closed model")
T.errors(function() c:info() end, "closed model", "closed")
T.errors(function() return ct[1] end, "tensor of a closed model", "closed")
do
  local scoped <close> = R.model{hidden = 8, name = "scoped"}
  T.eq(scoped:info().hidden, 8, "scoped model works")
end
T.check(tostring(R.ws.scoped):find("closed", 1, true), "<close> released the model")

-- who lists the workspace
R.model("lp")
local who = R.who()
local seen = {}
for _, e in ipairs(who) do seen[e.name] = e end
T.check(seen.lp and seen.lp.kind == "Model" and seen.lp.current, "who: current model")
T.check(seen.other and seen.other.bytes > 0, "who: memory")
os.execute("rm -rf '" .. dir .. "'")
-- every object prints one line; functions print by name, not as addresses
local d16 = R.data("cifar10", "tests/fixtures/paper_cifar16.bin", {split = "test", name = "d16"})
for _, o in ipairs{m, d16, m:param("classifier.weight"), m:forward(m:inputs(d16, 0, 2))} do
  local s = tostring(o)
  T.check(not s:find("\n") and not s:find("0x%x+") and #s < 300, "one-line tostring: " .. s)
end
T.eq(R.repr(m.train), "method Model:train", "a method prints by name")
T.eq(R.repr(R.plot.act), "function resmlp.plot.act", "a module function prints by name")
T.check(not R.repr(R.plot):find("0x%x+"), "no addresses in a table of functions: " .. R.repr(R.plot))
T.done()
