-- e2e_interop.lua - models to and from the paper's PyTorch code, and logits out (issue 12). Uses only
-- committed fixtures (tests/fixtures/make_paper_fixtures.py: paper-style B-spline and LERP-PSA
-- checkpoints in torch.save's zip format, their reference logits, 16 CIFAR-10 test images) and never
-- torch: the importer is forced onto its numpy-only reader (RESMLP_IMPORT_NO_TORCH=1).
--   * `resmlp import FILE -o OUT` takes DeepSplines' flat `_coefficients_vect`, the LERP psa.grid /
--     psa.epsilon buffers, and their absence (the paper's defaults, with a notice); whole pickled models
--     are refused with an error naming PYTHONPATH;
--   * `resmlp predict MODEL DATA --logits out.npy|out.csv` reproduces the reference logits to 1e-5;
--   * in Lua: import, m:predict(ds), m:forward(x), the predict command, all returning Tensors (N,10);
--   * export writes exactly the reference keys (torch.save zip and safetensors) and imports back;
--   * INT8: predict of a QModel (the integer engine) equals `resmlp predict` on its qsave file.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp
local dir = T.tmpdir()
local FX = "tests/fixtures/"
local IMG = FX .. "paper_cifar16.bin"
local PY = os.getenv("RESMLP_PYTHON") or "/usr/bin/python3"

-- a .npy file (version 1.0, '<f4', C order, 2-D): rows, cols, flat values
local function npy(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a"); f:close()
  if s:sub(1, 6) ~= "\147NUMPY" then return nil end
  local hl = string.unpack("<I2", s, 9)
  local h = s:sub(11, 10 + hl)
  if not h:find("'descr': '<f4'", 1, true) or not h:find("'fortran_order': False", 1, true) then return nil end
  local r, c = h:match("'shape': %((%d+), (%d+)%)")
  r, c = tonumber(r), tonumber(c)
  if (10 + hl) % 64 ~= 0 or #s ~= 10 + hl + 4 * r * c then return nil end
  local v = {}
  for i = 1, r * c do v[i] = string.unpack("<f", s, 11 + hl + 4 * (i - 1)) end
  return r, c, v
end
local function csv(path)
  local v, rows, head = {}, 0, nil
  for line in io.lines(path) do
    if not head then head = line else
      rows = rows + 1
      for x in line:gmatch("[^,]+") do v[#v + 1] = tonumber(x) end
    end
  end
  return head, rows, v
end
local function maxdiff(a, b)
  if not a or not b or #a ~= #b then return math.huge end
  local w = 0
  for i = 1, #a do w = math.max(w, math.abs(a[i] - b[i])) end
  return w
end
local function flat(t)   -- a Tensor (N,K) as a flat table
  local v = {}
  for _, row in ipairs(t:totable()) do for _, x in ipairs(row) do v[#v + 1] = x end end
  return v
end
local function read(path) local f = io.open(path); if not f then return "" end local s = f:read("a"); f:close(); return s end
local function sh(cmd)   -- exit status of a shell command
  local ok, how, code = os.execute(cmd)
  return how == "exit" and code or 128 + (code or 0)
end
local RMX = "RESMLP_IMPORT_NO_TORCH=1 ./resmlp"

-- ---- the shell commands -------------------------------------------------------------------------
local ref = {}
for _, case in ipairs{"paper_bspline", "paper_lerp", "paper_lerp_plain"} do
  local out, log = dir .. "/" .. case .. ".safetensors", dir .. "/" .. case .. ".log"
  T.eq(sh(RMX .. " import " .. FX .. case .. ".bin -o " .. out .. " > " .. log .. " 2>&1"), 0, case .. ": import exit (" .. read(log) .. ")")
  T.eq(sh("./resmlp predict " .. out .. " " .. IMG .. " --logits " .. dir .. "/" .. case .. ".npy > " .. log .. ".p 2>&1"), 0,
       case .. ": predict exit (" .. read(log .. ".p") .. ")")
  local r0, c0, want = npy(FX .. case .. ".logits.npy")
  local r, c, got = npy(dir .. "/" .. case .. ".npy")
  ref[case] = want
  T.check(r0 == 16 and c0 == 10, case .. ": reference fixture readable")
  T.check(r == 16 and c == 10, case .. ": logits .npy is float32 (16, 10)")
  local d = maxdiff(got, want)
  T.check(d <= 1e-5, string.format("%s: logits match the paper-style reference to 1e-5 (max diff %.3g)", case, d))
end
local lp = read(dir .. "/paper_lerp.log")
T.check(lp:find("LERP grid 33 points over [-3, 3], eps 0.5", 1, true) and not lp:find("notice: no psa", 1, true),
        "psa.grid and psa.epsilon are read from the checkpoint: " .. lp)
local pl = read(dir .. "/paper_lerp_plain.log")
T.check(pl:find("notice: no psa.grid in the checkpoint: LERP grid 64 points over [-4, 4]", 1, true)
        and pl:find("notice: no psa.epsilon", 1, true), "no grid buffers: the paper's defaults with a notice: " .. pl)
T.check(read(dir .. "/paper_bspline.log"):find("act bspline", 1, true), "the flat _coefficients_vect checkpoint imports as bspline")
-- CSV logits: a header, then the same values
T.eq(sh("./resmlp predict " .. dir .. "/paper_lerp.safetensors " .. IMG .. " --logits " .. dir .. "/z.csv > /dev/null 2>&1"), 0, "predict .csv")
local head, rows, cv = csv(dir .. "/z.csv")
T.eq(head, "logit_0,logit_1,logit_2,logit_3,logit_4,logit_5,logit_6,logit_7,logit_8,logit_9", "csv header")
T.eq(rows, 16, "csv rows")
T.check(maxdiff(cv, ref.paper_lerp) <= 1e-5, "csv logits match the reference")
T.eq(sh("./resmlp predict " .. dir .. "/paper_lerp.safetensors " .. IMG .. " --logits " .. dir .. "/z.txt > /dev/null 2>" .. dir .. "/e"), 2,
     "predict: other extensions are a usage error")
-- a whole pickled model: one line naming PYTHONPATH and --pythonpath, exit 1, no output file
local wm = dir .. "/wm.safetensors"
T.eq(sh(RMX .. " import " .. FX .. "paper_module.bin -o " .. wm .. " > " .. dir .. "/o 2> " .. dir .. "/e"), 1, "whole model: exit 1")
local e = read(dir .. "/e")
T.check(e:find("PYTHONPATH", 1, true) and e:find("--pythonpath", 1, true) and e:find("models.resmlp.ResMLP", 1, true)
        and select(2, e:gsub("\n", "")) == 1, "whole model error: " .. e)
T.check(not io.open(wm), "no output for a whole model")
T.eq(sh("./resmlp import " .. FX .. "paper_module.bin -o " .. wm .. " > /dev/null 2> " .. dir .. "/e"), 1, "whole model (torch if any): exit 1")
T.check(read(dir .. "/e"):find("PYTHONPATH", 1, true), "whole model error names PYTHONPATH also where torch is installed: " .. read(dir .. "/e"))
T.eq(sh("./resmlp import > /dev/null 2>&1"), 2, "import without FILE: usage error")

-- ---- Lua: import, predict, forward --------------------------------------------------------------
local imgs = R.data("cifar10", IMG, {split = "test", name = "imgs"})
local r = R.import{FX .. "paper_bspline.bin", out = dir .. "/bs.safetensors", name = "bs", quiet = true}
local bs = r.model
T.check(tostring(bs):find("bspline", 1, true), "import name= loads the model: " .. tostring(bs))
local z = bs:predict(imgs)
T.eq(getmetatable(z).__name, "resmlp.Tensor", "m:predict returns a Tensor")
T.eq(z:shape()[1], 16, "predict rows"); T.eq(z:shape()[2], 10, "predict cols")
T.check(maxdiff(flat(z), ref.paper_bspline) <= 1e-5, "m:predict matches the reference logits")
T.check(tostring(z):find("Tensor logits (16, 10)", 1, true), "tostring of the logits: " .. tostring(z))
local x = bs:inputs(imgs, 0, 4)
T.eq(x:shape()[1], 4, "inputs rows"); T.eq(x:shape()[2], 64 * 48, "inputs: patches 64 x 48")
local zf = bs:forward(x)
local d = 0
for i = 0, 3 do for k = 0, 9 do d = math.max(d, math.abs(zf:get(i, k) - z:get(i, k))) end end
T.check(d <= 1e-6, "m:forward on m:inputs equals m:predict (" .. d .. ")")
local rows4 = x:totable()
T.check(maxdiff(flat(bs:forward(rows4)), flat(zf)) == 0, "m:forward takes a table of rows too")
T.errors(function() bs:forward{{1, 2, 3}} end, "forward: wrong width", "not a table of 3072 numbers")
T.errors(function() bs:forward(42) end, "forward: wrong type", "must be a Tensor")
local zc = R.predict{imgs, model = bs, logits = dir .. "/bs.npy", quiet = true}
local _, _, bv = npy(dir .. "/bs.npy")
T.check(maxdiff(bv, flat(zc)) == 0 and maxdiff(flat(zc), flat(z)) == 0, "predict{logits=} writes the Tensor's values")
T.errors(function() R.predict{imgs, model = bs, logits = dir .. "/bs.bin", quiet = true} end, "logits=.bin", ".npy or .csv")
local row = z[2]
T.eq(#row, 10, "a row of the logits"); T.eq(row[3], z:get(2, 3), "row values (0-based)")
z:close()
T.eq(row[3] ~= nil, true, "a row outlives its closed parent")

-- ---- export: exactly the reference keys, and back ------------------------------------------------
local lerp = R.import{FX .. "paper_lerp.bin", out = dir .. "/lerp.safetensors", name = "lerp", quiet = true}.model
local zl = flat(lerp:predict(imgs))
lerp:export(dir .. "/lerp_out.pt")
R.export{dir .. "/bs_out.safetensors", model = bs}
local cmp = [[%s -c "
import sys; sys.path.insert(0, 'tools'); import json, struct, numpy as np, torch_zip
a = torch_zip.read('%s'); b = torch_zip.read('%s')
assert set(a) == set(b), sorted(set(a) ^ set(b))
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    if not k.endswith('num_batches_tracked'): assert np.allclose(a[k], b[k], rtol=0, atol=1e-6), k
raw = open('%s', 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]; h = json.loads(raw[8:8 + n]); h.pop('__metadata__')
c = torch_zip.read('%s')
assert set(h) == set(c), sorted(set(h) ^ set(c))
for k in c: assert h[k]['shape'] == list(c[k].shape), k
" 2> %s]]
T.eq(sh(string.format(cmp, PY, FX .. "paper_lerp.bin", dir .. "/lerp_out.pt", dir .. "/bs_out.safetensors",
                      FX .. "paper_bspline.bin", dir .. "/cmp.err")), 0,
     "export: the paper's keys, dtypes and shapes, values bit-exact (pytorch zip, safetensors): " .. read(dir .. "/cmp.err"))
T.eq(sh(RMX .. " import " .. dir .. "/lerp_out.pt -o " .. dir .. "/back.safetensors > /dev/null 2>&1"), 0, "exported .pt imports")
T.eq(sh(RMX .. " import " .. dir .. "/bs_out.safetensors -o " .. dir .. "/bsback.safetensors > /dev/null 2>&1"), 0, "exported safetensors imports")
local back = R.load("back", dir .. "/back.safetensors")
T.check(maxdiff(flat(back:predict(imgs)), zl) == 0, "export -> import round trip: same logits")

-- ---- INT8: the integer engine's logits ------------------------------------------------------------
local q = R.quantize{model = lerp, data = imgs, calib = 16, percentile = "100", quiet = true}.qmodel
local zq = q:predict(imgs)
T.eq(zq:shape()[1], 16, "QModel:predict rows")
local agree = 0
for i = 0, 15 do
  local a, b = 0, 0
  for k = 1, 9 do if zq:get(i, k) > zq:get(i, a) then a = k end; if zl[i * 10 + k + 1] > zl[i * 10 + b + 1] then b = k end end
  if a == b then agree = agree + 1 end
end
T.check(agree >= 8, "INT8 predictions mostly agree with fp32 (" .. agree .. "/16)")
R.qsave{dir .. "/q.safetensors", qmodel = q}
T.eq(sh("./resmlp predict " .. dir .. "/q.safetensors " .. IMG .. " --logits " .. dir .. "/q.npy > " .. dir .. "/qo 2>&1"), 0,
     "resmlp predict on an INT8 file: " .. read(dir .. "/qo"))
T.check(read(dir .. "/qo"):find("INT8 integer engine", 1, true), "CLI says INT8")
local _, _, qv = npy(dir .. "/q.npy")
T.check(maxdiff(qv, flat(zq)) == 0, "CLI INT8 logits == QModel:predict")
T.check(maxdiff(flat(R.predict{imgs, qmodel = q, quiet = true}), flat(zq)) == 0, "predict qmodel= == q:predict")

os.execute("rm -rf " .. dir)
T.done()
