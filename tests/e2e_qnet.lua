-- e2e_qnet.lua - integer layer-list nets from Lua on real data: `quantize` of a trained net builds its
-- integer engine (binary XNOR-popcount, ternary / n-bit bit planes, 8-bit input codes, thresholds),
-- `verify` checks that every logit and every hidden bit equals the float forward's on the whole test split
-- and that the accuracy is far above chance; qsave/qload round trip (a tampered file is refused); one-line
-- errors for the ResMLP-only commands and for nets the engine cannot take; `hls emit` of the integer nets and
-- `hls csim` (host g++) equal to the engine on every test sample of both (SKIP without a C++ compiler).
-- Vertebral MLP 6-32-32-3 (8-bit input, 16-bit first layer, binary weights, sign with ReSTE), MiniMNIST CNN
-- conv 16, conv 32 + maxpool, fc 32-32-10 binary (the issue's reference shapes, short runs). n-bit activations
-- (quantN: multi-thresholds, integer codes, code x code layers): a w2a2 vertebral MLP (every path, csim, the
-- integer model file with its (rows, 3) thresholds, a tampered one refused), a w4a4 MiniMNIST MLP and a w4a4
-- MiniMNIST CNN (maxpool of codes; csim on 100 images).
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
local vr = R.verify{data = test, path = "reference", quiet = true}
T.eq(vr.path, "reference", "reference path (one row at a time)"); exact(vr, "reference path", 0.6)

-- hls emit + csim: every one of the 62 test samples, every stage and accumulator equal to the engine's
local function have_cxx()
  for _, c in ipairs({os.getenv("CXX") or "", "g++", "c++"}) do
    if c ~= "" and os.execute("command -v " .. c .. " >/dev/null 2>&1") then return true end
  end
  return false
end
local CXX = have_cxx()
if not CXX then print("SKIP hls csim: no C++ compiler (apt-get install g++)") end
local e = R.hls("emit", dir .. "/hls_v", {data = test, samples = 62, quiet = true})
T.eq(e.samples, 62, "emit: every test sample"); T.eq(e.stages, 3, "emit: three stages")
if CXX then
  local cs = R.hls("csim", dir .. "/hls_v", {quiet = true})
  T.eq(cs.ok, true, "csim ok"); T.eq(cs.samples, 62, "csim samples"); T.eq(cs.mismatches, 0, "csim bit-exact")
  T.eq(cs.checked, 62 * (1 + 1 + 3 + 3), "csim: two hidden stages' words and the accumulators, alone and through the top")
end

-- the integer model file: round trip, and a file whose thresholds were edited is refused
local f = dir .. "/v_int.safetensors"
R.qsave(f)
local q2 = R.qload("v2", f)
local v2 = R.verify{data = test, qmodel = "v2", quiet = true}
exact(v2, "after qload", 0.6); T.eq(v2.int_acc, v.int_acc, "same accuracy after qload")
local e2 = R.hls("emit", dir .. "/hls_f", {qfile = f, data = test, samples = 10, quiet = true})
T.eq(e2.model, f, "emit from the integer model file")
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
T.errors(function() R.verify{data = test, path = "avx2", quiet = true} end, "INT8 path", "auto (AVX-512 VPOPCNTDQ when present), portable and reference")
local mr = R.model{kind = "mlp", layers = "6-16-3", act = "relu", name = "r"}
T.errors(function() R.quantize{model = mr, quiet = true} end, "a ReLU net", "needs sign or n-bit quant(bits) activations")

-- w2a2: 2-bit weights (8-bit first layer), 2-bit activations: thresholds per channel, codes -2..1
local mq = R.model{kind = "mlp", layers = "6-32-32-3", w = "int8,int2", act = "quant2", in_bits = 8, name = "q", seed = 1}
mq:train{data = train, epochs = 15, batch = 32, lr = 0.01, wd = 1e-4, quiet = true, live = false}
local rq = R.quantize{model = mq, quiet = true}
T.check(rq.engine:find("2 multi-threshold layers (2-bit activations)", 1, true) and rq.engine:find("3 integer-input layers", 1, true),
        "w2a2 engine: " .. rq.engine)
for _, p in ipairs({"auto", "portable", "reference"}) do
  local vq = R.verify{data = test, path = p, quiet = true}
  exact(vq, "w2a2 MLP, path " .. p, 0.5)
  T.eq(vq.bits, 62 * 64, "w2a2: every hidden code compared (" .. p .. ")")
end
R.hls("emit", dir .. "/hls_q", {data = test, samples = 62, quiet = true})
if CXX then
  local cs = R.hls("csim", dir .. "/hls_q", {quiet = true})
  T.eq(cs.mismatches, 0, "w2a2 csim bit-exact"); T.eq(cs.checked, 62 * (32 + 32 + 3 + 3), "w2a2 csim: both code stages, the accumulators twice")
  local h = io.open(dir .. "/hls_q/resmlp.cpp"); local src = h:read("a"); h:close()
  T.check(src:find("int16_t code = -2;", 1, true) and src:find("hls::stream<int16_t> c0", 1, true), "multi-threshold stages with int16 code streams")
end
local fq = dir .. "/q_int.safetensors"
R.qsave(fq)
R.qload("q2", fq)
local vq2 = R.verify{data = test, qmodel = "q2", quiet = true}
exact(vq2, "w2a2 after qload", 0.5)
do
  local h = io.open(fq, "rb"); local s = h:read("a"); h:close()
  local n = string.unpack("<I8", s)
  local hdr = s:sub(9, 8 + n)
  T.check(hdr:match('"int%.layers%.4%.thresholds":{[^}]*"shape":%[32,3%]') and hdr:match('"int%.layers%.4%.thresholds":{[^}]*"I32"'),
          "multi-thresholds stored as I32 (rows, 3)")
  local a = hdr:match('"int%.layers%.4%.thresholds":{[^}]*"data_offsets":%[(%d+),')
  T.check(a, "multi-thresholds of layer 4 in the file")
  if a then
    local off = 8 + n + tonumber(a) + 4 * 1 + 1   -- channel 0, threshold 1
    local bad = s:sub(1, off - 1) .. string.char((s:byte(off) + 1) % 256) .. s:sub(off + 1)
    local g = dir .. "/badq.safetensors"
    h = io.open(g, "wb"); h:write(bad); h:close()
    T.errors(function() R.qload("badq", g) end, "tampered multi-threshold", "layer 4 channel 0: threshold 1 of 3")
  end
end
T.errors(function() R.quantize{model = m3, calib = 100, quiet = true} end, "calib= on a net", "calib= is for INT8 ResMLP models")

-- MiniMNIST CNN, one short epoch (1,000 images): 8-bit input codes, 16-bit conv, binary conv/fc, maxpool
local mtrain, mtest = R.data("minimnist", D .. "/mnist")
local c = R.model{kind = "cnn", conv = "16,32p2", fc = "32,32", w = "int16,binary", act = "sign_reste", in_bits = 8, name = "c"}
c:train{data = mtrain, epochs = 1, limit = 1000, batch = 32, lr = 0.01, quiet = true, live = false}
local rc = R.quantize{model = c, quiet = true}
local vc = R.verify{data = mtest, quiet = true}
T.eq(vc.n, 800, "every MiniMNIST test image")
exact(vc, "MiniMNIST CNN", 0.3)
R.hls("emit", dir .. "/hls_c", {data = mtest, samples = 800, quiet = true})
if CXX then
  local cs = R.hls("csim", dir .. "/hls_c", {quiet = true})
  T.eq(cs.samples, 800, "MiniMNIST csim: every test image"); T.eq(cs.mismatches, 0, "MiniMNIST csim bit-exact")
end
T.errors(function() R.hls("emit", dir .. "/hls_x", {data = mtest, fold = "lut:1000", quiet = true}) end, "fold of a net", "not folded yet")

-- w4a4 on MiniMNIST: an MLP and a CNN (maxpool of 4-bit codes, flatten of codes), short runs
local mm = R.model{kind = "mlp", layers = "784-64-64-10", w = "int8,int4", act = "quant4", in_bits = 8, name = "mm", seed = 1}
mm:train{data = mtrain, epochs = 1, limit = 1000, batch = 32, lr = 0.01, quiet = true, live = false}
R.quantize{model = mm, quiet = true}
exact(R.verify{data = mtest, quiet = true}, "MiniMNIST w4a4 MLP", 0.5)
local cq = R.model{kind = "cnn", conv = "8,16p2", fc = "32", w = "int8,int4", act = "quant4", in_bits = 8, name = "cq", seed = 1}
cq:train{data = mtrain, epochs = 1, limit = 1000, batch = 32, lr = 0.01, quiet = true, live = false}
local rcq = R.quantize{model = cq, quiet = true}
T.check(rcq.engine:find("3 multi-threshold layers (4-bit activations)", 1, true), "w4a4 CNN engine: " .. rcq.engine)
exact(R.verify{data = mtest, quiet = true}, "MiniMNIST w4a4 CNN", 0.4)
exact(R.verify{data = mtest, path = "portable", quiet = true}, "MiniMNIST w4a4 CNN, portable", 0.4)
R.hls("emit", dir .. "/hls_cq", {data = mtest, samples = 100, quiet = true})
if CXX then
  local cs = R.hls("csim", dir .. "/hls_cq", {quiet = true})
  T.eq(cs.samples, 100, "w4a4 CNN csim samples"); T.eq(cs.mismatches, 0, "w4a4 CNN csim bit-exact")
end
T.errors(function() R.hls("estimate", dir .. "/hls_c", {quiet = true}) end, "estimate of a net design", "holds an integer net design")
T.done()
