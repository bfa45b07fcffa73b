-- reproduce_paper.lua - the paper's main table: a ReLU teacher (h=384), then ReLU, B-spline and
-- LERP-PSA students at h = 192, 96, 48, 24 trained with the paper's recipe (KT block by block, then
-- KD), each evaluated on the CIFAR-10 test images. Writes a Markdown table of our accuracies next to
-- the paper's (Singh & Bazargan, TRETS 2025). The epoch budgets are parameters: the defaults are the
-- short protocol P1 of REFERENCE.md (teacher 10, KT 1 per block, KD 10); --full uses the paper's
-- (KT 50 per block, KD 300; teacher 300 epochs with RandAugment).
-- usage: resmlp run lua_scripts/reproduce_paper.lua [--quick] [--full] [--teacher PATH]
--        [--teacher-epochs N] [--kt-epochs N] [--kd-epochs N] [--hs 192,96,48,24]
--        [--acts relu,bspline,lerp_psa] [--limit N] [--data DIR] [--out DIR]
local R = resmlp
local o = R.args(arg, {quick = false, full = false, help = false, out = "runs/paper",
                       data = os.getenv("RESMLP_DATA") or "../shared/data/cifar-10-batches-bin",
                       teacher = "", teacher_hidden = 384, teacher_epochs = 10, kt_epochs = 1, kd_epochs = 10,
                       hs = {192, 96, 48, 24}, acts = {"relu", "bspline", "lerp_psa"}, limit = 0, test_limit = 0,
                       aug = "cropflip", seed = 2023})
if o.help then print("usage: resmlp run lua_scripts/reproduce_paper.lua [--quick] [--full] [--teacher PATH] [--kt-epochs N] [--kd-epochs N] [--hs LIST] [--acts LIST] [--out DIR]") return end
if o.full then o.teacher_epochs, o.kt_epochs, o.kd_epochs, o.aug = 300, 50, 300, "randaug" end
if o.quick then
  o.teacher_hidden, o.teacher_epochs, o.kt_epochs, o.kd_epochs = 24, 1, 1, 1
  o.hs, o.limit, o.test_limit = {16, 8}, 256, 200
end

-- FP32 accuracy (%) reported by the paper (Table of REFERENCE.md)
local paper = {relu = {[192] = 87.8, [96] = 86.2, [48] = 83.3, [24] = 78.8},
               bspline = {[192] = 89.1, [96] = 87.7, [48] = 85.6, [24] = 84.1},
               lerp_psa = {[192] = 89.0, [96] = 88.3, [48] = 85.9, [24] = 84.2}}
local label = {relu = "ReLU", bspline = "B-spline (64)", lerp_psa = "LERP-PSA (64)"}

local train, test = R.data("cifar10", o.data, {limit = o.limit, test_limit = o.test_limit})
local t_all = R.clock()
local teacher
if o.teacher ~= "" then
  teacher = R.load("teacher", o.teacher)
else
  teacher = R.model{act = "relu", hidden = o.teacher_hidden, seed = o.seed, name = "teacher"}
  print(("teacher: ReLU h=%d, %d epochs of cross-entropy"):format(o.teacher_hidden, o.teacher_epochs))
  teacher:train{data = train, epochs = o.teacher_epochs, aug = o.aug, seed = o.seed, quiet = o.quick}
  teacher:save(o.out .. "/teacher.safetensors")
end
local tacc = teacher:eval(test).acc
print(("teacher test accuracy %.2f%%"):format(100 * tacc))

local acc = {}
for _, act in ipairs(o.acts) do
  acc[act] = {}
  for _, h in ipairs(o.hs) do
    local m <close> = R.model{act = act, hidden = h, seed = o.seed, name = act .. "_h" .. h}
    local t0 = R.clock()
    m:train{data = train, teacher = teacher, kt_epochs = o.kt_epochs, kd_epochs = o.kd_epochs, aug = o.aug,
            seed = o.seed, quiet = o.quick}
    acc[act][h] = m:eval(test).acc
    print(("%-14s h=%-4d test accuracy %.2f%%  (%.0f s)"):format(label[act] or act, h, 100 * acc[act][h], R.clock() - t0))
    m:save(("%s/%s_h%d.safetensors"):format(o.out, act, h))
  end
end

local head, rows = {"FP32 accuracy (%)"}, {}
for _, h in ipairs(o.hs) do head[#head + 1] = "h=" .. h end
for _, act in ipairs(o.acts) do
  local ours, theirs = {(label[act] or act) .. ", resmlp"}, {(label[act] or act) .. ", paper"}
  for _, h in ipairs(o.hs) do
    ours[#ours + 1] = ("%.1f"):format(100 * acc[act][h])
    theirs[#theirs + 1] = paper[act] and paper[act][h] and ("%.1f"):format(paper[act][h]) or "-"
  end
  rows[#rows + 1] = ours
  rows[#rows + 1] = theirs
end
local md = ("# ResMLP students on CIFAR-10: resmlp next to the paper\n\n"
  .. "Teacher: ReLU h=%d%s, test accuracy %.1f%% (the paper's teacher: 88.9%%, distilled from a ResNet).\n"
  .. "Students: KT %d epoch(s) per block, then KD %d epochs (AdamW 1e-3, cosine to 1e-5), augmentation %s, "
  .. "%d training images; accuracy on %d test images. The paper trains KT 50 per block and KD 300.\n\n")
  :format(o.teacher_hidden, o.teacher ~= "" and (" from " .. o.teacher) or (", " .. o.teacher_epochs .. " epochs"),
          100 * tacc, o.kt_epochs, o.kd_epochs, o.aug, #train, #test)
  .. R.markdown(head, rows)
  .. ("\nTotal time %.0f s with %d threads.\n"):format(R.clock() - t_all, R.threads())
R.write(o.out .. "/results.md", md)
io.write("\n" .. md)
print("wrote " .. o.out .. "/results.md")
