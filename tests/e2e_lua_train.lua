-- e2e_lua_train.lua - data sets and training from Lua on a little real CIFAR-10: Dataset methods,
-- training with an on_epoch callback (stats table, `false` stops early, an error propagates and the
-- model stays usable), eval, KD from a teacher, KT of one block, the KT-then-KD recipe, history.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/lua/tutil.lua")
local R = resmlp

local train, test = R.data("cifar10", T.data, {limit = 256, test_limit = 200})
T.eq(getmetatable(train).__name, "resmlp.Dataset", "Dataset metatable")
T.eq(#train, 256, "limit"); T.eq(#test, 200, "test_limit")
local sh = train:shape(); T.eq(sh[2] * sh[3] * sh[4], 3072, "image shape")
T.eq(train:classes(), 10, "classes")
local counts, total = train:counts(), 0
for k = 0, 9 do total = total + counts[k] end
T.eq(total, 256, "class counts add up")
T.check(train:label(0) >= 0 and train:label(0) <= 9, "label (0-based index)")
local sub = train:slice(128, 128)
T.eq(#sub, 128, "slice"); T.eq(sub:label(0), train:label(128), "slice keeps order (0-based start)")
T.eq(sub:label(127), train:label(255), "slice: last image")
T.eq(#train:slice(0, 5), 5, "slice(0, n): the first n images")
T.errors(function() return train:slice(#train, 1) end, "slice past the end", "out of range 0..")
T.errors(function() return train:label(#train) end, "label past the end", "0-based")
T.eq(R.ws.train, train, "data registers `train`"); T.eq(R.ws.test, test, "and `test`")
T.errors(function() R.data("cifar", T.data) end, "unknown kind", "did you mean 'cifar10'")
T.errors(function() R.data("cifar10", "/nonexistent-dir") end, "missing directory", "nonexistent-dir")

local m = R.model{act = "lerp_psa", hidden = 8, name = "student"}
local calls = {}
local r = m:train{data = train, test = test, epochs = 2, quiet = true, on_epoch = function(s) calls[#calls + 1] = s end}
T.eq(r.epochs, 2, "epochs done"); T.eq(r.interrupted, false, "not interrupted")
T.eq(#calls, 2, "on_epoch per epoch")
local s = calls[2]
T.eq(s.epoch, 2, "stats.epoch"); T.eq(s.epochs, 2, "stats.epochs"); T.eq(s.phase, "train", "stats.phase")
T.check(s.loss > 0 and s.acc >= 0 and s.acc <= 1 and s.lr > 0 and s.test_acc and s.test_loss, "stats fields")
T.eq(#m:history(), 2, "history"); T.eq(m:info().epochs, 2, "info.epochs")
-- the history travels with the checkpoint: after load, history() and `plot train` show it
do
  local hd = T.tmpdir()
  m:save(hd .. "/h.safetensors")
  local l = R.load("hl", hd .. "/h.safetensors")
  local h0, h1 = m:history(), l:history()
  T.eq(#h1, 2, "history after load")
  T.near(h1[2].train_loss or h1[2].loss, h0[2].train_loss or h0[2].loss, 1e-5, "history values after load")
  local txt = R.plot.train{model = l, quiet = true, width = 60, height = 14}
  T.check(type(txt) == "string" and not txt:find("no training history", 1, true) and #txt > 200, "plot train after load: " .. tostring(txt):sub(1, 120))
  l:close()
  os.execute("rm -rf " .. hd)
end

local stop = m:train{epochs = 3, quiet = true, on_epoch = function() return false end}
T.eq(stop.epochs, 1, "returning false stops after the first epoch"); T.eq(stop.interrupted, true, "and says so")
T.errors(function() m:train{epochs = 2, quiet = true, on_epoch = function() error("cb-failed") end} end,
         "callback error propagates", "cb-failed")
local e = m:eval(test)
T.check(e.acc >= 0 and e.acc <= 1 and e.loss > 0 and e.n == 200, "eval after a failed callback")
T.eq(R.eval{model = "student", batch = 64}.n, 200, "eval defaults to `test`")
T.check(m:layers()[6].input_max ~= nil, "eval records activation input ranges")

-- teacher, KD, KT, the recipe
local teacher = R.model{act = "relu", hidden = 16, name = "teacher"}
teacher:train{data = train, epochs = 1, quiet = true}
local kd = m:train{teacher = teacher, epochs = 1, quiet = true}
T.eq(kd.epochs, 1, "KD epoch")
local kdn = R.train{model = "student", distill = "teacher", epochs = 1, quiet = true}
T.eq(kdn.epochs, 1, "distill= names a teacher")
local e0 = m:param("embed_linear.weight"):get(1, 1)
local kt = m:train{teacher = teacher, kt_block = 2, epochs = 1, quiet = true}
T.eq(kt.epochs, 1, "KT of one block")
T.eq(m:param("embed_linear.weight"):get(1, 1), e0, "KT of block 2 leaves the embedding alone")
T.errors(function() m:train{kt_block = 1} end, "KT needs a teacher", "needs teacher=")
local phases, embed_same = {}, nil
local rec = m:train{teacher = teacher, kt_epochs = 1, kd_epochs = 1, quiet = true, on_epoch = function(st)
  phases[#phases + 1] = st.phase
  if st.phase == "kt block 3" then
    embed_same = m:param("embed_linear.weight"):get(1, 1) == teacher:param("embed_linear.weight"):get(1, 1)
  end
end}
T.eq(rec.phase, "done", "recipe finished")
T.eq(table.concat(phases, ","), "kt block 0,kt block 1,kt block 2,kt block 3,kd", "recipe phases")
T.eq(embed_same, true, "KT uses the teacher's embedding, frozen")
T.errors(function() m:train{teacher = teacher, kd_epochs = 1, epochs = 3} end, "recipe with epochs=", "drop epochs=")
T.errors(function() m:train{teacher = m} end, "self teacher", "own teacher")
-- inside on_epoch: eval is fine; closing or retraining the model in training is refused
local inner = {}
m:train{epochs = 1, quiet = true, on_epoch = function()
  inner.acc = m:eval(test).acc
  inner.close = select(2, pcall(m.close, m))
  inner.train = select(2, pcall(m.train, m, {epochs = 1}))
  inner.data = select(2, pcall(train.close, train))
end}
T.check(inner.acc and inner.acc >= 0, "eval inside on_epoch")
T.check(tostring(inner.close):find("in use", 1, true), "close refused during training")
T.check(tostring(inner.train):find("in use", 1, true), "nested training refused")
T.check(tostring(inner.data):find("in use", 1, true), "closing the training data refused")
T.eq(m:eval(test).n, 200, "model fine afterwards")
T.done()
