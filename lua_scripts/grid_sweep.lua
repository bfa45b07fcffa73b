-- grid_sweep.lua - how the LERP-PSA grid size matters: students with G = 16, 32, 64, 128 grid points at
-- h = 96, trained the same way and evaluated on the CIFAR-10 test images; writes a Markdown table.
-- Plain cross-entropy training by default; with --teacher PATH each student gets the paper's KT-then-KD
-- recipe from that checkpoint.
-- usage: resmlp run lua_scripts/grid_sweep.lua [--quick] [--grids 16,32,64,128] [--hidden 96]
--        [--epochs N] [--teacher PATH --kt-epochs N --kd-epochs N] [--limit N] [--data DIR] [--out DIR]
local R = resmlp
local o = R.args(arg, {quick = false, help = false, data = os.getenv("RESMLP_DATA") or "../shared/data/cifar-10-batches-bin",
                       out = "runs/grid_sweep", grids = {16, 32, 64, 128}, hidden = 96, epochs = 10, limit = 0,
                       test_limit = 0, teacher = "", kt_epochs = 1, kd_epochs = 10, seed = 2023})
if o.help then print("usage: resmlp run lua_scripts/grid_sweep.lua [--quick] [--grids 16,32,64,128] [--hidden 96] [--epochs N] [--teacher PATH] [--out DIR]") return end
if o.quick then o.grids, o.hidden, o.epochs, o.limit, o.test_limit, o.kt_epochs, o.kd_epochs = {16, 32}, 8, 1, 256, 200, 1, 1 end

local train, test = R.data("cifar10", o.data, {limit = o.limit, test_limit = o.test_limit})
local teacher = o.teacher ~= "" and R.load("teacher", o.teacher) or nil
local rows = {}
for _, g in ipairs(o.grids) do
  local m <close> = R.model{act = "lerp_psa", hidden = o.hidden, grid = g, seed = o.seed, name = "g" .. g}
  local t0 = R.clock()
  if teacher then
    m:train{data = train, teacher = teacher, kt_epochs = o.kt_epochs, kd_epochs = o.kd_epochs, seed = o.seed, quiet = o.quick}
  else
    m:train{data = train, epochs = o.epochs, seed = o.seed, quiet = o.quick}
  end
  local r = m:eval(test)
  local secs = R.clock() - t0
  print(("G=%-4d test accuracy %.2f%%  (%.0f s)"):format(g, 100 * r.acc, secs))
  rows[#rows + 1] = {g, m:info().params, ("%.2f"):format(100 * r.acc), ("%.0f"):format(secs)}
  m:save(("%s/lerp_psa_h%d_g%d.safetensors"):format(o.out, o.hidden, g))
end
local how = teacher and ("KT %d epoch(s)/block + KD %d epochs from %s"):format(o.kt_epochs, o.kd_epochs, o.teacher)
                     or ("%d epochs of cross-entropy"):format(o.epochs)
local md = ("# LERP-PSA grid sweep, h = %d\n\n%s on %d training images; test accuracy on %d images.\n\n"):format(o.hidden, how, #train, #test)
        .. R.markdown({"grid G", "parameters", "test accuracy (%)", "seconds"}, rows)
R.write(o.out .. "/grid_sweep.md", md)
io.write(md)
print("wrote " .. o.out .. "/grid_sweep.md")
