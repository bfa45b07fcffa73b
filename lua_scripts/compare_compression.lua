-- compare_compression.lua - one comparison of the ways to shrink a ResMLP on one budget: the ReLU and
-- LERP-PSA students in fp32, INT8 (PTQ, then QAT), GPFQ and MSQ at 4/3/2 bits and ternary (alphabet scalar
-- picked on a validation split), exact lumping, and SIMD-block pruning at two sparsities with fine-tuning.
-- Each row: test accuracy, parameter bits, and the `hls estimate` interval, latency, LUT and DSP of the
-- streaming design (paper design point; pruning also folded to its SIMD). Writes a table, a CSV and an
-- accuracy-vs-parameter-bits chart (terminal and SVG).
-- usage: resmlp run lua_scripts/compare_compression.lua [--quick] [--data DIR] [--out DIR] [--limit N]
--        [--epochs N] [--hidden H] [--samples M] [--relu PATH] [--lerp PATH] [--qat-epochs N] [--ft-epochs N]
--        (--relu/--lerp: use trained students instead of training them here)
local R = resmlp
local o = R.args(arg, {quick = false, help = false, data = os.getenv("RESMLP_DATA") or "../shared/data/cifar-10-batches-bin",
                       out = "runs/compare_compression", limit = 10000, epochs = 3, hidden = 96, samples = 1000,
                       relu = "", lerp = "", qat_epochs = 1, ft_epochs = 1, sparsity = "0.25,0.5"})
if o.help then
  print("usage: resmlp run lua_scripts/compare_compression.lua [--quick] [--data DIR] [--out DIR] [--limit N] [--epochs N] [--hidden H] [--samples M] [--relu PATH] [--lerp PATH] [--qat-epochs N] [--ft-epochs N]")
  return
end
local bits = "4,3,2,ternary"
if o.quick then o.limit, o.epochs, o.hidden, o.samples, o.qat_epochs, o.ft_epochs, bits = 300, 1, 8, 50, 0, 0, "4,ternary" end

local train, test = R.data("cifar10", o.data, {limit = o.limit, test_limit = o.quick and 100 or 0})
local rows = {}

local function hls(m)
  local e = R.hls{"estimate", model = m, quiet = true}
  return e
end
local function add(student, method, acc, bits, e, note)
  rows[#rows + 1] = {student = student, method = method, acc = acc, kbits = bits / 1000, ii = e and e.ii, latency = e and e.latency,
                     lut = e and e.lut, dsp = e and e.dsp, note = note or ""}
  print(("  %-9s %-22s %7.2f%% %10.1f kbit %8s cycles %8s LUT %6s DSP  %s"):format(student, method, 100 * acc, bits / 1000,
        tostring(e and e.ii or "-"), tostring(e and e.lut or "-"), tostring(e and e.dsp or "-"), note or ""))
end

for _, act in ipairs({"relu", "lerp_psa"}) do
  local tag = act == "relu" and "ReLU" or "LERP-PSA"
  local path = act == "relu" and o.relu or o.lerp
  local m
  if path ~= "" then
    m = R.load(act, path)
  else
    m = R.model{act = act, hidden = o.hidden, name = act}
    m:train{data = train, epochs = o.epochs, quiet = true, live = false}
    m:save(o.out .. "/" .. act .. ".safetensors")
  end
  local info = m:info()
  local fp = m:eval(test).acc
  local e0 = hls(m)
  print(("%s student h=%d: %d parameters, fp32 test %.2f%%"):format(tag, info.hidden, info.params, 100 * fp))
  add(tag, "fp32", fp, info.params * 32, e0)

  -- INT8: PTQ (paper recipe), then QAT with KD from the fp32 student
  local q = R.quantize{model = m, calib = math.min(1000, #train), quiet = true, name = act .. "_int8"}
  local v = R.verify{qmodel = q.qmodel, data = test, quiet = true}
  add(tag, "INT8 PTQ", v.int_acc, info.params * 8, e0)
  if o.qat_epochs > 0 then
    R.qat{qmodel = q.qmodel, teacher = m, data = train, epochs = o.qat_epochs, quiet = true}
    local v2 = R.verify{qmodel = q.qmodel, data = test, quiet = true}
    add(tag, "INT8 QAT", v2.int_acc, info.params * 8, e0)
  end

  -- GPFQ and MSQ: every Linear (embedding, token mixing, channel MLP, classifier)
  local s = R.gpfq{"sweep", model = m, data = train, test = test, bits = bits, scalar = o.quick and "2" or "2,3,4",
                   samples = o.samples, quiet = true, csv = o.out .. "/gpfq_" .. act .. ".csv"}
  local g1 = R.gpfq{model = m, bits = "ternary", samples = o.samples, quiet = true}   -- layer shapes
  local wts = 0
  for _, l in ipairs(g1.layers) do wts = wts + l.rows * l.cols end
  for _, b in ipairs(s.best) do
    local bw = b.bits == "ternary" and math.log(3, 2) or tonumber(b.bits)
    local bits = wts * bw + (info.params - wts) * 32
    local name = b.bits == "ternary" and "ternary" or b.bits .. "-bit"
    add(tag, "GPFQ " .. name, b.gpfq_acc, bits, e0, ("scalar %g, %.1f s"):format(b.gpfq_scalar, b.seconds))
    add(tag, "MSQ " .. name, b.msq_acc, bits, e0, ("scalar %g"):format(b.msq_scalar))
  end

  -- exact lumping
  local l = R.lump{model = m, test = test, quiet = true}
  add(tag, "lumping (exact)", l.acc_after, l.params_after * 32, hls(l.model),
      ("%d -> %d params"):format(l.params_before, l.params_after))

  -- SIMD-block pruning at two sparsities, fine-tuned between steps
  local sp = {}
  for x in o.sparsity:gmatch("[^,]+") do sp[#sp + 1] = tonumber(x) end
  local p = nil
  for i, target in ipairs(sp) do
    p = R.prune{model = p and p.model or m, sparsity = target, epochs = o.ft_epochs, lr = 1e-4, data = train, test = test,
                quiet = true, inplace = p ~= nil, name = act .. "_pruned"}
    local st = p.steps[#p.steps]
    local acc = st.acc_finetuned or st.acc_pruned
    local pruned = 0
    for _, pl in ipairs(p.layers) do pruned = pruned + pl.rows * pl.pruned * pl.simd end
    add(tag, ("SIMD prune %.0f%%"):format(100 * target), acc, (info.params - pruned) * 32, hls(p.model),
        ("folded II %d -> %d"):format(p.hls.folded.ii, p.hls.folded.ii_pruned))
  end
end

-- CSV, Markdown table, chart
local csv = {"student,method,test_acc,param_kbits,ii_cycles,latency_cycles,lut,dsp,note"}
for _, r in ipairs(rows) do
  csv[#csv + 1] = ("%s,%s,%.4f,%.1f,%s,%s,%s,%s,%s"):format(r.student, r.method, r.acc, r.kbits, tostring(r.ii or ""),
    tostring(r.latency or ""), tostring(r.lut or ""), tostring(r.dsp or ""), r.note:gsub(",", ";"))
end
R.write(o.out .. "/compare.csv", table.concat(csv, "\n") .. "\n")
local md = {}
for _, r in ipairs(rows) do
  md[#md + 1] = {r.student, r.method, ("%.2f %%"):format(100 * r.acc), ("%.1f"):format(r.kbits), tostring(r.ii or "-"),
                 tostring(r.lut or "-"), tostring(r.dsp or "-")}
end
R.write(o.out .. "/compare.md", R.markdown({"student", "method", "test acc", "param kbit", "II cycles", "LUT", "DSP"}, md))
local series = {}
for _, tag in ipairs({"ReLU", "LERP-PSA"}) do
  local pts = {}
  for _, r in ipairs(rows) do
    if r.student == tag then pts[#pts + 1] = ("%.1f/%.2f"):format(r.kbits, 100 * r.acc) end
  end
  series[#series + 1] = tag .. ":" .. table.concat(pts, ",")
end
local ch = {series = table.concat(series, ";"), style = "markers", title = "accuracy vs parameter bits (every method)",
            xlabel = "parameter kbit", ylabel = "test acc %"}
R.chart(ch)
ch.out = o.out .. "/compare.svg"
R.chart(ch)
print("wrote " .. o.out .. "/compare.csv, compare.md and compare.svg")
