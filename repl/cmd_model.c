/* cmd_model.c - the `model`, `load`, `save` and `info` commands: creating, loading, naming, saving
 * and describing models in the workspace. Lua calls get the Model (or an info table) back. */
#include "registry.h"
#include "core/checkpoint.h"
#include "core/gemm.h"
#include "core/net.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void cfg_line(const rm_model_cfg *c, char *buf, size_t n) {
    snprintf(buf, n, "%s h=%d (embed %d, %d blocks, %d tokens x %d features, %d classes)", rm_act_name(c->act.kind),
             c->H, c->D, c->L, c->T, c->P, c->K);
}

static void say_model(const char *verb, const char *name, const rm_model *m) {
    char cfg[2048], cnt[32];
    if (m->net) rm_model_describe(m, cfg, sizeof cfg);
    else cfg_line(&m->cfg, cfg, sizeof cfg);
    printf("%s %s'%s'%s: %s, %s parameters\n", verb, rm_col(0, "1"), name, rm_reset(0), cfg,
           rm_fmt_count(cnt, sizeof cnt, (double)rm_model_trainable_count(m)));
}

static int any_option_given(rm_call *c) {
    for (int j = 0; c->cmd->opts[j].name; j++) if (c->opt[j].set == 1) return 1;
    return 0;
}

/* `model new kind=mlp|cnn|cnv ...` or `net=TEXT`: a layer-list network */
static int new_net(rm_call *c) {
    lua_State *L = c->L;
    char spec[4096];
    rm_ctx ctx = {0};
    rm_val *nv = rm_arg(c, "net"), *dv = rm_arg(c, "data"), *iv = rm_arg(c, "input");
    const rm_dataset *ds = dv->set && dv->ud && ((ldata *)dv->ud)->loaded ? &((ldata *)dv->ud)->ds : NULL;
    /* the default data set (`train`) shapes the net only when nothing else does: input= or net= text
     * with its own input= describe a net for other data, unless data= is given explicitly */
    if (dv->set != 1 && (iv->set || nv->set)) ds = NULL;
    if (nv->set) snprintf(spec, sizeof spec, "%s", nv->s);
    else {
        rm_net_form f = {.kind = rm_arg(c, "kind")->s, .layers = rm_arg(c, "layers")->set ? rm_arg(c, "layers")->s : NULL,
                         .conv = rm_arg(c, "conv")->s, .fc = rm_arg(c, "fc")->s, .w = rm_arg(c, "w")->s,
                         .act = rm_arg(c, "act")->set == 1 ? rm_arg(c, "act")->s : NULL, .in_bits = (int)rm_arg(c, "in_bits")->i, .bn = (int)rm_arg(c, "bn")->i,
                         .bits = (int)rm_arg(c, "bits")->i, .dropout = (float)rm_arg(c, "dropout")->d,
                         .classes = (int)rm_arg(c, "classes")->i};
        const char *ob = rm_arg(c, "out_bn")->s;
        f.out_bn = !strcmp(ob, "on") ? 1 : !strcmp(ob, "off") ? -1 : 0;
        if (ds) { f.in_c = ds->c; f.in_h = ds->h; f.in_w = ds->w; if (!f.classes) f.classes = ds->nclass; }
        if (iv->set) {
            f.in_h = f.in_w = 1;
            if (sscanf(iv->s, "%dx%dx%d", &f.in_c, &f.in_h, &f.in_w) < 1) rm_cmd_error(c, "input=%s: expected F or CxHxW", iv->s);
        }
        if (!strcmp(f.kind, "mlp") && !f.layers) rm_cmd_error(c, "kind=mlp needs layers=IN-H1-...-CLASSES (e.g. layers=6-32-32-3)");
        if (rm_net_compose(&ctx, &f, spec, sizeof spec)) rm_cmd_error(c, "%s", ctx.msg);
    }
    lmodel *lm = rm_model_push(L);
    int idx = lua_gettop(L);
    if (rm_model_new_net(&ctx, &lm->m, spec, (uint64_t)rm_arg(c, "seed")->i)) rm_cmd_error(c, "%s", ctx.msg);
    if (ds && (size_t)ds->c * ds->h * ds->w != rm_model_input_size(lm->m))
        rm_cmd_error(c, "the net takes %zu inputs but %s has %dx%dx%d", rm_model_input_size(lm->m), ds->name, ds->c, ds->h, ds->w);
    snprintf(lm->source, sizeof lm->source, "new (seed %lld)", rm_arg(c, "seed")->i);
    const char *name = rm_arg(c, "name")->s;
    rm_ws_set(L, name, idx);
    snprintf(rm_A.cur_model, sizeof rm_A.cur_model, "%s", name);
    if (c->line) say_model("new model", name, lm->m);
    return 1;
}

static int new_model(rm_call *c) {
    lua_State *L = c->L;
    if (rm_arg(c, "net")->set || strcmp(rm_arg(c, "kind")->s, "resmlp")) return new_net(c);
    static const char *const net_only[] = {"conv", "fc", "w", "in_bits", "bn", "dropout", "bits", "input", "classes", "out_bn", NULL};
    for (int i = 0; net_only[i]; i++)
        if (rm_arg(c, net_only[i])->set == 1) rm_cmd_error(c, "%s= is an option of layer-list nets (kind=mlp|cnn|cnv)", net_only[i]);
    int kind = rm_act_kind_from_name(rm_arg(c, "act")->s);
    if (kind < 0 || kind == RM_ACT_PSA)
        rm_cmd_error(c, "act=%s is for layer-list nets; the ResMLP takes relu, gelu, lerp_psa or bspline", rm_arg(c, "act")->s);
    char *lend;
    long nblocks = strtol(rm_arg(c, "layers")->s, &lend, 10);
    if (*lend || nblocks < 1) rm_cmd_error(c, "layers=%s: the ResMLP takes a block count (widths like 6-32-3 need kind=mlp)", rm_arg(c, "layers")->s);
    rm_model_cfg cfg = rm_model_default_cfg(kind, (int)rm_arg(c, "hidden")->i);
    cfg.D = (int)rm_arg(c, "embed")->i;
    cfg.L = (int)nblocks;
    cfg.act.G = (int)rm_arg(c, "grid")->i;
    cfg.act.R = (float)rm_arg(c, "range")->d;
    cfg.act.E = (int)rm_arg(c, "keys")->i;
    cfg.act.eps = (float)rm_arg(c, "eps")->d;
    cfg.act.K = (int)rm_arg(c, "spline_size")->i;
    cfg.act.spacing = (float)rm_arg(c, "spacing")->d;
    rm_val *dv = rm_arg(c, "data");
    if (dv->set && dv->ud && ((ldata *)dv->ud)->loaded) {
        const rm_dataset *ds = &((ldata *)dv->ud)->ds;
        cfg.T = rm_data_tokens(ds, cfg.patch);
        cfg.P = rm_data_patchdim(ds, cfg.patch);
        if (cfg.T < 1) rm_cmd_error(c, "images of %s (%dx%d) are not a multiple of the patch size %d", ds->name, ds->h, ds->w, cfg.patch);
        if (ds->nclass > cfg.K) cfg.K = ds->nclass;
    }
    lmodel *lm = rm_model_push(L);           /* empty until built: a failure leaves nothing to free */
    int idx = lua_gettop(L);
    rm_ctx ctx = {0};
    if (rm_model_new(&ctx, &lm->m, &cfg, (uint64_t)rm_arg(c, "seed")->i)) rm_cmd_error(c, "%s", ctx.msg);
    snprintf(lm->source, sizeof lm->source, "new (seed %lld)", rm_arg(c, "seed")->i);
    const char *name = rm_arg(c, "name")->s;
    rm_ws_set(L, name, idx);
    snprintf(rm_A.cur_model, sizeof rm_A.cur_model, "%s", name);
    if (c->line) say_model("new model", name, lm->m);
    return 1;
}

int rm_cmd_model(rm_call *c) {
    lua_State *L = c->L;
    rm_val *av = rm_posarg(c, "action");
    const char *a = av->set ? av->s : NULL;
    if (!a && (!c->line || any_option_given(c))) a = "new";
    if (!a) {
        if (!rm_A.cur_model[0] || rm_ws_get(L, rm_A.cur_model) != LUA_TUSERDATA) {
            printf("no current model (create one with `model new`, or `load NAME PATH`)\n");
            return 0;
        }
        lmodel *lm = luaL_testudata(L, -1, RM_MODEL_MT);
        if (lm && lm->m) say_model("current model", rm_A.cur_model, lm->m);
        else printf("current model '%s' is closed\n", rm_A.cur_model);
        return 0;
    }
    if (!strcmp(a, "new")) return new_model(c);
    if (any_option_given(c)) rm_cmd_error(c, "options only go with `model new` (did you mean `model new %s ...`?)", a);
    rm_ws_get(L, a);
    lmodel *lm = luaL_testudata(L, -1, RM_MODEL_MT);
    if (!lm) rm_cmd_error(c, "no model named '%s' (see `who`; `model new` creates one)", a);
    snprintf(rm_A.cur_model, sizeof rm_A.cur_model, "%s", a);
    if (c->line) printf("current model: %s\n", a);
    return 1;
}

/* workspace name from a file path: the base name up to its first dot, other characters as '_' */
const char *rm_path_stem(const char *path, char *stem, size_t n) {
    const char *b = strrchr(path, '/');
    snprintf(stem, n, "%s", b ? b + 1 : path);
    char *dot = strchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    for (char *p = stem; *p; p++) if (!isalnum((unsigned char)*p) && *p != '_') *p = '_';
    return stem;
}

int rm_cmd_load(rm_call *c) {
    lua_State *L = c->L;
    rm_val *nv = rm_posarg(c, "name"), *pv = rm_posarg(c, "path");
    const char *path = pv->set ? pv->s : nv->set ? nv->s : NULL, *name = pv->set && nv->set ? nv->s : NULL;
    if (!path) rm_cmd_error(c, "missing PATH (usage: load [NAME] PATH)");
    char stem[64];
    if (!name) name = rm_path_stem(path, stem, sizeof stem);   /* runs/teacher.safetensors -> teacher */
    lmodel *lm = rm_model_push(L);
    int idx = lua_gettop(L);
    rm_ctx ctx = {0};
    if (rm_checkpoint_load(&ctx, path, &lm->m)) rm_cmd_error(c, "%s", ctx.msg);
    snprintf(lm->source, sizeof lm->source, "%s", path);
    char *hist = NULL;   /* the training history saved with it, for `plot train` */
    if (!rm_checkpoint_meta(&ctx, path, "train.history", &hist) && hist) {
        int n = rm_model_hist_parse(lm, hist);
        if (n < 0) { lm->nhist = 0; if (c->line) printf("(%s: its training history is unreadable; ignored)\n", path); }
        else lm->epochs = n;
    }
    free(hist);
    rm_ws_set(L, name, idx);
    snprintf(rm_A.cur_model, sizeof rm_A.cur_model, "%s", name);
    if (c->line) say_model("loaded", name, lm->m);
    return 1;
}

int rm_cmd_save(rm_call *c) {
    lmodel *lm = rm_call_model(c, NULL);
    rm_val *pv = rm_posarg(c, "path");
    if (!pv->set) rm_cmd_error(c, "missing PATH (usage: save PATH)");
    if (rm_mkparent(pv->s)) rm_cmd_error(c, "cannot create the directory of %s", pv->s);
    rm_ctx ctx = {0};
    if (rm_model_save_with_hist(&ctx, pv->s, lm)) rm_cmd_error(c, "%s", ctx.msg);
    if (c->line) printf("saved %s\n", pv->s);
    lua_pushstring(c->L, pv->s);
    return 1;
}

#define SETI(k, v) (lua_pushinteger(L, (v)), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))

int rm_cmd_info(rm_call *c) {
    lua_State *L = c->L;
    lmodel *lm = rm_call_model(c, NULL);
    const rm_model *m = lm->m;
    const rm_model_cfg *k = &m->cfg;
    char name[64], cnt[32], b1[32], b2[32], cfg[160];
    if (!rm_ws_name(L, lm, name, sizeof name)) snprintf(name, sizeof name, "(unnamed)");
    size_t bytes = rm_model_bytes(m);
    if (c->line && m->net) {
        const rm_net_spec *ns = rm_net_spec_of(m);
        char d[4096];
        rm_model_describe(m, d, sizeof d);
        printf("%smodel '%s'%s%s: layer-list net, %d layers, %d classes\n  %s\n", rm_col(0, "1"), name, rm_reset(0),
               strcmp(name, rm_A.cur_model) ? "" : " (current)", ns->n, k->K, d);
        int outs[RM_NET_MAXL][3];
        rm_net_spec tmp = *ns;
        rm_ctx sctx = {0};
        rm_net_shapes(&sctx, &tmp, outs);
        printf("  %-3s %-10s %-12s %-10s %s\n", "#", "layer", "output", "params", "quantiser");
        for (int i = 0; i < ns->n; i++) {
            const rm_nlayer_spec *l = &ns->l[i];
            size_t np = 0;
            char pre[32], sh[48], q[48] = "";
            snprintf(pre, sizeof pre, "layers.%d.", i);
            for (int t = 0; t < m->ntensors; t++) if (!strncmp(m->tensors[t].name, pre, strlen(pre))) np += m->tensors[t].n;
            if (outs[i][1] * outs[i][2] > 1) snprintf(sh, sizeof sh, "%dx%dx%d", outs[i][0], outs[i][1], outs[i][2]);
            else snprintf(sh, sizeof sh, "%d", outs[i][0]);
            if (l->type == RM_NL_LINEAR || l->type == RM_NL_CONV)
                snprintf(q, sizeof q, "%s", l->wq == RM_WQ_BINARY ? "binary" : l->wq == RM_WQ_TERNARY ? "ternary (TWN)" : l->wq == RM_WQ_INT ? (l->stochastic ? "int (stochastic)" : "int") : "float");
            if (l->type == RM_NL_LINEAR || l->type == RM_NL_CONV) { if (l->wq == RM_WQ_INT) snprintf(q, sizeof q, "int%d%s", l->wbits, l->stochastic ? " stochastic" : ""); }
            if (l->type == RM_NL_SIGN) snprintf(q, sizeof q, "%s", l->grad == RM_GRAD_RESTE ? "ReSTE" : "STE |x|<=1");
            if (l->type == RM_NL_QUANT) snprintf(q, sizeof q, "%d-bit, range %g", l->bits, l->range);
            printf("  %-3d %-10s %-12s %-10zu %s\n", i, l->type == RM_NL_CURVE ? rm_act_name(l->act.kind) : rm_nlayer_name(l->type), sh, np, q);
        }
        printf("  parameters: %s trainable (%s); memory %s\n", rm_fmt_count(cnt, sizeof cnt, (double)m->nparams),
               rm_fmt_bytes(b1, sizeof b1, m->nparams * 4.0), rm_fmt_bytes(b2, sizeof b2, (double)bytes));
        printf("  source: %s; trained %d epochs this session", lm->source, lm->epochs);
        if (lm->evaluated) printf("; last eval %.2f%% (loss %.4f) on %s", 100 * lm->eval_acc, lm->eval_loss, lm->eval_on);
        printf("\n");
        char gd[300];
        rm_gemm_describe(gd, sizeof gd);
        printf("  %s\n", gd);
    } else if (c->line) {
        cfg_line(k, cfg, sizeof cfg);
        printf("%smodel '%s'%s%s: ResMLP %s\n", rm_col(0, "1"), name, rm_reset(0),
               strcmp(name, rm_A.cur_model) ? "" : " (current)", cfg);
        if (k->act.kind == RM_ACT_LERP_PSA)
            printf("  lerp_psa: %d keys, eps %g, grid of %d points over [%g, %g]\n", k->act.E, k->act.eps, k->act.G, -k->act.R, k->act.R);
        if (k->act.kind == RM_ACT_BSPLINE)
            printf("  bspline: %d coefficients, knot spacing %g\n", k->act.K, k->act.spacing);
        printf("  parameters: %s trainable (%s); memory %s\n", rm_fmt_count(cnt, sizeof cnt, (double)m->nparams),
               rm_fmt_bytes(b1, sizeof b1, m->nparams * 4.0), rm_fmt_bytes(b2, sizeof b2, (double)bytes));
        printf("  source: %s; trained %d epochs this session", lm->source, lm->epochs);
        if (lm->evaluated) printf("; last eval %.2f%% (loss %.4f) on %s", 100 * lm->eval_acc, lm->eval_loss, lm->eval_on);
        printf("\n");
        char gd[300];
        rm_gemm_describe(gd, sizeof gd);
        printf("  %s\n", gd);
    }
    lua_createtable(L, 0, 20);
    SETS("name", name);
    SETS("kind", m->net ? "net" : "resmlp");
    if (m->net) {
        char d[4096];
        rm_model_describe(m, d, sizeof d);
        SETS("net", d); SETI("classes", k->K); SETI("inputs", k->P);
        SETI("params", (lua_Integer)m->nparams); SETI("bytes", (lua_Integer)bytes); SETI("epochs", lm->epochs);
        SETS("source", lm->source);
        SETS("isa", rm_isa_name(rm_gemm_isa())); SETS("precision", rm_precision_name(rm_gemm_precision()));
        if (lm->evaluated) { SETN("acc", lm->eval_acc); SETN("loss", lm->eval_loss); }
        /* layers = {{type=, out={c,h,w}, params=, w=, grad=}...}: what the printed table shows */
        const rm_net_spec *ns = rm_net_spec_of(m);
        int outs[RM_NET_MAXL][3];
        rm_net_spec tmp = *ns;
        rm_ctx sctx = {0};
        rm_net_shapes(&sctx, &tmp, outs);
        lua_createtable(L, ns->n, 0);
        for (int i = 0; i < ns->n; i++) {
            const rm_nlayer_spec *l = &ns->l[i];
            char pre[32], q[24];
            size_t np = 0;
            snprintf(pre, sizeof pre, "layers.%d.", i);
            for (int t = 0; t < m->ntensors; t++) if (!strncmp(m->tensors[t].name, pre, strlen(pre))) np += m->tensors[t].n;
            lua_createtable(L, 0, 5);
            SETS("type", l->type == RM_NL_CURVE ? rm_act_name(l->act.kind) : rm_nlayer_name(l->type));
            SETI("params", (lua_Integer)np);
            lua_createtable(L, 3, 0);
            for (int d = 0; d < 3; d++) { lua_pushinteger(L, outs[i][d]); lua_rawseti(L, -2, d + 1); }
            lua_setfield(L, -2, "out");
            if (l->type == RM_NL_LINEAR || l->type == RM_NL_CONV) {
                if (l->wq == RM_WQ_INT) snprintf(q, sizeof q, "int%d", l->wbits);
                else snprintf(q, sizeof q, "%s", l->wq == RM_WQ_BINARY ? "binary" : l->wq == RM_WQ_TERNARY ? "ternary" : "float");
                SETS("w", q);
            }
            if (l->type == RM_NL_SIGN) SETS("grad", l->grad == RM_GRAD_RESTE ? "reste" : "ste");
            if (l->type == RM_NL_QUANT) SETI("bits", l->bits);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "layers");
        return 1;
    }
    SETS("act", rm_act_name(k->act.kind)); SETI("hidden", k->H); SETI("embed", k->D);
    SETI("layers", k->L); SETI("tokens", k->T); SETI("patch_dim", k->P); SETI("classes", k->K);
    SETI("params", (lua_Integer)m->nparams); SETI("bytes", (lua_Integer)bytes); SETI("epochs", lm->epochs);
    SETS("source", lm->source);
    SETS("isa", rm_isa_name(rm_gemm_isa())); SETS("precision", rm_precision_name(rm_gemm_precision()));
    if (k->act.kind == RM_ACT_LERP_PSA) { SETI("grid", k->act.G); SETN("range", k->act.R); SETI("keys", k->act.E); SETN("eps", k->act.eps); }
    if (k->act.kind == RM_ACT_BSPLINE) { SETI("spline_size", k->act.K); SETN("spacing", k->act.spacing); }
    if (lm->evaluated) { SETN("acc", lm->eval_acc); SETN("loss", lm->eval_loss); }
    return 1;
}
