/* cmd_hls_net.c - `hls emit` for integer layer-list nets (hlsgen/emit_net.h); cmd_hls.c hands over here when
 * the network is one: qfile= an integer net model file (qsave of a net), qmodel= a net QModel (the default:
 * the current quantized model), or model= a net with ptq=true (its integer engine built now). The sample
 * images are the first samples= images of data= (default `test`, else `train`); `hls csim DIR` then builds
 * and runs the testbench as for the ResMLP. `hls estimate model=NET pe= simd=` gives a net's FINN folding
 * cycles, dense and pruned (hlsgen/net_est.h). */
#include "qmodel.h"
#include "hlsgen/emit_net.h"
#include "hlsgen/net_est.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETI(k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))

int rm_hls_net_estimate_cmd(rm_call *c, const rm_model *m) {
    lua_State *L = c->L;
    if (!strcmp(rm_arg(c, "design")->s, "simd")) rm_cmd_error(c, "design=simd is a ResMLP design; a net's estimate is its streaming folding");
    rm_val *pv = rm_arg(c, "pe"), *sv = rm_arg(c, "simd");
    rm_ctx ctx = {0};
    static rm_net_est e;
    if (rm_hls_net_estimate(&ctx, m, pv->set ? pv->s : NULL, sv->set ? sv->s : NULL, rm_arg(c, "clock_ns")->d, &e))
        rm_cmd_error(c, "%s", ctx.msg);
    if (!rm_arg(c, "quiet")->i) {
        char b[16384];
        rm_hls_net_estimate_format(&e, b, sizeof b);
        fputs(b, stdout);
    }
    lua_createtable(L, 0, 8);
    SETS("design", "net"); SETI("total", e.total); SETI("total_dense", e.total_dense); SETI("interval", e.ii);
    SETI("interval_dense", e.ii_dense); SETN("clock_ns", e.clock_ns);
    SETN("fps", e.ii ? 1e9 / (e.ii * e.clock_ns) : 0); SETN("fps_dense", e.ii_dense ? 1e9 / (e.ii_dense * e.clock_ns) : 0);
    lua_createtable(L, e.n, 0);
    for (int i = 0; i < e.n; i++) {
        const rm_net_est_layer *l = &e.l[i];
        lua_createtable(L, 0, 16);
        SETS("name", l->name); SETI("layer", l->layer); SETI("oc", l->oc); SETI("ic", l->ic); SETI("positions", l->pix);
        SETI("pe", l->pe); SETI("simd", l->simd); SETI("nf", l->nf); SETI("sf", l->sf); SETI("pruned_blocks", l->npruned);
        SETI("blocks", l->pblocks); SETI("prune_simd", l->psimd); SETI("skipped", l->skipped);
        SETI("cycles", l->cycles); SETI("cycles_dense", l->cycles_dense);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "layers");
    return 1;
}

/* 1 if this `hls emit` call is about a layer-list net */
int rm_hls_net_wanted(rm_call *c) {
    rm_val *fv = rm_arg(c, "qfile"), *qv = rm_arg(c, "qmodel"), *mv = rm_arg(c, "model");
    if (fv->set) return rm_bnet_file_is_int(fv->s);
    if (rm_arg(c, "ptq")->i) return mv->set && mv->ud && ((lmodel *)mv->ud)->m && ((lmodel *)mv->ud)->m->net;
    return qv->set && qv->ud && rm_qmodel_bnet(qv->ud) != NULL;
}

int rm_hls_net_project(const char *dir) {
    char p[1100];
    snprintf(p, sizeof p, "%s/net_params.h", dir);
    return access(p, R_OK) == 0;
}

int rm_hls_net_emit_cmd(rm_call *c, const char *dir) {
    lua_State *L = c->L;
    int quiet = rm_arg(c, "quiet")->i != 0;
    int ns = (int)rm_arg(c, "samples")->i;
    if (ns < 1 || ns > 100000) rm_cmd_error(c, "samples=%d (1..100000)", ns);
    if (strcmp(rm_arg(c, "design")->s, "stream")) rm_cmd_error(c, "design=%s: nets have the streaming design only", rm_arg(c, "design")->s);
    if (rm_arg(c, "fold")->set) rm_cmd_error(c, "fold= is for ResMLP designs; a net's stages are not folded yet");
    double clk = rm_arg(c, "clock_ns")->d;
    if (!(clk > 0)) rm_cmd_error(c, "clock_ns must be positive");
    const rm_dataset *img = NULL;
    rm_val *dv = rm_arg(c, "data"), *tv = rm_arg(c, "train");
    if (dv->set && dv->ud && ((ldata *)dv->ud)->loaded) img = &((ldata *)dv->ud)->ds;
    else if (tv->set && tv->ud && ((ldata *)tv->ud)->loaded) img = &((ldata *)tv->ud)->ds;
    if (!img) rm_cmd_error(c, "no sample images for the testbench: load the net's data (e.g. `data vertebral`) or pass data=NAME");
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_model *own = NULL;
    rm_bnet *e = NULL, *own_e = NULL;
    char src[600];
    rm_val *fv = rm_arg(c, "qfile");
    if (fv->set) {
        if (rm_bnet_load(&ctx, fv->s, &own, &own_e)) rm_cmd_error(c, "%s", ctx.msg);
        e = own_e;
        snprintf(src, sizeof src, "%s", fv->s);
    } else if (rm_arg(c, "ptq")->i) {
        lmodel *lm = rm_arg(c, "model")->ud;
        if (rm_model_new_like(&ctx, &own, lm->m, 1) || rm_model_copy_params(&ctx, own, lm->m) || rm_bnet_build(&ctx, own, &own_e)) {
            rm_model_free(own);
            rm_cmd_error(c, "%s", ctx.msg);
        }
        e = own_e;
        char mn[64];
        if (!rm_ws_name(L, lm, mn, sizeof mn)) snprintf(mn, sizeof mn, "(unnamed)");
        snprintf(src, sizeof src, "net model %s (integer engine built at emit)", mn);
    } else {
        rm_val *qv = rm_arg(c, "qmodel");
        e = rm_qmodel_bnet(qv->ud);
        char name[64], what[400];
        double bytes;
        if (!rm_ws_name(L, qv->ud, name, sizeof name)) snprintf(name, sizeof name, "(unnamed)");
        rm_qmodel_what(qv->ud, what, sizeof what, &bytes);
        snprintf(src, sizeof src, "quantized net %s: %.400s", name, what);
    }
    rm_hls_net_info info;
    int outer = rm_A.in_core;
    rm_A.in_core = 1;
    int r = rm_hls_net_emit(&ctx, dir, e, img, ns, rm_arg(c, "part")->s, clk, src, &info);
    rm_A.in_core = outer;
    rm_bnet_free(own_e);
    rm_model_free(own);
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    if (!quiet) {
        printf("emitted %s%s%s: %d files, %d stages, %ld weight bits, %d sample images; streaming integer net, part %s, %g ns\n",
               rm_col(0, "1"), dir, rm_reset(0), info.nfiles, info.stages, info.weight_bits, info.samples, rm_arg(c, "part")->s, clk);
        printf("  files:");
        for (int i = 0; i < info.nfiles; i++) printf(" %s", info.files[i]);
        printf("\n  next: hls csim %s    synth %s    (see %s/README.md)\n", dir, dir, dir);
        fflush(stdout);
    }
    lua_createtable(L, 0, 6);
    SETS("dir", dir); SETI("samples", info.samples); SETS("model", src); SETI("stages", info.stages);
    SETI("weight_bits", info.weight_bits);
    lua_createtable(L, info.nfiles, 0);
    for (int i = 0; i < info.nfiles; i++) { lua_pushstring(L, info.files[i]); lua_rawseti(L, -2, i + 1); }
    lua_setfield(L, -2, "files");
    return 1;
}
