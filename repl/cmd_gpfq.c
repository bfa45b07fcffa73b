/* cmd_gpfq.c - the `gpfq` command: GPFQ or MSQ quantisation of a model's Linear weights into a new model
 * in the workspace (per-layer table: alphabet radius, calibration error of GPFQ and of MSQ), and
 * `gpfq sweep`: bits x alphabet scalars, both methods, the scalar picked per bits on a validation split held
 * out of the training data, with a CSV, a terminal table and a plot of test accuracy against bits. */
#include "registry.h"
#include "core/gpfq.h"
#include "core/table.h"
#include "core/train.h"
#include "plots/plot.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))

static ldata *need_data(rm_call *c, const char *opt, int required) {
    rm_val *v = rm_arg(c, opt);
    if (!v->set || !v->ud || !((ldata *)v->ud)->loaded) {
        if (required) rm_cmd_error(c, "no %s data (%s=; load it with `data`)", opt, opt);
        return NULL;
    }
    return v->ud;
}

/* comma list of numbers; "a:b" is the integers a..b */
static int parse_list(const char *s, double *out, int max) {
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok && n < max; tok = strtok(NULL, ",")) {
        double a, b;
        if (sscanf(tok, "%lf:%lf", &a, &b) == 2) {
            for (double v = a; v <= b + 1e-9 && n < max; v += 1) out[n++] = v;
        } else {
            char *e;
            a = strtod(tok, &e);
            if (e == tok || *e) return -1;
            out[n++] = a;
        }
    }
    return n;
}

static double eval_acc(rm_call *c, rm_model *m, const rm_dataset *ds) {
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    float acc = 0;
    if (!ds) return -1;
    if (rm_evaluate(&ctx, m, ds, 1000, &acc, NULL)) return -2;
    return acc;
}

static void push_layers(lua_State *L, const rm_gpfq_report *r) {
    lua_createtable(L, r->n, 0);
    for (int i = 0; i < r->n; i++) {
        const rm_gpfq_layer *l = &r->l[i];
        lua_createtable(L, 0, 8);
        SETS("layer", l->label); SETN("rows", l->rows); SETN("cols", l->cols); SETN("rad", l->rad);
        SETN("seconds", l->seconds);
        if (l->skipped) SETS("skipped", "own weight quantiser");
        if (l->err >= 0) { SETN("err", l->err); SETN("err_msq", l->err_msq); }
        lua_rawseti(L, -2, i + 1);
    }
}

static void print_layers(const rm_gpfq_report *r, int gpfq) {
    printf("  %-12s %11s %10s %10s %10s %8s\n", "layer", "weights", "rad", gpfq ? "err GPFQ" : "", gpfq ? "err MSQ" : "", "time");
    for (int i = 0; i < r->n; i++) {
        const rm_gpfq_layer *l = &r->l[i];
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%d", l->rows, l->cols);
        if (l->skipped) { printf("  %-12s %11s  skipped (own weight quantiser)\n", l->label, shape); continue; }
        if (l->err >= 0) printf("  %-12s %11s %10.4g %9.2f%% %9.2f%% %7.2fs\n", l->label, shape, l->rad, 100 * l->err, 100 * l->err_msq, l->seconds);
        else printf("  %-12s %11s %10.4g %10s %10s %7.2fs\n", l->label, shape, l->rad, "", "", l->seconds);
    }
}

typedef struct sweep_row { int levels; double scalar; int samples; double fp, g_test, m_test, g_val, m_val, secs; } sweep_row;

static int write_csv(const char *path, const sweep_row *r, int n, char *err, size_t en) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { snprintf(err, en, "cannot write %s: %s", tmp, strerror(errno)); return -1; }
    fprintf(f, "bits,scalar,samples,fp32_acc,gpfq_acc,msq_acc,seconds,gpfq_val_acc,msq_val_acc\n");
    for (int i = 0; i < n; i++) {
        char b[16];
        fprintf(f, "%s,%g,%d,%.6f,%.6f,%.6f,%.3f,%.6f,%.6f\n", rm_levels_name(r[i].levels, b, sizeof b), r[i].scalar,
                r[i].samples, r[i].fp, r[i].g_test, r[i].m_test, r[i].secs, r[i].g_val, r[i].m_val);
    }
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        snprintf(err, en, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static int do_sweep(rm_call *c, lmodel *lm, ldata *d, ldata *t) {
    lua_State *L = c->L;
    double bl[16], sl[32];
    int nb = 0, levels[16];
    {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", rm_arg(c, "bits")->set == 1 ? rm_arg(c, "bits")->s : "ternary,2,3,4");
        for (char *tok = strtok(buf, ","); tok && nb < 16; tok = strtok(NULL, ",")) {
            if ((levels[nb++] = rm_levels_parse(tok)) < 0) rm_cmd_error(c, "bits=%s: '%s' is not ternary or 1..8", rm_arg(c, "bits")->s, tok);
        }
        for (int i = 0; i < nb; i++) bl[i] = levels[i] == 3 ? log2(3) : log2(levels[i]);
    }
    const char *ss = rm_arg(c, "scalar")->set == 1 ? rm_arg(c, "scalar")->s : "1:6";
    int ns = parse_list(ss, sl, 32);
    if (ns < 1) rm_cmd_error(c, "scalar=%s: expected numbers, a list (1,2,4) or a range (1:6)", ss);
    for (int i = 0; i < ns; i++) if (!(sl[i] > 0)) rm_cmd_error(c, "scalar=%s: alphabet scalars must be > 0", ss);
    double vfrac = rm_arg(c, "val")->d;
    if (vfrac < 0 || vfrac >= 0.9) rm_cmd_error(c, "val=%g: the validation fraction must be in [0, 0.9)", vfrac);
    int quiet = (int)rm_arg(c, "quiet")->i;
    rm_gpfq_opts o = rm_gpfq_defaults();
    o.samples = (int)rm_arg(c, "samples")->i;
    o.chunk = (int)rm_arg(c, "chunk")->i;
    o.seed = (uint64_t)rm_arg(c, "seed")->i;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_dataset tr = {0}, va = {0};
    const rm_dataset *calib = &d->ds, *val = NULL;
    if (vfrac > 0) {
        if (rm_split_stratified(&ctx, &d->ds, vfrac, o.seed, &tr, &va)) rm_cmd_error(c, "validation split: %s", ctx.msg);
        calib = &tr; val = &va;
    }
    rm_model *q = NULL;
    if (rm_model_new_like(&ctx, &q, lm->m, 1)) { rm_dataset_free(&tr); rm_dataset_free(&va); rm_cmd_error(c, "%s", ctx.msg); }
    sweep_row *rows = lua_newuserdatauv(L, sizeof(sweep_row) * (size_t)(nb * ns), 0);   /* collected */
    int nrow = 0, stopped = 0;
    lm->busy++; d->busy++; t->busy++;
    rm_sigint_flag = 0;
    rm_A.in_core = 1;
    double fp = eval_acc(c, lm->m, &t->ds), fpv = val ? eval_acc(c, lm->m, val) : -1;
    if (!quiet) {
        printf("gpfq sweep: %d bits x %d scalars, %d calibration samples of %s%s; fp32 test %.2f%%\n", nb, ns,
               o.samples > 0 && o.samples < calib->n ? o.samples : calib->n, d->ds.name,
               val ? " (a stratified validation split held out)" : "", 100 * fp);
        printf("  %-8s %6s  %9s %9s  %9s %9s  %8s\n", "bits", "scalar", "GPFQ val", "MSQ val", "GPFQ test", "MSQ test", "GPFQ s");
        fflush(stdout);
    }
    static rm_gpfq_report rep;
    for (int bi = 0; bi < nb && !stopped; bi++)
        for (int si = 0; si < ns && !stopped; si++) {
            sweep_row *r = &rows[nrow];
            o.levels = levels[bi]; o.scalar = (float)sl[si];
            o.method = RM_QM_GPFQ;
            if (rm_gpfq_quantize(&ctx, q, lm->m, calib, &o, &rep)) { stopped = 1; break; }
            r->secs = rep.seconds; r->samples = rep.samples;
            r->g_test = eval_acc(c, q, &t->ds); r->g_val = val ? eval_acc(c, q, val) : -1;
            o.method = RM_QM_MSQ;
            if (rm_gpfq_quantize(&ctx, q, lm->m, NULL, &o, &rep)) { stopped = 1; break; }
            r->m_test = eval_acc(c, q, &t->ds); r->m_val = val ? eval_acc(c, q, val) : -1;
            if (r->g_test < -1.5 || r->m_test < -1.5 || r->g_val < -1.5 || r->m_val < -1.5) { stopped = 1; snprintf(ctx.msg, sizeof ctx.msg, "evaluation interrupted"); break; }
            r->levels = levels[bi]; r->scalar = sl[si]; r->fp = fp;
            nrow++;
            if (!quiet) {
                char b[16];
                printf("  %-8s %6g  %8.2f%% %8.2f%%  %8.2f%% %8.2f%%  %7.2fs\n", rm_levels_name(r->levels, b, sizeof b), r->scalar,
                       100 * r->g_val, 100 * r->m_val, 100 * r->g_test, 100 * r->m_test, r->secs);
                fflush(stdout);
            }
        }
    rm_A.in_core = 0;
    lm->busy--; d->busy--; t->busy--;
    rm_model_free(q);
    rm_dataset_free(&tr); rm_dataset_free(&va);
    if (stopped && !quiet) printf("stopped: %s (%d of %d settings done)\n", ctx.msg, nrow, nb * ns);
    if (!nrow) rm_cmd_error(c, "%s", ctx.msg);
    /* best scalar per bits and method: by validation accuracy (test accuracy when val=0) */
    float px[16], pg[16], pm[16], pf[16];
    int np = 0;
    lua_createtable(L, 0, 6);   /* result */
    lua_createtable(L, nb, 0);  /* best */
    if (!quiet) printf("best alphabet scalar per bits (chosen on %s):\n  %-8s %8s %10s %8s %10s\n", val ? "validation" : "test",
                       "bits", "GPFQ sc", "GPFQ test", "MSQ sc", "MSQ test");
    for (int bi = 0; bi < nb; bi++) {
        int bg = -1, bm = -1;
        for (int i = 0; i < nrow; i++) {
            if (rows[i].levels != levels[bi]) continue;
            double kg = val ? rows[i].g_val : rows[i].g_test, km = val ? rows[i].m_val : rows[i].m_test;
            if (bg < 0 || kg > (val ? rows[bg].g_val : rows[bg].g_test)) bg = i;
            if (bm < 0 || km > (val ? rows[bm].m_val : rows[bm].m_test)) bm = i;
        }
        if (bg < 0) continue;
        char b[16];
        rm_levels_name(levels[bi], b, sizeof b);
        if (!quiet) printf("  %-8s %8g %9.2f%% %8g %9.2f%%\n", b, rows[bg].scalar,
                           100 * rows[bg].g_test, rows[bm].scalar, 100 * rows[bm].m_test);
        px[np] = (float)bl[bi]; pg[np] = (float)(100 * rows[bg].g_test); pm[np] = (float)(100 * rows[bm].m_test);
        pf[np] = (float)(100 * fp); np++;
        lua_createtable(L, 0, 6);
        SETS("bits", b); SETN("gpfq_scalar", rows[bg].scalar); SETN("gpfq_acc", rows[bg].g_test);
        SETN("msq_scalar", rows[bm].scalar); SETN("msq_acc", rows[bm].m_test); SETN("seconds", rows[bg].secs);
        if (val) { SETN("gpfq_val_acc", rows[bg].g_val); SETN("msq_val_acc", rows[bm].m_val); }
        lua_rawseti(L, -2, bi + 1);
    }
    lua_setfield(L, -2, "best");
    lua_createtable(L, nrow, 0);
    for (int i = 0; i < nrow; i++) {
        char b[16];
        lua_createtable(L, 0, 9);
        SETS("bits", rm_levels_name(rows[i].levels, b, sizeof b)); SETN("scalar", rows[i].scalar);
        SETN("samples", rows[i].samples); SETN("fp32_acc", rows[i].fp); SETN("gpfq_acc", rows[i].g_test);
        SETN("msq_acc", rows[i].m_test); SETN("seconds", rows[i].secs);
        if (val) { SETN("gpfq_val_acc", rows[i].g_val); SETN("msq_val_acc", rows[i].m_val); }
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "rows");
    SETN("fp32_acc", fp);
    if (fpv >= 0) SETN("fp32_val_acc", fpv);
    lua_pushboolean(L, nrow == nb * ns); lua_setfield(L, -2, "complete");
    /* plot: best test accuracy against bits */
    rm_series se[3] = {{.name = "fp32", .x = px, .y = pf, .n = np, .dash = RM_DASH_DOTTED, .colour = 7},
                       {.name = "MSQ (best scalar)", .x = px, .y = pm, .n = np, .style = RM_STYLE_LINE, .colour = 2},
                       {.name = "GPFQ (best scalar)", .x = px, .y = pg, .n = np, .style = RM_STYLE_LINE, .colour = 1}};
    rm_plot p = {.title = "accuracy vs weight bits (ternary = log2 3)", .xlabel = "bits", .ylabel = "test acc %",
                 .series = se, .nseries = 3};
    char *txt = rm_plot_lines(&ctx, &p, 72, 18, RM_CANVAS_BRAILLE, rm_A.colour_out);
    if (txt) {
        if (!quiet) fputs(txt, stdout);
        char *plain = rm_A.colour_out ? rm_plot_lines(&ctx, &p, 72, 18, RM_CANVAS_BRAILLE, 0) : NULL;
        SETS("plot", plain ? plain : txt);
        free(plain); free(txt);
    }
    rm_val *pv = rm_arg(c, "plot");
    if (pv->set) {
        char *svg = rm_svg_lines(&ctx, &p, 720, 420);
        FILE *f = svg && !rm_mkparent(pv->s) ? fopen(pv->s, "w") : NULL;
        int ok = f && fputs(svg, f) >= 0;
        if (f && fclose(f)) ok = 0;
        free(svg);
        if (!ok) rm_cmd_error(c, "cannot write the plot %s", pv->s);
        if (!quiet) printf("wrote %s\n", pv->s);
    }
    rm_val *cv = rm_arg(c, "csv");
    if (cv->set) {
        char err[1200];
        if (rm_mkparent(cv->s)) rm_cmd_error(c, "cannot create the directory of %s", cv->s);
        if (write_csv(cv->s, rows, nrow, err, sizeof err)) rm_cmd_error(c, "%s", err);
        if (!quiet) printf("wrote %s\n", cv->s);
        SETS("csv", cv->s);
    }
    return 1;
}

int rm_cmd_gpfq(rm_call *c) {
    lua_State *L = c->L;
    int midx;
    lmodel *lm = rm_call_model(c, &midx);
    if (lm->busy) rm_cmd_error(c, "the model is in use by a running command");
    rm_val *av = rm_posarg(c, "action");
    int gp = !strcmp(rm_arg(c, "method")->s, "gpfq");
    if (av && av->set) {
        if (strcmp(av->s, "sweep")) rm_cmd_error(c, "unknown action '%s' (only `sweep`; without it one quantisation)", av->s);
        return do_sweep(c, lm, need_data(c, "data", 1), need_data(c, "test", 1));
    }
    ldata *d = need_data(c, "data", gp), *t = need_data(c, "test", 0);
    rm_gpfq_opts o = rm_gpfq_defaults();
    o.method = gp ? RM_QM_GPFQ : RM_QM_MSQ;
    if ((o.levels = rm_levels_parse(rm_arg(c, "bits")->s)) < 0) rm_cmd_error(c, "bits=%s: ternary or 1..8", rm_arg(c, "bits")->s);
    char *e;
    o.scalar = strtof(rm_arg(c, "scalar")->s, &e);
    if (*e || !(o.scalar > 0)) rm_cmd_error(c, "scalar=%s: one number > 0 (lists are for `gpfq sweep`)", rm_arg(c, "scalar")->s);
    o.samples = (int)rm_arg(c, "samples")->i;
    o.chunk = (int)rm_arg(c, "chunk")->i;
    o.seed = (uint64_t)rm_arg(c, "seed")->i;
    char src[64], name[64], bn[16];
    if (!rm_ws_name(L, lm, src, sizeof src)) snprintf(src, sizeof src, "model");
    if (rm_arg(c, "name")->set) snprintf(name, sizeof name, "%s", rm_arg(c, "name")->s);
    else snprintf(name, sizeof name, "%.50s_%s", src, gp ? "gpfq" : "msq");
    lmodel *qm = rm_model_push(L);
    int qidx = lua_gettop(L);
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    if (rm_model_new_like(&ctx, &qm->m, lm->m, 1)) rm_cmd_error(c, "%s", ctx.msg);
    static rm_gpfq_report rep;
    lm->busy++;
    if (d) d->busy++;
    rm_sigint_flag = 0;
    rm_A.in_core = 1;
    int r = rm_gpfq_quantize(&ctx, qm->m, lm->m, d ? &d->ds : NULL, &o, &rep);
    double acc = -1, fpacc = -1;
    if (!r && t) { acc = eval_acc(c, qm->m, &t->ds); fpacc = eval_acc(c, lm->m, &t->ds); }
    rm_A.in_core = 0;
    lm->busy--;
    if (d) d->busy--;
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    snprintf(qm->source, sizeof qm->source, "%s of %s (%s bits, scalar %g)", gp ? "GPFQ" : "MSQ", src,
             rm_levels_name(o.levels, bn, sizeof bn), o.scalar);
    rm_ws_set(L, name, qidx);
    int quiet = (int)rm_arg(c, "quiet")->i;
    if (!quiet) {
        printf("%s of '%s': %s bits, alphabet scalar %g, %d calibration samples, %.2f s (%.2f s CPU) -> '%s'\n",
               gp ? "GPFQ" : "MSQ", src, bn, o.scalar, rep.samples, rep.seconds, rep.cpu_seconds, name);
        print_layers(&rep, gp);
        if (acc >= 0) printf("test accuracy on %s: %.2f%% (fp32 %.2f%%)\n", t->ds.name, 100 * acc, 100 * fpacc);
    }
    lua_createtable(L, 0, 10);
    lua_pushvalue(L, qidx); lua_setfield(L, -2, "model");
    SETS("name", name); SETS("method", gp ? "gpfq" : "msq"); SETS("bits", bn); SETN("scalar", o.scalar);
    SETN("samples", rep.samples); SETN("seconds", rep.seconds); SETN("cpu_seconds", rep.cpu_seconds);
    if (acc >= 0) { SETN("acc", acc); SETN("fp32_acc", fpacc); }
    push_layers(L, &rep);
    lua_setfield(L, -2, "layers");
    return 1;
}
