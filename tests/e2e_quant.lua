-- e2e_quant.lua - the INT8 commands from Lua on a little real CIFAR-10: PTQ of a tiny trained LERP-PSA
-- model, verify (integer engine == fake-quant, bit-exact, on every engine this CPU has), the per-layer
-- report, `plot lut` and `lut errors`, one-line errors, the quantized model file round trip, `who`, a
-- short QAT run after which the integer engine still equals the fake-quant forward, import errors.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp
local dir = T.tmpdir()

local train, test = R.data("cifar10", T.data, {limit = 2000, test_limit = 200})
local m = R.model{act = "lerp_psa", hidden = 16, name = "m"}
m:train{data = train, epochs = 1, quiet = true, live = false}

-- PTQ: the first 1000 training images split 80/20: ranges from 800, percentile chosen on 200
local r = R.quantize{model = m, calib = 1000, quiet = true}
local q = r.qmodel
T.eq(getmetatable(q).__name, "resmlp.QModel", "quantize returns a QModel")
T.eq(r.name, "m_int8", "default name"); T.eq(R.ws.m_int8, q, "in the workspace")
T.eq(#r.calib, 13, "the paper's 13 percentiles tried")
local best = 0
for _, p in ipairs(r.calib) do best = math.max(best, p.acc) end
T.eq(r.val_acc, best, "the best percentile is kept")
T.check(tostring(q):find("QModel(int8 lerp_psa h=16, lut64", 1, true), "tostring: " .. tostring(q))
T.errors(function() R.quantize{model = m, name = "train", quiet = true} end, "name of a data set", "holds a data set")
T.errors(function() R.quantize{model = m, percentile = "101", quiet = true} end, "bad percentile", "bad percentile=101")

-- verify: the current quantized model on 200 test images
local v = R.verify{data = test, limit = 200, quiet = true}
T.eq(v.n, 200, "verify n")
T.eq(v.int_acc, v.fq_acc, "integer accuracy == fake-quant accuracy")
T.eq(v.bit_exact, true, "bit-exact"); T.eq(v.logit_mismatch, 0, "no logit mismatch"); T.eq(v.block_mismatch, 0, "no block mismatch")
T.eq(v.err_mean, 0, "err_mean"); T.eq(v.err_std, 0, "err_std"); T.eq(v.err_max, 0, "err_max")
T.eq(v.overflow, 0, "no int32 overflow")
T.check(v.fp_acc >= 0 and v.fp_acc <= 1 and v.fp_err_max >= 0, "fp32 comparison")
T.check(#v.layers > 30 and v.layers[1].name == "embed" and v.layers[#v.layers].name == "classifier", "per-layer report")
-- lut_edge: the default is extend; verify compares the three modes on the real activations
local e = v.lut_edge
T.check(e and e.used == "extend" and e.lookups > 0 and e.top > 0 and e.top < e.lookups, "lut_edge report")
T.check(e.extend.max >= 0 and e.clamp.top_mean >= e.extend.top_mean, "clamp's top segment is no better than extend's: "
        .. tostring(e.clamp.top_mean) .. " vs " .. tostring(e.extend.top_mean))
T.check(tostring(q):find("edge extend", 1, true), "tostring names the edge mode: " .. tostring(q))
do  -- a paper_hls quantization: bit-exact as well, and its file keeps the mode
  local qp = R.quantize{model = m, calib = 300, lut_edge = "paper_hls", name = "q_paper", quiet = true}
  local vp = R.verify{qmodel = "q_paper", data = test, limit = 50, stats = 20, quiet = true}
  T.eq(vp.bit_exact, true, "paper_hls bit-exact"); T.eq(vp.lut_edge.used, "paper_hls", "paper_hls used")
end
local l1 = v.layers[1]
T.check(l1.acc_min <= l1.acc_max and l1.out_min >= -128 and l1.out_max <= 127 and l1.acc_bound >= l1.acc_max, "layer stats sane")
T.check(v.text:find("bit-exact", 1, true) and v.text:find("per layer", 1, true), "report text")
-- every engine this CPU has gives the same numbers; a forced missing one is a clean error
for _, p in ipairs{"reference", "portable", "avx2", "vnni"} do
  local ok, vp = pcall(q.verify, q, {data = test, limit = 200, path = p, stats = 0, quiet = true})
  if ok then
    T.eq(vp.path, p, "path used"); T.eq(vp.int_acc, v.int_acc, p .. " accuracy"); T.eq(vp.bit_exact, true, p .. " bit-exact")
  else
    T.check(tostring(vp):find("not available", 1, true), p .. ": " .. tostring(vp))
  end
end

-- errors are one line
local function one_line(fn, what, ...)
  local ok, err = pcall(fn)
  T.check(not ok and not tostring(err):find("\n"), what .. " is one line: " .. tostring(err))
  T.errors(fn, what, ...)
end
one_line(function() R.verify{qmodel = "nope", quiet = true} end, "unknown qmodel", "no quantized model named 'nope'")
one_line(function() R.verify{path = "vnn", quiet = true} end, "bad path name", "unknown path 'vnn'", "did you mean 'vnni'")
one_line(function() R.verify{qmodel = m} end, "a Model is not a QModel", "expected a QModel")
one_line(function() R.lut{layer = "mlp.7"} end, "bad layer", "unknown layer 'mlp.7'")
one_line(function() R.plot.lut{ch = 999, quiet = true} end, "channel range", "out of range")
one_line(function() R.plot.lut{ch = "0:3", quiet = true} end, "one channel", "one channel")
one_line(function() R.import("/nonexistent/model.bin", {out = dir .. "/x.safetensors", quiet = true}) end, "import missing file",
         "/nonexistent/model.bin")
local fake = dir .. "/fake.bin"
R.write(fake, "not a pickle")
one_line(function() R.import(fake, {quiet = true}) end, "import of a bad file", "import_torch.py")
-- a Python without torch (a torch module that fails to import first on the path): one clear line
local nt = dir .. "/notorch"
R.mkdir(nt)
R.write(nt .. "/torch.py", "raise ImportError('no torch in this test')\n")
local h = io.popen("PYTHONPATH=" .. nt .. " ./resmlp -e 'import " .. fake .. "' 2>&1")
local out = h:read("a"); h:close()
T.check(out:find("torch is needed", 1, true) and select(2, out:gsub("\n", "")) == 1, "no torch: one line: " .. out)
-- with torch (Debian's python3-torch): a checkpoint written by torch.save converts and loads
if os.execute("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") then
  local bin = dir .. "/ref.bin"
  T.check(os.execute("/usr/bin/python3 -c \"import sys, torch; sys.path.insert(0, 'tools'); import torch_resmlp as M; " ..
                     "torch.manual_seed(0); torch.save(M.ResMLP('relu', 24).state_dict(), '" .. bin .. "')\""), "torch.save")
  local imp = R.import(bin, {name = "imported", quiet = true})
  T.eq(imp.path, dir .. "/ref.safetensors", "import writes FILE.safetensors by default")
  T.eq(R.ws.imported, imp.model, "name= loads it"); T.eq(imp.model:info().hidden, 24, "imported architecture")
else
  print("skip: /usr/bin/python3 has no torch; the conversion itself is not tested here")
end

-- plot lut and lut errors
local txt = R.plot.lut{block = 1, layer = "act2", ch = 3, mode = "ascii", width = 80, height = 20, quiet = true}
T.check(txt:find("fp32 curve", 1, true) and txt:find("64-entry LUT", 1, true) and txt:find("256-entry LUT", 1, true), "plot lut legend")
local errs = R.lut{quiet = true}
T.eq(#errs, 8, "4 blocks x 2 tables")
T.eq(errs[1].layer, "act1", "act1 first"); T.eq(errs[1].channels, 96, "act1 has D channels"); T.eq(#errs[2].errors, 16, "act2 has H")
local one = q:lut{block = 1, layer = "act2", quiet = true}
T.eq(#one, 1, "one table")
T.check(txt:find(string.format("64-entry max error %d code", one[1].errors[4]), 1, true), "plot reports the channel's lut error")
local mx = 0
for _, e in ipairs(one[1].errors) do mx = math.max(mx, e) end
T.eq(one[1].max, mx, "max of the per-channel errors")
q:plot{block = 0, ch = 5, out = dir .. "/lut.svg", quiet = true}
local f = io.open(dir .. "/lut.svg"); local svg = f and f:read("a"); if f then f:close() end
T.check(svg and svg:find("<svg", 1, true), "plot lut out=.svg")

-- the file round trip gives the same verify numbers
T.eq(q:save(dir .. "/q.safetensors"), dir .. "/q.safetensors", "qsave")
local q2 = R.qload("q2", dir .. "/q.safetensors")
T.eq(R.ws.q2, q2, "qload names it")
local v2 = q2:verify{data = test, limit = 200, quiet = true}
for _, k in ipairs{"int_acc", "fq_acc", "fp_acc", "err_mean", "err_max", "fp_err_mean", "fp_err_max", "lut_err_max"} do
  T.eq(v2[k], v[k], "round trip " .. k)
end
T.eq(#v2.layers, #v.layers, "round trip layers")
for i = 1, #v.layers do
  local a, b = v.layers[i], v2.layers[i]
  T.check(a.acc_min == b.acc_min and a.acc_max == b.acc_max and a.sat_lo == b.sat_lo and a.sat_hi == b.sat_hi, "layer " .. a.name)
end

-- who lists quantized models with their memory
local seen = {}
for _, w in ipairs(R.who()) do seen[w.name] = w end
T.check(seen.m_int8 and seen.m_int8.kind == "QModel" and seen.m_int8.bytes > 0, "who lists m_int8")
T.check(seen.q2 and seen.q2.current, "the loaded one is current")

-- a short QAT run (KD from the fp32 model); the integer engine still equals the fake-quant forward
local qa = q:qat{teacher = m, epochs = 1, limit = 512, quiet = true}
T.eq(qa.epochs, 1, "qat epoch"); T.eq(qa.interrupted, false, "not interrupted")
T.check(qa.loss > 0, "qat loss")
local v3 = q:verify{data = test, limit = 200, quiet = true}
T.eq(v3.int_acc, v3.fq_acc, "after QAT: integer == fake-quant"); T.eq(v3.bit_exact, true, "after QAT: bit-exact")
T.eq(q:info().qat_epochs, 1, "info counts QAT epochs")

q2:close()
T.errors(function() q2:verify{data = test} end, "closed qmodel", "closed")
T.done()
