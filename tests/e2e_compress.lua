-- e2e_compress.lua - the compression commands from Lua on a little real MNIST: gpfq (a model on the
-- ternary alphabet, per-layer errors, GPFQ's calibration error below MSQ's on the first layer), the sweep
-- (CSV columns, best per bits, plot text), gpfq on a small CNN (conv layers as im2col Linears), lump (exact: logits unchanged; planted duplicate removed),
-- prune (masks survive fine-tuning through `train`, save and load; ResMLP HLS estimate tables) and errors.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp
local dir = T.tmpdir()
local mnist = (os.getenv("RESMLP_DATA_DIR") or "../shared/data") .. "/mnist"

local train, test = R.data("mnist", mnist, {limit = 3000, test_limit = 500})
local m = R.model{kind = "mlp", layers = "784-64-32-10", act = "relu", bn = false, name = "m"}
m:train{data = train, epochs = 1, quiet = true, live = false, aug = "none"}
local fp = m:eval(test).acc
T.check(fp > 0.6, "trained MLP " .. fp)

-- GPFQ, ternary: every weight in {-rad, 0, rad} of its layer
local g = R.gpfq{model = m, bits = "ternary", scalar = 3, samples = 1000, quiet = true}
T.eq(g.name, "m_gpfq", "default name"); T.eq(R.ws.m_gpfq, g.model, "in the workspace")
T.eq(#g.layers, 3, "three Linears")
T.check(g.layers[1].err < g.layers[1].err_msq, ("first layer: GPFQ error %.3f < MSQ %.3f"):format(g.layers[1].err, g.layers[1].err_msq))
T.check(g.acc > 0.5 and g.seconds > 0 and g.cpu_seconds > 0, "accuracy and times")
local w = g.model:param("layers.0.weight")
local rad, vals = g.layers[1].rad, {}
local ok = true
for r = 0, 63 do          -- Tensor indices are 0-based
  local row = w[r]
  for k = 0, 783 do
    local v = row[k]
    ok = ok and (v == 0 or math.abs(math.abs(v) - rad) < 1e-6 * rad)
  end
end
T.check(ok, "layer 0 weights on {-rad, 0, rad}")
-- a small float CNN: its conv layers are quantised too (Linears over im2col patches), by the command
local cn = R.model{"new", kind = "cnn", conv = "8p2,8p2", fc = "16", act = "relu", data = train, name = "cn"}
cn:train{data = train, epochs = 1, quiet = true, live = false, aug = "none"}
local cg = R.gpfq{model = cn, bits = "4", scalar = 3, samples = 500, quiet = true}
local nconv, worse = 0, 0
for _, l in ipairs(cg.layers) do
  if l.layer:find("^conv") then nconv = nconv + 1 end
  if l.skipped or not l.err or l.err > l.err_msq + 1e-9 then worse = worse + 1 end
end
T.eq(nconv, 2, "cnn: both convs quantised"); T.eq(worse, 0, "cnn: GPFQ error <= MSQ's on every layer")
T.check(cg.acc > 0.3, "cnn gpfq 4-bit accuracy " .. cg.acc .. " (fp32 " .. cg.fp32_acc .. ")")
R.gpfq{model = cn, bits = "ternary", scalar = 2, samples = 200, name = "cn_t"}   -- the command's table, conv rows included
local q = R.gpfq{model = m, method = "msq", bits = "2", scalar = 2, quiet = true}
T.eq(q.name, "m_msq", "msq name"); T.check(q.layers[1].err == nil, "MSQ has no calibration pass")

-- the sweep: CSV, best per bits, plot text
local s = R.gpfq{"sweep", model = m, bits = "ternary,3", scalar = "2,4", samples = 500, csv = dir .. "/g.csv", quiet = true}
T.eq(#s.rows, 4, "2 bits x 2 scalars"); T.eq(#s.best, 2, "best per bits"); T.eq(s.complete, true, "complete")
local f = io.open(dir .. "/g.csv"); local hdr = f:read("l"); local n = 0
for _ in f:lines() do n = n + 1 end
f:close()
T.eq(hdr, "bits,scalar,samples,fp32_acc,gpfq_acc,msq_acc,seconds,gpfq_val_acc,msq_val_acc", "CSV header"); T.eq(n, 4, "CSV rows")
T.check(s.plot:find("GPFQ", 1, true), "plot legend")
T.errors(function() R.gpfq{model = m, bits = "9", quiet = true} end, "bad bits", "bits=9")
T.errors(function() R.gpfq{model = m, scalar = "1,2", quiet = true} end, "list outside sweep", "lists are for")

-- lump: a planted duplicate (2.5x neuron 0) in a copy; exact lumping keeps the logits
local l0 = R.lump{model = m, quiet = true, name = "l0"}
T.eq(l0.max_logit_diff, 0, "nothing to merge: the same logits")
local l = R.lump{model = g.model, quiet = true, name = "lg"}
T.check(l.max_logit_diff < 1e-3, "lumping the ternary model keeps its logits " .. l.max_logit_diff)
T.check(l.params_after <= l.params_before, "never grows")

-- prune: steps with fine-tuning; masks hold through training and a checkpoint
local p = R.prune{model = m, steps = "0.5,0.6", simd = "16,16,16", epochs = 1, lr = 1e-4, quiet = true}
T.eq(#p.steps, 2, "two steps")
T.check(p.steps[2].acc_finetuned and p.layers[1].pruned == 29, "49 blocks of 16 -> 29 pruned at 0.6: " .. p.layers[1].pruned)
p.model:save(dir .. "/p.safetensors")
local pl = R.load("pl", dir .. "/p.safetensors")
local z, nz = 0, 0
local wp = pl:param("layers.0.weight")
for r = 0, 63 do local row = wp[r]; for k = 0, 783 do if row[k] == 0 then z = z + 1 end end end
T.check(z >= 64 * 29 * 16, "loaded: pruned blocks zero (" .. z .. ")")
pl:train{data = train, epochs = 1, quiet = true, live = false, aug = "none", lr = 1e-3}
wp = pl:param("layers.0.weight")
for r = 0, 63 do local row = wp[r]; for k = 0, 783 do if row[k] == 0 then nz = nz + 1 end end end
T.check(nz >= 64 * 29 * 16, "after training: still zero (" .. nz .. ")")
T.errors(function() R.prune{model = m, simd = "5", quiet = true} end, "SIMD not dividing", "does not divide the 784 inputs")

-- ResMLP: gpfq, lump and prune work on every Linear, with HLS estimates
local rm = R.model{hidden = 16, embed = 16, layers = "2", data = train, name = "rm"}
local rg = R.gpfq{model = rm, samples = 64, quiet = true}
T.eq(#rg.layers, 1 + 3 * 2 + 1, "ResMLP: embed, 2 x (token, fc1, fc2), classifier")
local rl = R.lump{model = rm, quiet = true}
T.eq(#rl.layers, 2, "one channel MLP per block"); T.eq(rl.max_logit_diff, 0, "fresh ResMLP unchanged")
local rp = R.prune{model = rm, sparsity = 0.5, quiet = true}
T.check(rp.hls and rp.hls.folded.ii_pruned < rp.hls.folded.ii, "folded interval drops")
T.check(rp.hls.paper.dsp_pruned < rp.hls.paper.dsp, "paper point: fewer DSPs")

-- a GPFQ-quantised ResMLP flows on into INT8 PTQ and the integer engine like any other model
local ctr, cte = R.data("cifar10", T.data, {limit = 300, test_limit = 50, name = nil})
local cm = R.model{hidden = 8, layers = "1", data = ctr, name = "cm"}
local cg = R.gpfq{model = cm, data = ctr, test = cte, bits = "ternary", scalar = 3, samples = 100, quiet = true}
local cq = R.quantize{model = cg.model, data = ctr, calib = 300, quiet = true}
local cv = R.verify{qmodel = cq.qmodel, data = cte, quiet = true}
T.eq(cv.bit_exact, true, "GPFQ model -> INT8: integer engine bit-exact with fake-quant")
T.done()
