-- gpfq_mnist.lua - the GPFQ reference point on real MNIST: an MLP 784-500-300-10 with ReLU trained in fp32,
-- then its three Linears quantised to the ternary alphabet {-rad, 0, rad} by GPFQ and by MSQ (plain
-- rounding), alphabet scalars 1..6 with the scalar picked on a validation split (Lybrand & Saab: fp32
-- 98.24 %, ternary GPFQ 97.39 %, best MSQ 93.30 %). Writes the sweep CSV, the plot and the trained model.
-- usage: resmlp run lua_scripts/gpfq_mnist.lua [--quick] [--data DIR] [--out DIR] [--epochs N]
--        [--samples M] [--bits LIST] [--scalars LIST] [--model PATH]   (--model: skip training, load it)
local R = resmlp
local o = R.args(arg, {quick = false, help = false, data = "../shared/data/mnist", out = "runs/gpfq_mnist", epochs = 3,
                       samples = 5000, bits = "ternary", scalars = "1:6", model = ""})
if o.help then
  print("usage: resmlp run lua_scripts/gpfq_mnist.lua [--quick] [--data DIR] [--out DIR] [--epochs N] [--samples M] [--bits LIST] [--scalars LIST] [--model PATH]")
  return
end
local layers, limit = "784-500-300-10", 0
if o.quick then layers, limit, o.epochs, o.samples, o.scalars = "784-64-10", 2000, 1, 500, "2,4" end

local train, test = R.data("mnist", o.data, {limit = limit})
local m
if o.model ~= "" then
  m = R.load("mnist_mlp", o.model)
else
  m = R.model{kind = "mlp", layers = layers, act = "relu", bn = false, name = "mnist_mlp"}
  local t0 = R.clock()
  m:train{data = train, epochs = o.epochs, lr = 1e-3, batch = 128, aug = "none", quiet = true}
  print(("trained MLP %s for %d epochs in %.0f s"):format(layers, o.epochs, R.clock() - t0))
  m:save(o.out .. "/mlp_fp32.safetensors")
end
local r = R.gpfq{"sweep", model = m, data = train, test = test, bits = o.bits, scalar = o.scalars, samples = o.samples,
                 csv = o.out .. "/gpfq_sweep.csv", plot = o.out .. "/gpfq_sweep.svg", quiet = o.quick}
print(("fp32 test accuracy %.2f%%"):format(100 * r.fp32_acc))
for _, b in ipairs(r.best) do
  print(("%s: GPFQ %.2f%% (scalar %g, %.2f s)  vs  best MSQ %.2f%% (scalar %g)"):format(b.bits, 100 * b.gpfq_acc,
        b.gpfq_scalar, b.seconds, 100 * b.msq_acc, b.msq_scalar))
end
