-- e2e_qnet.lua - integer layer-list nets from Lua on real data: `quantize` of a trained net builds its
-- integer engine (binary XNOR-popcount, ternary / n-bit bit planes, 8-bit input codes, thresholds),
-- `verify` checks that every logit and every hidden bit equals the float forward's on the whole test split
-- and that the accuracy is far above chance; qsave/qload round trip (a tampered file is refused); one-line
-- errors for the ResMLP-only commands and for nets the engine cannot take.
-- Vertebral MLP 6-32-32-3 (8-bit input, 16-bit first layer, binary weights, sign with ReSTE), MiniMNIST CNN
-- conv 16, conv 32 + maxpool, fc 32-32-10 binary (the issue's reference shapes, short runs).
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp
local dir = T.tmpdir()
local D = (os.getenv("RESMLP_DATA_DIR") or "../shared/data")

local function exact(v, what, chance)
  T.eq(v.bit_exact, true, what .. ": bit-exact with the float forward")
  T.eq(v.logit_mismatch, 0, what .. ": no image with a differing logit")
  T.eq(v.bit_mismatch, 0, what .. ": no differing hidden bit")
  T.check(v.bits > 0, what .. ": hidden bits compared: " .. v.bits)
  T.eq(v.int_acc, v.fq_acc, what .. ": integer accuracy == float accuracy")
  T.check(v.int_acc > chance, what .. ": accuracy " .. v.int_acc .. " well above chance")
end

-- vertebral MLP: lr 0.01, wd 1e-4, batch 32, 15 epochs (the reference recipe)
local train, test = R.data("vertebral", D .. "/vertebral/column_3C.dat", {test_frac = 0.2, seed = 1})
local m = R.model{kind = "mlp", layers = "6-32-32-3", w = "int16,binary", act = "sign_reste", in_bits = 8, name = "v", seed = 1}
m:train{data = train, epochs = 15, batch = 32, lr = 0.01, wd = 1e-4, quiet = true, live = false}
local r = R.quantize{model = m, quiet = true}
T.eq(r.name, "v_int", "default name"); T.eq(R.ws.v_int, r.qmodel, "in the workspace")
T.check(r.engine:find("8-bit input", 1, true) and r.engine:find("2 XNOR-popcount", 1, true), "engine: " .. r.engine)
T.check(tostring(r.qmodel):find("QModel(integer engine", 1, true), "tostring: " .. tostring(r.qmodel))
local v = R.verify{data = test, quiet = true}
T.eq(v.n, 62, "every test sample")
exact(v, "vertebral MLP", 0.6)
local info = r.qmodel:info()
T.eq(info.kind, "net", "info kind"); T.near(info.int_acc, v.int_acc, 1e-6, "info keeps the verify result")
-- both engine paths
local vp = R.verify{data = test, path = "portable", quiet = true}
T.eq(vp.path, "portable", "portable path"); exact(vp, "portable path", 0.6)

-- the integer model file: round trip, and a file whose thresholds were edited is refused
local f = dir .. "/v_int.safetensors"
R.qsave(f)
local q2 = R.qload("v2", f)
local v2 = R.verify{data = test, qmodel = "v2", quiet = true}
exact(v2, "after qload", 0.6); T.eq(v2.int_acc, v.int_acc, "same accuracy after qload")
do
  local h = io.open(f, "rb"); local s = h:read("a"); h:close()
  local n = string.unpack("<I8", s)
  local hdr = s:sub(9, 8 + n)
  local a = hdr:match('"int%.layers%.4%.thresholds":{[^}]*"data_offsets":%[(%d+),')
  T.check(a, "thresholds of layer 4 in the file")
  if a then
    local off = 8 + n + tonumber(a) + 1
    local b = s:byte(off)
    local bad = s:sub(1, off - 1) .. string.char((b + 1) % 256) .. s:sub(off + 1)
    local g = dir .. "/bad.safetensors"
    h = io.open(g, "wb"); h:write(bad); h:close()
    T.errors(function() R.qload("bad", g) end, "tampered thresholds", "layer 4 channel 0: threshold")
  end
end
T.errors(function() R.qload("f", (function() local p = dir .. "/float.safetensors"; m:save(p); return p end)()) end,
         "a float net checkpoint is not a quantized model", "not a quantised resmlp model (format 'resmlp-net-1')")

-- ternary and n-bit hidden layers (bit planes) on the same data
local m3 = R.model{kind = "mlp", layers = "6-32-32-3", w = "int8,ternary,int4", act = "sign_reste", in_bits = 8, name = "t", seed = 2}
m3:train{data = train, epochs = 15, batch = 32, lr = 0.01, wd = 1e-4, quiet = true, live = false}
local r3 = R.quantize{model = m3, quiet = true}
T.check(r3.engine:find("2 bit-plane", 1, true), "ternary/int4 layers as bit planes: " .. r3.engine)
exact(R.verify{data = test, quiet = true}, "ternary / int4 MLP", 0.5)

-- errors: ResMLP-only commands, paths of the INT8 engine, nets the engine cannot take
T.errors(function() R.qat{qmodel = r3.qmodel, data = train, quiet = true} end, "qat on a net", "integer layer-list net")
T.errors(function() R.verify{data = test, path = "avx2", quiet = true} end, "INT8 path", "auto (AVX-512 VPOPCNTDQ when present) and portable")
local mr = R.model{kind = "mlp", layers = "6-16-3", act = "relu", name = "r"}
T.errors(function() R.quantize{model = mr, quiet = true} end, "a ReLU net", "needs sign activations")

-- MiniMNIST CNN, one short epoch (1,000 images): 8-bit input codes, 16-bit conv, binary conv/fc, maxpool
local mtrain, mtest = R.data("minimnist", D .. "/mnist")
local c = R.model{kind = "cnn", conv = "16,32p2", fc = "32,32", w = "int16,binary", act = "sign_reste", in_bits = 8, name = "c"}
c:train{data = mtrain, epochs = 1, limit = 1000, batch = 32, lr = 0.01, quiet = true, live = false}
local rc = R.quantize{model = c, quiet = true}
local vc = R.verify{data = mtest, quiet = true}
T.eq(vc.n, 800, "every MiniMNIST test image")
exact(vc, "MiniMNIST CNN", 0.3)
T.done()
