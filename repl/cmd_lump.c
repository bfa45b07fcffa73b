/* cmd_lump.c - the `lump` command: exact (tol=0) or approximate neuron lumping of a model into a new,
 * smaller model in the workspace; a per-layer table of neurons and parameters removed, the test accuracy
 * before and after and the largest logit difference. */
#include "registry.h"
#include "core/lump.h"
#include "core/train.h"
#include <stdio.h>
#include <string.h>

#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))

int rm_cmd_lump(rm_call *c) {
    lua_State *L = c->L;
    lmodel *lm = rm_call_model(c, NULL);
    if (lm->busy) rm_cmd_error(c, "the model is in use by a running command");
    rm_val *tv = rm_arg(c, "test");
    ldata *t = tv->set && tv->ud && ((ldata *)tv->ud)->loaded ? tv->ud : NULL;
    rm_lump_opts o = {.tol = rm_arg(c, "tol")->d, .zero = (int)rm_arg(c, "zero")->i};
    if (o.tol < 0 || o.tol >= 1) rm_cmd_error(c, "tol=%g: 0 (exact) or a relative tolerance below 1", o.tol);
    char src[64], name[64];
    if (!rm_ws_name(L, lm, src, sizeof src)) snprintf(src, sizeof src, "model");
    if (rm_arg(c, "name")->set) snprintf(name, sizeof name, "%s", rm_arg(c, "name")->s);
    else snprintf(name, sizeof name, "%.50s_lumped", src);
    lmodel *nm = rm_model_push(L);
    int nidx = lua_gettop(L);
    static rm_lump_report rep;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    if (rm_lump(&ctx, lm->m, &nm->m, &o, &rep)) rm_cmd_error(c, "%s", ctx.msg);
    float a0 = -1, a1 = -1;
    double md = -1;
    if (t) {
        rm_A.in_core = 1;
        int bad = rm_evaluate(&ctx, lm->m, &t->ds, 1000, &a0, NULL) || rm_evaluate(&ctx, nm->m, &t->ds, 1000, &a1, NULL) ||
                  rm_logit_maxdiff(&ctx, lm->m, nm->m, &t->ds, 1000, &md);
        rm_A.in_core = 0;
        if (bad) rm_cmd_error(c, "%s", ctx.msg);
    }
    snprintf(nm->source, sizeof nm->source, "lumped %s (%s)", src, o.tol > 0 ? "approximate" : "exact");
    rm_ws_set(L, name, nidx);
    if (!rm_arg(c, "quiet")->i) {
        char b0[32], b1[32];
        printf("%s lumping of '%s' -> '%s'%s\n", o.tol > 0 ? "approximate" : "exact", src, name, o.tol > 0 ? "" : " (lambda > 0 for ReLU, identical neurons otherwise)");
        printf("  %-10s %-9s %7s %7s %7s %7s %7s %9s %9s\n", "layer", "act", "before", "after", "merged", "zero in", "zero out", "params", "after");
        for (int i = 0; i < rep.n; i++) {
            const rm_lump_layer *l = &rep.l[i];
            printf("  %-10s %-9s %7d %7d %7d %7d %8d %9ld %9ld%s%s\n", l->label, l->act, l->before, l->after, l->merged,
                   l->zero_in, l->zero_out, l->params_before, l->params_after, l->skipped[0] ? "  skipped: " : "", l->skipped);
        }
        printf("parameters %s -> %s (%.1f%% removed)", rm_fmt_count(b0, sizeof b0, (double)rep.params_before),
               rm_fmt_count(b1, sizeof b1, (double)rep.params_after),
               rep.params_before ? 100.0 * (rep.params_before - rep.params_after) / rep.params_before : 0.0);
        if (!lm->m->net && nm->m->cfg.H != lm->m->cfg.H) printf("; hidden width %d -> %d", lm->m->cfg.H, nm->m->cfg.H);
        printf("\n");
        if (t) printf("test accuracy %.2f%% -> %.2f%% (%+.2f points); max |logit difference| %.3g on %d images\n", 100 * a0,
                      100 * a1, 100 * (a1 - a0), md, t->ds.n < 1000 ? t->ds.n : 1000);
    }
    lua_createtable(L, 0, 8);
    lua_pushvalue(L, nidx); lua_setfield(L, -2, "model");
    SETS("name", name); SETN("tol", o.tol);
    SETN("params_before", rep.params_before); SETN("params_after", rep.params_after);
    if (t) { SETN("acc_before", a0); SETN("acc_after", a1); SETN("max_logit_diff", md); }
    lua_createtable(L, rep.n, 0);
    for (int i = 0; i < rep.n; i++) {
        const rm_lump_layer *l = &rep.l[i];
        lua_createtable(L, 0, 10);
        SETS("layer", l->label); SETS("act", l->act); SETN("before", l->before); SETN("after", l->after);
        SETN("merged", l->merged); SETN("zero_in", l->zero_in); SETN("zero_out", l->zero_out);
        SETN("params_before", l->params_before); SETN("params_after", l->params_after);
        if (l->skipped[0]) SETS("skipped", l->skipped);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "layers");
    return 1;
}
