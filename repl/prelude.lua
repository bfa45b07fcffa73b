-- prelude.lua - Lua code built into resmlp (repl/gen_prelude.sh turns it into prelude_lua.c): how the
-- prompt prints values, option parsing for scripts, Markdown tables and file writing. It runs once at
-- start-up with the `resmlp` module table as its argument; it must stay small (start-up time).
local R = ...

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

local function num(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
  return string.format("%.7g", v)
end

-- the name of a function of the resmlp module or a method of its objects (built on first use), so
-- that values print as `function resmlp.plot.act` / `method Model:train`, not as addresses
local fnames
local function fname(f)
  if not fnames then
    fnames = {}
    local function walk(t, prefix, d)
      for k, v in pairs(t) do
        if type(k) == "string" then
          if type(v) == "function" then fnames[v] = fnames[v] or ("function " .. prefix .. k)
          elseif type(v) == "table" and d < 2 and k ~= "ws" then walk(v, prefix .. k .. ".", d + 1) end
        end
      end
    end
    walk(R, "resmlp.", 0)
    local reg = debug.getregistry()
    for _, cls in ipairs{"Model", "Dataset", "Tensor", "QModel"} do
      local mt = reg["resmlp." .. cls]
      if type(mt) == "table" then
        for _, t in ipairs{type(mt.__index) == "table" and mt.__index or mt.__methods or {}, mt} do
          for k, v in pairs(t) do
            if type(v) == "function" then fnames[v] = fnames[v] or ("method " .. cls .. ":" .. k) end
          end
        end
      end
    end
  end
  if fnames[f] then return fnames[f] end
  local i = debug.getinfo(f, "S")
  return i.what == "Lua" and ("function (" .. i.short_src .. ":" .. i.linedefined .. ")") or "function (builtin)"
end

-- one readable line for a value: tables shallow-sorted, long arrays cut, strings quoted inside tables
local function repr(v, depth, seen)
  local t = type(v)
  if t == "number" then return num(v) end
  if t == "string" then return depth > 0 and string.format("%q", v) or v end
  if t == "function" then return fname(v) end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if seen[v] or depth >= 3 then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, math.min(n, 12) do parts[#parts + 1] = repr(v[i], depth + 1, seen) end
  if n > 12 then parts[#parts + 1] = "... (" .. n .. " items)" end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  for i, k in ipairs(keys) do
    if i > 24 then parts[#parts + 1] = "... (" .. #keys .. " keys)"; break end
    local ks = is_ident(k) and k or "[" .. repr(k, depth + 1, seen) .. "]"
    parts[#parts + 1] = ks .. " = " .. repr(v[k], depth + 1, seen)
  end
  seen[v] = nil
  return "{" .. table.concat(parts, ", ") .. "}"
end

function R.repr(v) return repr(v, 0, {}) end

-- the prompt prints expression results with this and keeps the first in `_`
function R._show(...)
  local n = select("#", ...)
  if n == 0 then return end
  _G._ = (...)
  local out = {}
  for i = 1, n do out[i] = repr((select(i, ...)), 0, {}) end
  print(table.concat(out, "\t"))
end

-- opts, rest = resmlp.args(arg, defaults): --name=value, --name value, --flag (boolean defaults),
-- comma lists for table defaults; dashes in names become underscores; unknown names are errors
function R.args(argv, defaults)
  defaults = defaults or {}
  local o, rest = {}, {}
  for k, v in pairs(defaults) do o[k] = v end
  local i = 1
  while argv and argv[i] ~= nil do
    local a = argv[i]
    local k, v = a:match("^%-%-([%w_%-]+)=(.*)$")
    if not k then k = a:match("^%-%-([%w_%-]+)$") end
    if k then
      k = k:gsub("%-", "_")
      local d = defaults[k]
      if d == nil then
        local names = {}
        for name in pairs(defaults) do names[#names + 1] = "--" .. name:gsub("_", "-") end
        table.sort(names)
        error("unknown option --" .. k .. " (options: " .. table.concat(names, " ") .. ")", 0)
      end
      if v == nil then
        if type(d) == "boolean" then v = true
        else
          i = i + 1
          v = argv[i]
          if v == nil then error("option --" .. k .. " needs a value", 0) end
        end
      end
      if type(d) == "number" then
        v = tonumber(v) or error("option --" .. k .. " needs a number, got '" .. tostring(v) .. "'", 0)
      elseif type(d) == "boolean" and type(v) == "string" then
        v = v == "true" or v == "1" or v == "yes"
      elseif type(d) == "table" then
        local l = {}
        for x in tostring(v):gmatch("[^,]+") do l[#l + 1] = tonumber(x) or x end
        v = l
      end
      o[k] = v
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return o, rest
end

-- Markdown table: header is a list of column titles, rows a list of lists
function R.markdown(header, rows)
  local function line(cells)
    local s = {}
    for i = 1, #header do s[i] = tostring(cells[i] == nil and "" or cells[i]) end
    return "| " .. table.concat(s, " | ") .. " |"
  end
  local out = {line(header)}
  local sep = {}
  for i = 1, #header do sep[i] = "---" end
  out[2] = "|" .. table.concat(sep, "|") .. "|"
  for _, r in ipairs(rows) do out[#out + 1] = line(r) end
  return table.concat(out, "\n") .. "\n"
end

-- write text to path, creating the directory
function R.write(path, text)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then R.mkdir(dir) end
  local f <close>, err = io.open(path, "w")
  if not f then error(err, 2) end
  f:write(text)
end

-- A layer-list network from a Lua table, e.g.
--   resmlp.net{input = {6}, {"linear", 32, w = "int16"}, {"bn"}, {"sign", grad = "reste"}, {"linear", 3}}
-- input = {F} or {C, H, W}; each entry is {type, [first value], key = value...} as in the text form
-- (`help net`); name = and seed = go to `model new`. Returns the Model.
function R.net(spec)
  if type(spec) ~= "table" then error("resmlp.net: expected a table of layers", 2) end
  local inp = spec.input
  if type(inp) ~= "table" or (#inp ~= 1 and #inp ~= 3) then
    error("resmlp.net: input = {features} or {C, H, W} is required", 2)
  end
  local parts = {"input=" .. table.concat(inp, "x")}
  for i, l in ipairs(spec) do
    if type(l) ~= "table" or type(l[1]) ~= "string" then
      error(("resmlp.net: layer %d must be a table starting with its type, e.g. {\"linear\", 32}"):format(i), 2)
    end
    local args = {}
    if l[2] ~= nil then args[1] = tostring(l[2]) end
    local keys = {}
    for k in pairs(l) do
      if type(k) == "string" then keys[#keys + 1] = k
      elseif k ~= 1 and k ~= 2 then error(("resmlp.net: layer %d has an extra positional value"):format(i), 2) end
    end
    table.sort(keys)
    for _, k in ipairs(keys) do args[#args + 1] = k .. "=" .. tostring(l[k]) end
    parts[#parts + 1] = #args > 0 and (l[1] .. "(" .. table.concat(args, ",") .. ")") or l[1]
  end
  local ok, m = pcall(R.model, {net = table.concat(parts, " "), name = spec.name, seed = spec.seed})
  if not ok then error((tostring(m):gsub("^prelude:%d+: ", "")), 2) end
  return m
end

return R
