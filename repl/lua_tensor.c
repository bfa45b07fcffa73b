/* lua_tensor.c - Tensor: a lightweight read-only view of a model's parameter memory (1-D or 2-D
 * float32), or a tensor owning its data (results: m:forward, m:predict logits). A view keeps its model
 * alive through a user value and refuses access once the model is closed. t[i] is a number (1-D) or
 * a row (2-D), 0-based like every index of the Lua API (t[0] is the first; t:totable() gives plain
 * 1-based Lua tables); #t is the first dimension; tostring is one line (shape and statistics),
 * t:show() prints head ... tail. Views see later training updates (they are not copies). */
#include "app.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static ltensor *check(lua_State *L, int i) {
    ltensor *t = luaL_checkudata(L, i, RM_TENSOR_MT);
    if (t->own) return t;
    if (!t->owner) luaL_error(L, "tensor %s: the view was closed", t->name);
    if (!t->owner->m) luaL_error(L, "tensor %s: its model is closed", t->name);
    return t;
}
static size_t numel(const ltensor *t) { return (size_t)t->shape[0] * (t->ndim > 1 ? (size_t)t->shape[1] : 1); }

void rm_tensor_push(lua_State *L, int owner_idx, const char *name, const float *data, int ndim, const int64_t *shape) {
    owner_idx = lua_absindex(L, owner_idx);
    ltensor *t = lua_newuserdatauv(L, sizeof *t, 1);   /* stack: tensor */
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, RM_TENSOR_MT);
    t->owner = lua_touserdata(L, owner_idx);
    t->data = data;
    t->ndim = ndim;
    t->shape[0] = shape[0];
    t->shape[1] = ndim > 1 ? shape[1] : 0;
    snprintf(t->name, sizeof t->name, "%s", name);
    lua_pushvalue(L, owner_idx);
    lua_setiuservalue(L, -2, 1);                       /* keeps the model alive */
}

void rm_tensor_push_owned(lua_State *L, const char *name, float *data, int ndim, const int64_t *shape) {
    ltensor *t = lua_newuserdatauv(L, sizeof *t, 1);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, RM_TENSOR_MT);
    t->own = data;
    t->data = data;
    t->ndim = ndim;
    t->shape[0] = shape[0];
    t->shape[1] = ndim > 1 ? shape[1] : 0;
    snprintf(t->name, sizeof t->name, "%s", name);
}

ltensor *rm_tensor_test(lua_State *L, int idx) {
    ltensor *t = luaL_testudata(L, idx, RM_TENSOR_MT);
    if (!t || (!t->own && (!t->owner || !t->owner->m))) return NULL;
    return t;
}

static int t_index(lua_State *L) {
    ltensor *t = check(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = luaL_checkinteger(L, 2);
        if (i < 0 || i >= t->shape[0])
            return luaL_error(L, "tensor %s: index %d out of range 0..%d (0-based)", t->name, (int)i, (int)t->shape[0] - 1);
        if (t->ndim == 1) { lua_pushnumber(L, t->data[i]); return 1; }
        char nm[96];
        snprintf(nm, sizeof nm, "%.80s[%d]", t->name, (int)i);
        if (t->own) {   /* a row of an owned tensor: a copy (the parent may be closed first) */
            float *row = malloc(sizeof(float) * (size_t)t->shape[1]);
            if (!row) return luaL_error(L, "out of memory");
            memcpy(row, t->data + (size_t)i * t->shape[1], sizeof(float) * (size_t)t->shape[1]);
            rm_tensor_push_owned(L, nm, row, 1, &t->shape[1]);
            return 1;
        }
        lua_getiuservalue(L, 1, 1);                     /* stack: t, i, owner */
        rm_tensor_push(L, -1, nm, t->data + (size_t)i * t->shape[1], 1, &t->shape[1]);
        return 1;
    }
    lua_getfield(L, lua_upvalueindex(1), luaL_checkstring(L, 2));   /* a method */
    return 1;
}

static int t_get(lua_State *L) {
    ltensor *t = check(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2), j = t->ndim > 1 ? luaL_checkinteger(L, 3) : 0;
    if (i < 0 || i >= t->shape[0] || j < 0 || (t->ndim > 1 && j >= t->shape[1]))
        return luaL_error(L, "tensor %s: index (%d, %d) out of range (0-based)", t->name, (int)i, (int)j);
    lua_pushnumber(L, t->data[(size_t)i * (t->ndim > 1 ? t->shape[1] : 1) + j]);
    return 1;
}

static int t_len(lua_State *L) { lua_pushinteger(L, check(L, 1)->shape[0]); return 1; }
static int t_numel(lua_State *L) { lua_pushinteger(L, (lua_Integer)numel(check(L, 1))); return 1; }
static int t_dim(lua_State *L) { lua_pushinteger(L, check(L, 1)->ndim); return 1; }
static int t_name(lua_State *L) { lua_pushstring(L, check(L, 1)->name); return 1; }

static int t_shape(lua_State *L) {
    ltensor *t = check(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) { lua_pushinteger(L, t->shape[d]); lua_rawseti(L, -2, d + 1); }
    return 1;
}

static int t_totable(lua_State *L) {
    ltensor *t = check(L, 1);
    int rows = (int)t->shape[0], cols = t->ndim > 1 ? (int)t->shape[1] : 0;
    lua_createtable(L, rows, 0);
    for (int i = 0; i < rows; i++) {
        if (t->ndim == 1) {
            lua_pushnumber(L, t->data[i]);
        } else {
            lua_createtable(L, cols, 0);
            for (int j = 0; j < cols; j++) { lua_pushnumber(L, t->data[(size_t)i * cols + j]); lua_rawseti(L, -2, j + 1); }
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* min, max, mean, std over all elements */
static void stats(const ltensor *t, double *mn, double *mx, double *mean, double *sd) {
    size_t n = numel(t);
    double s = 0, q = 0;
    *mn = INFINITY; *mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = t->data[i];
        s += v; q += v * v;
        if (v < *mn) *mn = v;
        if (v > *mx) *mx = v;
    }
    *mean = n ? s / n : 0;
    *sd = n ? sqrt(fmax(q / n - *mean * *mean, 0)) : 0;
}
static int t_stat(lua_State *L, int which) {
    double v[4];
    stats(check(L, 1), &v[0], &v[1], &v[2], &v[3]);
    lua_pushnumber(L, v[which]);
    return 1;
}
static int t_min(lua_State *L) { return t_stat(L, 0); }
static int t_max(lua_State *L) { return t_stat(L, 1); }
static int t_mean(lua_State *L) { return t_stat(L, 2); }
static int t_std(lua_State *L) { return t_stat(L, 3); }

static void add_row(luaL_Buffer *b, const float *x, int n) {
    char num[32];
    luaL_addchar(b, '[');
    for (int j = 0; j < n; j++) {
        if (n > 8 && j == 3) { luaL_addstring(b, ", ..."); j = n - 3; }
        snprintf(num, sizeof num, "%s%.4g", j ? ", " : "", x[j]);
        luaL_addstring(b, num);
    }
    luaL_addchar(b, ']');
}

/* one line: name, shape and statistics */
static int t_tostring(lua_State *L) {
    ltensor *t = luaL_checkudata(L, 1, RM_TENSOR_MT);
    if (!t->own && (!t->owner || !t->owner->m)) { lua_pushfstring(L, "Tensor %s (closed)", t->name); return 1; }
    double mn, mx, mean, sd;
    stats(t, &mn, &mx, &mean, &sd);
    char head[256];
    if (t->ndim == 1) snprintf(head, sizeof head, "Tensor %s (%d) min %.4g max %.4g mean %.4g std %.4g", t->name, (int)t->shape[0], mn, mx, mean, sd);
    else snprintf(head, sizeof head, "Tensor %s (%d, %d) min %.4g max %.4g mean %.4g std %.4g", t->name, (int)t->shape[0], (int)t->shape[1], mn, mx, mean, sd);
    lua_pushstring(L, head);
    return 1;
}

/* t:show() -> the summary line and the values (large tensors as head ... tail) */
static int t_show(lua_State *L) {
    ltensor *t = check(L, 1);
    luaL_Buffer b;
    t_tostring(L);
    luaL_buffinit(L, &b);
    lua_pushvalue(L, -2);
    luaL_addvalue(&b);
    luaL_addchar(&b, '\n');
    if (t->ndim == 1) {
        add_row(&b, t->data, (int)t->shape[0]);
    } else {
        int rows = (int)t->shape[0], cols = (int)t->shape[1];
        luaL_addchar(&b, '[');
        for (int i = 0; i < rows; i++) {
            if (rows > 6 && i == 3) { luaL_addstring(&b, ",\n ..."); i = rows - 3; }
            if (i) luaL_addstring(&b, ",\n ");
            add_row(&b, t->data + (size_t)i * cols, cols);
        }
        luaL_addchar(&b, ']');
    }
    luaL_pushresult(&b);
    return 1;
}

static int t_close(lua_State *L) {
    ltensor *t = luaL_checkudata(L, 1, RM_TENSOR_MT);
    free(t->own);
    t->own = NULL;
    t->owner = NULL;
    t->data = NULL;
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 1);   /* let the model go */
    return 0;
}

void rm_open_tensor(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"shape", t_shape}, {"dim", t_dim}, {"numel", t_numel}, {"name", t_name}, {"get", t_get},
        {"totable", t_totable}, {"min", t_min}, {"max", t_max}, {"mean", t_mean}, {"std", t_std},
        {"close", t_close}, {"show", t_show}, {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__len", t_len}, {"__tostring", t_tostring}, {"__gc", t_close}, {"__close", t_close}, {NULL, NULL}};
    luaL_newmetatable(L, RM_TENSOR_MT);   /* stack: mt */
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);              /* stack: mt, methods */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods");     /* for completion: __index is a function here */
    lua_pushcclosure(L, t_index, 1);      /* stack: mt, __index */
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
