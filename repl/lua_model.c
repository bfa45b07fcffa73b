/* lua_model.c - the Model userdata. One metatable; __index is the methods table; __gc and __close
 * share one idempotent release; the userdata is created empty (m == NULL) before the model is built,
 * so a failed build leaves nothing half-made for __gc. Methods that mirror commands (train, eval,
 * save, info, layers, curve, param) run the command with model=self, so both paths behave alike. */
#include "core/predict.h"
#include "core/checkpoint.h"
#include "registry.h"
#include "core/optim.h"
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void release(lmodel *lm) {
    rm_model_free(lm->m);
    lm->m = NULL;
    free(lm->hist);
    lm->hist = NULL;
    lm->nhist = lm->caphist = 0;
}

lmodel *rm_model_push(lua_State *L) {
    lmodel *lm = lua_newuserdatauv(L, sizeof *lm, 0);
    memset(lm, 0, sizeof *lm);
    luaL_setmetatable(L, RM_MODEL_MT);
    return lm;
}

lmodel *rm_model_check(lua_State *L, int idx) {
    lmodel *lm = luaL_checkudata(L, idx, RM_MODEL_MT);
    if (!lm->m) luaL_error(L, "the model is closed");
    return lm;
}

size_t rm_model_bytes(const rm_model *m) {
    size_t b = sizeof *m + malloc_usable_size(m->mem) + malloc_usable_size(m->gmem) + malloc_usable_size(m->bmem) +
               malloc_usable_size(m->cmem) + malloc_usable_size(m->scratch) + malloc_usable_size(m->tensors) +
               malloc_usable_size(m->buftensors);
    for (int l = 0; l < RM_MAXL; l++)
        for (int s = 0; s < 2; s++) b += malloc_usable_size(m->actwork[l][s]);
    return b;
}

char *rm_model_hist_text(const lmodel *lm) {
    if (!lm->nhist) return NULL;
    size_t cap = (size_t)lm->nhist * 96 + 1, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    for (int i = 0; i < lm->nhist; i++) {
        const rm_epoch_rec *r = &lm->hist[i];
        n += (size_t)snprintf(s + n, cap - n, "%s%.7g,%.7g,%.7g,%.7g,%.7g,%d", i ? ";" : "", r->train_loss, r->train_acc,
                              r->test_loss, r->test_acc, r->lr, r->have_test);
    }
    return s;
}

int rm_model_hist_parse(lmodel *lm, const char *text) {
    lm->nhist = 0;
    int n = 0;
    for (const char *p = text; p && *p;) {
        rm_epoch_rec r = {0};
        int used = 0;
        if (sscanf(p, "%g,%g,%g,%g,%g,%d%n", &r.train_loss, &r.train_acc, &r.test_loss, &r.test_acc, &r.lr, &r.have_test,
                   &used) != 6)
            return -1;
        if (rm_model_hist_add(lm, &r)) return -1;
        n++;
        p += used;
        if (*p == ';') p++;
        else if (*p) return -1;
    }
    return n;
}

int rm_model_save_with_hist(rm_ctx *ctx, const char *path, const lmodel *lm) {
    char *h = rm_model_hist_text(lm);
    int r = rm_checkpoint_save_extra(ctx, path, lm->m, NULL, NULL, h ? "train.history" : NULL, h);
    free(h);
    return r;
}

int rm_model_hist_add(lmodel *lm, const rm_epoch_rec *r) {
    if (lm->nhist == lm->caphist) {
        int cap = lm->caphist ? 2 * lm->caphist : 16;
        rm_epoch_rec *h = realloc(lm->hist, cap * sizeof *h);
        if (!h) return -1;
        lm->hist = h;
        lm->caphist = cap;
    }
    lm->hist[lm->nhist++] = *r;
    return 0;
}

static int m_gc(lua_State *L) {
    release(luaL_checkudata(L, 1, RM_MODEL_MT));
    return 0;
}

static int m_tostring(lua_State *L) {
    lmodel *lm = luaL_checkudata(L, 1, RM_MODEL_MT);
    if (!lm->m) { lua_pushstring(L, "Model (closed)"); return 1; }
    const rm_model_cfg *c = &lm->m->cfg;
    char n[32];
    if (lm->m->net) {
        char d[4096];
        rm_model_describe(lm->m, d, sizeof d);
        lua_pushfstring(L, "Model(net %s, %s params, %d epochs trained)", d,
                        rm_fmt_count(n, sizeof n, (double)rm_model_trainable_count(lm->m)), lm->epochs);
        return 1;
    }
    lua_pushfstring(L, "Model(%s, hidden=%d, %s params, %d epochs trained)", rm_act_name(c->act.kind), c->H,
                    rm_fmt_count(n, sizeof n, (double)rm_model_trainable_count(lm->m)), lm->epochs);
    return 1;
}

/* m:method(...) -> the command `name` with model = m */
static int shim(lua_State *L, const char *name) {
    rm_model_check(L, 1);
    rm_cmd_args_from_stack(L, 2, lua_gettop(L));   /* stack: self, ..., args */
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "model");
    return rm_cmd_invoke(L, rm_cmd_find(name), -1, 0);
}
static int m_train(lua_State *L) { return shim(L, "train"); }
static int m_eval(lua_State *L) { return shim(L, "eval"); }
static int m_save(lua_State *L) { return shim(L, "save"); }
static int m_info(lua_State *L) { return shim(L, "info"); }
static int m_layers(lua_State *L) { return shim(L, "layers"); }
static int m_curve(lua_State *L) { return shim(L, "curve"); }
static int m_param(lua_State *L) { return shim(L, "param"); }
static int m_export(lua_State *L) { return shim(L, "export"); }

/* m:predict(data [, {logits=, batch=}]) -> Tensor (N,K); the `predict` command with model = m */
static int m_predict(lua_State *L) {
    rm_model_check(L, 1);
    int top = lua_gettop(L);
    if (top >= 2 && !lua_istable(L, 2)) {   /* m:predict(ds, {opts}) -> predict{ds, opts...} */
        lua_newtable(L);
        if (top >= 3 && lua_istable(L, 3)) {
            lua_pushnil(L);
            while (lua_next(L, 3)) { lua_pushvalue(L, -2); lua_insert(L, -2); lua_settable(L, -4); }
        }
        lua_pushvalue(L, 2);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 2);
        lua_settop(L, 2);
    }
    return shim(L, "predict");
}

/* m:inputs(ds [, start [, count]]) -> Tensor (count, inputs): images start.. (0-based) of ds in the
 * model's input layout (normalised patches for the ResMLP, flat rows for a net), for m:forward */
static int m_inputs(lua_State *L) {
    rm_model *m = rm_model_check(L, 1)->m;
    const rm_dataset *ds = &rm_data_check(L, 2)->ds;
    lua_Integer start = luaL_optinteger(L, 3, 0), count = luaL_optinteger(L, 4, ds->n - start);
    luaL_argcheck(L, start >= 0 && start < ds->n, 3, "start out of range (0-based)");
    luaL_argcheck(L, count >= 1 && start + count <= ds->n, 4, "count out of range");
    const rm_model_cfg *c = &m->cfg;
    if (m->net ? (long)ds->c * ds->h * ds->w != c->P
               : (!ds->pixels || rm_data_tokens(ds, c->patch) != c->T || rm_data_patchdim(ds, c->patch) != c->P))
        return luaL_error(L, "inputs: data set %s (%dx%dx%d) does not fit the model's input", ds->name, ds->c, ds->h, ds->w);
    size_t in = rm_model_input_size(m);
    float *x = malloc(sizeof(float) * (size_t)count * in);
    int *idx = malloc(sizeof(int) * (size_t)count), *y = malloc(sizeof(int) * (size_t)count);
    if (!x || !idx || !y) { free(x); free(idx); free(y); return luaL_error(L, "inputs: out of memory"); }
    for (lua_Integer i = 0; i < count; i++) idx[i] = (int)(start + i);
    if (m->net) rm_make_batch_flat(ds, idx, (int)count, x, y);
    else rm_make_batch(ds, idx, (int)count, c->patch, RM_AUG_NONE, 0, x, y);
    free(idx); free(y);
    int64_t shape[2] = {count, (int64_t)in};
    rm_tensor_push_owned(L, "inputs", x, 2, shape);
    return 1;
}

/* m:forward(x) -> Tensor (B,K): x is a Tensor (B, inputs) or a table of B rows of `inputs` numbers, in
 * the model's input layout (normalised patches (T*P) for the ResMLP, flat rows for a net); eval mode */
static int m_forward(lua_State *L) {
    lmodel *lm = rm_model_check(L, 1);
    if (lm->busy || rm_A.in_core) return luaL_error(L, "forward: the model is in use (training); call it afterwards");
    rm_model *m = lm->m;
    size_t in = rm_model_input_size(m);
    int B;
    float *x;
    ltensor *t = rm_tensor_test(L, 2);
    if (t) {
        size_t cols = t->ndim > 1 ? (size_t)t->shape[1] : (size_t)t->shape[0];
        B = t->ndim > 1 ? (int)t->shape[0] : 1;
        if (cols != in) return luaL_error(L, "forward: x has %d values per row, the model takes %d", (int)cols, (int)in);
        x = malloc(sizeof(float) * (size_t)B * in);
        if (!x) return luaL_error(L, "forward: out of memory");
        memcpy(x, t->data, sizeof(float) * (size_t)B * in);
    } else if (lua_istable(L, 2)) {
        B = (int)luaL_len(L, 2);
        if (B < 1) return luaL_error(L, "forward: x is an empty table");
        x = malloc(sizeof(float) * (size_t)B * in);
        if (!x) return luaL_error(L, "forward: out of memory");
        for (int i = 0; i < B; i++) {
            lua_geti(L, 2, i + 1);
            if (!lua_istable(L, -1) || (size_t)luaL_len(L, -1) != in) {
                free(x);
                return luaL_error(L, "forward: row %d of x is not a table of %d numbers", i + 1, (int)in);
            }
            for (size_t j = 0; j < in; j++) {
                lua_geti(L, -1, (lua_Integer)j + 1);
                int ok;
                x[(size_t)i * in + j] = (float)lua_tonumberx(L, -1, &ok);
                lua_pop(L, 1);
                if (!ok) { free(x); return luaL_error(L, "forward: x[%d][%d] is not a number", i + 1, (int)j + 1); }
            }
            lua_pop(L, 1);
        }
    } else {
        return luaL_error(L, "forward: x must be a Tensor (B, %d) or a table of rows (for a data set: m:predict(ds))", (int)in);
    }
    int K = m->cfg.K;
    float *z = malloc(sizeof(float) * (size_t)B * K);
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    if (!z || rm_predict_inputs(&ctx, m, x, B, z)) {
        free(x); free(z);
        return luaL_error(L, "forward: %s", z ? ctx.msg : "out of memory");
    }
    free(x);
    int64_t shape[2] = {B, K};
    rm_tensor_push_owned(L, "logits", z, 2, shape);
    return 1;
}

static int m_params(lua_State *L) {
    rm_model *m = rm_model_check(L, 1)->m;
    lua_createtable(L, m->ntensors + m->nbuftensors, 0);
    for (int i = 0; i < m->ntensors + m->nbuftensors; i++) {
        const rm_ptensor *t = i < m->ntensors ? &m->tensors[i] : &m->buftensors[i - m->ntensors];
        lua_pushstring(L, t->name);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static float number(lua_State *L, const char *name) {
    int ok;
    lua_Number v = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "assign: %s: the table holds a %s where a number belongs", name, luaL_typename(L, -1));
    return (float)v;
}

/* m:assign(name, src): copy a Tensor or a (nested) table of numbers into a parameter or buffer */
static int m_assign(lua_State *L) {
    rm_model *m = rm_model_check(L, 1)->m;
    const char *name = luaL_checkstring(L, 2);
    const rm_ptensor *info;
    float *dst = rm_model_tensor_data(m, name, &info);
    if (!dst) return luaL_error(L, "assign: no tensor named '%s'", name);
    ltensor *src = luaL_testudata(L, 3, RM_TENSOR_MT);
    if (src) {
        if (!src->owner || !src->owner->m) return luaL_error(L, "assign: the source tensor's model is closed");
        size_t n = (size_t)src->shape[0] * (src->ndim > 1 ? (size_t)src->shape[1] : 1);
        if (n != info->n) return luaL_error(L, "assign: %s has %d values, source %d", name, (int)info->n, (int)n);
        memmove(dst, src->data, n * sizeof(float));
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
        size_t k = 0;
        lua_Integer rows = luaL_len(L, 3);
        for (lua_Integer r = 1; r <= rows; r++) {
            if (lua_rawgeti(L, 3, r) == LUA_TTABLE) {
                lua_Integer cols = luaL_len(L, -1);
                for (lua_Integer j = 1; j <= cols; j++, k++) {
                    lua_rawgeti(L, -1, j);
                    if (k < info->n) dst[k] = number(L, name);
                    lua_pop(L, 1);
                }
            } else {
                if (k < info->n) dst[k] = number(L, name);
                k++;
            }
            lua_pop(L, 1);
        }
        if (k != info->n) return luaL_error(L, "assign: %s has %d values, table %d", name, (int)info->n, (int)k);
    }
    rm_model_params_changed(m);
    return 0;
}

static int m_copy(lua_State *L) {
    lmodel *src = rm_model_check(L, 1);
    lmodel *dst = rm_model_push(L);
    rm_ctx ctx = {0};
    if (rm_model_new(&ctx, &dst->m, &src->m->cfg, 1) || rm_model_copy_params(&ctx, dst->m, src->m))
        return luaL_error(L, "copy: %s", ctx.msg);   /* dst is released by __gc */
    snprintf(dst->source, sizeof dst->source, "copy of %.240s", src->source);
    return 1;
}

static int m_close(lua_State *L) {
    lmodel *lm = luaL_checkudata(L, 1, RM_MODEL_MT);
    if (lm->busy) return luaL_error(L, "the model is in use by a running command");
    release(lm);
    return 0;
}

static int m_history(lua_State *L) {
    lmodel *lm = luaL_checkudata(L, 1, RM_MODEL_MT);
    lua_createtable(L, lm->nhist, 0);
    for (int i = 0; i < lm->nhist; i++) {
        const rm_epoch_rec *r = &lm->hist[i];
        lua_createtable(L, 0, 6);
        lua_pushinteger(L, i + 1); lua_setfield(L, -2, "epoch");
        lua_pushnumber(L, r->train_loss); lua_setfield(L, -2, "loss");
        lua_pushnumber(L, r->train_acc); lua_setfield(L, -2, "acc");
        lua_pushnumber(L, r->lr); lua_setfield(L, -2, "lr");
        if (r->have_test) {
            lua_pushnumber(L, r->test_acc); lua_setfield(L, -2, "test_acc");
            lua_pushnumber(L, r->test_loss); lua_setfield(L, -2, "test_loss");
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void rm_open_model(lua_State *L) {
    static const luaL_Reg meta[] = {{"__gc", m_gc}, {"__close", m_close}, {"__tostring", m_tostring}, {NULL, NULL}};
    static const luaL_Reg methods[] = {
        {"train", m_train}, {"eval", m_eval}, {"save", m_save}, {"info", m_info}, {"layers", m_layers},
        {"curve", m_curve}, {"param", m_param}, {"params", m_params}, {"assign", m_assign}, {"copy", m_copy},
        {"history", m_history}, {"close", m_close}, {"forward", m_forward}, {"predict", m_predict}, {"inputs", m_inputs},
        {"export", m_export}, {NULL, NULL}};
    luaL_newmetatable(L, RM_MODEL_MT);   /* stack: mt */
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);             /* stack: mt, methods */
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
