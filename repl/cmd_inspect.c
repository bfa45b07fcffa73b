/* cmd_inspect.c - looking inside a model: `layers` (every module with its reference name, kind,
 * shape, parameter count and the input range recorded by the last `eval`), `curve` (samples of a
 * learned activation, through core/curves.h) and `param` (a parameter as a read-only Tensor view). */
#include "registry.h"
#include "core/curves.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct layer_row {
    char name[64], short_name[16], shape[32];
    const char *kind;
    int block, act;               /* act: index for rm_curve_layer_at, or -1 */
    size_t params;
} layer_row;

static size_t count_params(const rm_model *m, const char *prefix) {
    size_t n = 0, l = strlen(prefix);
    for (int i = 0; i < m->ntensors; i++)
        if (!strncmp(m->tensors[i].name, prefix, l) && m->tensors[i].name[l] == '.') n += m->tensors[i].n;
    return n;
}

static void row(layer_row *r, const rm_model *m, int block, const char *kind, const char *shortn, int act, const char *shape,
                const char *fmt, ...) __attribute__((format(printf, 8, 9)));
#include <stdarg.h>
static void row(layer_row *r, const rm_model *m, int block, const char *kind, const char *shortn, int act, const char *shape,
                const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->name, sizeof r->name, fmt, ap);
    va_end(ap);
    snprintf(r->short_name, sizeof r->short_name, "%s", shortn);
    snprintf(r->shape, sizeof r->shape, "%s", shape);
    r->kind = kind;
    r->block = block;
    r->act = act;
    r->params = count_params(m, r->name);
}

/* all modules in forward order; returns the count (rows has room for 4 + 10 per block) */
static int build_rows(const rm_model *m, layer_row *rows) {
    const rm_model_cfg *c = &m->cfg;
    int n = 0, learned = rm_act_has_params(c->act.kind);
    const char *act = rm_act_name(c->act.kind);
    char s[32], s2[32], s3[32];
    snprintf(s, sizeof s, "%d -> %d", c->P, c->D);
    row(&rows[n++], m, -1, "linear", "embed", -1, s, "embed_linear");
    snprintf(s, sizeof s, "%d", c->D);
    snprintf(s2, sizeof s2, "%d -> %d", c->D, c->H);
    snprintf(s3, sizeof s3, "%d -> %d", c->H, c->D);
    for (int b = 0; b < c->L; b++) {
        char t[32], h[32];
        snprintf(t, sizeof t, "%d -> %d tokens", c->T, c->T);
        snprintf(h, sizeof h, "%d", c->H);
        row(&rows[n++], m, b, "batchnorm", "tok.bn", -1, s, "layers.%d.layers.0.affine_1.bn", b);
        row(&rows[n++], m, b, "linear", "tok.fc", -1, t, "layers.%d.layers.0.layers", b);
        row(&rows[n++], m, b, "affine", "tok.ls", -1, s, "layers.%d.layers.0.affine_2", b);
        row(&rows[n++], m, b, "batchnorm", "mlp.bn", -1, s, "layers.%d.layers.1.affine_1.bn", b);
        if (learned) {
            row(&rows[n++], m, b, act, "mlp.0", 2 * b, s, "layers.%d.layers.1.layers.0", b);
            row(&rows[n++], m, b, "linear", "mlp.1", -1, s2, "layers.%d.layers.1.layers.1", b);
            row(&rows[n++], m, b, act, "mlp.2", 2 * b + 1, h, "layers.%d.layers.1.layers.2", b);
            row(&rows[n++], m, b, "linear", "mlp.3", -1, s3, "layers.%d.layers.1.layers.3", b);
        } else {
            row(&rows[n++], m, b, "linear", "mlp.0", -1, s2, "layers.%d.layers.1.layers.0", b);
            row(&rows[n++], m, b, act, "mlp.1", b, h, "layers.%d.layers.1.layers.1", b);
            row(&rows[n++], m, b, "linear", "mlp.2", -1, s3, "layers.%d.layers.1.layers.2", b);
        }
        row(&rows[n++], m, b, "affine", "mlp.ls", -1, s, "layers.%d.layers.1.affine_2", b);
    }
    row(&rows[n++], m, c->L, "batchnorm", "head.bn", -1, s, "affine.bn");
    snprintf(s, sizeof s, "%d -> %d", c->D, c->K);
    row(&rows[n++], m, c->L, "linear", "head.fc", -1, s, "classifier");
    return n;
}

int rm_cmd_layers(rm_call *c) {
    lua_State *L = c->L;
    const rm_model *m = rm_call_resmlp(c, NULL)->m;
    layer_row *rows = lua_newuserdatauv(L, sizeof(layer_row) * (4 + 10 * RM_MAXL), 0);   /* scratch, collected */
    int n = build_rows(m, rows);
    if (c->line)
        printf("%sblock  layer    kind        shape              params  reference name%s\n", rm_col(0, "1"), rm_reset(0));
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        const layer_row *r = &rows[i];
        rm_act_layer a;
        int have = r->act >= 0 && !rm_curve_layer_at(m, r->act, &a) && a.stats && a.stats->count > 0;
        if (c->line) {
            char blk[16], cnt[32];
            if (r->block < 0) snprintf(blk, sizeof blk, "-");
            else if (r->block == m->cfg.L) snprintf(blk, sizeof blk, "head");
            else snprintf(blk, sizeof blk, "%d", r->block);
            printf("%-6s %-8s %-11s %-15s %9s  %s", blk, r->short_name, r->kind, r->shape,
                   rm_fmt_count(cnt, sizeof cnt, (double)r->params), r->name);
            if (have) printf("  inputs [%.3g, %.3g]", a.stats->min, a.stats->max);
            printf("\n");
        }
        lua_createtable(L, 0, 9);
        lua_pushstring(L, r->name); lua_setfield(L, -2, "name");
        lua_pushstring(L, r->short_name); lua_setfield(L, -2, "short");
        lua_pushstring(L, r->kind); lua_setfield(L, -2, "kind");
        lua_pushstring(L, r->shape); lua_setfield(L, -2, "shape");
        lua_pushinteger(L, r->block); lua_setfield(L, -2, "block");
        lua_pushinteger(L, (lua_Integer)r->params); lua_setfield(L, -2, "params");
        if (r->act >= 0) { lua_pushboolean(L, 1); lua_setfield(L, -2, "activation"); }
        if (have) {
            lua_pushnumber(L, a.stats->min); lua_setfield(L, -2, "input_min");
            lua_pushnumber(L, a.stats->max); lua_setfield(L, -2, "input_max");
        }
        lua_rawseti(L, -2, i + 1);
    }
    if (c->line) printf("(activation layers for `curve`: %s)\n", rm_act_has_params(m->cfg.act.kind) ? "mlp.0, mlp.2" : "mlp.1");
    return 1;
}

int rm_cmd_curve(rm_call *c) {
    lua_State *L = c->L;
    const rm_model *m = rm_call_resmlp(c, NULL)->m;
    rm_val *lv = rm_arg(c, "layer");
    const char *layer = lv->set ? lv->s : rm_act_has_params(m->cfg.act.kind) ? "mlp.0" : "mlp.1";
    int block = (int)rm_arg(c, "block")->i, ch = (int)rm_arg(c, "ch")->i, n = (int)rm_arg(c, "n")->i;
    rm_ctx ctx = {0};
    rm_act_layer a;
    if (!strncmp(layer, "layers.", 7)) sscanf(layer + 7, "%d", &block);   /* a full name says its block */
    if (rm_curve_layer(&ctx, m, block, layer, &a)) rm_cmd_error(c, "%s", ctx.msg);
    if (n < 1 || n > 1000000) rm_cmd_error(c, "n=%d out of range 1..1000000", n);
    float lo, hi;
    rm_curve_default_range(&a, &lo, &hi);
    if (rm_arg(c, "lo")->set) lo = (float)rm_arg(c, "lo")->d;
    if (rm_arg(c, "hi")->set) hi = (float)rm_arg(c, "hi")->d;
    float *x = lua_newuserdatauv(L, sizeof(float) * 2 * (size_t)n, 0), *y = x + n;   /* scratch, collected */
    int which = !strcmp(rm_arg(c, "which")->s, "smooth");
    if (rm_curve_sample(&ctx, &a, ch, lo, hi, n, which, x, y)) rm_cmd_error(c, "%s", ctx.msg);
    if (c->line) {
        printf("%s%s%s (block %d %s, %s) channel %d of %d on [%g, %g]", rm_col(0, "1"), a.name, rm_reset(0), a.block,
               a.short_name, rm_act_name(a.cfg->kind), ch, a.C, lo, hi);
        if (a.stats && a.stats->count > 0)
            printf("; inputs seen in the last eval: [%.3g, %.3g], 1st-99th percentile [%.3g, %.3g]", a.stats->min,
                   a.stats->max, rm_curve_percentile(a.stats, 1), rm_curve_percentile(a.stats, 99));
        printf("\n%12s %12s\n", "x", "y");
        for (int i = 0; i < n; i++) printf("%12.5g %12.5g\n", x[i], y[i]);
    }
    for (int k = 0; k < 2; k++) {
        lua_createtable(L, n, 0);
        for (int i = 0; i < n; i++) { lua_pushnumber(L, (k ? y : x)[i]); lua_rawseti(L, -2, i + 1); }
    }
    return 2;
}

int rm_cmd_param(rm_call *c) {
    lua_State *L = c->L;
    int midx;
    rm_model *m = rm_call_model(c, &midx)->m;
    rm_val *nv = rm_posarg(c, "name");
    if (!nv->set) rm_cmd_error(c, "missing NAME (usage: param NAME; `layers` lists the modules, m:params() the tensors)");
    const rm_ptensor *info;
    float *data = rm_model_tensor_data(m, nv->s, &info);
    if (!data) {
        int nt = m->ntensors + m->nbuftensors;
        const char **names = lua_newuserdatauv(L, sizeof(char *) * nt, 0);
        for (int i = 0; i < nt; i++) names[i] = i < m->ntensors ? m->tensors[i].name : m->buftensors[i - m->ntensors].name;
        const char *s = rm_suggest(nv->s, names, nt);
        rm_cmd_error(c, "no tensor named '%s'%s%s%s", nv->s, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    }
    rm_tensor_push(L, midx, info->name, data, info->ndim, info->shape);
    if (c->line) {   /* at the prompt: the values too (t:show()) */
        lua_getfield(L, -1, "show");
        lua_pushvalue(L, -2);
        lua_call(L, 1, 1);
        printf("%s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return 1;
}
