/* cmd_quant.c - the INT8 deployment path at the prompt and in Lua (core/quant.h, core/int_engine.h):
 *   quantize   post-training quantisation of a float model (fold, 80/20 split, percentile search) into a
 *              quantized model (QModel) in the workspace
 *   qat        quantisation-aware training of a QModel (LSQ, KD from an fp32 teacher); Ctrl-C stops it
 *   verify     integer engine vs fake-quant vs fp32 on a data set, and the per-layer integer report
 *   qsave/qload  the quantized model file (rm_qmodel_save/load)
 *   lut errors per-channel max error of the 64-entry tables; `plot lut` (cmd_plot.c) draws a channel
 *   import     a PyTorch checkpoint of the paper's code through tools/import_torch.py
 * A QModel (userdata "resmlp.QModel") owns an rm_qmodel (the float fake-quant state QAT trains) and the
 * rm_qnet exported from it (the integer network verify runs and qsave writes); the two are kept in step:
 * every command that changes the rm_qmodel re-exports the network. The fake-quant caches, large for
 * batches of 100+ images, are dropped after each command, so an idle QModel holds only its parameters.
 * This file prints (the core never does); Lua calls get tables back. */
#include "registry.h"
#include "qmodel.h"
#include "core/quant.h"
#include "core/quant_impl.h"   /* rm_fq_free and the cache size: no public trim/size API yet */
#include "core/import.h"
#include "plots/actplot.h"
#include <ctype.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETI(k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))
#define SETB(k, v) (lua_pushboolean(L, (v)), lua_setfield(L, -2, k))

enum { PLAIN_PERIOD_S = 10 };

/* lqmodel (the QModel userdata) is in qmodel.h, shared with cmd_qnet.c (integer layer-list nets) */

/* ---- the QModel userdata --------------------------------------------------------------------- */

static void release(lqmodel *m) {
    rm_qnet_free(m->net);
    rm_qmodel_free(m->q);
    m->net = NULL;
    m->q = NULL;
    rm_qnet_release(m);
}

static lqmodel *qpush(lua_State *L) {
    lqmodel *m = lua_newuserdatauv(L, sizeof *m, 0);
    memset(m, 0, sizeof *m);
    luaL_setmetatable(L, RM_QMODEL_MT);
    return m;
}
lqmodel *rm_qmodel_push(lua_State *L) { return qpush(L); }
void rm_qmodel_bind(lua_State *L, const char *name, int idx);

/* heap bytes: folded parameters, gradients and forward cache, shifts, fake-quant cache, integer network
 * (the vector engines' packed copy counted as the size of the network's arrays: it holds the same data) */
static double qbytes(const lqmodel *m) {
    double b = sizeof *m;
    if (m->q) {
        const rm_qmodel *q = m->q;
        const rm_folded *f = q->f;
        b += sizeof *q + malloc_usable_size(q->kmem) + malloc_usable_size(q->swmem);
        b += sizeof *f + malloc_usable_size(f->mem) + malloc_usable_size(f->gmem) + malloc_usable_size(f->cmem) +
             malloc_usable_size(f->tensors);
        for (int l = 0; l < RM_MAXL; l++)
            for (int s = 0; s < 2; s++) b += malloc_usable_size(f->actwork[l][s]);
        if (q->fq) b += sizeof *q->fq + malloc_usable_size(q->fq->mem);
    }
    if (m->net) b += sizeof *m->net + 2.0 * malloc_usable_size(m->net->mem);
    return b;
}

static void describe(const lqmodel *m, char *buf, size_t n) {
    if (m->nm) { rm_qnet_describe(m, buf, n); return; }
    if (!m->q) { snprintf(buf, n, "(closed)"); return; }
    const rm_model_cfg *c = &m->q->f->cfg;
    size_t k = (size_t)snprintf(buf, n, "int8 %s h=%d, %s%s%s", rm_act_name(c->act.kind), c->H,
                                c->act.kind == RM_ACT_RELU ? "relu" : m->q->lut64 ? "lut64" : "lut256",
                                c->act.kind != RM_ACT_RELU && m->q->lut64 ? " edge " : "",
                                c->act.kind != RM_ACT_RELU && m->q->lut64 ? rm_lut_edge_name(m->q->lut_edge) : "");
    if (m->qat_epochs && k < n) k += (size_t)snprintf(buf + k, n - k, ", QAT %d ep", m->qat_epochs);
    if (m->verified && k < n) snprintf(buf + k, n - k, ", %.2f%% on %s", 100 * m->int_acc, m->verified_on);
}

const char *rm_qmodel_what(void *ud, char *what, size_t n, double *bytes) {
    lqmodel *m = ud;
    describe(m, what, n);
    *bytes = m->nm ? rm_qnet_bytes(m) : m->q ? qbytes(m) : 0;
    return what;
}

static int q_gc(lua_State *L) { release(luaL_checkudata(L, 1, RM_QMODEL_MT)); return 0; }

static int q_close(lua_State *L) {
    lqmodel *m = luaL_checkudata(L, 1, RM_QMODEL_MT);
    if (m->busy) return luaL_error(L, "the quantized model is in use by a running command");
    release(m);
    return 0;
}

static int q_tostring(lua_State *L) {
    lqmodel *m = luaL_checkudata(L, 1, RM_QMODEL_MT);
    char what[200], b[32];
    describe(m, what, sizeof what);
    if (!m->q && !m->nm) lua_pushstring(L, "QModel (closed)");
    else lua_pushfstring(L, "QModel(%s, %s)", what, rm_fmt_bytes(b, sizeof b, m->nm ? rm_qnet_bytes(m) : qbytes(m)));
    return 1;
}

/* q:method{...} -> the command `name` with qmodel = q */
static int shim(lua_State *L, const char *name) {
    luaL_checkudata(L, 1, RM_QMODEL_MT);
    rm_cmd_args_from_stack(L, 2, lua_gettop(L));   /* stack: self, ..., args */
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "qmodel");
    return rm_cmd_invoke(L, rm_cmd_find(name), -1, 0);
}
static int q_verify(lua_State *L) { return shim(L, "verify"); }
static int q_qat(lua_State *L) { return shim(L, "qat"); }
static int q_save(lua_State *L) { return shim(L, "qsave"); }
static int q_lut(lua_State *L) { return shim(L, "lut"); }
static int q_predict(lua_State *L) { return shim(L, "predict"); }

int rm_qmodel_parts(void *ud, rm_qmodel **q, rm_qnet **net) {
    lqmodel *m = ud;
    if (!m || !m->q || !m->net) return -1;
    *q = m->q;
    *net = m->net;
    return 0;
}
static int q_plot(lua_State *L) {              /* q:plot{block=, layer=, ch=} = plot lut */
    luaL_checkudata(L, 1, RM_QMODEL_MT);
    rm_cmd_args_from_stack(L, 2, lua_gettop(L));   /* stack: self, ..., args */
    int a = lua_gettop(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, a, "qmodel");
    lua_pushstring(L, "lut");
    return rm_plot_call_kind(L, a);
}

static int q_info(lua_State *L) {
    lqmodel *m = luaL_checkudata(L, 1, RM_QMODEL_MT);
    if (m->nm) return rm_qnet_info(L, m);
    if (!m->q) return luaL_error(L, "the quantized model is closed");
    const rm_model_cfg *c = &m->q->f->cfg;
    lua_createtable(L, 0, 12);
    SETS("act", rm_act_name(c->act.kind)); SETI("hidden", c->H); SETI("embed", c->D); SETI("layers", c->L);
    SETI("lut", c->act.kind == RM_ACT_RELU ? 0 : m->q->lut64 ? 64 : 256);
    SETS("source", m->source); SETI("qat_epochs", m->qat_epochs); SETI("bytes", qbytes(m));
    if (m->verified) { SETN("int_acc", m->int_acc); SETN("fq_acc", m->fq_acc); SETS("verified_on", m->verified_on); }
    return 1;
}

void rm_open_qmodel(lua_State *L) {
    static const luaL_Reg meta[] = {{"__gc", q_gc}, {"__close", q_close}, {"__tostring", q_tostring}, {NULL, NULL}};
    static const luaL_Reg methods[] = {{"verify", q_verify}, {"qat", q_qat}, {"save", q_save}, {"lut", q_lut}, {"predict", q_predict},
                                       {"plot", q_plot}, {"info", q_info}, {"close", q_close}, {NULL, NULL}};
    luaL_newmetatable(L, RM_QMODEL_MT);   /* stack: mt */
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);              /* stack: mt, methods */
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static int quiet_of(rm_call *c) { rm_val *v = rm_arg(c, "quiet"); return v && v->set && v->i; }

/* the quantized model a command works on (qmodel=, else the current one); either kind */
static lqmodel *qmodel_any(rm_call *c) {
    rm_val *v = rm_arg(c, "qmodel");
    if (!v || !v->set || !v->ud)
        rm_cmd_error(c, "no quantized model: make one with `quantize` or load one with `qload NAME PATH`");
    lqmodel *m = v->ud;
    if (!m->q && !m->nm) rm_cmd_error(c, "the quantized model is closed");
    return m;
}
/* the same, for the ResMLP-only commands */
static lqmodel *qmodel_arg(rm_call *c) {
    lqmodel *m = qmodel_any(c);
    if (m->nm) rm_cmd_error(c, "`%s` works on INT8 ResMLP models; this quantized model is an integer layer-list net", c->cmd->name);
    return m;
}

static ldata *data_arg(rm_call *c, const char *name, int required, const char *hint) {
    rm_val *v = rm_arg(c, name);
    if (!v || !v->set || !v->ud) {
        if (required) rm_cmd_error(c, "%s", hint);
        return NULL;
    }
    ldata *d = v->ud;
    if (!d->loaded) rm_cmd_error(c, "data set %s= is closed", name);
    return d;
}

/* refuse to bind a workspace name that holds a model or a data set (the object would be lost) */
static void name_free_for_qmodel(rm_call *c, const char *name) {
    lua_State *L = c->L;
    if (!name[0] || strlen(name) >= sizeof rm_A.cur_qmodel) rm_cmd_error(c, "bad name '%s'", name);
    rm_ws_get(L, name);
    const char *other = luaL_testudata(L, -1, RM_MODEL_MT) ? "model" : luaL_testudata(L, -1, RM_DATA_MT) ? "data set" : NULL;
    lua_pop(L, 1);
    if (other) rm_cmd_error(c, "the name '%s' holds a %s; pick another name", name, other);
}

/* a workspace name of m (the current quantized model's name if that is m), or "(unnamed)" */
static const char *qname(lua_State *L, const lqmodel *m, char *buf, size_t n) {
    const char *s = rm_ws_name(L, m, buf, n);
    if (s && rm_A.cur_qmodel[0]) {   /* rm_ws_name prefers the current model's name; prefer ours */
        int t = rm_ws_get(L, rm_A.cur_qmodel);
        if (t == LUA_TUSERDATA && lua_touserdata(L, -1) == m) snprintf(buf, n, "%s", rm_A.cur_qmodel);
        lua_pop(L, 1);
    }
    if (!s) snprintf(buf, n, "(unnamed)");
    return buf;
}

static void bind(lua_State *L, const char *name, int idx) {
    rm_ws_set(L, name, idx);
    snprintf(rm_A.cur_qmodel, sizeof rm_A.cur_qmodel, "%s", name);
}
void rm_qmodel_bind(lua_State *L, const char *name, int idx) { bind(L, name, idx); }
void rm_qmodel_name_free(rm_call *c, const char *name) { name_free_for_qmodel(c, name); }

/* a core message without its own "command: " prefix (rm_cmd_error adds one) */
static const char *core_msg(rm_call *c, const char *msg) {
    size_t n = strlen(c->cmd->name);
    return !strncmp(msg, c->cmd->name, n) && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

static int core_enter(void) { int outer = rm_A.in_core; rm_A.in_core = 1; return outer; }
static void core_leave(int outer) { rm_A.in_core = outer; }

/* after a command used the forwards: drop the fake-quant caches and the folded fp32 forward cache
 * (both reallocated on the next use: set_batch in fold.c sees cmem == NULL), so an idle QModel keeps only
 * its parameters. Tens of MiB per QModel otherwise; a core rm_qmodel_trim() would be the clean way. */
static void trim(lqmodel *m) {
    if (!m->q) return;
    rm_fq_free(m->q);
    rm_folded *f = m->q->f;
    free(f->cmem);
    f->cmem = NULL;
    f->Bcap = 0;
}

/* re-export the integer network after q changed (the old one is kept on failure) */
static int reexport(rm_ctx *ctx, lqmodel *m) {
    rm_qnet *n = NULL;
    if (rm_quant_export(ctx, m->q, &n)) return RM_ERR;
    rm_qnet_free(m->net);
    m->net = n;
    m->verified = 0;
    return RM_OK;
}

/* activation slot of a table layer: "act1"/"mlp.0" = 0 (before fc1), "act2"/"mlp.2"/"mlp.1" = 1 (after fc1);
 * NULL = the first slot the model has. Raises a command error when the model has no such table. */
static int slot_arg(rm_call *c, const rm_qmodel *q, const char *layer) {
    const rm_folded *f = q->f;
    int slot;
    if (!layer) {
        if (f->has_act1) return 0;
        if (f->act2_lut) return 1;
        rm_cmd_error(c, "this quantized model has no activation tables (%s: integer ReLU)", rm_act_name(f->cfg.act.kind));
    }
    if (!strcmp(layer, "act1") || !strcmp(layer, "mlp.0")) slot = 0;
    else if (!strcmp(layer, "act2") || !strcmp(layer, "mlp.2") || !strcmp(layer, "mlp.1")) slot = 1;
    else rm_cmd_error(c, "unknown layer '%s' (tables: act1 = mlp.0 before fc1, act2 = mlp.2 after fc1)", layer);
    if (slot == 0 && !f->has_act1)
        rm_cmd_error(c, "no table before fc1 in a %s model (its activation is act2 = mlp.1)", rm_act_name(f->cfg.act.kind));
    if (slot == 1 && !f->act2_lut) rm_cmd_error(c, "no table after fc1: the %s model uses an integer ReLU", rm_act_name(f->cfg.act.kind));
    return slot;
}

static const char *slot_name(int slot) { return slot ? "act2" : "act1"; }

/* ---- quantize -------------------------------------------------------------------------------- */

int rm_cmd_quantize(rm_call *c) {
    lua_State *L = c->L;
    if (rm_call_model(c, NULL)->m->net) return rm_qnet_quantize(c);
    lmodel *lm = rm_call_resmlp(c, NULL);
    ldata *d = data_arg(c, "data", 1, "no training data for calibration: load it with `data cifar10 DIR` (or pass data=)");
    if (lm->busy) rm_cmd_error(c, "the model is in use by a running command");
    int quiet = quiet_of(c);
    rm_calib_opts o = rm_calib_defaults();
    const char *pct = rm_arg(c, "percentile")->s;
    if (strcmp(pct, "auto")) {
        char *end;
        double p = strtod(pct, &end);
        if (end == pct || *end || !(p > 0 && p <= 100)) rm_cmd_error(c, "bad percentile=%s (auto, or a number in (0, 100])", pct);
        o.npct = 1;
        o.pct[0] = (float)p;
    }
    long long calib = rm_arg(c, "calib")->i;
    if (calib < 0) rm_cmd_error(c, "calib= must be >= 0");
    o.path = rm_ie_path_from_name(rm_arg(c, "path")->s);
    int lut64 = !strcmp(rm_arg(c, "lut")->s, "64");
    o.lut_edge = rm_lut_edge_from_name(rm_arg(c, "lut_edge")->s);
    char mname[64], name[64];
    if (!rm_ws_name(L, lm, mname, sizeof mname)) snprintf(mname, sizeof mname, "model");
    rm_val *nv = rm_arg(c, "name");
    if (nv->set) snprintf(name, sizeof name, "%s", nv->s);
    else snprintf(name, sizeof name, "%.58s_int8", mname);
    name_free_for_qmodel(c, name);
    rm_val *ov = rm_arg(c, "out");
    if (ov->set && rm_mkparent(ov->s)) rm_cmd_error(c, "cannot create the directory of %s", ov->s);

    /* the calibration images: all of data=, or its first calib= (a copy) */
    rm_dataset lim = {0};
    const rm_dataset *train = &d->ds;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    if (calib > 0 && calib < d->ds.n) {
        if (rm_dataset_slice(&ctx, &lim, &d->ds, 0, (int)calib)) rm_cmd_error(c, "%s", core_msg(c, ctx.msg));
        train = &lim;
    }
    int n80 = (int)((long long)train->n * 8 / 10);
    if (!quiet) {
        char cnt[32];
        printf("quantizing '%s' (%s h=%d) to INT8, %s tables: %s images of %s split 80/20, ranges from %d, "
               "%s on %d\n", mname, rm_act_name(lm->m->cfg.act.kind), lm->m->cfg.H,
               lm->m->cfg.act.kind == RM_ACT_RELU ? "no" : lut64 ? "64-entry" : "256-entry",
               rm_fmt_count(cnt, sizeof cnt, train->n), d->ds.name, n80, o.npct > 1 ? "percentile chosen" : "checked",
               train->n - n80);
        fflush(stdout);
    }
    lqmodel *m = qpush(L);                 /* empty until made: a failure leaves nothing to free */
    int idx = lua_gettop(L);
    rm_calib_result res;
    double t0 = rm_now();
    lm->busy++; d->busy++;
    rm_sigint_flag = 0;
    int outer = core_enter();
    int r = rm_quant_ptq(&ctx, lm->m, train, lut64, &o, &m->q, &res);
    if (!r) r = rm_quant_export(&ctx, m->q, &m->net);
    if (!r && ov->set) r = rm_qmodel_save(&ctx, ov->s, m->q, m->net);
    core_leave(outer);
    lm->busy--; d->busy--;
    rm_dataset_free(&lim);
    if (r) { release(m); rm_cmd_error(c, "%s", core_msg(c, ctx.msg)); }
    trim(m);
    double dt = rm_now() - t0;
    snprintf(m->source, sizeof m->source, "PTQ of '%.60s' (percentile %g, %d images of %.60s)", mname, res.pct[res.best],
             train->n, d->ds.name);
    bind(L, name, idx);
    if (!quiet) {
        printf("  percentile ");
        for (int i = 0; i < res.npct; i++) printf(" %6g", res.pct[i]);
        printf("\n  val int8 %% ");
        for (int i = 0; i < res.npct; i++) printf(" %s%6.2f%s", i == res.best ? rm_col(0, "1") : "", 100 * res.acc[i], i == res.best ? rm_reset(0) : "");
        printf("\nquantized '%s' -> %s'%s'%s: percentile %g, validation accuracy (integer engine) %.2f%%, %.1fs\n", mname,
               rm_col(0, "1"), name, rm_reset(0), res.pct[res.best], 100 * res.acc[res.best], dt);
        if (ov->set) printf("saved %s\n", ov->s);
        fflush(stdout);
    }
    lua_createtable(L, 0, 8);
    lua_pushvalue(L, idx); lua_setfield(L, -2, "qmodel");
    SETS("name", name); SETN("percentile", res.pct[res.best]); SETN("val_acc", res.acc[res.best]);
    SETN("seconds", dt);
    lua_createtable(L, res.npct, 0);
    for (int i = 0; i < res.npct; i++) {
        lua_createtable(L, 0, 2);
        SETN("pct", res.pct[i]); SETN("acc", res.acc[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "calib");
    if (ov->set) SETS("saved", ov->s);
    return 1;
}

/* ---- qat ------------------------------------------------------------------------------------- */

typedef struct qcb {
    int quiet, tty, dirty;
    double last_plain;
    rm_train_stats last;
    int have_last;
    lqmodel *m;
} qcb;

static int qat_progress(void *ud, const rm_train_stats *s, int epoch_end) {
    qcb *t = ud;
    if (!epoch_end) {
        if (t->quiet) return 0;
        if (t->tty) {
            printf("\r\033[Kqat epoch %d/%d  step %d/%d  loss %.4f  %.0f img/s", s->epoch + 1, s->epochs, s->step, s->steps,
                   s->loss, s->imgs_per_s);
            fflush(stdout);
            t->dirty = 1;
        } else if (rm_now() - t->last_plain >= PLAIN_PERIOD_S) {
            printf("qat epoch %d/%d  step %d/%d  loss %.4f  %.0f img/s\n", s->epoch + 1, s->epochs, s->step, s->steps, s->loss,
                   s->imgs_per_s);
            fflush(stdout);
            t->last_plain = rm_now();
        }
        return 0;
    }
    t->last = *s;
    t->have_last = 1;
    t->m->qat_epochs++;
    if (t->quiet) return 0;
    printf("%sqat epoch %d/%d  loss %.4f  acc %.2f%%", t->dirty ? "\r\033[K" : "", s->epoch + 1, s->epochs, s->loss,
           100 * s->train_acc);
    if (s->have_test) printf("  test (int8) %s%.2f%%%s", rm_col(0, "1"), 100 * s->test_acc, rm_reset(0));
    printf("  lr %.2e  %.0f img/s  %.1fs\n", s->lr, s->imgs_per_s, s->elapsed_s);
    fflush(stdout);
    t->dirty = 0;
    return 0;
}

int rm_cmd_qat(rm_call *c) {
    lua_State *L = c->L;
    lqmodel *m = qmodel_arg(c);
    ldata *d = data_arg(c, "data", 1, "no training data: load it with `data cifar10 DIR` (or pass data=)");
    ldata *test = data_arg(c, "test", 0, NULL);
    rm_val *tv = rm_arg(c, "teacher");
    lmodel *teacher = tv->set ? tv->ud : NULL;
    if (teacher && !teacher->m) rm_cmd_error(c, "the teacher is closed");
    if (m->busy || (teacher && teacher->busy)) rm_cmd_error(c, "the model is already in use by a running command");
    int epochs = (int)rm_arg(c, "epochs")->i;
    if (epochs < 0) rm_cmd_error(c, "epochs must be >= 0");
    rm_qat_opts o = rm_qat_defaults();
    o.epochs = epochs;
    o.batch = (int)rm_arg(c, "batch")->i;
    o.lr = (float)rm_arg(c, "lr")->d;
    o.lr_min = (float)rm_arg(c, "lr_min")->d;
    o.wd = (float)rm_arg(c, "wd")->d;
    o.alpha = (float)rm_arg(c, "alpha")->d;
    o.T = (float)rm_arg(c, "temp")->d;
    o.seed = (uint64_t)rm_arg(c, "seed")->i;
    o.aug = strcmp(rm_arg(c, "aug")->s, "none") ? RM_AUG_CROPFLIP : RM_AUG_NONE;
    o.limit = (int)rm_arg(c, "limit")->i;
    o.path = rm_ie_path_from_name(rm_arg(c, "path")->s);
    o.val = test ? &test->ds : NULL;
    if (o.batch < 1) rm_cmd_error(c, "batch must be >= 1");
    if (o.limit < 0) rm_cmd_error(c, "limit must be >= 0");
    if (teacher && (teacher->m->cfg.T != m->q->f->cfg.T || teacher->m->cfg.P != m->q->f->cfg.P || teacher->m->cfg.K != m->q->f->cfg.K))
        rm_cmd_error(c, "the teacher's tokens, patch features or classes differ from the quantized model's");
    qcb t = {.quiet = quiet_of(c), .tty = isatty(1), .last_plain = rm_now(), .m = m};
    o.cb = qat_progress;
    o.ud = &t;
    o.report_s = t.tty ? 0.25 : 1.0;
    char name[64], tname[64], how[160], cnt[32];
    qname(L, m, name, sizeof name);
    if (teacher && !rm_ws_name(L, teacher, tname, sizeof tname)) snprintf(tname, sizeof tname, "(unnamed)");
    if (teacher) snprintf(how, sizeof how, "KD from '%s' (alpha %g, T %g)", tname, o.alpha, o.T);
    else snprintf(how, sizeof how, "cross-entropy (no teacher=)");
    int nimg = o.limit > 0 && o.limit < d->ds.n ? o.limit : d->ds.n;
    if (nimg < o.batch) rm_cmd_error(c, "%d training images are fewer than one batch of %d", nimg, o.batch);
    if (!t.quiet) {
        printf("QAT of '%s' on %s images of %s, %s, %d threads\n", name, rm_fmt_count(cnt, sizeof cnt, nimg), d->ds.name,
               how, rm_get_threads());
        fflush(stdout);
    }
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_qat_result res;
    double t0 = rm_now();
    m->busy++; d->busy++;
    if (test) test->busy++;
    if (teacher) teacher->busy++;
    rm_sigint_flag = 0;
    int outer = core_enter();
    int r = rm_qat(&ctx, m->q, teacher ? teacher->m : NULL, &d->ds, &o, &res);
    /* whatever happened, the integer network follows the trained state (also after Ctrl-C or an error) */
    rm_ctx ectx = {0};
    int re = reexport(&ectx, m);
    core_leave(outer);
    m->busy--; d->busy--;
    if (test) test->busy--;
    if (teacher) teacher->busy--;
    trim(m);
    if (t.dirty) { printf("\n"); fflush(stdout); }
    if (r) rm_cmd_error(c, "%s", core_msg(c, ctx.msg));
    if (re) rm_cmd_error(c, "after QAT: %s", core_msg(c, ectx.msg));
    if (res.interrupted && rm_sigint_flag) {
        if (!c->line) rm_cmd_error(c, "interrupted (the quantized model keeps its state from the last finished step)");
        printf("interrupted after %d epochs; the quantized model is kept\n", res.epochs_done);
    }
    lua_createtable(L, 0, 8);
    SETI("epochs", res.epochs_done); SETB("interrupted", res.interrupted); SETN("loss", res.last_loss);
    if (t.have_last) SETN("acc", t.last.train_acc);
    if (res.val_acc >= 0) SETN("test_acc", res.val_acc);
    SETN("imgs_per_s", res.imgs_per_s); SETN("seconds", rm_now() - t0);
    return 1;
}

/* ---- verify ---------------------------------------------------------------------------------- */

int rm_cmd_verify(rm_call *c) {
    lua_State *L = c->L;
    lqmodel *m = qmodel_any(c);
    if (m->nm) return rm_qnet_verify(c, m);
    rm_val *dv = rm_posarg(c, "data");
    if (!dv->set || !dv->ud) rm_cmd_error(c, "no test data: load it with `data cifar10 DIR` (or name a data set)");
    ldata *d = dv->ud;
    if (!d->loaded) rm_cmd_error(c, "the data set is closed");
    if (m->busy) rm_cmd_error(c, "the quantized model is in use by a running command");
    long long limit = rm_arg(c, "limit")->i, stats = rm_arg(c, "stats")->i;
    if (limit < 0 || stats < 0) rm_cmd_error(c, "limit= and stats= must be >= 0");
    const char *pname = rm_arg(c, "path")->s;
    int path = rm_ie_path_from_name(pname);
    if (path < 0) rm_cmd_error(c, "unknown path '%s'", pname);
    if (!rm_ie_path_available(path, m->net)) {
        char av[128] = "";
        for (int p = 0; p < RM_IE_NPATHS; p++)
            if (rm_ie_path_available(p, m->net))
                snprintf(av + strlen(av), sizeof av - strlen(av), "%s%s", av[0] ? ", " : "", rm_ie_path_name(p));
        rm_cmd_error(c, "path %s is not available for this CPU or network (available: %s)", pname, av);
    }
    int quiet = quiet_of(c);
    rm_verify_report *rep = malloc(sizeof *rep);
    char *text = malloc(65536);
    if (!rep || !text) { free(rep); free(text); rm_cmd_error(c, "out of memory"); }
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    m->busy++; d->busy++;
    rm_sigint_flag = 0;
    int outer = core_enter();
    int r = rm_quant_verify(&ctx, m->q, m->net, &d->ds, (int)limit, path, (int)stats, rep);
    core_leave(outer);
    m->busy--; d->busy--;
    trim(m);
    if (r) { free(rep); free(text); rm_cmd_error(c, "%s", core_msg(c, ctx.msg)); }
    rm_quant_verify_text(rep, text, 65536);
    char dname[64];
    if (!rm_ws_name(L, d, dname, sizeof dname)) snprintf(dname, sizeof dname, "%.60s", d->ds.name);
    double n = rep->n > 0 ? rep->n : 1;
    int exact = !rep->logit_mismatch_images && !rep->block_mismatch;
    m->verified = 1;
    m->int_acc = (float)(rep->int_correct / n);
    m->fq_acc = (float)(rep->fq_correct / n);
    snprintf(m->verified_on, sizeof m->verified_on, "%s", dname);
    if (!quiet) { fputs(text, stdout); fflush(stdout); }
    lua_createtable(L, 0, 24);
    SETI("n", rep->n); SETS("data", dname); SETS("path", rm_ie_path_name(rep->path));
    SETN("int_acc", rep->int_correct / n); SETN("fq_acc", rep->fq_correct / n); SETN("fp_acc", rep->fp_correct / n);
    SETB("bit_exact", exact); SETI("logit_mismatch", rep->logit_mismatch_images); SETI("block_mismatch", rep->block_mismatch);
    SETI("first_mismatch", rep->first_mismatch);
    SETN("err_mean", rep->err_mean); SETN("err_std", rep->err_std); SETN("err_max", rep->err_max);
    SETN("fp_err_mean", rep->fp_err_mean); SETN("fp_err_std", rep->fp_err_std); SETN("fp_err_max", rep->fp_err_max);
    SETN("imgs_per_s", rep->int_imgs_per_s); SETI("lut_err_max", rep->lut_err_max); SETI("stat_images", rep->stat_images);
    if (rep->edge_images) {   /* lut_edge = {used=, images=, lookups=, top=, extend={mean=,top_mean=,max=,wrong=}, ..} */
        lua_createtable(L, 0, 8);
        SETS("used", rm_lut_edge_name(rep->lut_edge)); SETI("images", rep->edge_images);
        SETI("lookups", rep->edge_lookups); SETI("top", rep->edge_top);
        for (int e = 0; e < RM_LUT_EDGE_N; e++) {
            lua_createtable(L, 0, 4);
            SETN("mean", rep->edge_mean[e]); SETN("top_mean", rep->edge_top_mean[e]);
            SETI("max", rep->edge_max[e]); SETI("wrong", rep->edge_wrong[e]);
            lua_setfield(L, -2, rm_lut_edge_name(e));
        }
        lua_setfield(L, -2, "lut_edge");
    }
    lua_createtable(L, rep->nstat, 0);
    long long overflow = 0;
    for (int i = 0; i < rep->nstat; i++) {
        const rm_ie_stat *s = &rep->stat[i];
        lua_createtable(L, 0, 10);
        SETS("name", s->name); SETI("n", s->n); SETI("acc_min", s->acc_min); SETI("acc_max", s->acc_max);
        SETI("acc_bound", s->acc_bound); SETI("out_min", s->out_min); SETI("out_max", s->out_max);
        SETI("sat_lo", s->sat_lo); SETI("sat_hi", s->sat_hi); SETI("overflow", s->overflow);
        overflow += s->overflow;
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "layers");
    SETI("overflow", overflow);
    SETS("text", text);
    free(rep);
    free(text);
    return 1;
}

/* ---- qsave / qload --------------------------------------------------------------------------- */

int rm_cmd_qsave(rm_call *c) {
    lqmodel *m = qmodel_any(c);
    rm_val *pv = rm_posarg(c, "path");
    if (!pv->set) rm_cmd_error(c, "missing PATH (usage: qsave PATH [qmodel=NAME])");
    if (rm_mkparent(pv->s)) rm_cmd_error(c, "cannot create the directory of %s", pv->s);
    rm_ctx ctx = {0};
    if (m->nm ? rm_bnet_save(&ctx, pv->s, m->bn) : rm_qmodel_save(&ctx, pv->s, m->q, m->net)) rm_cmd_error(c, "%s", core_msg(c, ctx.msg));
    if (c->line) printf("saved %s\n", pv->s);
    lua_pushstring(c->L, pv->s);
    return 1;
}

int rm_cmd_qload(rm_call *c) {
    lua_State *L = c->L;
    rm_val *nv = rm_posarg(c, "name"), *pv = rm_posarg(c, "path");
    const char *path = pv->set ? pv->s : nv->set ? nv->s : NULL, *name = pv->set && nv->set ? nv->s : NULL;
    if (!path) rm_cmd_error(c, "missing PATH (usage: qload [NAME] PATH)");
    char stem[64];
    if (!name) name = rm_path_stem(path, stem, sizeof stem);   /* runs/m_int8.safetensors -> m_int8 */
    name_free_for_qmodel(c, name);
    lqmodel *m = qpush(L);
    int idx = lua_gettop(L);
    rm_ctx ctx = {0};
    if (rm_bnet_file_is_int(path) ? rm_bnet_load(&ctx, path, &m->nm, &m->bn) : rm_qmodel_load(&ctx, path, &m->q, &m->net)) {
        release(m);
        rm_cmd_error(c, "%s", core_msg(c, ctx.msg));
    }
    snprintf(m->source, sizeof m->source, "%s", path);
    bind(L, name, idx);
    if (c->line) {
        char what[200], b[32];
        describe(m, what, sizeof what);
        printf("loaded %s'%s'%s: %s, %s\n", rm_col(0, "1"), name, rm_reset(0), what, rm_fmt_bytes(b, sizeof b, m->nm ? rm_qnet_bytes(m) : qbytes(m)));
    }
    return 1;
}

/* ---- lut errors ------------------------------------------------------------------------------ */

int rm_cmd_lut(rm_call *c) {
    lua_State *L = c->L;
    lqmodel *m = qmodel_arg(c);
    rm_qmodel *q = m->q;
    const rm_model_cfg *k = &q->f->cfg;
    rm_val *bv = rm_arg(c, "block"), *lv = rm_arg(c, "layer");
    int quiet = quiet_of(c);
    if (bv->set && (bv->i < 0 || bv->i >= k->L)) rm_cmd_error(c, "block %lld out of range 0..%d", bv->i, k->L - 1);
    int one_slot = lv->set ? slot_arg(c, q, lv->s) : -1;
    if (!lv->set) slot_arg(c, q, NULL);   /* raises when there are no tables */
    int *err = malloc(sizeof(int) * (k->D > k->H ? k->D : k->H));
    if (!err) rm_cmd_error(c, "out of memory");
    if (!quiet)
        printf("64-entry tables (lut_edge=%s) vs the 256-entry form: max |error| per channel, in output codes (%s)\n",
               rm_lut_edge_name(q->lut_edge), q->lut64 ? "the network uses the 64-entry form" : "the network uses the 256-entry form");
    lua_newtable(L);
    int n = 0;
    for (int l = bv->set ? (int)bv->i : 0; l < (bv->set ? (int)bv->i + 1 : k->L); l++) {
        for (int slot = 0; slot < 2; slot++) {
            if (one_slot >= 0 && slot != one_slot) continue;
            if (slot == 0 ? !q->f->has_act1 : !q->f->act2_lut) continue;
            int C = rm_quant_lut_errors(q, l, slot, err);
            if (C < 0) { free(err); rm_cmd_error(c, "cannot build the tables of block %d %s (out of memory)", l, slot_name(slot)); }
            int mx = 0, nz = 0;
            double sum = 0;
            for (int i = 0; i < C; i++) { mx = err[i] > mx ? err[i] : mx; sum += err[i]; nz += err[i] > 0; }
            if (!quiet) {
                printf("%sblock %d %s%s (%d channels): max %d, mean %.2f, %d channels with an error\n", rm_col(0, "1"), l,
                       slot_name(slot), rm_reset(0), C, mx, C ? sum / C : 0, nz);
                if (bv->set || one_slot >= 0)     /* the per-channel table, 10 channels a row */
                    for (int i = 0; i < C; i++) printf("  %4d:%3d%s", i, err[i], i % 10 == 9 || i == C - 1 ? "\n" : "");
            }
            lua_createtable(L, 0, 6);
            SETI("block", l); SETS("layer", slot_name(slot)); SETI("channels", C); SETI("max", mx); SETN("mean", C ? sum / C : 0);
            lua_createtable(L, C, 0);
            for (int i = 0; i < C; i++) { lua_pushinteger(L, err[i]); lua_rawseti(L, -2, i + 1); }
            lua_setfield(L, -2, "errors");
            lua_rawseti(L, -2, ++n);
        }
    }
    free(err);
    if (!quiet) fflush(stdout);
    return 1;
}

/* ---- plot lut (called by cmd_plot.c) --------------------------------------------------------- */

/* fp32 curve vs 256-entry table vs 64-entry interpolation for one channel of a QModel; the text or SVG
 * (malloc'd), or NULL with the reason in ctx. Argument errors raise. */
char *rm_quant_plot_lut(rm_call *c, const rm_plot_opts *po, rm_ctx *ctx) {
    lqmodel *m = qmodel_arg(c);
    rm_qmodel *q = m->q;
    const rm_model_cfg *k = &q->f->cfg;
    int block = (int)rm_arg(c, "block")->i;
    rm_val *lv = rm_arg(c, "layer");
    const char *layer = lv->set ? lv->s : NULL;
    if (block < 0 || block >= k->L) rm_cmd_error(c, "block %d out of range 0..%d", block, k->L - 1);
    int slot = slot_arg(c, q, layer);
    const char *chs = rm_arg(c, "ch")->s;
    char *end;
    long ch = strtol(chs, &end, 10);
    if (end == chs || *end) rm_cmd_error(c, "plot lut takes one channel (ch=N), not '%s'", chs);
    int C = slot ? k->H : k->D;
    if (ch < 0 || ch >= C) rm_cmd_error(c, "channel %ld out of range: block %d %s has channels 0..%d", ch, block, slot_name(slot), C - 1);
    float x[256], yf[256], y256[256], y64[256];
    int e = rm_quant_curve(q, block, slot, (int)ch, x, yf, y256, y64);
    if (e < 0) rm_cmd_error(c, "cannot build the tables (out of memory)");
    float s_out = rm_qmodel_scale(q, slot ? rm_qp_block(k->L, block, RM_QP_P2) : rm_qp_block(k->L, block, RM_QP_P1));
    char title[200], xl[64];
    snprintf(title, sizeof title, "block %d %s ch %ld: fp32 vs INT8 tables (64-entry max error %d code%s = %.3g)", block,
             slot_name(slot), ch, e, e == 1 ? "" : "s", e / s_out);
    snprintf(xl, sizeof xl, "input (INT8 codes / %s scale)", slot ? "fc1 output" : "stream");
    rm_series s[3] = {
        {.name = "fp32 curve", .x = x, .y = yf, .n = 256, .style = RM_STYLE_LINE, .colour = 1, .dash = RM_DASH_SOLID},
        {.name = "256-entry LUT", .x = x, .y = y256, .n = 256, .style = RM_STYLE_LINE, .colour = 2, .dash = RM_DASH_DASHED},
        {.name = "64-entry LUT", .x = x, .y = y64, .n = 256, .style = RM_STYLE_LINE, .colour = 3, .dash = RM_DASH_DOTTED},
    };
    rm_plot p = {.title = title, .xlabel = xl, .ylabel = "output", .series = s, .nseries = 3};
    if (po->lo < po->hi) { p.xmin = po->lo; p.xmax = po->hi; }
    char *out = po->svg ? rm_svg_lines(ctx, &p, po->width, po->height)
                        : rm_plot_lines(ctx, &p, po->width, po->height, po->mode, po->colour);
    if (!out || po->svg) return out;
    /* text: one more line with the numbers, kept within the width */
    char line[256];
    int ln = snprintf(line, sizeof line, "64-entry max error %d code%s (%.4g) vs 256-entry; the network uses %d\n", e,
                      e == 1 ? "" : "s", e / s_out, q->lut64 ? 64 : 256);
    if (ln >= po->width) { line[po->width > 1 ? po->width - 1 : 0] = '\n'; line[po->width > 1 ? po->width : 1] = 0; }
    size_t a = strlen(out);
    char *o2 = realloc(out, a + strlen(line) + 1);
    if (!o2) return out;
    memcpy(o2 + a, line, strlen(line) + 1);
    return o2;
}

/* ---- import ---------------------------------------------------------------------------------- */

int rm_cmd_import(rm_call *c) {
    lua_State *L = c->L;
    rm_val *fv = rm_posarg(c, "file");
    if (!fv->set) rm_cmd_error(c, "missing FILE (usage: import FILE.bin [out=FILE.safetensors])");
    const char *src = fv->s;
    char out[1024];
    rm_val *ov = rm_arg(c, "out");
    if (ov->set) snprintf(out, sizeof out, "%s", ov->s);
    else {   /* next to the source: model.bin -> model.safetensors */
        snprintf(out, sizeof out, "%s", src);
        char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
        if (dot && (!slash || dot > slash)) *dot = 0;
        snprintf(out + strlen(out), sizeof out - strlen(out), ".safetensors");
    }
    if (!strcmp(out, src)) rm_cmd_error(c, "out= is the input file");
    if (rm_mkparent(out)) rm_cmd_error(c, "cannot create the directory of %s", out);
    const char *act = rm_arg(c, "act")->s;
    const char *args[12] = {NULL};
    int na = 0;
    char gbuf[32], rbuf[32], ebuf[32];
    if (strcmp(act, "auto")) { args[na++] = "--act"; args[na++] = act; }
    rm_val *pp = rm_arg(c, "pythonpath"), *gv = rm_arg(c, "grid"), *rv = rm_arg(c, "range"), *ev = rm_arg(c, "eps");
    if (pp->set) { args[na++] = "--pythonpath"; args[na++] = pp->s; }
    if (gv->set) { snprintf(gbuf, sizeof gbuf, "%lld", (long long)gv->i); args[na++] = "--lerp-grid"; args[na++] = gbuf; }
    if (rv->set) { snprintf(rbuf, sizeof rbuf, "%.9g", rv->d); args[na++] = "--lerp-range"; args[na++] = rbuf; }
    if (ev->set) { snprintf(ebuf, sizeof ebuf, "%.9g", ev->d); args[na++] = "--psa-eps"; args[na++] = ebuf; }
    int quiet = quiet_of(c);
    char *log = malloc(16384);
    if (!log) rm_cmd_error(c, "out of memory");
    log[0] = 0;
    rm_ctx ctx = {0};
    int r = rm_import_torch(&ctx, NULL, NULL, src, out, args, log, 16384);
    if (r) {
        free(log);
        /* the converter's last line says why (torch missing, unknown keys ...); keep it one line */
        for (char *p = ctx.msg; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
        rm_cmd_error(c, "%s", core_msg(c, ctx.msg));
    }
    if (!quiet) { fputs(log, stdout); if (log[0] && log[strlen(log) - 1] != '\n') putchar('\n'); printf("wrote %s\n", out); fflush(stdout); }
    lua_createtable(L, 0, 3);
    SETS("path", out);
    SETS("log", log);
    free(log);
    rm_val *nv = rm_arg(c, "name");
    if (nv->set) {   /* load the converted checkpoint as NAME (the `load` command) */
        int res = lua_gettop(L);
        lua_createtable(L, 2, 0);
        lua_pushstring(L, nv->s); lua_rawseti(L, -2, 1);
        lua_pushstring(L, out); lua_rawseti(L, -2, 2);
        rm_cmd_invoke(L, rm_cmd_find("load"), -1, c->line && !quiet);   /* stack: result, args, ..., Model */
        lua_setfield(L, res, "model");
        lua_settop(L, res);
    }
    return 1;
}
