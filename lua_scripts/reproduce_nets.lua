-- reproduce_nets.lua - the reference points of the low-bit layer-list nets on real data:
--   vertebral  UCI Vertebral 3C, MLP 6-32-32-3, 16-bit first layer, binary weights, binary ReSTE
--              activations, lr 0.01, wd 1e-4, batch 32, 15 epochs, 10 seeds (reference notebook: 79.0 %)
--   minimnist  first 4,000 MNIST images (3,200 / 800), binary CNN conv16-conv32(pool2)-fc32-32-10, 8-bit
--              input, one epoch, 10 seeds (reference: 81.75 %)
--   mnist      MLP 784-500-300-10, ReLU, fp32 (about 98 %; the start of the GPFQ work)
--   cnv        FINN's CNV on CIFAR-10 at w1a1, w2a2 and w8a8 on a budget (--cnv-epochs x --cnv-limit images)
-- Prints one table and writes OUT/results.md and OUT/results.csv.
-- usage: resmlp run lua_scripts/reproduce_nets.lua [--quick] [--out DIR] [--only vertebral,minimnist,mnist,cnv]
--        [--times N] [--mnist-epochs N] [--cnv-epochs N] [--cnv-limit N] [--cnv-bits 1,2,8] [--precision fp32|bf16]
--        [--hls N] [--data DIR]
--        (--hls N: each CNV is also exported: integer engine checked against the fake-quantised float forward
--        on every test image, `hls emit` with N test images and `hls csim` (host C++) against the engine)
--        (--quick: a tiny run of each for the test suite: 800 / 200 MiniMNIST images, 2,000 / 500 MNIST, 128 / 64 CIFAR-10)
local R = resmlp
local o = R.args(arg, {quick = false, help = false, out = "runs/nets", only = "vertebral,minimnist,mnist,cnv", times = 10,
                       mnist_epochs = 10, cnv_epochs = 4, cnv_limit = 50000, cnv_bits = "1,2,8", precision = "fp32", hls = 0,
                       data = "../shared/data"})
if o.help then
  print("usage: resmlp run lua_scripts/reproduce_nets.lua [--quick] [--out DIR] [--only LIST] [--times N] [--mnist-epochs N] [--cnv-epochs N] [--cnv-limit N] [--cnv-bits LIST] [--precision fp32|bf16] [--hls N]")
  return
end
if o.quick then o.times, o.mnist_epochs, o.cnv_epochs, o.cnv_limit = 1, 1, 1, 128 end
local prec = R.precision(o.precision)
if prec ~= o.precision then print("precision " .. o.precision .. " is not available on this CPU: running " .. prec) end
local want = {}
for k in o.only:gmatch("[^,]+") do want[k] = true end
R.mkdir(o.out)
local hls_rows = {}
local rows, csv = {}, {"task,model,runs,max_acc,mean_acc,std,seconds,reference"}
local function add(task, model, runs, max, mean, std, secs, ref)
  rows[#rows + 1] = {task, model, ("%d"):format(runs), ("%.2f %%"):format(100 * max), mean and ("%.2f %%"):format(100 * mean) or "-",
                     std and ("%.2f"):format(100 * std) or "-", ("%.0f s"):format(secs), ref}
  csv[#csv + 1] = ("%s,%s,%d,%.4f,%s,%s,%.1f,%s"):format(task, model, runs, max, mean and ("%.4f"):format(mean) or "",
                   std and ("%.4f"):format(std) or "", secs, ref)
  print(("%-10s %-40s max %.2f %%  (%.0f s)"):format(task, model, 100 * max, secs))
end

if want.vertebral then
  local tr, te = R.data("vertebral", o.data .. "/vertebral/column_3C.dat", {seed = 1})
  local m = R.model{"new", kind = "mlp", layers = "6-32-32-3", w = "int16,binary", act = "sign_reste", name = "vertebral"}
  local t0 = R.clock()
  local r = R.evaluate{model = m, data = tr, test = te, times = o.times, epochs = 15, lr = 0.01, wd = 1e-4, batch = 32, quiet = true}
  add("vertebral", "6-32-32-3 w16/1/1 a1 ReSTE", r.n, r.max, r.mean, r.std, R.clock() - t0, "79.0 %")
end
if want.minimnist then
  local tr, te = R.data("minimnist", o.data .. "/mnist")
  if o.quick then tr, te = tr:slice(0, 800), te:slice(0, 200) end
  local m = R.model{"new", kind = "cnn", conv = "16,32p2", fc = "32,32", w = "int16,binary", act = "sign_reste", in_bits = 8,
                    data = tr, name = "minimnist"}
  local t0 = R.clock()
  local r = R.evaluate{model = m, data = tr, test = te, times = o.times, epochs = 1, lr = 0.01, wd = 1e-4, batch = 32, quiet = true}
  add("minimnist", "conv16-conv32p2-fc32-32-10 w16/1 a1 in8", r.n, r.max, r.mean, r.std, R.clock() - t0, "81.75 %")
end
if want.mnist then
  local tr, te = R.data("mnist", o.data .. "/mnist", o.quick and {limit = 2000, test_limit = 500} or nil)
  local m = R.model{"new", kind = "mlp", layers = "784-500-300-10", act = "relu", data = tr, name = "mnist_mlp"}
  local t0 = R.clock()
  m:train{data = tr, epochs = o.mnist_epochs, lr = 1e-3, batch = 128, quiet = true}
  local e = m:eval(te)
  add("mnist", "784-500-300-10 ReLU fp32, " .. o.mnist_epochs .. " epochs", 1, e.acc, nil, nil, R.clock() - t0, "about 98 %")
  m:save(o.out .. "/mnist_mlp.safetensors")
end
if want.cnv then
  local tr, te = R.data("cifar10", o.data .. "/cifar-10-batches-bin", {limit = o.cnv_limit, test_limit = o.quick and 64 or 0})
  for b in tostring(o.cnv_bits):gmatch("[^,]+") do
    local bits = math.tointeger(tonumber(b)) or error("--cnv-bits: not a bit width: " .. b)
    local m = R.model{"new", kind = "cnv", bits = bits, data = tr, name = "cnv_w" .. bits .. "a" .. bits}
    local t0 = R.clock()
    m:train{data = tr, epochs = o.cnv_epochs, lr = 1e-3, batch = 128, aug = "cropflip", quiet = true}
    local e = m:eval(te)
    add("cnv", ("w%da%d, %d epochs x %d images, %s"):format(bits, bits, o.cnv_epochs, #tr, prec), 1, e.acc, nil, nil, R.clock() - t0, "-")
    m:save(o.out .. "/cnv_w" .. bits .. "a" .. bits .. ".safetensors")
    if o.hls > 0 then
      local t1 = R.clock()
      local q = R.quantize{model = m, quiet = true}
      local v = R.verify{data = te, quiet = true}
      local dir = o.out .. "/hls_cnv_w" .. bits .. "a" .. bits
      R.hls("emit", dir, {data = te, samples = o.hls, quiet = true})
      local ok, cs = pcall(R.hls, "csim", dir, {quiet = true})
      local csim = ok and ("%d images, %d values, %d mismatches"):format(cs.samples, cs.checked, cs.mismatches)
                   or ("not run: " .. tostring(cs))
      hls_rows[#hls_rows + 1] = {("w%da%d"):format(bits, bits), (q.engine:gsub("^integer engine: ", "")),
        ("%s: %d images, %d logit / %d bit mismatches"):format(v.bit_exact and "bit-exact" or "NOT bit-exact", v.n,
         v.logit_mismatch, v.bit_mismatch), ("%.2f %% / %.2f %%"):format(100 * v.int_acc, 100 * v.fq_acc), csim,
        ("%.0f s"):format(R.clock() - t1)}
      print(("cnv w%da%d export: %s; csim %s"):format(bits, bits, hls_rows[#hls_rows][3], csim))
    end
  end
end
local hdr = {"task", "model", "runs", "max", "mean", "std (points)", "time", "reference"}
local md = R.markdown(hdr, rows)
if #hls_rows > 0 then
  md = md .. "\n" .. R.markdown({"CNV", "integer engine", "engine vs fake-quantised float", "accuracy integer / float",
                                 "hls csim vs engine", "time"}, hls_rows)
end
R.write(o.out .. "/results.md", md)
R.write(o.out .. "/results.csv", table.concat(csv, "\n") .. "\n")
print(md)
print("wrote " .. o.out .. "/results.md and results.csv")
