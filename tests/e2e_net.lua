-- e2e_net.lua - layer-list nets from the user's side, on real data: the one-line command form
-- (kind=mlp|cnn|cnv) composes the expected layer list (a BatchNorm after a binary classifier unless
-- out_bn=off), resmlp.net{...} from a Lua table, short real runs on UCI Vertebral (binary MLP with
-- ReSTE), MiniMNIST (binary CNN, 8-bit input) and MNIST (fp32 MLP) whose loss falls and whose accuracy
-- beats chance by a wide margin, and one-line errors for layer lists that do not fit their input.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp
local shared = T.data:match("^(.*)/cifar%-10%-batches%-bin$") or "../shared/data"

-- ---- Vertebral: MLP 6-32-32-3, 16-bit first layer, binary weights, binary ReSTE activations
local vtrain, vtest = R.data("vertebral", shared .. "/vertebral/column_3C.dat", {seed = 1})
T.eq(#vtrain + #vtest, 310, "vertebral: 310 rows"); T.eq(#vtest, 62, "vertebral: 62-row test split")
local m = R.model{"new", kind = "mlp", layers = "6-32-32-3", w = "int16,binary", act = "sign_reste", name = "vmlp"}
local net = m:info().net
T.eq(net, "input=6 linear(32,w=int16) bn sign(grad=reste) linear(32,w=binary) bn sign(grad=reste) linear(3,w=binary) bn",
     "command form composes the layer list")
local m0 = R.model{"new", kind = "mlp", layers = "6-32-32-3", w = "int16,binary", act = "sign_reste", out_bn = "off", name = "vmlp0"}
T.check(not m0:info().net:find("linear%(3,w=binary%) bn"), "out_bn=off: no BatchNorm after the classifier")
local mf = R.model{"new", kind = "mlp", layers = "6-32-32-3", act = "relu", name = "vmlpf"}
T.check(mf:info().net:find("linear%(3%)$"), "float classifier: no BatchNorm after it (auto)")
local before = m:eval(vtest)
local r = m:train{data = vtrain, test = vtest, epochs = 15, lr = 0.01, wd = 1e-4, batch = 32, schedule = "constant", quiet = true}
local h = m:history()
T.eq(#h, 15, "vertebral: 15 epochs in the history")
T.check(h[#h].loss < h[1].loss, "vertebral: loss falls (" .. h[1].loss .. " -> " .. h[#h].loss .. ")")
local after = m:eval(vtest)
T.check(after.acc >= 0.65, "vertebral: test accuracy " .. after.acc .. " well above chance (majority class 0.48)")
T.check(after.acc > before.acc or before.acc >= 0.65, "vertebral: training helped")

-- ---- resmlp.net{...} from a Lua table gives the same network as the text form
local t = R.net{input = {6}, {"linear", 32, w = "int16"}, {"bn"}, {"sign", grad = "reste"},
                {"linear", 32, w = "binary"}, {"bn"}, {"sign", grad = "reste"}, {"linear", 3, w = "binary"}, {"bn"}}
T.eq(t:info().net, net, "resmlp.net{} from a table equals the command form")

-- ---- MiniMNIST: binary CNN conv16-conv32(pool2)-fc32-32-10, 8-bit input, one epoch
local mtrain, mtest = R.data("minimnist", shared .. "/mnist")
T.eq(#mtrain + #mtest, 4000, "MiniMNIST: the first 4,000 MNIST images"); T.eq(#mtest, 800, "MiniMNIST: 800 test images")
local c = R.model{"new", kind = "cnn", conv = "16,32p2", fc = "32,32", w = "int16,binary", act = "sign_reste", in_bits = 8,
                  data = mtrain, name = "mcnn"}
T.check(c:info().net:find("^input=1x28x28 quant%(8%) conv%(16,pad=1,w=int16%)"), "cnn: 8-bit input, int16 first conv")
c:train{data = mtrain, epochs = 1, lr = 0.01, wd = 1e-4, batch = 32, schedule = "constant", quiet = true}
local ce = c:eval(mtest)
T.check(ce.acc >= 0.6, "MiniMNIST binary CNN after one epoch: " .. ce.acc .. " (chance 0.10)")

-- ---- MNIST MLP 784-500-300-10, ReLU, fp32, on 4,000 images
local ntrain, ntest = R.data("mnist", shared .. "/mnist", {limit = 4000, test_limit = 1000})
local n = R.model{"new", kind = "mlp", layers = "784-500-300-10", act = "relu", data = ntrain, name = "mnist_mlp"}
T.eq(n:info().params, 784 * 500 + 500 + 500 * 300 + 300 + 300 * 10 + 10 + 2 * (500 + 300), "MNIST MLP parameter count (with BN)")
n:train{data = ntrain, epochs = 2, lr = 1e-3, batch = 64, quiet = true}
T.check(n:eval(ntest).acc >= 0.85, "MNIST MLP on 4,000 images, 2 epochs: >= 85 %")

-- ---- FINN CNV preset composes for CIFAR-10 (not trained here: that is a bench run)
local cnv = R.model{"new", kind = "cnv", bits = 2, input = "3x32x32", classes = 10, name = "cnv"}
local cn = cnv:info().net
T.check(cn:find("conv%(64,w=int2%)") and cn:find("linear%(512,w=int2%)") and cn:find("linear%(10,w=int2%) bn$"),
        "cnv bits=2: 2-bit weights, fc 512, TensorNorm-like BN at the end: " .. cn)

-- ---- layer lists that do not fit their input: one line naming the layer and the shapes
T.errors(function() R.model{"new", net = "input=6 linear(8) conv(4)"} end, "conv after a flat layer", "layer 1 (conv)", "8 features")
T.errors(function() R.model{"new", net = "input=1x4x4 conv(4) maxpool(8)"} end, "pool larger than the map", "layer 1 (maxpool 8)", "4x2x2")
T.errors(function() R.model{"new", kind = "mlp", layers = "5-8-3", data = vtrain} end, "widths vs data", "6")
T.done()
