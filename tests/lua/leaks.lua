-- leaks.lua - error paths for the leak check (tests/e2e_leaks.sh runs this under valgrind): every
-- call below fails after the C side has acquired something (userdata, data, optimiser state, a
-- Lua callback in flight); the state is closed normally at the end so leaks show as "definitely lost".
local R = resmlp
local data = arg[1] or "../shared/data/cifar-10-batches-bin"
local n = 0
local function fails(f)
  local ok, err = pcall(f)
  assert(not ok, "expected an error")
  n = n + 1
end
local junk = os.tmpname()
local f = io.open(junk, "w"); f:write("not a safetensors file at all"); f:close()
fails(function() R.load(junk) end)
fails(function() R.load("/nonexistent/x.safetensors") end)
fails(function() R.model{hidden = 0} end)
fails(function() R.model{act = "lerp_psa", grid = 1, hidden = 8} end)
fails(function() R.data("cifar10", "/nonexistent") end)
fails(function() R.data("cifar10", junk) end)
fails(function() R.train{epoch = 1} end)
local m = R.model{act = "lerp_psa", hidden = 8}
fails(function() m:param("nope") end)
fails(function() m:curve{ch = 1000} end)
fails(function() m:assign("classifier.bias", {1, 2, "x"}) end)
fails(function() m:train{} end)
local train = R.data("cifar10", data, {split = "train", limit = 128, name = "tiny"})
local small = R.model{act = "lerp_psa", hidden = 4, embed = 8, name = "small"}   -- one cheap step under valgrind
fails(function() small:train{data = train, epochs = 1, batch = 8, limit = 8, quiet = true, on_epoch = function() error("callback") end} end)
fails(function() m:train{data = train, epochs = 1, batch = 1000, quiet = true} end)
fails(function() m:train{data = train, quiet = true, teacher = R.model{hidden = 8, embed = 48, name = "t"}, kt_block = 1} end)
fails(function() m:save(junk .. "/x.safetensors") end)
-- INT8 commands (cmd_quant.c): failures after the QModel, the report or the converter's log exist
local qr = R.quantize{model = small, data = train, calib = 32, percentile = 100, quiet = true}
fails(function() R.quantize{model = small, data = train, calib = 32, percentile = 100, quiet = true,
                            out = "/proc/resmlp-leak.safetensors"} end)
fails(function() R.quantize{model = small, data = train, calib = 1, quiet = true} end)
fails(function() qr.qmodel:verify{data = train, path = "nope"} end)
fails(function() qr.qmodel:qat{data = train, epochs = 1, batch = 1000, quiet = true} end)
fails(function() qr.qmodel:lut{layer = "x"} end)
fails(function() R.plot.lut{ch = 999, quiet = true} end)
fails(function() R.qload(junk) end)
fails(function() R.import(junk, {quiet = true}) end)
qr.qmodel:close()
fails(function() R.verify{qmodel = qr.qmodel, data = train} end)
local t = m:param("classifier.weight")
m:close()
fails(function() return t[1] end)
fails(function() m:info() end)
os.remove(junk)
print("leak check: " .. n .. " failing calls")
