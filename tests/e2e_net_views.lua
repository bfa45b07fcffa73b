-- e2e_net_views.lua - the inspection views on a layer-list net after a short real run (vertebral MLP,
-- binary weights, sign with ReSTE): `info` lists the layers with shapes and quantisers, `plot hist weights`
-- draws a weight layer's latent weights (layer=N, a full tensor name, block=N as the layer index, SVG too),
-- `plot train` the loss/accuracy history; the ResMLP-only kinds answer with one line naming what a net has.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp
local dir = T.tmpdir()
local D = (os.getenv("RESMLP_DATA_DIR") or "../shared/data")
local train, test = R.data("vertebral", D .. "/vertebral/column_3C.dat", {test_frac = 0.2, seed = 1})
local m = R.model{kind = "mlp", layers = "6-32-32-3", w = "int16,binary", act = "sign_reste", in_bits = 8, name = "v", seed = 1}
m:train{data = train, test = test, epochs = 4, batch = 32, lr = 0.01, quiet = true, live = false}

local info = R.info(m)
T.eq(info.kind, "net", "info kind"); T.eq(info.classes, 3, "classes"); T.eq(info.params, 1513, "parameters (with the BN after the binary classifier)")
T.eq(#info.layers, 9, "nine layers (quant, 3 x linear, 3 x bn incl. the classifier's, 2 x sign)"); T.eq(info.layers[2].type, "linear", "layer 1 linear")
T.eq(info.layers[2].w, "int16", "layer 1 int16"); T.eq(info.layers[5].w, "binary", "layer 4 binary")
T.eq(info.layers[4].grad, "reste", "sign with ReSTE"); T.eq(info.layers[1].bits, 8, "8-bit input")
T.eq(info.layers[5].params, 32 * 32 + 32, "layer 4 parameters"); T.eq(info.layers[8].out[1], 3, "three classes out")

local h = R.plot.hist{"weights", quiet = true, width = 70, height = 16, mode = "ascii"}
T.check(h:find("layers.1.weight (linear, 192 values, int16)", 1, true), "default: the first weight layer, with its quantiser:\n" .. h)
T.check(h:find("n=192", 1, true), "stats line over all 192 weights")
local h4 = R.plot.hist{"weights", layer = "4", quiet = true, width = 70, height = 16, mode = "ascii"}
T.check(h4:find("layers.4.weight (linear, 1024 values, binary: sign(w))", 1, true), "layer=4: " .. h4:sub(1, 200))
T.eq(R.plot.hist{"weights", block = 4, quiet = true, width = 70, height = 16, mode = "ascii"}, h4, "block=4 is layer 4")
local hv = R.plot.hist{"weights", layer = "layers.5.running_var", quiet = true, width = 70, height = 16, mode = "ascii"}
T.check(hv:find("layers.5.running_var (bn, 32 values)", 1, true), "a BN buffer by its full name")
R.plot.hist{"weights", layer = "7", out = dir .. "/w.svg", quiet = true}
local f = io.open(dir .. "/w.svg"); local svg = f and f:read("a") or ""; if f then f:close() end
T.check(svg:find("<svg", 1, true) and svg:find("layers.7.weight", 1, true), "SVG histogram")
T.errors(function() R.plot.hist{"weights", layer = "3", quiet = true} end, "a sign layer", "layer 3 (sign) has no weights")
T.errors(function() R.plot.hist{"weights", layer = "nope", quiet = true} end, "unknown tensor", "no tensor 'nope' in this net")

local tr = R.plot.train{quiet = true, width = 70, height = 20, mode = "ascii"}
T.check(tr:find("loss", 1, true) and tr:find("test", 1, true) and tr:find("epoch", 1, true), "plot train: loss and accuracy, train and test")

for _, k in ipairs({"act", "heatmap"}) do
  T.errors(function() R.plot[k]{quiet = true} end, "plot " .. k .. " on a net", "for a layer-list net: plot hist weights")
end
T.errors(function() R.plot.hist{"inputs", quiet = true} end, "plot hist inputs on a net", "for a layer-list net")
T.done()
