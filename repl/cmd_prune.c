/* cmd_prune.c - the `prune` command: SIMD-block pruning of a model's weight layers, sparsity raised step by
 * step (steps=0.5,0.6,...) with fine-tuning between steps through the `train` command (the masks keep
 * pruned weights at zero); a table of accuracy per step and of blocks per layer, and for a ResMLP the HLS
 * estimate with and without the masks (paper design point, and every matmul folded to its pruning SIMD). */
#include "registry.h"
#include "core/prune.h"
#include "core/train.h"
#include "hlsgen/estimate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))

static double acc_of(rm_model *m, const rm_dataset *ds) {
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    float a = -1;
    if (!ds || rm_evaluate(&ctx, m, ds, 1000, &a, NULL)) return -1;
    return a;
}

/* estimates of the model without and with its masks: paper design point, and folded to the pruning SIMD */
static void hls_compare(lua_State *L, rm_model *m, int quiet) {
    if (m->net || !m->prune) return;
    const rm_model_cfg *k = &m->cfg;
    rm_hls_dims dims = {.D = k->D, .T = k->T, .P = k->P, .h = k->H, .L = k->L, .classes = k->K,
                        .act = k->act.kind == RM_ACT_RELU ? RM_HLS_ACT_RELU : RM_HLS_ACT_LERP};
    rm_ctx ctx = {0};
    static rm_hls_design d[4];
    lua_createtable(L, 0, 2);
    for (int folded = 0; folded < 2; folded++) {
        rm_hls_design *a = &d[2 * folded], *b = &d[2 * folded + 1];
        if (rm_hls_design_init(&ctx, a, &dims, 5.0) || rm_hls_design_init(&ctx, b, &dims, 5.0)) return;
        if (folded) {   /* each matmul at SIMD = its layer's pruning SIMD: a pruned block is a skipped fold */
            rm_wlayer wl[RM_MAX_WLAYERS];
            int n = rm_wlayers(m, wl, RM_MAX_WLAYERS);
            static const char *fmt[] = {"", "", "embed_linear", "blocks_%d_token_mixer_linear", "blocks_%d_mlp_linear_1",
                                        "blocks_%d_mlp_linear_2", "classifier_linear"};
            for (int i = 0; i < n && i < m->prune->n; i++) {
                char st[64];
                snprintf(st, sizeof st, fmt[wl[i].kind], wl[i].index);
                rm_hls_set_par(&ctx, a, st, 1, m->prune->l[i].simd);
                rm_hls_set_par(&ctx, b, st, 1, m->prune->l[i].simd);
            }
            rm_hls_estimate(a, NULL);
        }
        if (rm_hls_apply_prune(&ctx, b, m)) return;
        if (!quiet)
            printf("hls estimate (%s): interval %ld -> %ld cycles, latency %ld -> %ld, LUT %ld -> %ld, DSP %ld -> %ld, BRAM_18K %ld -> %ld\n",
                   folded ? "matmuls folded to SIMD = pruning SIMD" : "paper design point, SIMD = IN", a->ii, b->ii,
                   a->latency, b->latency, a->lut, b->lut, a->dsp, b->dsp, a->bram18, b->bram18);
        lua_createtable(L, 0, 10);
        SETN("ii", a->ii); SETN("ii_pruned", b->ii); SETN("latency", a->latency); SETN("latency_pruned", b->latency);
        SETN("lut", a->lut); SETN("lut_pruned", b->lut); SETN("dsp", a->dsp); SETN("dsp_pruned", b->dsp);
        SETN("bram18", a->bram18); SETN("bram18_pruned", b->bram18);
        lua_setfield(L, -2, folded ? "folded" : "paper");
    }
    lua_setfield(L, -2, "hls");
}

int rm_cmd_prune(rm_call *c) {
    lua_State *L = c->L;
    int midx;
    lmodel *lm = rm_call_model(c, &midx);
    if (lm->busy) rm_cmd_error(c, "the model is in use by a running command");
    int quiet = (int)rm_arg(c, "quiet")->i, epochs = (int)rm_arg(c, "epochs")->i;
    int norm = strcmp(rm_arg(c, "norm")->s, "l2") ? RM_PRUNE_L1 : RM_PRUNE_L2;
    double steps[64];
    int ns = 0;
    {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", rm_arg(c, "steps")->set ? rm_arg(c, "steps")->s : rm_arg(c, "sparsity")->s);
        for (char *t = strtok(buf, ","); t && ns < 64; t = strtok(NULL, ",")) {
            char *e;
            steps[ns] = strtod(t, &e);
            if (e == t || *e || steps[ns] < 0 || steps[ns] > 0.99 || (ns && steps[ns] < steps[ns - 1]))
                rm_cmd_error(c, "steps=%s: rising sparsities in [0, 0.99] separated by commas", rm_arg(c, "steps")->s);
            ns++;
        }
        if (!ns) rm_cmd_error(c, "no sparsity given (sparsity=0.5 or steps=0.5,0.6,0.7)");
    }
    rm_val *dv = rm_arg(c, "data"), *tv = rm_arg(c, "test");
    ldata *d = dv->set && dv->ud && ((ldata *)dv->ud)->loaded ? dv->ud : NULL;
    ldata *t = tv->set && tv->ud && ((ldata *)tv->ud)->loaded ? tv->ud : NULL;
    if (epochs > 0 && !d) rm_cmd_error(c, "fine-tuning (epochs=%d) needs training data (data=)", epochs);
    int simd[RM_MAX_WLAYERS];
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    const char *sl = rm_arg(c, "simd")->set ? rm_arg(c, "simd")->s : NULL;
    if (lm->m->prune && !sl) for (int i = 0; i < lm->m->prune->n; i++) simd[i] = lm->m->prune->l[i].simd;
    else if (rm_prune_simd_list(&ctx, lm->m, sl, simd, RM_MAX_WLAYERS) < 0) rm_cmd_error(c, "%s", ctx.msg);
    /* the model to prune: a copy under name= (default MODEL_pruned), or the model itself with inplace=true */
    lmodel *pm = lm;
    int pidx = midx;
    char src[64], name[64];
    if (!rm_ws_name(L, lm, src, sizeof src)) snprintf(src, sizeof src, "model");
    if (!rm_arg(c, "inplace")->i) {
        if (rm_arg(c, "name")->set) snprintf(name, sizeof name, "%s", rm_arg(c, "name")->s);
        else snprintf(name, sizeof name, "%.50s_pruned", src);
        pm = rm_model_push(L);
        pidx = lua_gettop(L);
        if (rm_model_new_like(&ctx, &pm->m, lm->m, 1) || rm_model_copy_params(&ctx, pm->m, lm->m)) rm_cmd_error(c, "%s", ctx.msg);
        snprintf(pm->source, sizeof pm->source, "pruned %s", src);
        rm_ws_set(L, name, pidx);
    } else snprintf(name, sizeof name, "%s", src);
    double acc0 = t ? acc_of(pm->m, &t->ds) : -1;
    if (!quiet) {
        printf("SIMD-block pruning of '%s' -> '%s' (%s norm), %d step%s%s; test accuracy before %.2f%%\n", src, name,
               norm == RM_PRUNE_L2 ? "L2" : "L1", ns, ns > 1 ? "s" : "", epochs > 0 ? ", fine-tuning between steps" : "", 100 * acc0);
        printf("  %-6s %9s %12s %12s\n", "step", "sparsity", "after prune", "fine-tuned");
        fflush(stdout);
    }
    lua_createtable(L, 0, 8);   /* result */
    int res = lua_gettop(L);
    lua_createtable(L, ns, 0);
    for (int s = 0; s < ns; s++) {
        if (rm_prune_step(&ctx, pm->m, simd, steps[s], norm)) rm_cmd_error(c, "%s", ctx.msg);
        double a1 = t ? acc_of(pm->m, &t->ds) : -1, a2 = -1;
        if (epochs > 0) {
            /* fine-tune through the `train` command: every option of it, the masks hold at each step */
            lua_createtable(L, 0, 8);
            lua_pushvalue(L, pidx); lua_setfield(L, -2, "model");
            lua_pushvalue(L, dv->idx); lua_setfield(L, -2, "data");
            SETN("epochs", epochs); SETN("lr", rm_arg(c, "lr")->d);
            SETS("aug", rm_arg(c, "aug")->s);
            lua_pushboolean(L, 1); lua_setfield(L, -2, "quiet");
            lua_pushboolean(L, 0); lua_setfield(L, -2, "live");
            int top = lua_gettop(L);
            rm_cmd_invoke(L, rm_cmd_find("train"), top, 0);
            lua_settop(L, top - 1);
            a2 = t ? acc_of(pm->m, &t->ds) : -1;
        }
        if (!quiet) {
            printf("  %-6d %8.1f%% %11.2f%% ", s + 1, 100 * rm_prune_sparsity(pm->m), 100 * a1);
            if (a2 >= 0) printf("%11.2f%%\n", 100 * a2); else printf("%12s\n", "-");
            fflush(stdout);
        }
        lua_createtable(L, 0, 4);
        SETN("target", steps[s]); SETN("sparsity", rm_prune_sparsity(pm->m));
        if (a1 >= 0) SETN("acc_pruned", a1);
        if (a2 >= 0) SETN("acc_finetuned", a2);
        lua_rawseti(L, -2, s + 1);
    }
    lua_setfield(L, res, "steps");
    const rm_prune *p = pm->m->prune;
    if (!quiet) printf("  %-12s %10s %5s %7s %7s %9s\n", "layer", "weights", "SIMD", "blocks", "pruned", "sparsity");
    lua_createtable(L, p->n, 0);
    rm_wlayer wl[RM_MAX_WLAYERS];
    int nw = rm_wlayers(pm->m, wl, RM_MAX_WLAYERS);
    for (int i = 0; i < p->n; i++) {
        const rm_prune_layer *l = &p->l[i];
        char lb[48], shape[32];
        if (i < nw) rm_wlayer_label(pm->m, &wl[i], lb, sizeof lb); else snprintf(lb, sizeof lb, "%s", l->name);
        snprintf(shape, sizeof shape, "%dx%d", l->rows, l->cols);
        if (!quiet) printf("  %-12s %10s %5d %7d %7d %8.1f%%\n", lb, shape, l->simd, l->nblocks, l->npruned, 100.0 * l->npruned / l->nblocks);
        lua_createtable(L, 0, 6);
        SETS("layer", lb); SETS("tensor", l->name); SETN("rows", l->rows); SETN("cols", l->cols);
        SETN("simd", l->simd); SETN("blocks", l->nblocks);
        SETN("pruned", l->npruned); SETN("sparsity", (double)l->npruned / l->nblocks);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, res, "layers");
    lua_settop(L, res);
    hls_compare(L, pm->m, quiet);
    lua_pushvalue(L, pidx); lua_setfield(L, res, "model");
    SETS("name", name);
    SETN("sparsity", rm_prune_sparsity(pm->m));
    if (acc0 >= 0) SETN("acc_before", acc0);
    return 1;
}
