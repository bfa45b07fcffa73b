-- make_qseeds.lua - seeds of fuzz_qmodel (tests/fuzz/corpus/qmodel/): integer model files written by the real
-- `qsave` from small models trained briefly on real data: INT8 ResMLPs (ReLU, LERP-PSA; one with SIMD-block
-- pruning masks) and integer layer-list nets (binary Vertebral MLP, w2a2 MLP, a binary MiniMNIST CNN; one
-- pruned). Each file is prefixed with the harness's mode byte (0: rm_qmodel_load, 1: rm_bnet_load).
-- usage: resmlp run tests/fuzz/make_qseeds.lua OUTDIR [DATADIR]   (`make fuzz-seeds` runs it)
local R = resmlp
local out, D = arg[1] or "tests/fuzz/corpus/qmodel", arg[2] or "../shared/data"
R.mkdir(out)
local tmp = os.tmpname()
local function put(name, mode)
  local f = assert(io.open(tmp, "rb")); local b = f:read("a"); f:close()
  local o = assert(io.open(out .. "/" .. name, "wb")); o:write(string.char(mode), b); o:close()
  print(("%-24s %6d bytes"):format(name, #b + 1))
end
local ctr, cte = R.data("cifar10", D .. "/cifar-10-batches-bin", {limit = 256, test_limit = 64})
for _, act in ipairs({"relu", "lerp_psa"}) do
  local m = R.model{"new", act = act, hidden = 8, embed = 8, layers = 1, grid = 16, data = ctr, name = "r_" .. act}
  m:train{data = ctr, epochs = 1, batch = 64, quiet = true, live = false}
  R.quantize{model = m, data = ctr, calib = 64, quiet = true}
  R.qsave{tmp}; put("resmlp_" .. act, 0)
end
local mp = R.model{"new", act = "relu", hidden = 8, embed = 8, layers = 1, data = ctr, name = "r_pruned"}
R.prune{model = mp, sparsity = 0.5, simd = 4, inplace = true, quiet = true}
R.quantize{model = mp, data = ctr, calib = 64, quiet = true}
R.qsave{tmp}; put("resmlp_pruned", 0)

local vtr = R.data("vertebral", D .. "/vertebral/column_3C.dat", {seed = 1})
local nets = {
  {"mlp_binary", {kind = "mlp", layers = "6-16-16-3", w = "int16,binary", act = "sign_reste"}},
  {"mlp_w2a2", {kind = "mlp", layers = "6-16-16-3", w = "int8,int2", act = "quant2", in_bits = 8}},
}
for _, n in ipairs(nets) do
  local spec = n[2]; spec[1] = "new"; spec.data = vtr; spec.name = n[1]
  local m = R.model(spec)
  m:train{data = vtr, epochs = 2, batch = 32, lr = 0.01, quiet = true, live = false}
  R.quantize{model = m, quiet = true}
  R.qsave{tmp}; put("net_" .. n[1], 1)
end
local mtr = R.data("minimnist", D .. "/mnist")
local c = R.model{"new", kind = "cnn", conv = "2p2,4p2", fc = "8", w = "int16,binary", act = "sign_reste", in_bits = 8,
                  data = mtr, name = "cnn"}
c:train{data = mtr, epochs = 1, limit = 256, batch = 32, lr = 0.01, quiet = true, live = false}
R.quantize{model = c, quiet = true}
R.qsave{tmp}; put("net_cnn_binary", 1)
R.prune{model = c, sparsity = 0.5, simd = "3,6,4,4", inplace = true, quiet = true}
R.quantize{model = c, quiet = true}
R.qsave{tmp}; put("net_cnn_pruned", 1)
os.remove(tmp)
