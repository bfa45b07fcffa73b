/* lua_state.c - the Lua state of the program: standard libraries, the `resmlp` module (a function per
 * command, the userdata metatables, the workspace table `resmlp.ws`, a few helpers) and the prelude,
 * Lua code compiled into the binary (prelude.lua -> prelude_lua.c), so nothing is read from disk. */
#include "registry.h"
#include <lualib.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern unsigned char prelude_lua[];
extern unsigned int prelude_lua_len;

void rm_plot_open_lua(lua_State *L);       /* cmd_plot.c */

#define WS_KEY "resmlp.ws"

void rm_ws_push(lua_State *L) { lua_getfield(L, LUA_REGISTRYINDEX, WS_KEY); }

int rm_ws_get(lua_State *L, const char *name) {
    rm_ws_push(L);
    int t = lua_getfield(L, -1, name);   /* stack: ws, value */
    lua_remove(L, -2);
    return t;
}

void rm_ws_set(lua_State *L, const char *name, int idx) {
    idx = lua_absindex(L, idx);
    rm_ws_push(L);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

const char *rm_ws_name(lua_State *L, const void *ud, char *buf, size_t n) {
    const char *found = NULL;
    rm_ws_push(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {   /* stack: ws, key, value */
        if (!found && lua_type(L, -2) == LUA_TSTRING && lua_touserdata(L, -1) == ud) {
            /* prefer the current model's name when an object has several */
            const char *k = lua_tostring(L, -2);
            snprintf(buf, n, "%s", k);
            found = buf;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (found && rm_A.cur_model[0]) {
        int t = rm_ws_get(L, rm_A.cur_model);
        if (t == LUA_TUSERDATA && lua_touserdata(L, -1) == ud) snprintf(buf, n, "%s", rm_A.cur_model);
        lua_pop(L, 1);
    }
    return found;
}

static int l_clock(lua_State *L) { lua_pushnumber(L, rm_now()); return 1; }

static int l_mkdir(lua_State *L) {
    const char *d = luaL_checkstring(L, 1);
    if (rm_mkdirs(d)) return luaL_error(L, "mkdir %s failed", d);
    return 0;
}

static int l_isatty(lua_State *L) { lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1))); return 1; }

/* resmlp.commands() -> { {name=, usage=, summary=, options={ {name=, type=, default=, help=}, ... } }, ... } */
static void push_specs(lua_State *L, const rm_opt *o) {
    lua_newtable(L);
    for (int i = 0; o && o[i].name; i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, o[i].name); lua_setfield(L, -2, "name");
        lua_pushstring(L, rm_argtype_name(o[i].type)); lua_setfield(L, -2, "type");
        if (o[i].def) { lua_pushstring(L, o[i].def); lua_setfield(L, -2, "default"); }
        if (o[i].help) { lua_pushstring(L, o[i].help); lua_setfield(L, -2, "help"); }
        if (o[i].choices) { lua_pushstring(L, o[i].choices); lua_setfield(L, -2, "choices"); }
        lua_rawseti(L, -2, i + 1);
    }
}
static int l_commands(lua_State *L) {
    lua_newtable(L);
    for (int i = 0; rm_commands[i].name; i++) {
        const rm_command *c = &rm_commands[i];
        lua_createtable(L, 0, 5);
        lua_pushstring(L, c->name); lua_setfield(L, -2, "name");
        lua_pushstring(L, c->usage ? c->usage : ""); lua_setfield(L, -2, "usage");
        lua_pushstring(L, c->summary); lua_setfield(L, -2, "summary");
        push_specs(L, c->pos); lua_setfield(L, -2, "args");
        push_specs(L, c->opts); lua_setfield(L, -2, "options");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_current(lua_State *L) {   /* resmlp.current() -> the current Model or nil */
    if (!rm_A.cur_model[0]) return 0;
    rm_ws_get(L, rm_A.cur_model);
    return 1;
}

/* resmlp.memory() -> {rss=, heap_used=, heap_free=, mmapped=, lua=} in bytes: the process's resident set
 * (/proc/self/statm), glibc's heap in use and held free (mallinfo2), Lua's own allocation. Tells a leak
 * (heap_used grows) from allocator retention (heap_free grows). */
static int l_memory(lua_State *L) {
    long pages = -1, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) { if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1; fclose(f); }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, resident < 0 ? -1 : (lua_Integer)resident * sysconf(_SC_PAGESIZE)); lua_setfield(L, -2, "rss");
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    lua_pushinteger(L, (lua_Integer)mi.uordblks + (lua_Integer)mi.hblkhd); lua_setfield(L, -2, "heap_used");
    lua_pushinteger(L, (lua_Integer)mi.fordblks); lua_setfield(L, -2, "heap_free");
    lua_pushinteger(L, (lua_Integer)mi.hblkhd); lua_setfield(L, -2, "mmapped");
#endif
    lua_pushinteger(L, (lua_Integer)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + lua_gc(L, LUA_GCCOUNTB, 0)); lua_setfield(L, -2, "lua");
    return 1;
}

static int open_resmlp(lua_State *L) {
    static const luaL_Reg extra[] = {{"clock", l_clock}, {"mkdir", l_mkdir}, {"isatty", l_isatty},
                                     {"commands", l_commands}, {"current", l_current},
                                     {"memory", l_memory}, {NULL, NULL}};
    luaL_newlib(L, extra);                  /* stack: resmlp */
    for (int i = 0; rm_commands[i].name; i++) {
        rm_cmd_pushfunction(L, &rm_commands[i]);
        lua_setfield(L, -2, rm_commands[i].name);
    }
    rm_plot_open_lua(L);                    /* resmlp.plot becomes a callable table: .act .hist .train .heatmap */
    lua_pushstring(L, RM_VERSION);
    lua_setfield(L, -2, "version");
    rm_ws_push(L);
    lua_setfield(L, -2, "ws");
    /* the prelude adds Lua-level helpers; it gets the module table as its argument */
    if (luaL_loadbuffer(L, (const char *)prelude_lua, prelude_lua_len, "=prelude") != LUA_OK) return lua_error(L);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
    return 1;
}

static int init(lua_State *L) {
    luaL_openlibs(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, WS_KEY);
    rm_open_model(L);
    rm_open_data(L);
    rm_open_tensor(L);
    rm_open_qmodel(L);
    luaL_requiref(L, "resmlp", open_resmlp, 1);   /* also package.loaded.resmlp, for require */
    lua_pop(L, 1);
    return 0;
}

lua_State *rm_lua_new(rm_app *A) {
    lua_State *L = luaL_newstate();
    if (!L) return NULL;
    lua_pushcfunction(L, init);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        rm_errorf("resmlp: cannot start Lua: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    A->L = L;
    return L;
}
