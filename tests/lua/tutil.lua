-- tutil.lua - tiny harness for the Lua API tests (tests/e2e_lua_*.lua, run with `./resmlp run`):
-- checks record a failure and go on; T.done() prints a summary and exits non-zero on any failure.
local T = {fails = 0, checks = 0}
T.data = os.getenv("RESMLP_DATA") or "../shared/data/cifar-10-batches-bin"
-- one thread unless asked: these tests are small, and a busy 2-core machine punishes OpenMP spinning
if not os.getenv("RESMLP_THREADS") then resmlp.threads(1) end

local function where() local i = debug.getinfo(3, "Sl"); return i.short_src .. ":" .. i.currentline end

function T.check(cond, msg)
  T.checks = T.checks + 1
  if not cond then T.fails = T.fails + 1; io.stderr:write("FAIL ", where(), ": ", tostring(msg), "\n") end
  return cond
end
function T.eq(a, b, msg)
  return T.check(a == b, (msg or "") .. ": got " .. tostring(a) .. ", want " .. tostring(b))
end
function T.near(a, b, tol, msg)
  return T.check(type(a) == "number" and math.abs(a - b) <= tol, (msg or "") .. ": got " .. tostring(a) .. ", want " .. tostring(b))
end
-- fn must raise an error whose message contains every given fragment (plain text)
function T.errors(fn, msg, ...)
  local ok, err = pcall(fn)
  if not T.check(not ok, msg .. ": no error") then return end
  for _, frag in ipairs({...}) do
    T.check(tostring(err):find(frag, 1, true), msg .. ": error '" .. tostring(err) .. "' lacks '" .. frag .. "'")
  end
end
-- a fresh temporary directory
function T.tmpdir()
  local f = os.tmpname(); os.remove(f); resmlp.mkdir(f); return f
end
function T.done()
  print(string.format("%s: %d checks, %d failed", arg and arg[0] or "?", T.checks, T.fails))
  resmlp.quit(T.fails == 0 and 0 or 1)
end
return T
