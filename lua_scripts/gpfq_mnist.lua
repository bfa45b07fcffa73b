-- gpfq_mnist.lua - the GPFQ reference point on real MNIST: an MLP 784-500-300-10 with ReLU trained in fp32,
-- then its three Linears quantised to the ternary alphabet {-rad, 0, rad} by GPFQ and by MSQ (plain
-- rounding), alphabet scalars 1..6 with the scalar picked on a validation split (Lybrand & Saab: fp32
-- 98.24 %, ternary GPFQ 97.39 %, best MSQ 93.30 %). Writes the sweep CSV, the plot and the trained model.
-- usage: resmlp run lua_scripts/gpfq_mnist.lua [--quick] [--reference] [--data DIR] [--out DIR] [--epochs N]
--        [--samples M] [--bits LIST] [--scalars LIST] [--model PATH]   (--model: skip training, load it)
-- --reference: the reference's recipe (Lybrand & Saab, scripts/train_mnist_mlp.py and quantize_pretrained_mlp.py
--   of elybrand/quantized_neural_networks): each hidden Dense + ReLU followed by BatchNorm, Adam at batch 128,
--   25,000 calibration samples, alphabet scalars 1..10, ternary; 30 epochs here (the reference trains 100, on raw
--   0..255 pixels; resmlp's MNIST loader scales to 0..1).
local R = resmlp
local o = R.args(arg, {quick = false, help = false, data = "../shared/data/mnist", out = "runs/gpfq_mnist", epochs = 3,
                       samples = 5000, bits = "ternary", scalars = "1:6", model = "", reference = false})
if o.help then
  print("usage: resmlp run lua_scripts/gpfq_mnist.lua [--quick] [--reference] [--data DIR] [--out DIR] [--epochs N] [--samples M] [--bits LIST] [--scalars LIST] [--model PATH]")
  return
end
local layers, limit = "784-500-300-10", 0
if o.quick then layers, limit, o.epochs, o.samples, o.scalars = "784-64-10", 2000, 1, 500, "2,4" end
if o.reference and not o.quick then
  -- the reference's defaults unless given on the command line
  local given = {}
  for _, a in ipairs(arg) do given[a] = true end
  if not given["--epochs"] then o.epochs = 30 end
  if not given["--samples"] then o.samples = 25000 end
  if not given["--scalars"] then o.scalars = "1:10" end
end

local train, test = R.data("mnist", o.data, {limit = limit})
local m
if o.model ~= "" then
  m = R.load("mnist_mlp", o.model)
else
  if o.reference and not o.quick then
    m = R.net{input = {784}, {"linear", 500}, {"relu"}, {"bn"}, {"linear", 300}, {"relu"}, {"bn"}, {"linear", 10},
              name = "mnist_mlp"}
    layers = "784-500(relu,bn)-300(relu,bn)-10"
  else
    m = R.model{kind = "mlp", layers = layers, act = "relu", bn = false, name = "mnist_mlp"}
  end
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
