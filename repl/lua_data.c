/* lua_data.c - the Dataset userdata: images and labels loaded by the `data` command (or sliced from
 * another set). Created empty before loading; __gc and __close share one idempotent release. */
#include "app.h"
#include <string.h>

static void release(ldata *d) {
    rm_dataset_free(&d->ds);
    memset(&d->ds, 0, sizeof d->ds);
    d->loaded = 0;
}

ldata *rm_data_push(lua_State *L) {
    ldata *d = lua_newuserdatauv(L, sizeof *d, 0);
    memset(d, 0, sizeof *d);
    luaL_setmetatable(L, RM_DATA_MT);
    return d;
}

ldata *rm_data_check(lua_State *L, int idx) {
    ldata *d = luaL_checkudata(L, idx, RM_DATA_MT);
    if (!d->loaded) luaL_error(L, "the data set is closed");
    return d;
}

static int d_gc(lua_State *L) { release(luaL_checkudata(L, 1, RM_DATA_MT)); return 0; }

static int d_tostring(lua_State *L) {
    ldata *d = luaL_checkudata(L, 1, RM_DATA_MT);
    if (!d->loaded) { lua_pushstring(L, "Dataset (closed)"); return 1; }
    char n[32], b[32];
    const rm_dataset *s = &d->ds;
    lua_pushfstring(L, "Dataset(%s: %s images %dx%dx%d, %d classes, %s)", s->name, rm_fmt_count(n, sizeof n, s->n),
                    s->c, s->h, s->w, s->nclass, rm_fmt_bytes(b, sizeof b, (double)s->n * (s->c * s->h * s->w + 1)));
    return 1;
}

static int d_len(lua_State *L) { lua_pushinteger(L, rm_data_check(L, 1)->ds.n); return 1; }
static int d_name(lua_State *L) { lua_pushstring(L, rm_data_check(L, 1)->ds.name); return 1; }
static int d_classes(lua_State *L) { lua_pushinteger(L, rm_data_check(L, 1)->ds.nclass); return 1; }

static int d_shape(lua_State *L) {
    const rm_dataset *s = &rm_data_check(L, 1)->ds;
    lua_createtable(L, 4, 0);
    int v[4] = {s->n, s->c, s->h, s->w};
    for (int i = 0; i < 4; i++) { lua_pushinteger(L, v[i]); lua_rawseti(L, -2, i + 1); }
    return 1;
}

/* ds:label(i) -> class of image i (0-based index, like every index of the Lua API) */
static int d_label(lua_State *L) {
    const rm_dataset *s = &rm_data_check(L, 1)->ds;
    lua_Integer i = luaL_checkinteger(L, 2);
    if (i < 0 || i >= s->n) return luaL_error(L, "label: image index %d out of range 0..%d (0-based)", (int)i, s->n - 1);
    lua_pushinteger(L, s->labels[i]);
    return 1;
}

/* ds:counts() -> {[0]=n0, n1, ...}: images per class */
static int d_counts(lua_State *L) {
    const rm_dataset *s = &rm_data_check(L, 1)->ds;
    lua_Integer cnt[256] = {0};
    for (int i = 0; i < s->n; i++) cnt[s->labels[i]]++;
    lua_createtable(L, s->nclass, 1);
    for (int k = 0; k < s->nclass; k++) { lua_pushinteger(L, cnt[k]); lua_rawseti(L, -2, k); }
    return 1;
}

/* ds:slice(start, count) -> a new Dataset of images [start, start+count) (0-based start, like every
 * index of the Lua API) */
static int d_slice(lua_State *L) {
    const rm_dataset *s = &rm_data_check(L, 1)->ds;
    lua_Integer start = luaL_checkinteger(L, 2), count = luaL_optinteger(L, 3, s->n - start);
    if (start < 0 || start >= s->n) return luaL_error(L, "slice: start %d out of range 0..%d (0-based)", (int)start, s->n - 1);
    if (count < 1 || start + count > s->n)
        return luaL_error(L, "slice: count %d out of range 1..%d from start %d", (int)count, (int)(s->n - start), (int)start);
    ldata *d = rm_data_push(L);
    rm_ctx ctx = {0};
    if (rm_dataset_slice(&ctx, &d->ds, s, (int)start, (int)count)) return luaL_error(L, "slice: %s", ctx.msg);
    d->loaded = 1;
    return 1;
}

static int d_close(lua_State *L) {
    ldata *d = luaL_checkudata(L, 1, RM_DATA_MT);
    if (d->busy) return luaL_error(L, "the data set is in use by a running command");
    release(d);
    return 0;
}

void rm_open_data(lua_State *L) {
    static const luaL_Reg meta[] = {{"__gc", d_gc}, {"__close", d_close}, {"__tostring", d_tostring}, {"__len", d_len}, {NULL, NULL}};
    static const luaL_Reg methods[] = {{"size", d_len}, {"name", d_name}, {"classes", d_classes}, {"shape", d_shape},
                                       {"label", d_label}, {"counts", d_counts}, {"slice", d_slice}, {"close", d_close},
                                       {NULL, NULL}};
    luaL_newmetatable(L, RM_DATA_MT);   /* stack: mt */
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);            /* stack: mt, methods */
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
