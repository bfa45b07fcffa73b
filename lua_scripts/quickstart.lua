-- quickstart.lua - a few-minute tour of resmlp on real CIFAR-10: load data, train a LERP-PSA ResMLP,
-- evaluate it, look at one learned activation, save the model and a one-line Markdown result.
-- usage: resmlp run lua_scripts/quickstart.lua [--quick] [--data DIR] [--out DIR] [--epochs N]
--        [--limit N] [--hidden H]      (--quick: a tiny run for the test suite)
local R = resmlp
local o = R.args(arg, {quick = false, help = false, data = os.getenv("RESMLP_DATA") or "../shared/data/cifar-10-batches-bin",
                       out = "runs/quickstart", epochs = 2, limit = 10000, hidden = 96})
if o.help then print("usage: resmlp run lua_scripts/quickstart.lua [--quick] [--data DIR] [--out DIR] [--epochs N] [--limit N] [--hidden H]") return end
if o.quick then o.epochs, o.limit, o.hidden = 1, 512, 8 end

print(("quickstart: LERP-PSA ResMLP h=%d, %d epochs on %d CIFAR-10 images, %d threads"):format(o.hidden, o.epochs, o.limit, R.threads()))
local train, test = R.data("cifar10", o.data, {limit = o.limit})
local m = R.model{act = "lerp_psa", hidden = o.hidden, name = "quickstart"}
print(m)
local t0 = R.clock()
m:train{data = train, test = test, epochs = o.epochs, quiet = o.quick, on_epoch = function(s)
  if o.quick then print(("  epoch %d: loss %.3f, test %.1f%%"):format(s.epoch, s.loss, 100 * s.test_acc)) end
end}
local r = m:eval(test)
print(("test accuracy %.2f%% (loss %.4f) on %d images after %.0f s"):format(100 * r.acc, r.loss, r.n, R.clock() - t0))

-- what one learned activation looks like now: block 0, hidden layer (mlp.2), channel 0
local x, y = m:curve{block = 0, layer = "mlp.2", ch = 0, n = 9}
print("block 0 mlp.2 channel 0:")
for i = 1, #x do print(("  f(%6.2f) = %8.4f"):format(x[i], y[i])) end

m:save(o.out .. "/model.safetensors")
R.write(o.out .. "/result.md", R.markdown({"model", "epochs", "train images", "test accuracy"},
  {{"LERP-PSA h=" .. o.hidden, o.epochs, #train, ("%.2f %%"):format(100 * r.acc)}}))
print("wrote " .. o.out .. "/model.safetensors and " .. o.out .. "/result.md")
