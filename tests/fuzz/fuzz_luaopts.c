/* fuzz_luaopts.c - fuzz target of the Lua API's option parsing: resmlp.<command>(pos..., {opts}) for
 * every command of the real table, with arguments built from the input (positional values, then a
 * trailing table of option names - the command's own, near misses and junk - with integers, floats,
 * strings, booleans, tables, functions, Models and Datasets as values), through rm_cmd_args_from_stack
 * and rm_cmd_invoke exactly as the registered Lua functions call them (under lua_pcall).
 * Input: byte 0 = command, byte 1 = number of positionals, then value records. */
#include "fuzz_repl.h"

static int l_noop(lua_State *L) { return 0; }

/* push one value described by the input */
static void push_value(lua_State *L, fz_in *in) {
    unsigned t = fz_byte(in);
    size_t n;
    switch (t % 9) {
    case 0: { long long v = 0; const uint8_t *p = fz_take(in, 8, &n); memcpy(&v, p, n); lua_pushinteger(L, v); break; }
    case 1: { double v = 0; const uint8_t *p = fz_take(in, 8, &n); memcpy(&v, p, n); lua_pushnumber(L, v); break; }
    case 2: { const uint8_t *p = fz_take(in, fz_byte(in) % 48, &n); lua_pushlstring(L, (const char *)p, n); break; }
    case 3: lua_pushboolean(L, t & 16); break;
    case 4: lua_newtable(L); break;
    case 5: lua_pushcfunction(L, l_noop); break;
    case 6: rm_ws_get(L, "m"); break;
    case 7: rm_ws_get(L, "d"); break;
    default: lua_pushinteger(L, (lua_Integer)(t >> 4) - 2); break;
    }
}

static int l_run(lua_State *L) {   /* upvalue: command; stack: the call's arguments */
    const rm_command *cmd = lua_touserdata(L, lua_upvalueindex(1));
    rm_cmd_args_from_stack(L, 1, lua_gettop(L));
    return rm_cmd_invoke(L, cmd, -1, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lua_State *L = fz_lua();
    fz_in in = {data, size};
    int nc = rm_cmd_count();
    rm_command cmd = rm_commands[fz_byte(&in) % nc];
    cmd.fn = fz_handler;
    const char *names[RM_MAXOPTS + RM_MAXPOS + 1];
    int nn = 0;
    for (const rm_opt *o = cmd.opts; o && o->name; o++) names[nn++] = o->name;
    for (const rm_opt *o = cmd.pos; o && o->name; o++) names[nn++] = o->name;
    lua_pushlightuserdata(L, &cmd);
    lua_pushcclosure(L, l_run, 1);      /* stack: f */
    int npos = fz_byte(&in) % 6;
    for (int i = 0; i < npos; i++) push_value(L, &in);
    lua_newtable(L);                    /* stack: f, pos..., opts */
    while (in.n) {
        unsigned k = fz_byte(&in);
        size_t n;
        switch (k % 4) {
        case 0: lua_pushinteger(L, (lua_Integer)(k >> 2) % 8 - 1); break;
        case 1: case 3:
            if (nn) { lua_pushstring(L, names[(k >> 2) % nn]); break; }
            /* fall through */
        default: { const uint8_t *p = fz_take(&in, fz_byte(&in) % 16, &n); lua_pushlstring(L, (const char *)p, n); }
        }
        push_value(L, &in);             /* stack: ..., opts, key, value */
        lua_rawset(L, -3);
    }
    if (lua_pcall(L, npos + 1, LUA_MULTRET, 0) != LUA_OK && !lua_isstring(L, -1)) abort();
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);   /* what this input allocated is freed now: libFuzzer's per-input leak check stays quiet and exact */
    return 0;
}
