/* cmd_hls.c - the hardware commands: `hls emit|csim|estimate|fold`, `synth` and `report`.
 *
 * Where the quantized network comes from (first match):
 *   qfile=PATH              a quantized model file (rm_qmodel_save's format, as `qsave` writes it)
 *   model=NAME ptq=true     the float model NAME (default: the current one) quantized here by PTQ
 *                           (rm_quant_ptq, 64-entry tables) on the first calib= images of train=
 *                           (80/20 split inside); qsave=PATH keeps the result as a quantized model file
 *   qmodel=NAME             a QModel of the workspace (`quantize`, `qat`, `qload`), default the current
 *                           one; read through a temporary quantized model file (its type is private to
 *                           cmd_quant.c)
 * `hls rtl DIR` takes the network the same way and writes the Verilog of its learned activations
 * (rtl.h), simulated against the engine's tables; `hls yosys DIR` synthesises those units.
 * The sample images of quant_samples.h are the first samples= images of data= (default `test`, else
 * `train`). Long runs (PTQ, compiler, testbench, the vendor tool) poll the Ctrl-C flag: the run stops,
 * the REPL keeps going. Failures print the end of the tool's log, then raise one line. */
#include "registry.h"
#include "core/quant.h"
#include "hlsgen/emit.h"
#include "hlsgen/estimate.h"
#include "hlsgen/report.h"
#include "hlsgen/synth.h"
#include "hlsgen/tcl.h"
#include "hlsgen/simd.h"
#include "hlsgen/rtl.h"
#include "hlsgen/calib.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETI(k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))
#define SETB(k, v) (lua_pushboolean(L, (v)), lua_setfield(L, -2, k))

static int quiet(rm_call *c) {
    rm_val *v = rm_arg(c, "quiet");
    return v && v->i;
}

/* ---------------------------------------------------------------- log lines */

typedef struct logp { int quiet; const char *prefix; int stamp; } logp;

static void print_line(void *ud, double el, const char *line) {
    logp *p = ud;
    if (p->quiet) return;
    if (p->stamp) printf("[%7.1fs] %s\n", el, line);
    else printf("%s%s\n", p->prefix ? p->prefix : "", line);
    fflush(stdout);
}

/* the end of a failed run's log on stderr, before the one-line error */
static void print_tail(const rm_hls_run_result *r, const char *what) {
    int n = rm_hls_tail_count(r);
    if (!n) return;
    fprintf(stderr, "last %d line%s of the %s log:\n", n, n == 1 ? "" : "s", what);
    for (int i = 0; i < n; i++) fprintf(stderr, "  | %s\n", rm_hls_tail_line(r, i));
    fflush(stderr);
}

/* around a long core call: Ctrl-C only sets the flag the call polls (the REPL keeps going) */
static int core_enter(void) { int outer = rm_A.in_core; rm_A.in_core = 1; return outer; }
static void core_leave(int outer) { rm_A.in_core = outer; }

/* ---------------------------------------------------------------- design tables for Lua */

static void push_design(lua_State *L, const rm_hls_design *d) {
    lua_createtable(L, 0, 12);
    SETI("ii", d->ii); SETI("latency", d->latency); SETN("fps", d->fps); SETN("clock_ns", d->clock_ns);
    SETI("lut", d->lut); SETI("ff", d->ff); SETI("dsp", d->dsp); SETI("bram18", d->bram18);
    SETS("slowest", d->nstages ? d->st[d->slowest].name : "");
    lua_createtable(L, d->nstages, 0);
    for (int i = 0; i < d->nstages; i++) {
        const rm_hls_stage *s = &d->st[i];
        lua_createtable(L, 0, 12);
        SETS("name", s->name); SETS("kind", rm_hls_stage_kind_name(s->kind));
        SETI("vectors", s->vectors); SETI("inputs", s->in); SETI("outputs", s->out);
        SETI("pe", s->pe); SETI("simd", s->simd); SETI("cycles", s->cycles);
        SETI("lut", s->lut); SETI("ff", s->ff); SETI("dsp", s->dsp); SETI("bram18", s->bram18);
        SETS("resources", s->src[0] ? s->src : "analytic");   /* the Yosys-calibrated PE, or analytic */
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "stages");
}

static void print_design(const rm_hls_design *d) {
    int n = rm_hls_estimate_format(d, NULL, 0);
    char *b = malloc((size_t)n + 1);
    if (!b) return;
    rm_hls_estimate_format(d, b, (size_t)n + 1);
    fputs(b, stdout);
    free(b);
}

/* the design the estimate/fold commands work on: DIR's project, else the model's dimensions */
static void design_for(rm_call *c, rm_hls_design *d, const char **dir_out) {
    rm_val *dv = rm_posarg(c, "dir");
    rm_ctx ctx = {0};
    *dir_out = NULL;
    if (dv->set) {
        if (rm_hls_project_design(&ctx, dv->s, d, NULL)) rm_cmd_error(c, "%s", ctx.msg);
        *dir_out = dv->s;
        rm_val *ck = rm_arg(c, "clock_ns");
        if (ck->set == 1) { d->clock_ns = ck->d; rm_hls_estimate(d, NULL); }
        return;
    }
    rm_val *mv = rm_arg(c, "model");
    if (!mv->set || !mv->ud)
        rm_cmd_error(c, "give a project directory (hls %s DIR) or a model (model=NAME; none is current)",
                     rm_posarg(c, "action")->s);
    lmodel *lm = mv->ud;
    if (!lm->m) rm_cmd_error(c, "the model is closed");
    if (lm->m->net) rm_cmd_error(c, "hls fold is for ResMLP models; this one is a layer-list net (`hls estimate model=NAME pe= simd=` gives its folding cycles)");
    const rm_model_cfg *k = &lm->m->cfg;
    rm_hls_dims dims = { .D = k->D, .T = k->T, .P = k->P, .h = k->H, .L = k->L, .classes = k->K,
                         .act = k->act.kind == RM_ACT_RELU ? RM_HLS_ACT_RELU : RM_HLS_ACT_LERP };
    if (rm_hls_design_init(&ctx, d, &dims, rm_arg(c, "clock_ns")->d)) rm_cmd_error(c, "%s", ctx.msg);
    if (rm_hls_apply_prune(&ctx, d, lm->m)) rm_cmd_error(c, "%s", ctx.msg);   /* SIMD-block pruning masks */
}

/* ---------------------------------------------------------------- hls emit */

/* The integer network of a workspace QModel. cmd_quant.c keeps that type to itself, so the network
 * travels through the quantized model file: `qsave` to a temporary file, rm_qmodel_load back. */
static rm_qnet *net_of_qmodel(rm_call *c, rm_val *qv, char *src, size_t nsrc) {
    lua_State *L = c->L;
    const rm_command *qs = rm_cmd_find("qsave");
    if (!qs) rm_cmd_error(c, "this build has no qsave command to read quantized models with");
    char tmp[] = "/tmp/resmlp_hls_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) rm_cmd_error(c, "cannot create a temporary file: %s", strerror(errno));
    close(fd);
    rm_cmd_pushfunction(L, qs);
    lua_pushstring(L, tmp);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, qv->idx);
    lua_setfield(L, -2, "qmodel");              /* stack: qsave, path, {qmodel=QModel} */
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error)");
        lua_pop(L, 1);
        unlink(tmp);
        rm_cmd_error(c, "reading the quantized model: %s", msg);
    }
    rm_ctx ctx = {0};
    rm_qnet *net = NULL;
    int r = rm_qmodel_load(&ctx, tmp, NULL, &net);
    unlink(tmp);
    if (r) rm_cmd_error(c, "reading the quantized model: %s", ctx.msg);
    char name[64], what[160];
    double bytes;
    if (!rm_ws_name(L, qv->ud, name, sizeof name)) snprintf(name, sizeof name, "(unnamed)");
    rm_qmodel_what(qv->ud, what, sizeof what, &bytes);
    snprintf(src, nsrc, "quantized model %s: %s", name, what);
    return net;
}

/* the quantized network for emit; *src receives a description for the comments */
static rm_qnet *emit_network(rm_call *c, char *src, size_t nsrc) {
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_val *fv = rm_arg(c, "qfile");
    rm_qnet *net = NULL;
    if (fv->set) {
        int outer = core_enter();
        int r = rm_qmodel_load(&ctx, fv->s, NULL, &net);
        core_leave(outer);
        if (r) rm_cmd_error(c, "%s", ctx.msg);
        snprintf(src, nsrc, "%s", fv->s);
        return net;
    }
    if (!rm_arg(c, "ptq")->i) return net_of_qmodel(c, rm_arg(c, "qmodel"), src, nsrc);
    rm_val *mv = rm_arg(c, "model");
    if (!mv->set || !mv->ud) rm_cmd_error(c, "ptq=true: no model (model=NAME, or make one current)");
    lmodel *lm = mv->ud;
    if (!lm->m) rm_cmd_error(c, "the model is closed");
    if (lm->m->net) rm_cmd_error(c, "hls emit ptq=true quantizes ResMLP models; this one is a layer-list net");
    rm_val *tv = rm_arg(c, "train");
    if (!tv->set || !tv->ud || !((ldata *)tv->ud)->loaded)
        rm_cmd_error(c, "ptq=true needs training images to calibrate on: load them with `data cifar10 DIR` (or train=NAME)");
    const rm_dataset *train = &((ldata *)tv->ud)->ds;
    int ncal = (int)rm_arg(c, "calib")->i;
    if (ncal < 10) rm_cmd_error(c, "calib=%d: at least 10 images", ncal);
    if (ncal > train->n) ncal = train->n;
    rm_dataset part = {0};
    if (rm_dataset_slice(&ctx, &part, train, 0, ncal)) rm_cmd_error(c, "%s", ctx.msg);
    rm_calib_opts co = rm_calib_defaults();
    co.lut_edge = rm_lut_edge_from_name(rm_arg(c, "lut_edge")->s);
    rm_calib_result cr;
    rm_qmodel *qm = NULL;
    double t0 = rm_now();
    lm->busy++;
    int outer = core_enter();
    int r = rm_quant_ptq(&ctx, lm->m, &part, 1, &co, &qm, &cr);
    core_leave(outer);
    lm->busy--;
    rm_dataset_free(&part);
    if (r) rm_cmd_error(c, "PTQ: %s", ctx.msg);
    if (rm_quant_export(&ctx, qm, &net)) { rm_qmodel_free(qm); rm_cmd_error(c, "%s", ctx.msg); }
    char tname[64];
    if (!rm_ws_name(c->L, tv->ud, tname, sizeof tname)) snprintf(tname, sizeof tname, "the training set");
    if (!quiet(c))
        printf("PTQ on %d images of %s (%.1f s): percentile %.0f, integer accuracy %.1f%% on the 20%% held out\n", ncal,
               tname, rm_now() - t0, cr.pct[cr.best], 100 * cr.acc[cr.best]);
    rm_val *sv = rm_arg(c, "qsave");
    if (sv->set) {
        if (rm_mkparent(sv->s) || rm_qmodel_save(&ctx, sv->s, qm, net)) {
            rm_qmodel_free(qm);
            rm_qnet_free(net);
            rm_cmd_error(c, "qsave: %s", ctx.msg[0] ? ctx.msg : "cannot create the directory");
        }
        if (!quiet(c)) printf("saved the quantized model to %s\n", sv->s);
        snprintf(src, nsrc, "%s", sv->s);
    } else {
        snprintf(src, nsrc, "%s, PTQ on %d images", lm->source[0] ? lm->source : "model", ncal);
    }
    rm_qmodel_free(qm);
    return net;
}

int rm_hls_net_wanted(rm_call *c);                       /* cmd_hls_net.c: layer-list nets */
int rm_hls_net_emit_cmd(rm_call *c, const char *dir);
int rm_hls_net_project(const char *dir);                 /* DIR holds an emitted net design */

/* fifo=auto: the concurrent csim measures each FIFO's occupancy; the project is emitted again with
 * depth = max(2, measured), never above the emitter's, and simulated again to show it does not deadlock.
 * Occupancies are the thread model's (one token in flight per process), not cycle-accurate: the
 * vendor's cosim is the authority for the last cycles of slack. */
static int fifo_auto(rm_call *c, rm_ctx *ctx, const char *dir, const rm_qnet *net, const rm_dataset *img, int ns,
                     rm_hls_emit_opts *eo, rm_hls_emit_info *info) {
    static rm_hls_csim_result r;
    int q = quiet(c);
    if (!q) { printf("fifo=auto: concurrent C simulation with the emitted depths...\n"); fflush(stdout); }
    int outer = core_enter();
    int rc = rm_hls_csim(ctx, dir, NULL, &r);
    core_leave(outer);
    if (rc) return rm_errprefix(ctx, "fifo=auto, first simulation");
    long before = 0, after = 0;
    eo->nfifo = 0;
    for (int i = 0; i < r.nfifo && eo->nfifo < 128; i++) {
        if (!strcmp(r.fifo[i].name, "in") || !strcmp(r.fifo[i].name, "out")) continue;   /* the top's ports */
        long d = r.fifo[i].max < 2 ? 2 : r.fifo[i].max;
        if (d > r.fifo[i].depth) d = r.fifo[i].depth;
        snprintf(eo->fifo[eo->nfifo].name, sizeof eo->fifo[0].name, "%s", r.fifo[i].name);
        eo->fifo[eo->nfifo].depth = (int)d;
        eo->nfifo++;
        before += r.fifo[i].depth; after += d;
        if (!q && d != r.fifo[i].depth) printf("  %-24s depth %ld -> %ld\n", r.fifo[i].name, r.fifo[i].depth, d);
    }
    if (rm_hls_emit(ctx, dir, net, img->pixels, img->labels, ns, eo, info)) return RM_ERR;
    outer = core_enter();
    rc = rm_hls_csim(ctx, dir, NULL, &r);
    core_leave(outer);
    if (rc) return rm_errprefix(ctx, "fifo=auto: the trimmed depths fail (%s/hls_fifo.h kept for inspection)", dir);
    if (!q) printf("fifo=auto: %d FIFOs, %ld entries in all -> %ld; the concurrent csim passes with them (%s/hls_fifo.h)\n",
                   eo->nfifo, before, after, dir);
    return RM_OK;
}

static int hls_emit(rm_call *c, const char *dir) {
    lua_State *L = c->L;
    if (rm_hls_net_wanted(c)) return rm_hls_net_emit_cmd(c, dir);
    rm_ctx ctx = {0};
    int ns = (int)rm_arg(c, "samples")->i;
    if (ns < 1 || ns > 1024) rm_cmd_error(c, "samples=%d (1..1024)", ns);
    const char *design = rm_arg(c, "design")->s;
    if (!strcmp(design, "simd") && (rm_arg(c, "fold")->set || !strcmp(rm_arg(c, "fifo")->s, "auto")))
        rm_cmd_error(c, "design=simd has one fixed 16x16 tile: fold= and fifo=auto are for design=stream");
    double clk = rm_arg(c, "clock_ns")->d;
    if (!(clk > 0)) rm_cmd_error(c, "clock_ns must be positive");
    rm_val *qv = rm_arg(c, "qmodel");
    if (!rm_arg(c, "qfile")->set && !rm_arg(c, "ptq")->i && !(qv->set && qv->ud))
        rm_cmd_error(c, "emit needs a quantized network: qmodel=NAME (from `quantize` or `qload`; default the current "
                        "one, none here), qfile=PATH (a quantized model file), or model=NAME ptq=true to quantize a "
                        "float model now");
    /* images for the samples: data= (test), else train= */
    const rm_dataset *img = NULL;
    rm_val *dv = rm_arg(c, "data"), *tv = rm_arg(c, "train");
    if (dv->set && dv->ud && ((ldata *)dv->ud)->loaded) img = &((ldata *)dv->ud)->ds;
    else if (tv->set && tv->ud && ((ldata *)tv->ud)->loaded) img = &((ldata *)tv->ud)->ds;
    if (!img) rm_cmd_error(c, "no images for quant_samples.h: load them with `data cifar10 DIR` (or data=NAME)");
    rm_hls_budget budget;
    rm_val *fv = rm_arg(c, "fold");
    if (fv->set && rm_hls_budget_parse(&ctx, fv->s, &budget)) rm_cmd_error(c, "fold=: %s", ctx.msg);

    char src[600];
    rm_qnet *net = emit_network(c, src, sizeof src);
    if (img->c != net->img_c || img->h != net->img_h || img->w != net->img_w) {
        rm_qnet_free(net);
        rm_cmd_error(c, "the sample images are %dx%dx%d, the network takes %dx%dx%d", img->c, img->h, img->w, net->img_c,
                     net->img_h, net->img_w);
    }
    if (ns > img->n) ns = img->n;
    static rm_hls_design des;
    rm_hls_emit_opts eo = { .design = design, .part = rm_arg(c, "part")->s, .clock_ns = clk, .model_file = src,
                            .interface = rm_arg(c, "interface")->s };
    rm_hls_fold_info fi;
    if (fv->set) {
        rm_hls_dims dims = rm_hls_dims_of_qnet(net);
        if (rm_hls_design_init(&ctx, &des, &dims, clk) || rm_hls_fold(&ctx, &des, NULL, &budget, 0, &fi)) {
            rm_qnet_free(net);
            rm_cmd_error(c, "fold=: %s", ctx.msg);
        }
        eo.par = &des;
    }
    static rm_hls_emit_info info;
    int r = rm_hls_emit(&ctx, dir, net, img->pixels, img->labels, ns, &eo, &info);
    if (!r && !strcmp(rm_arg(c, "fifo")->s, "auto")) r = fifo_auto(c, &ctx, dir, net, img, ns, &eo, &info);
    rm_qnet_free(net);
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    if (!quiet(c)) {
        printf("emitted %s%s%s: %d files, %d sample images; %s design, part %s, %g ns\n", rm_col(0, "1"), dir,
               rm_reset(0), info.nfiles, info.samples, strcmp(design, "simd") ? "streaming" : "fixed SIMD", eo.part, clk);
        printf("  files:");
        for (int i = 0; i < info.nfiles; i++) printf(" %s", info.files[i]);
        if (!strcmp(design, "simd")) {
            static rm_simd_est se;
            int pruned[2 + 3 * RM_MAXL];
            rm_hls_simd_pruned_of_design(&info.design, pruned);
            if (!rm_hls_simd_estimate_pruned(&ctx, &info.design.dims, clk, pruned, &se))
                printf("\n  estimate: latency %ld cycles (%.0f images/s), one 16x16 MAC tile (`hls estimate design=simd` for the terms)\n",
                       se.total, se.fps);
        } else
        printf("\n  estimate: interval %ld cycles (%.0f images/s), LUT %ld, FF %ld, DSP %ld, BRAM_18K %ld%s\n",
               info.design.ii, info.design.fps, info.design.lut, info.design.ff, info.design.dsp, info.design.bram18,
               fv->set ? " (folded to the budget)" : " (paper design point)");
        if (fv->set) printf("  fold: %s\n", fi.limit);
        printf("  next: hls csim %s    synth %s    (see %s/README.md)\n", dir, dir, dir);
    }
    lua_createtable(L, 0, 8);
    SETS("dir", dir); SETI("samples", info.samples); SETS("model", src);
    lua_createtable(L, info.nfiles, 0);
    for (int i = 0; i < info.nfiles; i++) { lua_pushstring(L, info.files[i]); lua_rawseti(L, -2, i + 1); }
    lua_setfield(L, -2, "files");
    push_design(L, &info.design);
    lua_setfield(L, -2, "estimate");
    return 1;
}

/* ---------------------------------------------------------------- hls csim */

static int hls_csim(rm_call *c, const char *dir) {
    lua_State *L = c->L;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    logp lp = { quiet(c), "  | ", 0 };
    rm_hls_run_opts o = { .log = print_line, .log_ud = &lp };
    static rm_hls_csim_result r;
    char tbp[1100];
    snprintf(tbp, sizeof tbp, "%s/resmlp_tb.cpp", dir);
    if (access(tbp, R_OK) != 0) rm_cmd_error(c, "%s holds no emitted project (run `hls emit %s` first)", dir, dir);
    if (!lp.quiet) { printf("C simulation of %s (host compiler, then the testbench)\n", dir); fflush(stdout); }
    int outer = core_enter();
    int rc = rm_hls_csim(&ctx, dir, &o, &r);
    core_leave(outer);
    if (rc) {
        if (lp.quiet) print_tail(&r.run, "C simulation");
        rm_cmd_error(c, "%s", strncmp(ctx.msg, "hls csim: ", 10) ? ctx.msg : ctx.msg + 10);
    }
    if (!lp.quiet)
        printf("csim %s: %s%ld values of %d samples bit-exact with the integer engine%s (compile %.1f s, run %.2f s)\n",
               dir, rm_col(0, "1"), r.checked, r.samples, rm_reset(0), r.compile_s, r.run_s);
    if (!lp.quiet && r.nfifo) {
        printf("concurrent run (a thread per process, bounded FIFOs): max occupancy / depth per FIFO\n");
        for (int i = 0; i < r.nfifo; i++)
            printf("  %-14s %4ld / %-4ld%s", r.fifo[i].name, r.fifo[i].max, r.fifo[i].depth, i % 3 == 2 || i == r.nfifo - 1 ? "\n" : "");
    }
    lua_createtable(L, 0, 7);
    SETB("ok", 1); SETI("samples", r.samples); SETI("checked", r.checked); SETI("mismatches", r.mismatches);
    SETN("compile_s", r.compile_s); SETN("run_s", r.run_s);
    lua_createtable(L, 0, r.nfifo);                  /* fifo = { name = {depth=, max=}, ... } */
    for (int i = 0; i < r.nfifo; i++) {
        lua_createtable(L, 0, 2);
        SETI("depth", r.fifo[i].depth); SETI("max", r.fifo[i].max);
        lua_setfield(L, -2, r.fifo[i].name);
    }
    lua_setfield(L, -2, "fifo");
    return 1;
}

/* ---------------------------------------------------------------- hls estimate / fold */

/* design=simd: the fixed SIMD design's latency model (simd.h), terms printed */
static int hls_estimate_simd(rm_call *c, const rm_hls_design *d) {
    lua_State *L = c->L;
    rm_ctx ctx = {0};
    static rm_simd_est e;
    int pruned[2 + 3 * RM_MAXL];   /* SIMD-block pruning (the model's masks, or the project's "pruned" lines) */
    rm_hls_simd_pruned_of_design(d, pruned);
    if (rm_hls_simd_estimate_pruned(&ctx, &d->dims, d->clock_ns, pruned, &e)) rm_cmd_error(c, "%s", ctx.msg);
    if (!quiet(c)) {
        char b[8192];
        rm_hls_simd_format(&e, b, sizeof b);
        fputs(b, stdout);
    }
    lua_createtable(L, 0, 10);
    SETS("design", "simd"); SETI("latency", e.total); SETN("fps", e.fps); SETN("clock_ns", e.clock_ns);
    SETI("mac", e.mac); SETI("skew", e.skew); SETI("fill", e.fill); SETI("in_copy", e.in_copy);
    SETI("first_load", e.first_load); SETI("pool", e.pool); SETI("macs", e.macs);
    SETI("mac_dense", e.mac_dense); SETI("latency_dense", e.total_dense);
    lua_createtable(L, e.ncalls, 0);
    for (int i = 0; i < e.ncalls; i++) {
        lua_createtable(L, 0, 6);
        SETS("name", e.call[i].name); SETI("K", e.call[i].K); SETI("N", e.call[i].N); SETI("O", e.call[i].O);
        SETI("mac", e.call[i].mac); SETI("cycles", e.call[i].total); SETI("kept", e.call[i].kept);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "calls");
    return 1;
}

int rm_hls_net_estimate_cmd(rm_call *c, const rm_model *m);   /* cmd_hls_net.c */

static int hls_estimate(rm_call *c) {
    static rm_hls_design d;
    const char *dir;
    rm_val *mv = rm_arg(c, "model");   /* a layer-list net: its FINN folding model (hlsgen/net_est.h) */
    if (!rm_posarg(c, "dir")->set && mv->set && mv->ud && ((lmodel *)mv->ud)->m && ((lmodel *)mv->ud)->m->net)
        return rm_hls_net_estimate_cmd(c, ((lmodel *)mv->ud)->m);
    if (rm_arg(c, "pe")->set || rm_arg(c, "simd")->set) rm_cmd_error(c, "pe= and simd= are for layer-list nets (`hls fold` sets a ResMLP's)");
    design_for(c, &d, &dir);
    if (!strcmp(rm_arg(c, "design")->s, "simd")) return hls_estimate_simd(c, &d);
    if (dir) {   /* a project emitted with design=simd is estimated as one */
        rm_hls_project pj;
        rm_ctx q = {0};
        if (!rm_hls_project_load(&q, dir, &pj) && !strcmp(pj.design, "simd")) return hls_estimate_simd(c, &d);
    }
    static rm_hls_calib cal;
    int calibrated = 0;
    const char *cv = rm_arg(c, "calibrate")->s;
    if (!strcmp(cv, "yosys")) {       /* synthesise the PE, re-estimate with the measured costs */
        char tmp[] = "/tmp/resmlp_calib_XXXXXX";
        if (!mkdtemp(tmp)) rm_cmd_error(c, "cannot create a temporary directory: %s", strerror(errno));
        rm_ctx ctx = {.interrupt = &rm_sigint_flag};
        rm_hls_cost cost = rm_hls_cost_default();
        if (!quiet(c)) { printf("calibrating: Yosys %s synthesis of one PE per stage kind (matmul at SIMD 4 and 16, affine, resadd, pool, LERP)...\n", rm_arg(c, "family")->s); fflush(stdout); }
        int outer = core_enter();
        int r = rm_hls_calibrate(&ctx, tmp, rm_arg(c, "family")->s, d.dims.T, &cost, &cal);
        core_leave(outer);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd)) {}
        if (r) rm_cmd_error(c, "calibrate=yosys: %s", ctx.msg);
        rm_hls_estimate(&d, &cost);
        calibrated = 1;
    }
    if (!quiet(c)) {
        if (dir) printf("project %s (%s):\n", dir, RM_HLS_PAR_FILE);
        print_design(&d);
        static char note[8192];
        rm_hls_resource_note(&d, calibrated ? &cal : NULL, note, sizeof note);
        fputs(note, stdout);
    }
    lua_State *L = c->L;
    push_design(L, &d);
    SETB("calibrated", calibrated);
    if (calibrated) {
        SETN("lut_per_mac", cal.lut_per_mac); SETN("ff_per_mac", cal.ff_per_mac); SETN("dsp_per_mac", cal.dsp_per_mac);
        lua_createtable(L, 0, 4);   /* pes = { affine = {pe=, lut=, ff=, dsp=, lut_ch=, ff_ch=}, resadd=, lut=, pool= } */
        for (int k = RM_HLS_ST_AFFINE; k <= RM_HLS_ST_POOL; k++) {
            const rm_hls_pe_meas *m = &cal.kind[k];
            lua_createtable(L, 0, 6);
            SETS("pe", m->pe); SETN("lut", m->lut); SETN("ff", m->ff); SETN("dsp", m->dsp);
            SETN("lut_ch", m->lut_ch); SETN("ff_ch", m->ff_ch);
            lua_setfield(L, -2, rm_hls_stage_kind_name(k));
        }
        lua_setfield(L, -2, "pes");
    }
    return 1;
}

static int hls_fold(rm_call *c) {
    lua_State *L = c->L;
    rm_val *bv = rm_arg(c, "budget");
    if (!bv->set) rm_cmd_error(c, "fold needs budget=lut:N,dsp:M (also ff:, bram:; k and M suffixes)");
    rm_ctx ctx = {0};
    rm_hls_budget b;
    if (rm_hls_budget_parse(&ctx, bv->s, &b)) rm_cmd_error(c, "%s", ctx.msg);
    static rm_hls_design d;
    const char *dir;
    design_for(c, &d, &dir);
    rm_hls_fold_info fi;
    double fps = rm_arg(c, "target_fps")->d;
    if (rm_hls_fold(&ctx, &d, NULL, &b, fps, &fi)) rm_cmd_error(c, "%s", ctx.msg);
    if (dir && rm_hls_project_write_par(&ctx, dir, &d)) rm_cmd_error(c, "%s", ctx.msg);
    if (!quiet(c)) {
        print_design(&d);
        printf("fold: %d steps; %s\n", fi.steps, fi.limit);
        if (dir) printf("wrote %s/%s (run `hls csim %s` / `synth %s` with it)\n", dir, RM_HLS_PAR_FILE, dir, dir);
        else printf("(no project given: nothing written; `hls fold DIR budget=...` writes %s)\n", RM_HLS_PAR_FILE);
    }
    push_design(L, &d);
    SETB("met_target", fi.met_target); SETI("steps", fi.steps); SETS("limit", fi.limit);
    if (dir) {
        char p[1100];
        snprintf(p, sizeof p, "%s/%s", dir, RM_HLS_PAR_FILE);
        SETS("written", p);
    }
    return 1;
}

/* ---------------------------------------------------------------- hls rtl / hls yosys */

static int hls_rtl(rm_call *c, const char *dir) {
    lua_State *L = c->L;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_val *qv = rm_arg(c, "qmodel");
    if (!rm_arg(c, "qfile")->set && !rm_arg(c, "ptq")->i && !(qv->set && qv->ud))
        rm_cmd_error(c, "rtl needs a quantized network: qmodel=NAME, qfile=PATH, or model=NAME ptq=true");
    int sim = rm_hls_rtl_sim_pick(rm_arg(c, "sim")->s);
    if (sim < 0) rm_cmd_error(c, "sim=%s: auto, icarus, verilator or none", rm_arg(c, "sim")->s);
    char src[600];
    rm_qnet *net = emit_network(c, src, sizeof src);
    static rm_rtl_unit u[RM_RTL_MAXU];
    int nu = 0;
    int r = rm_hls_rtl_write(&ctx, dir, net, u, &nu);
    int edge = net->lut_edge;
    rm_qnet_free(net);
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    int q = quiet(c);
    if (!q) printf("wrote %d Verilog units to %s (lut_edge=%s; module.v, module_tb.v, module_expected.hex, rtl_units.txt)\n",
                   nu, dir, rm_lut_edge_name(edge));
    if (sim == RM_RTL_SIM_NONE && !q)
        printf("no simulation (%s)\n", strcmp(rm_arg(c, "sim")->s, "none") ? "neither iverilog nor verilator is installed: "
                                                                           "apt-get install iverilog" : "sim=none");
    long total = 0;
    for (int i = 0; sim != RM_RTL_SIM_NONE && i < nu; i++) {
        static rm_hls_run_result res;
        double t0 = rm_now();
        int outer = core_enter();
        int rc = rm_hls_rtl_sim(&ctx, dir, &u[i], sim, NULL, &res);
        core_leave(outer);
        if (rc) { print_tail(&res, rm_hls_rtl_sim_name(sim)); rm_cmd_error(c, "%s", ctx.msg); }
        total += u[i].checked;
        if (!q) printf("  %-10s block %d %s, %3d channels: %ld outputs (all 256 inputs of every channel) equal to the "
                       "integer engine's tables (%s, %.1f s)\n", u[i].name, u[i].block, u[i].slot ? "act2" : "act1", u[i].C,
                       u[i].checked, rm_hls_rtl_sim_name(sim), rm_now() - t0);
    }
    lua_createtable(L, 0, 4);
    SETS("dir", dir); SETS("sim", rm_hls_rtl_sim_name(sim)); SETI("checked", total);
    lua_createtable(L, nu, 0);
    for (int i = 0; i < nu; i++) {
        lua_createtable(L, 0, 5);
        SETS("name", u[i].name); SETI("block", u[i].block); SETI("channels", u[i].C);
        SETI("checked", u[i].checked); SETI("mismatches", u[i].mismatches);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "units");
    return 1;
}

static int hls_yosys(rm_call *c, const char *dir) {
    lua_State *L = c->L;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    static rm_rtl_unit u[RM_RTL_MAXU];
    int nu = 0;
    if (rm_hls_rtl_load(&ctx, dir, u, &nu)) rm_cmd_error(c, "%s", ctx.msg);
    char ys[1024];
    if (!rm_hls_which("yosys", ys, sizeof ys))
        rm_cmd_error(c, "Yosys is not installed (yosys not on PATH; Debian: apt-get install yosys): no synthesis report for %s", dir);
    const char *fam = rm_arg(c, "family")->s;
    int q = quiet(c);
    if (!q) { printf("Yosys %s synthesis of the %d units of %s (out of context, no I/O buffers)\n", fam, nu, dir); fflush(stdout); }
    long lut = 0, ff = 0, bram = 0, dsp = 0, lram = 0;
    if (!q) printf("  %-10s %5s %4s %7s %7s %8s %5s %7s\n", "unit", "block", "ch", "LUT", "FF", "BRAM_18K", "DSP", "LUTRAM");
    for (int i = 0; i < nu; i++) {
        static rm_hls_run_result res;
        int outer = core_enter();
        int rc = rm_hls_yosys_synth(&ctx, dir, u[i].name, fam, NULL, &u[i].cells, &res);
        core_leave(outer);
        if (rc) { print_tail(&res, "Yosys"); rm_cmd_error(c, "%s", ctx.msg); }
        const rm_hls_cells *k = &u[i].cells;
        lut += k->lut; ff += k->ff; bram += k->bram18; dsp += k->dsp; lram += k->lutram;
        if (!q) { printf("  %-10s %5d %4d %7ld %7ld %8ld %5ld %7ld\n", u[i].name, u[i].block, u[i].C, k->lut, k->ff, k->bram18, k->dsp, k->lutram); fflush(stdout); }
    }
    if (!q) printf("  %-10s %5s %4s %7ld %7ld %8ld %5ld %7ld\n", "total", "", "", lut, ff, bram, dsp, lram);
    lua_createtable(L, 0, 6);
    SETS("family", fam); SETI("lut", lut); SETI("ff", ff); SETI("bram18", bram); SETI("dsp", dsp); SETI("lutram", lram);
    lua_createtable(L, nu, 0);
    for (int i = 0; i < nu; i++) {
        lua_createtable(L, 0, 6);
        SETS("name", u[i].name); SETI("lut", u[i].cells.lut); SETI("ff", u[i].cells.ff);
        SETI("bram18", u[i].cells.bram18); SETI("dsp", u[i].cells.dsp); SETI("lutram", u[i].cells.lutram);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "units");
    return 1;
}

int rm_cmd_hls(rm_call *c) {
    const char *a = rm_posarg(c, "action")->s;
    rm_val *dv = rm_posarg(c, "dir");
    if (!a) rm_cmd_error(c, "what to do? hls emit DIR | hls csim DIR | hls estimate [DIR] | hls fold [DIR] budget=... | "
                            "hls rtl DIR | hls yosys DIR");
    if ((!strcmp(a, "estimate") || !strcmp(a, "fold")) && dv->set && rm_hls_net_project(dv->s))
        rm_cmd_error(c, "%s holds an integer net design; estimates of a project and folding are for ResMLP designs so far (`hls csim %s` checks it; `hls estimate model=NET` gives the net's folding cycles)", dv->s, dv->s);
    if (!strcmp(a, "estimate")) return hls_estimate(c);
    if (!strcmp(a, "fold")) return hls_fold(c);
    if (!dv->set) rm_cmd_error(c, "missing DIR (usage: hls %s DIR)", a);
    if (!strcmp(a, "emit")) return hls_emit(c, dv->s);
    if (!strcmp(a, "rtl")) return hls_rtl(c, dv->s);
    if (!strcmp(a, "yosys")) return hls_yosys(c, dv->s);
    return hls_csim(c, dv->s);
}

/* ---------------------------------------------------------------- synth */

static void push_report(lua_State *L, const rm_hls_report *r) {
    lua_createtable(L, 0, 32);
    rm_hls_field f;
    for (int i = 0; rm_hls_report_field(r, i, &f); i++) {
        if (f.is_str) { if (f.str && f.str[0]) SETS(f.name, f.str); }
        else if (f.num >= 0 && f.num == (double)(lua_Integer)f.num) SETI(f.name, f.num);
        else if (f.num >= 0) SETN(f.name, f.num);       /* -1 = not in the report: left nil */
    }
    if (r->interval_min > 0 && r->target_ns > 0) SETN("fps", 1e9 / (r->interval_min * r->target_ns));
    lua_createtable(L, r->nloops, 0);
    for (int i = 0; i < r->nloops; i++) {
        const rm_hls_loop *l = &r->loops[i];
        lua_createtable(L, 0, 10);
        SETS("name", l->name); SETS("module", l->module); SETI("level", l->level);
        if (l->trip_min >= 0) SETI("trip_min", l->trip_min);
        if (l->trip_max >= 0) SETI("trip_max", l->trip_max);
        if (l->lat_min >= 0) SETI("latency_min", l->lat_min);
        if (l->lat_max >= 0) SETI("latency_max", l->lat_max);
        if (l->ii >= 0) SETI("ii", l->ii);
        if (l->pipe_depth >= 0) SETI("depth", l->pipe_depth);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "loops");
}

static void print_report(const rm_hls_report *r) {
    int n = rm_hls_report_format(r, NULL, 0);
    char *b = malloc((size_t)n + 1);
    if (!b) return;
    rm_hls_report_format(r, b, (size_t)n + 1);
    fputs(b, stdout);
    free(b);
}

static const char *project_top(const char *dir, char *buf, size_t n) {
    rm_hls_project p;
    rm_ctx q = {0};
    if (rm_hls_project_load(&q, dir, &p)) return NULL;
    snprintf(buf, n, "%s", p.top);
    return buf;
}

int rm_cmd_synth(rm_call *c) {
    lua_State *L = c->L;
    rm_val *dv = rm_posarg(c, "dir");
    if (!dv->set) rm_cmd_error(c, "missing DIR (usage: synth DIR [tool=PATH] [steps=csim,csynth])");
    const char *dir = dv->s;
    /* steps: "csim,csynth" -> "csim csynth", each one known */
    char steps[128];
    snprintf(steps, sizeof steps, "%s", rm_arg(c, "steps")->s);
    for (char *p = steps; *p; p++) if (*p == ',') *p = ' ';
    char chk[128];
    snprintf(chk, sizeof chk, "%s", steps);
    for (char *t = strtok(chk, " "); t; t = strtok(NULL, " "))
        if (strcmp(t, "csim") && strcmp(t, "csynth") && strcmp(t, "cosim") && strcmp(t, "export"))
            rm_cmd_error(c, "unknown step '%s' (steps: csim, csynth, cosim, export, comma separated)", t);
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_hls_tool tool;
    rm_val *tv = rm_arg(c, "tool");
    if (rm_hls_find_tool(&ctx, tv->set ? tv->s : NULL, &tool)) rm_cmd_error(c, "%s", ctx.msg);
    char topb[64];
    const char *top = project_top(dir, topb, sizeof topb);
    logp lp = { quiet(c), NULL, 1 };
    rm_hls_run_opts o = { .log = print_line, .log_ud = &lp, .top = top, .steps = steps,
                          .timeout_s = rm_arg(c, "timeout")->d };
    static rm_hls_run_result res;
    if (!lp.quiet) {
        printf("synthesis of %s: %s (%s, found by %s), steps: %s; Ctrl-C stops it\n", dir, tool.path,
               rm_hls_tool_name(tool.kind), tool.found_by, steps);
        fflush(stdout);
    }
    int outer = core_enter();
    int rc = rm_hls_synth(&ctx, dir, &tool, &o, &res);
    core_leave(outer);
    if (rc) {
        print_tail(&res, rm_hls_tool_name(tool.kind));
        rm_cmd_error(c, "%s", ctx.msg);
    }
    lua_createtable(L, 0, 8);
    SETB("ok", 1); SETN("elapsed", res.elapsed_s); SETS("tool", tool.path); SETS("steps", steps);
    char logp_[1100];
    snprintf(logp_, sizeof logp_, "%s/synth.log", dir);
    SETS("log", logp_);
    if (!res.report[0]) {
        if (!lp.quiet) printf("finished in %.1f s (no synthesis step, so no report); log: %s\n", res.elapsed_s, logp_);
        return 1;
    }
    SETS("report", res.report);
    static rm_hls_report rep;
    if (rm_hls_report_load_dir(&ctx, dir, top, &rep)) rm_cmd_error(c, "the tool finished but its report: %s", ctx.msg);
    if (!lp.quiet) {
        printf("finished in %.1f s; report %s\n", res.elapsed_s, res.report);
        print_report(&rep);
    }
    push_report(L, &rep);
    lua_setfield(L, -2, "summary");
    return 1;
}

/* ---------------------------------------------------------------- report */

int rm_cmd_report(rm_call *c) {
    rm_val *dv = rm_posarg(c, "dir");
    if (!dv->set) rm_cmd_error(c, "missing DIR (usage: report DIR)");
    char topb[64];
    rm_val *tv = rm_arg(c, "top");
    const char *top = tv->set ? tv->s : project_top(dv->s, topb, sizeof topb);
    rm_ctx ctx = {0};
    static rm_hls_report rep;
    if (rm_hls_report_load_dir(&ctx, dv->s, top, &rep)) rm_cmd_error(c, "%s", ctx.msg);
    if (!quiet(c)) print_report(&rep);
    push_report(c->L, &rep);
    return 1;
}
