/* emit.c - the streaming HLS project of an integer ResMLP, the project file, and C simulation with
 * the host compiler. See emit.h; the fixed text is in emit_templates.h.
 *
 * The pipeline (stage names are estimate.c's, so hls_parallelism.h applies one to one):
 *   embed_linear
 *   per block i:  token_mixer_affine_1 (+ skip) -> token_mixer_linear_load => token_mixer_linear
 *                 -> token_mixer_affine_2 -> token_mixer_res_load => token_mixer_res (+ skip)
 *                 -> [mlp_psa_0] -> mlp_linear_1 (+ReLU) -> [mlp_psa_1] -> mlp_linear_2 -> mlp_res
 *   pool -> classifier_linear
 * (-> a stream of vectors, => a ping-pong array). Skip FIFOs: the token mixer's holds up to two images
 * of token vectors (its linear stage needs a whole image before it can start), the MLP's a few. */
#include "emit.h"
#include "emit_simd.h"
#include "tcl.h"
#include "core/lut.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "emit_templates.h"

/* ---------------------------------------------------------------- files and templates */

typedef struct wfile {
    FILE *f;
    char tmp[1100], fin[1100];
} wfile;

static int wbegin(rm_ctx *ctx, wfile *w, const char *dir, const char *name) {
    snprintf(w->fin, sizeof w->fin, "%s/%s", dir, name);
    snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp", dir, name);
    w->f = fopen(w->tmp, "w");
    if (!w->f) return rm_err(ctx, "hls emit: cannot write %s: %s", w->tmp, strerror(errno));
    return RM_OK;
}
static int wend(rm_ctx *ctx, wfile *w) {
    int bad = ferror(w->f);
    bad |= fclose(w->f) != 0;
    w->f = NULL;
    if (bad || rename(w->tmp, w->fin) != 0) {
        unlink(w->tmp);
        return rm_err(ctx, "hls emit: cannot write %s", w->fin);
    }
    return RM_OK;
}
static void wabort(wfile *w) {
    if (w->f) { fclose(w->f); w->f = NULL; unlink(w->tmp); }
}

typedef struct kv { const char *k; char v[512]; } kv;
typedef struct kvs { kv a[40]; int n; } kvs;

static void kset(kvs *s, const char *k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kset(kvs *s, const char *k, const char *fmt, ...) {
    kv *e = NULL;
    for (int i = 0; i < s->n; i++) if (!strcmp(s->a[i].k, k)) e = &s->a[i];
    if (!e) {
        if (s->n >= (int)(sizeof s->a / sizeof s->a[0])) return;
        e = &s->a[s->n++];
        e->k = k;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->v, sizeof e->v, fmt, ap);
    va_end(ap);
}
static const char *kget(const kvs *s, const char *k, size_t len) {
    for (int i = 0; i < s->n; i++) if (strlen(s->a[i].k) == len && !strncmp(s->a[i].k, k, len)) return s->a[i].v;
    return NULL;
}

/* copy text to f replacing each @KEY@ (KEY of [A-Z0-9_]) found in s; the others stay as they are */
static void fill(FILE *f, const char *text, size_t n, const kvs *s) {
    const char *p = text, *end = text + n;
    while (p < end) {
        if (*p == '@') {
            const char *q = p + 1;
            while (q < end && (isupper((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_')) q++;
            const char *v = q < end && *q == '@' && q > p + 1 ? kget(s, p + 1, (size_t)(q - p - 1)) : NULL;
            if (v) { fputs(v, f); p = q + 1; continue; }
        }
        fputc(*p++, f);
    }
}

/* a template with "//@@ SECTION" lines: the other lines filled from s, each section line replaced by
 * what section(f, name, ud) writes */
typedef void (*section_fn)(FILE *f, const char *name, void *ud);
static void fill_sections(FILE *f, const char *tpl, const kvs *s, section_fn section, void *ud) {
    const char *p = tpl;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        if (!strncmp(p, "//@@ ", 5)) {
            char name[64];
            size_t nl = len - 5 - (eol ? 1 : 0);
            snprintf(name, sizeof name, "%.*s", (int)(nl < 63 ? nl : 63), p + 5);
            section(f, name, ud);
        } else {
            fill(f, p, len, s);
        }
        p += len;
    }
}

static void upper(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = 0;
}

/* ---------------------------------------------------------------- arrays with their statistics */

/* the comment line "name: int8 [a][b] (what), min m, max M, zeros z of n; model FILE", then the initializer, the
 * innermost dimension on one line */
static void put_array(FILE *f, const char *ctype, const char *name, const int *dims, int nd, const int8_t *v,
                      int as_unsigned, const char *what, const char *model) {
    long n = 1;
    for (int i = 0; i < nd; i++) n *= dims[i];
    int mn = 0, mx = 0;
    long zeros = 0;
    for (long i = 0; i < n; i++) {
        int x = as_unsigned ? (uint8_t)v[i] : v[i];
        if (i == 0 || x < mn) mn = x;
        if (i == 0 || x > mx) mx = x;
        zeros += x == 0;
    }
    char shape[64] = "";
    for (int i = 0; i < nd; i++) snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "[%d]", dims[i]);
    fprintf(f, "/* %s: %s %s%s%s%s, min %d, max %d, zeros %ld of %ld; model %s */\n", name,
            as_unsigned ? "uint8" : "int8", shape, what && *what ? " (" : "", what ? what : "",
            what && *what ? ")" : "", mn, mx, zeros, n, model);
    fprintf(f, "const %s %s%s = {\n", ctype, name, shape);
    /* an element of dimension j < nd-1 spans rows_per[j] rows of the innermost dimension and gets
     * its own braces */
    long inner = dims[nd - 1], rows = n / inner, rows_per[8];
    for (int j = 0; j + 1 < nd; j++) {
        rows_per[j] = 1;
        for (int d = j + 1; d + 1 < nd; d++) rows_per[j] *= dims[d];
    }
    for (long r = 0; r < rows; r++) {
        fputs("    ", f);
        for (int j = 0; j + 1 < nd; j++) if (r % rows_per[j] == 0) fputc('{', f);
        for (long i = 0; i < inner; i++) {
            int x = as_unsigned ? (uint8_t)v[r * inner + i] : v[r * inner + i];
            fprintf(f, i ? ",%d" : "%d", x);
        }
        for (int j = nd - 2; j >= 0; j--) if ((r + 1) % rows_per[j] == 0) fputc('}', f);
        fputs(r + 1 < rows ? ",\n" : "\n", f);
    }
    fputs("};\n\n", f);
}

/* ---------------------------------------------------------------- the pipeline */

enum { CH_STREAM = 0, CH_BUF };
typedef struct chan {
    char name[48];
    int kind;            /* CH_STREAM or CH_BUF */
    int io;              /* the top's own port ("in", "out"): not declared in the top */
    char ty[8];          /* stream: vector length macro (RM_D, RM_T, ...); buffer: unused */
    char rows[8], cols[8];
    int depth;           /* stream depth */
    char part[2][200];   /* buffer: partition pragmas (macro arguments) */
} chan;

typedef struct proc {
    char fn[64];
    int nargs;
    char arg[4][48];
    /* a testbench comparison after this process: tap_chan holds tap_count vectors of tap_ty */
    char tap_chan[48], tap_ty[8], tap_expect[96], tap_what[128];
    int tap_count;
} proc;

#define MAXCH (12 * RM_MAXL + 8)
#define MAXPR (12 * RM_MAXL + 8)
typedef struct pipeline {
    chan ch[MAXCH];
    int nch;
    proc pr[MAXPR];
    int npr;
} pipeline;

static chan *add_stream(pipeline *pp, const char *name, const char *ty, int depth) {
    chan *c = &pp->ch[pp->nch++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->kind = CH_STREAM;
    snprintf(c->ty, sizeof c->ty, "%s", ty);
    c->depth = depth;
    return c;
}
static chan *add_buf(pipeline *pp, const char *name, const char *rows, const char *cols, const char *p1,
                     const char *p2) {
    chan *c = &pp->ch[pp->nch++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->kind = CH_BUF;
    snprintf(c->rows, sizeof c->rows, "%s", rows);
    snprintf(c->cols, sizeof c->cols, "%s", cols);
    snprintf(c->part[0], sizeof c->part[0], "%s", p1);
    snprintf(c->part[1], sizeof c->part[1], "%s", p2);
    return c;
}
static proc *add_proc(pipeline *pp, const char *fn, int nargs, ...) {
    proc *p = &pp->pr[pp->npr++];
    memset(p, 0, sizeof *p);
    snprintf(p->fn, sizeof p->fn, "%s", fn);
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs && i < 4; i++) snprintf(p->arg[i], sizeof p->arg[i], "%s", va_arg(ap, const char *));
    va_end(ap);
    p->nargs = nargs;
    return p;
}
static void set_tap(proc *p, const char *chan, const char *ty, int count, const char *expect, const char *what) {
    snprintf(p->tap_chan, sizeof p->tap_chan, "%s", chan);
    snprintf(p->tap_ty, sizeof p->tap_ty, "%s", ty);
    snprintf(p->tap_expect, sizeof p->tap_expect, "%s", expect);
    snprintf(p->tap_what, sizeof p->tap_what, "%s", what);
    p->tap_count = count;
}

/* the name of a stage in the estimate's list for block i ("blocks_<i>_<what>") */
static const char *bname(char *b, size_t n, int i, const char *what) {
    snprintf(b, n, "blocks_%d_%s", i, what);
    return b;
}

/* stage keys every template uses: NAME, U (upper case), W, B, S */
/* entries per channel of the emitted hardware tables: 64 samples, plus the edge entry in paper_hls mode */
static int lut_hw_n(const rm_qnet *q) { return q->lut_edge == RM_LUT_EDGE_PAPER_HLS ? 65 : 64; }

/* the lut_edge keys of T_LUT64: rows m0 (y0) and m1 (the other read), the difference d */
static void lut_keys(kvs *s, const rm_qnet *q) {
    int e = q->lut_edge;
    kset(s, "LN", "%d", lut_hw_n(q));
    kset(s, "EDGE", "%s", rm_lut_edge_name(e));
    kset(s, "EDGEDOC", "%s", e == RM_LUT_EDGE_PAPER_HLS ? ", entry 64 the edge entry (code 126)" : "");
    kset(s, "EDGEHOW", "%s", e == RM_LUT_EDGE_EXTEND ? "the last segment extended (reads L[62], difference negated)"
                             : e == RM_LUT_EDGE_PAPER_HLS ? "reads entry 64" : "m clamped to 62 (reads the values of u - 4)");
    kset(s, "MSEL", "%s", e == RM_LUT_EDGE_EXTEND ? "m0 = m, m1 = m == 63 ? 62 : m + 1"
                          : e == RM_LUT_EDGE_PAPER_HLS ? "m0 = m, m1 = m + 1" : "m0 = m > 62 ? 62 : m, m1 = m0 + 1");
    kset(s, "DEXPR", "%s", e == RM_LUT_EDGE_EXTEND ? "m == 63 ? y0 - yo : yo - y0" : "yo - y0");
}

static void stage_keys(kvs *s, const char *name) {
    char u[64];
    upper(u, name, sizeof u);
    kset(s, "NAME", "%s", name);
    kset(s, "U", "%s", u);
    kset(s, "W", "%s_w", name);
    kset(s, "B", "%s_b", name);
    kset(s, "S", "%s_s", name);
}

static void put_tpl(FILE *f, const char *tpl, const kvs *s) { fill(f, tpl, strlen(tpl), s); }

/* SIMD-block pruning (rm_qnet_set_pruned): the keys of T_MATMUL_PRUNED / T_TOKLIN_PRUNED */
static void prune_keys(kvs *s, const char *name, const rm_qlin *l) {
    kset(s, "WK", "%s_wk", name);
    kset(s, "KB", "%s_kb", name);
    kset(s, "NK", "%d", l->nkeep * l->simd);
    kset(s, "NKB", "%d", l->nkeep);
    kset(s, "PS", "%d", l->simd);
}
/* a matmul stage over v vectors of in -> out (macro names), with the ReLU or not: the dense template,
 * or the pruned one when l has kept-block lists */
static void put_matmul(FILE *f, const char *name, const char *what, const char *v, const char *in, const char *out,
                       int relu, const rm_qlin *l) {
    kvs s;
    s.n = 0; stage_keys(&s, name);
    kset(&s, "WHAT", "%s", what);
    kset(&s, "V", "%s", v); kset(&s, "IN", "%s", in); kset(&s, "OUT", "%s", out);
    kset(&s, "ACT", "%s", relu ? "rm_relu" : ""); kset(&s, "ACTDOC", "%s", relu ? "relu " : "");
    if (!l->keep) { put_tpl(f, T_MATMUL, &s); return; }
    prune_keys(&s, name, l);
    put_tpl(f, T_MATMUL_PRUNED, &s);
}
static void readme_pruned(FILE *readme, const rm_qlin *l) {
    if (l->keep)
        fprintf(readme, "  (SIMD-block pruned: %d of %d blocks of %d inputs kept, only those are read)\n", l->nkeep, l->IC / l->simd, l->simd);
}

/* the learned activation k of block i (k = 0 before linear_1, on the D channels; 1 after it, on the
 * H hidden ones): its stage into f, a process from stream cur to the new stream y; returns y */
static const char *put_psa(const rm_qnet *q, pipeline *pp, FILE *f, FILE *readme, int i, int k, const char *cur,
                           const char *y) {
    char nm[64];
    kvs s;
    bname(nm, sizeof nm, i, k ? "mlp_psa_1" : "mlp_psa_0");
    s.n = 0; stage_keys(&s, nm);
    kset(&s, "C", "%s", k ? "RM_H" : "RM_D");
    kset(&s, "L", "%s_%s", nm, q->lut64 ? "lerp_lut" : "lut");
    lut_keys(&s, q);
    put_tpl(f, q->lut64 ? T_LUT64 : T_LUT256, &s);
    add_stream(pp, y, k ? "RM_H" : "RM_D", 2);
    add_proc(pp, nm, 2, cur, y);
    fprintf(readme, "- `%s`: learned activation, %d channels, %d-entry tables\n", nm, k ? q->H : q->D, q->lut64 ? 64 : 256);
    return y;
}

/* Fill the stage templates into f (the body of resmlp.cpp) and describe the channels and processes.
 * readme: one markdown line per stage. */
static void build_pipeline(const rm_qnet *q, pipeline *pp, FILE *f, FILE *readme) {
    char nm[64], in[48], tmp[160];
    kvs s;
    s.n = 0;
    memset(pp, 0, sizeof *pp);
    add_stream(pp, "in", "RM_P", 2)->io = 1;
    add_stream(pp, "out", "RM_K", 2)->io = 1;

    /* embedding */
    put_matmul(f, "embed_linear", "patch embedding, one token vector at a time", "RM_T", "RM_P", "RM_D", 0, &q->embed);
    add_stream(pp, "s_embed", "RM_D", 2);
    set_tap(add_proc(pp, "embed_linear", 2, "in", "s_embed"), "s_embed", "RM_D", q->T, "&samples_inter_0[n][0][0]",
            "after embed_linear (samples_inter_0)");
    fprintf(readme, "- `embed_linear`: %d x %d matmul per token\n", q->D, q->P);
    readme_pruned(readme, &q->embed);
    snprintf(in, sizeof in, "s_embed");

    for (int i = 0; i < q->L; i++) {
        char a[48], skip[48], tb[48], v[48], u[48], rb[48], m[48], ms[48], y1[48], h[48], y2[48], o[48], x[48];
        snprintf(a, sizeof a, "b%d_a", i);       snprintf(skip, sizeof skip, "b%d_skip", i);
        snprintf(tb, sizeof tb, "b%d_tokbuf", i); snprintf(v, sizeof v, "b%d_v", i);
        snprintf(u, sizeof u, "b%d_u", i);       snprintf(rb, sizeof rb, "b%d_resbuf", i);
        snprintf(m, sizeof m, "b%d_m", i);       snprintf(ms, sizeof ms, "b%d_mskip", i);
        snprintf(y1, sizeof y1, "b%d_y1", i);    snprintf(h, sizeof h, "b%d_h", i);
        snprintf(y2, sizeof y2, "b%d_y2", i);    snprintf(o, sizeof o, "b%d_o", i);
        snprintf(x, sizeof x, "b%d_x", i);
        char U[64];

        /* token mixer */
        bname(nm, sizeof nm, i, "token_mixer_affine_1");
        s.n = 0; stage_keys(&s, nm); put_tpl(f, T_AFFINE1, &s);
        add_stream(pp, a, "RM_D", 2);
        add_stream(pp, skip, "RM_D", 2 * q->T + 2);
        add_proc(pp, nm, 3, in, a, skip);
        fprintf(readme, "- `%s`: per-channel affine (%d channels), token vector in, skip path out\n", nm, q->D);

        bname(nm, sizeof nm, i, "token_mixer_linear");
        s.n = 0; stage_keys(&s, nm);
        if (!q->blk[i].lin.keep) put_tpl(f, T_TOKLIN, &s);
        else {   /* the load stage as in T_TOKLIN, then the pruned linear */
            const char *lin = strstr(T_TOKLIN, "/* @NAME@: mixing across tokens");
            fill(f, T_TOKLIN, (size_t)(lin - T_TOKLIN), &s);
            prune_keys(&s, nm, &q->blk[i].lin);
            put_tpl(f, T_TOKLIN_PRUNED, &s);
        }
        upper(U, nm, sizeof U);
        char p1[200], p2[200];
        snprintf(p1, sizeof p1, "HLS array_partition variable=%s cyclic factor=%s_SIMD dim=1", tb, U);
        snprintf(p2, sizeof p2, "HLS array_partition variable=%s cyclic factor=%s_PE dim=2", tb, U);
        add_buf(pp, tb, "RM_T", "RM_D", p1, p2);
        add_stream(pp, v, "RM_T", 2);
        snprintf(tmp, sizeof tmp, "%s_load", nm);
        add_proc(pp, tmp, 2, a, tb);
        add_proc(pp, nm, 2, tb, v);
        fprintf(readme, "- `%s_load` => `%s`: transpose, then %d x %d matmul across tokens per channel\n", nm, nm,
                q->T, q->T);
        readme_pruned(readme, &q->blk[i].lin);

        bname(nm, sizeof nm, i, "token_mixer_affine_2");
        s.n = 0; stage_keys(&s, nm); put_tpl(f, T_AFFINE2, &s);
        add_stream(pp, u, "RM_T", 2);
        add_proc(pp, nm, 2, v, u);
        fprintf(readme, "- `%s`: per-channel affine on channel vectors\n", nm);

        bname(nm, sizeof nm, i, "token_mixer_res");
        s.n = 0; stage_keys(&s, nm); put_tpl(f, T_TOKRES, &s);
        upper(U, nm, sizeof U);
        snprintf(p1, sizeof p1, "HLS array_partition variable=%s cyclic factor=%s_PE dim=1", rb, U);
        snprintf(p2, sizeof p2, "HLS array_partition variable=%s cyclic factor=%s_PE dim=2", rb, U);
        add_buf(pp, rb, "RM_D", "RM_T", p1, p2);
        add_stream(pp, m, "RM_D", 2);
        add_stream(pp, ms, "RM_D", 8);
        snprintf(tmp, sizeof tmp, "%s_load", nm);
        add_proc(pp, tmp, 2, u, rb);
        proc *pr = add_proc(pp, nm, 4, rb, skip, m, ms);
        char ex[96], what[128];
        snprintf(ex, sizeof ex, "&samples_mix_%d[n][0][0]", i);
        snprintf(what, sizeof what, "after %s (samples_mix_%d)", nm, i);
        set_tap(pr, m, "RM_D", q->T, ex, what);
        fprintf(readme, "- `%s_load` => `%s`: transpose back, residual with res_affine on the skip path\n", nm, nm);

        /* channel MLP */
        const char *cur = m;
        if (q->has_act1) cur = put_psa(q, pp, f, readme, i, 0, cur, y1);
        bname(nm, sizeof nm, i, "mlp_linear_1");
        put_matmul(f, nm, q->relu ? "channel MLP linear_1 with the ReLU" : "channel MLP linear_1", "RM_T", "RM_D", "RM_H",
                   q->relu, &q->blk[i].fc1);
        add_stream(pp, h, "RM_H", 2);
        add_proc(pp, nm, 2, cur, h);
        cur = h;
        fprintf(readme, "- `%s`: %d x %d matmul per token%s\n", nm, q->H, q->D, q->relu ? ", ReLU" : "");
        readme_pruned(readme, &q->blk[i].fc1);
        if (!q->relu) cur = put_psa(q, pp, f, readme, i, 1, cur, y2);
        bname(nm, sizeof nm, i, "mlp_linear_2");
        put_matmul(f, nm, "channel MLP linear_2 (LayerScale folded in)", "RM_T", "RM_H", "RM_D", 0, &q->blk[i].fc2);
        add_stream(pp, o, "RM_D", 2);
        add_proc(pp, nm, 2, cur, o);
        fprintf(readme, "- `%s`: %d x %d matmul per token\n", nm, q->D, q->H);
        readme_pruned(readme, &q->blk[i].fc2);

        bname(nm, sizeof nm, i, "mlp_res");
        s.n = 0; stage_keys(&s, nm); put_tpl(f, T_MLPRES, &s);
        add_stream(pp, x, "RM_D", 2);
        pr = add_proc(pp, nm, 3, o, ms, x);
        snprintf(ex, sizeof ex, "&samples_inter_%d[n][0][0]", i + 1);
        snprintf(what, sizeof what, "after block %d (samples_inter_%d)", i, i + 1);
        set_tap(pr, x, "RM_D", q->T, ex, what);
        fprintf(readme, "- `%s`: residual with res_affine on the skip path\n", nm);
        snprintf(in, sizeof in, "%s", x);
    }
    put_tpl(f, T_POOL, &s);
    add_stream(pp, "s_pool", "RM_D", 2);
    add_proc(pp, "pool", 2, in, "s_pool");
    fprintf(readme, "- `pool`: sum of %d tokens, rounded shift by %d\n", q->T, q->pool_shift);
    put_matmul(f, "classifier_linear", "classifier (final BatchNorm folded in), once per image", "1", "RM_D", "RM_K", 0, &q->cls);
    set_tap(add_proc(pp, "classifier_linear", 2, "s_pool", "out"), "out", "RM_K", 1, "&samples_output[n][0]",
            "logits of classifier_linear");
    fprintf(readme, "- `classifier_linear`: %d x %d matmul\n", q->K, q->D);
    readme_pruned(readme, &q->cls);
}

/* the declarations of the channels: for the top (not its ports; with stream and partition pragmas)
 * or for the testbench (everything, buffers static) */
static void put_channels(FILE *f, const pipeline *pp, int tb) {
    for (int i = 0; i < pp->nch; i++) {
        const chan *c = &pp->ch[i];
        if (c->io && !tb) continue;
        if (c->kind == CH_STREAM) {
            fprintf(f, "    hls::stream<rm_vec<%s> > %s(\"%s\");\n", c->ty, c->name, c->name);
            if (!tb) fprintf(f, "    RM_PRAGMA(HLS stream variable=%s depth=RM_FIFO_%s)\n", c->name, c->name);
        } else {
            fprintf(f, "    %sint8_t %s[%s][%s];\n", tb ? "static " : "", c->name, c->rows, c->cols);
            if (!tb) fprintf(f, "    RM_PRAGMA(%s)\n    RM_PRAGMA(%s)\n", c->part[0], c->part[1]);
        }
    }
}

static void put_call(FILE *f, const proc *p) {
    fprintf(f, "    %s(", p->fn);
    for (int a = 0; a < p->nargs; a++) fprintf(f, "%s%s", a ? ", " : "", p->arg[a]);
    fprintf(f, ");\n");
}

/* prototypes: every "void NAME(...) {" of the stage text, up to the brace, as a declaration */
static void put_prototypes(FILE *f, const char *stages) {
    const char *p = stages;
    while ((p = strstr(p, "\nvoid "))) {
        p++;
        const char *e = strstr(p, ") {\n");
        if (!e) break;
        fprintf(f, "%.*s);\n", (int)(e - p), p);
        p = e;
    }
}

/* the testbench's concurrent run (RM_CONCURRENT): the channels at file scope in namespace cc, one
 * thread per process - processes sharing a ping-pong buffer run in one thread, in order, since the
 * buffer is handed over whole (a PIPO) - plus a feeder and a collector thread */
static int is_buf(const pipeline *pp, const char *name) {
    for (int i = 0; i < pp->nch; i++) if (pp->ch[i].kind == CH_BUF && !strcmp(pp->ch[i].name, name)) return 1;
    return 0;
}
static int shares_buf(const pipeline *pp, const proc *a, const proc *b) {
    for (int i = 0; i < a->nargs; i++)
        for (int j = 0; j < b->nargs; j++)
            if (!strcmp(a->arg[i], b->arg[j]) && is_buf(pp, a->arg[i])) return 1;
    return 0;
}
static void put_concurrent(FILE *f, const pipeline *pp) {
    fputs("#ifdef RM_CONCURRENT\n#include <pthread.h>\nnamespace cc {\n", f);
    for (int i = 0; i < pp->nch; i++) {
        const chan *c = &pp->ch[i];
        if (c->kind == CH_STREAM) fprintf(f, "static hls::stream<rm_vec<%s> > %s(\"%s\");\n", c->ty, c->name, c->name);
        else fprintf(f, "static int8_t %s[%s][%s];\n", c->name, c->rows, c->cols);
    }
    fputs("}\n\nstatic void cc_feed() { for (int n = 0; n < SAMPLES_N; n++) feed(cc::in, n); }\n", f);
    fputs("static void cc_collect() {\n    for (int n = 0; n < SAMPLES_N; n++) {\n"
          "        rm_vec<RM_K> z = cc::out.read();\n"
          "        for (int k = 0; k < RM_K; k++) {\n            g_checked++;\n"
          "            if (z.v[k] != samples_output[n][k]) mismatch(n, \"logits (concurrent run)\", 0, k, z.v[k], samples_output[n][k]);\n"
          "        }\n    }\n}\n", f);
    int ng = 0, gfirst[MAXPR + 1];
    static char names[MAXPR][160];
    for (int i = 0; i < pp->npr; ) {
        int j = i + 1;
        gfirst[ng] = i;
        while (j < pp->npr && shares_buf(pp, &pp->pr[j - 1], &pp->pr[j])) j++;
        snprintf(names[ng], sizeof names[ng], "%s", pp->pr[i].fn);
        for (int k = i + 1; k < j; k++)
            snprintf(names[ng] + strlen(names[ng]), sizeof names[ng] - strlen(names[ng]), "+%s", pp->pr[k].fn);
        fprintf(f, "static void cc_g%d() {\n    for (int n = 0; n < SAMPLES_N; n++) {\n", ng);
        for (int k = i; k < j; k++) {
            const proc *p = &pp->pr[k];
            fprintf(f, "        %s(", p->fn);
            for (int a = 0; a < p->nargs; a++) fprintf(f, "%scc::%s", a ? ", " : "", p->arg[a]);
            fputs(");\n", f);
        }
        fputs("    }\n}\n", f);
        ng++;
        i = j;
    }
    gfirst[ng] = pp->npr;
    fputs("struct cc_task { void (*fn)(); const char *name; };\n"
          "static void *cc_thread(void *a) {\n    cc_task *t = (cc_task *)a;\n    hls::rm_proc_name() = t->name;\n"
          "    t->fn();\n    hls::rm_thread_done();\n    return 0;\n}\n"
          "static void run_concurrent() {\n", f);
    for (int i = 0; i < pp->nch; i++) {
        const chan *c = &pp->ch[i];
        if (c->kind != CH_STREAM) continue;
        /* the reader: the last process (pipeline order) naming the stream; "out" is the collector's */
        const char *rd = !strcmp(c->name, "out") ? "collect" : "";
        for (int g = 0; g < ng; g++)
            for (int k = gfirst[g]; k < gfirst[g + 1]; k++)
                for (int a = 0; a < pp->pr[k].nargs; a++)
                    if (!strcmp(pp->pr[k].arg[a], c->name)) rd = names[g];
        fprintf(f, "    cc::%s.set_depth(RM_FIFO_%s);\n    cc::%s.set_reader(\"%s\");\n", c->name, c->name, c->name, rd);
    }
    fprintf(f, "    static cc_task tasks[%d] = {\n        { cc_feed, \"feed\" },\n", ng + 2);
    for (int g = 0; g < ng; g++) fprintf(f, "        { cc_g%d, \"%s\" },\n", g, names[g]);
    fprintf(f, "        { cc_collect, \"collect\" }\n    };\n"
               "    const int nt = %d;\n    pthread_t th[%d];\n    hls::rm_threads_start(nt);\n"
               "    for (int i = 0; i < nt; i++)\n"
               "        if (pthread_create(&th[i], 0, cc_thread, &tasks[i])) { printf(\"cannot start a thread\\n\"); exit(2); }\n"
               "    for (int i = 0; i < nt; i++) pthread_join(th[i], 0);\n", ng + 2, ng + 2);
    for (int i = 0; i < pp->nch; i++)
        if (pp->ch[i].kind == CH_STREAM)
            fprintf(f, "    printf(\"FIFO %%s depth %%lu max %%lu\\n\", cc::%s.name(), cc::%s.depth(), cc::%s.max_occupancy());\n",
                    pp->ch[i].name, pp->ch[i].name, pp->ch[i].name);
    fputs("}\n#endif\n", f);
}

/* hls_fifo.h: the depth of every internal stream, RM_FIFO_<name> (a -D on the compiler line wins) */
static int write_fifo(rm_ctx *ctx, const char *dir, const pipeline *pp, const rm_hls_emit_opts *o) {
    wfile w;
    if (wbegin(ctx, &w, dir, "hls_fifo.h")) return RM_ERR;
    fputs("/* hls_fifo.h - generated by resmlp: the depth of every stream between dataflow processes (the\n"
          " * #pragma HLS stream of resmlp.cpp and the concurrent C simulation read these). The emitter's depths\n"
          " * are 2, the token mixer's skip path 2T+2 (it must hold a whole image while the transpose fills),\n"
          " * the channel MLP's skip 8; `hls emit fifo=auto` writes the occupancies measured by the concurrent\n"
          " * csim instead (marked). A too shallow FIFO deadlocks: `hls csim` names it. */\n"
          "#ifndef HLS_FIFO_H\n#define HLS_FIFO_H\n", w.f);
    for (int i = 0; i < pp->nch; i++) {
        const chan *c = &pp->ch[i];
        if (c->kind != CH_STREAM) continue;
        int d = c->depth;
        const char *how = "";
        for (int k = 0; o && k < o->nfifo; k++)
            if (!strcmp(o->fifo[k].name, c->name)) { d = o->fifo[k].depth; how = "   /* measured */"; }
        fprintf(w.f, "#ifndef RM_FIFO_%s\n#define RM_FIFO_%s %d%s\n#endif\n", c->name, c->name, d, how);
    }
    fputs("#endif\n", w.f);
    return wend(ctx, &w);
}

typedef struct sect_ud {
    const pipeline *pp;
    const char *stages;
    int has_tables, relu;
} sect_ud;

static void kernel_section(FILE *f, const char *name, void *ud) {
    const sect_ud *u = ud;
    if (!strcmp(name, "prototypes")) put_prototypes(f, u->stages);
    else if (!strcmp(name, "includes")) {
        if (u->has_tables) fputs("#include \"lerp_psa_params.h\"\n", f);
    } else if (!strcmp(name, "relu")) {
        if (u->relu) fputs("static inline int8_t rm_relu(int8_t v) { return v > 0 ? v : (int8_t)0; }\n\n", f);
    } else if (!strcmp(name, "stages")) fputs(u->stages, f);
    else if (!strcmp(name, "channels")) put_channels(f, u->pp, 0);
    else if (!strcmp(name, "processes"))
        for (int i = 0; i < u->pp->npr; i++) put_call(f, &u->pp->pr[i]);
    else if (!strcmp(name, "stage_run")) {
        const pipeline *pp = u->pp;
        put_channels(f, pp, 1);
        fputs("    feed(in, n);\n", f);
        for (int i = 0; i < pp->npr; i++) {
            const proc *p = &pp->pr[i];
            put_call(f, p);
            if (p->tap_count)
                fprintf(f, "    tap<%s>(%s, %s, %d, \"%s\", n);\n", p->tap_ty, p->tap_chan, p->tap_expect, p->tap_count,
                        p->tap_what);
        }
        fputs("    if (!out.empty()) out.read();\n", f);
        for (int i = 0; i < pp->nch; i++)
            if (pp->ch[i].kind == CH_STREAM)
                fprintf(f, "    leftover<%s>(%s, \"%s\", n);\n", pp->ch[i].ty, pp->ch[i].name, pp->ch[i].name);
    } else if (!strcmp(name, "concurrent")) put_concurrent(f, u->pp);
    else fprintf(f, "#error \"resmlp emitter: unknown template section %s\"\n", name);
}

/* ---------------------------------------------------------------- headers */

static void put_lin(FILE *f, const char *name, const rm_qlin *l, const char *what, const char *model) {
    char nm[96];
    int dims[2] = { l->OC, l->IC };
    snprintf(nm, sizeof nm, "%s_w", name);
    if (l->IC == 1) put_array(f, "int8_t", nm, dims, 1, l->w, 0, what, model);
    else put_array(f, "int8_t", nm, dims, 2, l->w, 0, what, model);
    snprintf(nm, sizeof nm, "%s_b", name);
    put_array(f, "int8_t", nm, dims, 1, l->b, 0, "bias on the output scale", model);
    snprintf(nm, sizeof nm, "%s_s", name);
    put_array(f, "uint8_t", nm, dims, 1, l->k, 1, "shift k of rq(acc, k, b)", model);
    if (!l->keep) return;
    /* SIMD-block pruning: the kept block indices and the weights of the kept inputs, the only ones read */
    int nk = l->nkeep * l->simd;
    fprintf(f, "/* %s_kb: uint16 [%d], the kept blocks of %d inputs (%d of %d; the others are pruned, never read) */\n",
            name, l->nkeep, l->simd, l->nkeep, l->IC / l->simd);
    fprintf(f, "const uint16_t %s_kb[%d] = {", name, l->nkeep);
    for (int k = 0; k < l->nkeep; k++) fprintf(f, k ? ",%d" : "%d", l->keep[k]);
    fputs("};\n\n", f);
    int8_t *wk = malloc((size_t)l->OC * nk);
    if (!wk) { fputs("#error \"resmlp emitter: out of memory\"\n", f); return; }
    for (int o = 0; o < l->OC; o++)
        for (int j = 0; j < nk; j++) wk[(size_t)o * nk + j] = l->w[(size_t)o * l->IC + l->keep[j / l->simd] * l->simd + j % l->simd];
    int kd[2] = { l->OC, nk };
    snprintf(nm, sizeof nm, "%s_wk", name);
    put_array(f, "int8_t", nm, kd, 2, wk, 0, "out x kept in, the kept blocks of _w in _kb order", model);
    free(wk);
}

static const char *act_label(const rm_qnet *q) {
    return q->relu ? "ReLU" : rm_act_name(q->act);
}

static int write_params(rm_ctx *ctx, const char *dir, const rm_qnet *q, const char *model) {
    wfile w;
    if (wbegin(ctx, &w, dir, "quant_params.h")) return RM_ERR;
    FILE *f = w.f;
    fprintf(f, "/* quant_params.h - generated by resmlp from %s: the INT8 ResMLP (%s, h=%d; embedding %d, %d block%s,\n"
               " * %d tokens x %d features, %d classes). Per layer (names as the stages of resmlp.cpp):\n"
               " *   <layer>_w  int8 weights [OUT][IN] (a per-channel affine: [C])\n"
               " *   <layer>_b  int8 bias on the output scale [OUT]\n"
               " *   <layer>_s  uint8 shift k [OUT]:  y = rq(acc, k, b): acc >>= k-1; acc = (acc >> 1) + (acc & 1);\n"
               " *              acc += b; clamp to [-128, 127]   (acc = the int32 sum of int8 products)\n"
               " * Token mixer: affine_1 and affine_2 per channel, linear across tokens ([out token][in token]),\n"
               " * res = the res_affine on the skip path; channel MLP: linear_1, linear_2, res (the res_affine).\n"
               " * The input is int8 codes: input_pix_lut[channel][pixel] (host side; the kernel takes codes). */\n",
            model, act_label(q), q->H, q->D, q->L, q->L == 1 ? "" : "s", q->T, q->P, q->K);
    fputs("#ifndef QUANT_PARAMS_H\n#define QUANT_PARAMS_H\n#include <stdint.h>\n\n", f);
    int pd[2] = { q->img_c, 256 };
    put_array(f, "int8_t", "input_pix_lut", pd, 2, &q->pix_lut[0][0], 0, "pixel 0..255 -> input code, per image channel",
              model);
    put_lin(f, "embed_linear", &q->embed, "out x in", model);
    char nm[64];
    for (int i = 0; i < q->L; i++) {
        const rm_qblock *b = &q->blk[i];
        put_lin(f, bname(nm, sizeof nm, i, "token_mixer_affine_1"), &b->a1, "per channel", model);
        put_lin(f, bname(nm, sizeof nm, i, "token_mixer_linear"), &b->lin, "out token x in token", model);
        put_lin(f, bname(nm, sizeof nm, i, "token_mixer_affine_2"), &b->a2, "per channel", model);
        put_lin(f, bname(nm, sizeof nm, i, "token_mixer_res"), &b->res, "res_affine per channel", model);
        put_lin(f, bname(nm, sizeof nm, i, "mlp_linear_1"), &b->fc1, "out x in", model);
        put_lin(f, bname(nm, sizeof nm, i, "mlp_linear_2"), &b->fc2, "out x in", model);
        put_lin(f, bname(nm, sizeof nm, i, "mlp_res"), &b->res2, "res_affine per channel", model);
    }
    put_lin(f, "classifier_linear", &q->cls, "out x in", model);
    fputs("#endif\n", f);
    return wend(ctx, &w);
}

static int has_tables(const rm_qnet *q) { return q->has_act1 || !q->relu; }

static int write_luts(rm_ctx *ctx, const char *dir, const rm_qnet *q, const char *model) {
    wfile w;
    if (wbegin(ctx, &w, dir, "lerp_psa_params.h")) return RM_ERR;
    FILE *f = w.f;
    if (q->lut64)
        fprintf(f, "/* lerp_psa_params.h - generated by resmlp from %s: the learned activations (%s) as 64-entry\n"
                   " * int8 tables per channel, L[c][i] = the 256-entry table at code 4i-128 (i < 64), read with\n"
                   " *   u = x + 128; m = %s; l = u & 3; t = ((L[m+1] - L[m]) * l) >> 1;\n"
                   " *   y = sat8(L[m] + (t >> 1) + (t & 1))\n"
                   " * Top segment u = 252..255: lut_edge=%s. %s\n"
                   " * psa_0: before mlp_linear_1 (BatchNorm folded in), psa_1: between mlp_linear_1 and _2. */\n",
                model, act_label(q), q->lut_edge == RM_LUT_EDGE_CLAMP ? "min(u >> 2, 62)" : "u >> 2",
                rm_lut_edge_name(q->lut_edge),
                q->lut_edge == RM_LUT_EDGE_EXTEND ? "For m = 63 the last segment is extended: L[m+1] - L[m] is taken\n"
                                                    " * as L[63] - L[62] (u = 252 reads L[63], its own sample; no entry 64)."
                : q->lut_edge == RM_LUT_EDGE_PAPER_HLS ? "Entry 64 = the 256-entry table at code 126 (u = 254), as the\n"
                                                          " * paper's HLS and numpy (lerp_compress, append=True) build it."
                : "No entry 64: m stops at 62, so u = 252..255 repeat the values of u - 4\n"
                  " * (resmlp before lut_edge; the paper's numpy with append=False).");
    else
        fprintf(f, "/* lerp_psa_params.h - generated by resmlp from %s: the learned activations (%s) as full\n"
                   " * 256-entry int8 tables per channel, y = L[c][x + 128]. psa_0: before mlp_linear_1, psa_1:\n"
                   " * between mlp_linear_1 and mlp_linear_2. */\n", model, act_label(q));
    fputs("#ifndef LERP_PSA_PARAMS_H\n#define LERP_PSA_PARAMS_H\n#include <stdint.h>\n\n", f);
    char nm[96];
    for (int i = 0; i < q->L; i++) {
        const rm_qblock *b = &q->blk[i];
        for (int j = 0; j < 2; j++) {
            if ((j == 0 && !q->has_act1) || (j == 1 && q->relu)) continue;
            int C = j == 0 ? q->D : q->H;
            int N = q->lut64 ? lut_hw_n(q) : 256;
            int dims[2] = { C, N };
            const int8_t *t = q->lut64 ? (j == 0 ? b->lut1_64 : b->lut2_64) : (j == 0 ? b->lut1 : b->lut2);
            const int8_t *e = j == 0 ? b->lut1_e : b->lut2_e;
            int8_t *hw = malloc((size_t)C * N);
            if (!hw) { wabort(&w); return rm_err(ctx, "lerp_psa_params.h: out of memory"); }
            for (int c = 0; c < C; c++) {
                memcpy(hw + (size_t)c * N, t + (size_t)c * (q->lut64 ? 64 : 256), q->lut64 ? 64 : 256);
                if (N == 65) hw[(size_t)c * N + 64] = e[c];
            }
            snprintf(nm, sizeof nm, "blocks_%d_mlp_psa_%d_%s", i, j, q->lut64 ? "lerp_lut" : "lut");
            put_array(f, "int8_t", nm, dims, 2, hw, 0, j == 0 ? (N == 65 ? "channel x entry (64 samples + edge entry), before mlp_linear_1" : "channel x entry, before mlp_linear_1")
                                                               : (N == 65 ? "channel x entry (64 samples + edge entry), after mlp_linear_1" : "channel x entry, after mlp_linear_1"), model);
            free(hw);
        }
    }
    fputs("#endif\n", f);
    return wend(ctx, &w);
}

/* input codes (n,T,P) of the images, as the integer engine builds them */
static void input_codes(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *x) {
    const int T = q->T, P = q->P, c = q->img_c, pt = q->patch, gw = q->img_w / pt;
    const size_t hw = (size_t)q->img_h * q->img_w, chw = hw * c;
    for (int i = 0; i < n; i++) {
        const uint8_t *img = pixels + (size_t)i * chw;
        for (int t = 0; t < T; t++)
            for (int f = 0; f < P; f++) {
                int ch = f % c, kk = f / c, ky = kk / pt, kx = kk % pt, py = t / gw, px = t % gw;
                x[((size_t)i * T + t) * P + f] = q->pix_lut[ch][img[ch * hw + (size_t)(py * pt + ky) * q->img_w + px * pt + kx]];
            }
    }
}

static int write_samples(rm_ctx *ctx, const char *dir, const rm_qnet *q, const uint8_t *pixels, const uint8_t *labels,
                         int n, const char *model) {
    const int T = q->T, P = q->P, D = q->D, L = q->L;
    size_t TD = (size_t)T * D;
    int8_t *x = malloc((size_t)n * T * P), *emb = malloc((size_t)n * TD), *dump = malloc((size_t)n * 2 * L * TD),
           *logits = malloc((size_t)n * q->K), *tmp = malloc((size_t)n * TD);
    int rc = RM_ERR;
    wfile w = {0};
    if (!x || !emb || !dump || !logits || !tmp) { rm_err(ctx, "hls emit: out of memory for %d samples", n); goto done; }
    input_codes(q, pixels, n, x);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) {
                const int8_t *xr = x + ((size_t)i * T + t) * P, *wr = q->embed.w + (size_t)d * P;
                int32_t acc = 0;
                for (int f = 0; f < P; f++) acc += xr[f] * wr[f];
                emb[(size_t)i * TD + (size_t)t * D + d] = (int8_t)rm_requant(acc, q->embed.k[d], q->embed.b[d]);
            }
    if (rm_ie_run(ctx, q, RM_IE_REF, pixels, n, logits, dump)) { rm_errprefix(ctx, "hls emit: samples"); goto done; }
    if (wbegin(ctx, &w, dir, "quant_samples.h")) goto done;
    FILE *f = w.f;
    fprintf(f, "/* quant_samples.h - generated by resmlp from %s: %d test images through the integer engine\n"
               " * (reference path), as int8 codes. samples_input: the input tokens (input_pix_lut of the pixels);\n"
               " * samples_inter_0: after embed_linear; samples_mix_<i>: after block i's token mixer;\n"
               " * samples_inter_<i+1>: after block i; samples_output: the logits%s. */\n",
            model, n, labels ? "; samples_label: the true classes" : "");
    fputs("#ifndef QUANT_SAMPLES_H\n#define QUANT_SAMPLES_H\n#include <stdint.h>\n\n", f);
    fprintf(f, "#define SAMPLES_N %d\n#define SAMPLES_HAVE_LABELS %d\n\n", n, labels ? 1 : 0);
    int di[3] = { n, T, P }, dd[3] = { n, T, D }, dk[2] = { n, q->K };
    put_array(f, "int8_t", "samples_input", di, 3, x, 0, "image x token x feature", model);
    put_array(f, "int8_t", "samples_inter_0", dd, 3, emb, 0, "image x token x channel, after embed_linear", model);
    char nm[64], what[96];
    for (int l = 0; l < L; l++)
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < n; i++) memcpy(tmp + (size_t)i * TD, dump + ((size_t)i * 2 * L + 2 * l + s) * TD, TD);
            if (s == 0) {
                snprintf(nm, sizeof nm, "samples_mix_%d", l);
                snprintf(what, sizeof what, "image x token x channel, after block %d's token mixer", l);
            } else {
                snprintf(nm, sizeof nm, "samples_inter_%d", l + 1);
                snprintf(what, sizeof what, "image x token x channel, after block %d", l);
            }
            put_array(f, "int8_t", nm, dd, 3, tmp, 0, what, model);
        }
    put_array(f, "int8_t", "samples_output", dk, 2, logits, 0, "image x class, logits", model);
    if (labels) {
        int dl[1] = { n };
        put_array(f, "uint8_t", "samples_label", dl, 1, (const int8_t *)labels, 1, "true class", model);
    }
    fputs("#endif\n", f);
    rc = wend(ctx, &w);
done:
    if (rc != RM_OK) wabort(&w);
    free(x); free(emb); free(dump); free(logits); free(tmp);
    return rc;
}

/* ---------------------------------------------------------------- project file */

rm_hls_dims rm_hls_dims_of_qnet(const rm_qnet *q) {
    rm_hls_dims d = { .D = q->D, .T = q->T, .P = q->P, .h = q->H, .L = q->L, .classes = q->K,
                      .act = q->relu ? RM_HLS_ACT_RELU : RM_HLS_ACT_LERP };
    return d;
}

static int write_project(rm_ctx *ctx, const char *dir, const rm_qnet *q, const char *part, double clk,
                         const char *model, int n, const char *design, const char *top) {
    wfile w;
    if (wbegin(ctx, &w, dir, RM_HLS_PROJECT_FILE)) return RM_ERR;
    fprintf(w.f, "# resmlp HLS project, written by `hls emit`; read by hls estimate / hls fold / synth / report\n");
    fprintf(w.f, "design %s\ntop %s\npart %s\nclock_ns %g\nmodel %s\nact %s\nsamples %d\n", design, top, part, clk,
            model, q->relu ? "relu" : "lerp", n);
    fprintf(w.f, "D %d\nT %d\nP %d\nH %d\nL %d\nK %d\n", q->D, q->T, q->P, q->H, q->L, q->K);
    const rm_qlin *ls[3 + 3 * RM_MAXL];   /* SIMD-block pruned matmuls: their pruned input counts */
    int nl = rm_hls_qnet_linears(q, (const void **)ls);
    for (int i = 0; i < nl; i++) {
        char st[64];
        if (ls[i]->keep && rm_hls_qlin_stage(q, ls[i], st, sizeof st))
            fprintf(w.f, "pruned %s %d\n", st, ls[i]->IC - ls[i]->nkeep * ls[i]->simd);
    }
    return wend(ctx, &w);
}

int rm_hls_project_load(rm_ctx *ctx, const char *dir, rm_hls_project *p) {
    memset(p, 0, sizeof *p);
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, RM_HLS_PROJECT_FILE);
    FILE *f = fopen(path, "r");
    if (!f) return rm_err(ctx, "%s is not an emitted HLS project (no %s; run `hls emit %s` first)", dir,
                          RM_HLS_PROJECT_FILE, dir);
    char line[1024];
    int got = 0;
    p->dims.act = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = 0;
        const char *k = line, *v = sp + 1;
        int iv = atoi(v);
        if (!strcmp(k, "design")) snprintf(p->design, sizeof p->design, "%s", v);
        else if (!strcmp(k, "top")) snprintf(p->top, sizeof p->top, "%s", v);
        else if (!strcmp(k, "part")) snprintf(p->part, sizeof p->part, "%s", v);
        else if (!strcmp(k, "model")) snprintf(p->model, sizeof p->model, "%s", v);
        else if (!strcmp(k, "clock_ns")) p->clock_ns = atof(v);
        else if (!strcmp(k, "samples")) p->samples = iv;
        else if (!strcmp(k, "act")) {
            snprintf(p->act, sizeof p->act, "%s", v);
            p->dims.act = !strcmp(v, "relu") ? RM_HLS_ACT_RELU : !strcmp(v, "lerp") ? RM_HLS_ACT_LERP : -1;
        } else if (!strcmp(k, "D")) { p->dims.D = iv; got |= 1; }
        else if (!strcmp(k, "T")) { p->dims.T = iv; got |= 2; }
        else if (!strcmp(k, "P")) { p->dims.P = iv; got |= 4; }
        else if (!strcmp(k, "H")) { p->dims.h = iv; got |= 8; }
        else if (!strcmp(k, "L")) { p->dims.L = iv; got |= 16; }
        else if (!strcmp(k, "K")) { p->dims.classes = iv; got |= 32; }
        else if (!strcmp(k, "pruned") && p->npruned < (int)(sizeof p->pruned / sizeof p->pruned[0])) {
            const char *n2 = strchr(v, ' ');
            if (!n2) continue;
            snprintf(p->pruned[p->npruned].stage, sizeof p->pruned[0].stage, "%.*s", (int)(n2 - v), v);
            p->pruned[p->npruned++].in = atoi(n2 + 1);
        }
    }
    fclose(f);
    if (got != 63 || p->dims.act < 0 || !p->top[0])
        return rm_err(ctx, "%s: incomplete (needs top, act and the dimensions D T P H L K); emit the project again", path);
    if (p->clock_ns <= 0) p->clock_ns = 5.0;
    return RM_OK;
}

int rm_hls_project_design(rm_ctx *ctx, const char *dir, rm_hls_design *d, rm_hls_project *pout) {
    rm_hls_project p;
    if (rm_hls_project_load(ctx, dir, &p)) return RM_ERR;
    if (pout) *pout = p;
    if (rm_hls_design_init(ctx, d, &p.dims, p.clock_ns)) return RM_ERR;
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, RM_HLS_PAR_FILE);
    if (access(path, R_OK) == 0 && rm_hls_par_load(ctx, d, path)) return RM_ERR;
    for (int i = 0; i < p.npruned; i++)
        if (rm_hls_set_pruned(ctx, d, p.pruned[i].stage, p.pruned[i].in)) return rm_errprefix(ctx, "%s/%s", dir, RM_HLS_PROJECT_FILE);
    rm_hls_estimate(d, NULL);
    return RM_OK;
}

int rm_hls_project_write_par(rm_ctx *ctx, const char *dir, const rm_hls_design *d) {
    int len = rm_hls_par_format(d, NULL, 0);
    char *b = malloc((size_t)len + 1);
    if (!b) return rm_err(ctx, "out of memory");
    rm_hls_par_format(d, b, (size_t)len + 1);
    wfile w;
    if (wbegin(ctx, &w, dir, RM_HLS_PAR_FILE)) { free(b); return RM_ERR; }
    fputs(b, w.f);
    free(b);
    return wend(ctx, &w);
}

/* ---------------------------------------------------------------- emit */

static int mkdirs(const char *dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* a model file name safe inside comments and C string literals */
static void clean_name(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++) {
        char c = src[i];
        dst[i] = (isalnum((unsigned char)c) || strchr("._-/+=:,~ ", c)) ? c : '_';
    }
    dst[i] = 0;
    if (!i) snprintf(dst, n, "(unknown)");
}

static void note_file(rm_hls_emit_info *info, const char *name) {
    if (info->nfiles < 20) snprintf(info->files[info->nfiles++], sizeof info->files[0], "%s", name);
}

int rm_hls_emit(rm_ctx *ctx, const char *dir, const rm_qnet *q, const uint8_t *pixels, const uint8_t *labels, int n,
                const rm_hls_emit_opts *opt, rm_hls_emit_info *info) {
    rm_hls_emit_opts def = {0};
    if (!opt) opt = &def;
    rm_hls_emit_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    int simd = opt->design && !strcmp(opt->design, "simd");
    int mm = opt->interface && !strcmp(opt->interface, "m_axi");
    if (opt->interface && !mm && strcmp(opt->interface, "axis"))
        return rm_err(ctx, "hls emit: interface=%s is unknown (axis or m_axi)", opt->interface);
    if (opt->design && strcmp(opt->design, "stream") && !simd)
        return rm_err(ctx, "hls emit: design=%s is unknown (stream or simd)", opt->design);
    if (!dir || !*dir) return rm_err(ctx, "hls emit: no directory given");
    if (!q || !q->packed) return rm_err(ctx, "hls emit: the integer network is not prepared (rm_qnet_prepare)");
    if (n < 1 || n > 1024) return rm_err(ctx, "hls emit: samples=%d (1..1024)", n);
    if (!pixels) return rm_err(ctx, "hls emit: no sample images");
    const char *part = opt->part && *opt->part ? opt->part : RM_HLS_DEFAULT_PART;
    double clk = opt->clock_ns > 0 ? opt->clock_ns : 5.0;
    char model[512];
    clean_name(model, sizeof model, opt->model_file);

    /* parallelism: the caller's (same dimensions) or the paper's point */
    rm_hls_dims dims = rm_hls_dims_of_qnet(q);
    rm_hls_design *des = &info->design;
    if (opt->par) {
        const rm_hls_dims *pd = &opt->par->dims;
        if (pd->D != dims.D || pd->T != dims.T || pd->P != dims.P || pd->h != dims.h || pd->L != dims.L ||
            pd->classes != dims.classes || pd->act != dims.act)
            return rm_err(ctx, "hls emit: the parallelism given is for another network (D %d h %d L %d vs D %d h %d L %d)",
                          pd->D, pd->h, pd->L, dims.D, dims.h, dims.L);
        *des = *opt->par;
        des->clock_ns = clk;
    } else if (rm_hls_design_init(ctx, des, &dims, clk)) return RM_ERR;
    {   /* a layer with every block pruned has no kept-input loop to emit */
        const rm_qlin *ls[3 + 3 * RM_MAXL];
        int nl = 0;
        ls[nl++] = &q->embed; ls[nl++] = &q->cls;
        for (int i = 0; i < q->L; i++) { ls[nl++] = &q->blk[i].lin; ls[nl++] = &q->blk[i].fc1; ls[nl++] = &q->blk[i].fc2; }
        for (int i = 0; i < nl; i++) {
            char st[64];
            if (ls[i]->keep && !ls[i]->nkeep)
                return rm_err(ctx, "hls emit: every input block of %s is pruned; keep at least one", rm_hls_qlin_stage(q, ls[i], st, sizeof st));
        }
    }
    if (rm_hls_apply_prune_qnet(ctx, des, q)) return rm_errprefix(ctx, "hls emit");   /* kept blocks only */
    rm_hls_estimate(des, NULL);

    if (mkdirs(dir)) return rm_err(ctx, "hls emit: cannot create directory %s: %s", dir, strerror(errno));

    /* headers */
    if (write_params(ctx, dir, q, model)) return RM_ERR;
    note_file(info, "quant_params.h");
    if (has_tables(q)) {
        if (write_luts(ctx, dir, q, model)) return RM_ERR;
        note_file(info, "lerp_psa_params.h");
    } else {
        char p[1100];
        snprintf(p, sizeof p, "%s/lerp_psa_params.h", dir);
        unlink(p);   /* a table file from an earlier emission would mislead */
    }
    if (write_samples(ctx, dir, q, pixels, labels, n, model)) return RM_ERR;
    note_file(info, "quant_samples.h");
    info->samples = n;
    if (simd) {   /* the fixed SIMD design: its own kernel, testbench and README (emit_simd.c) */
        static const char *stale[] = {"rm_stream.h", "hls_fifo.h", RM_HLS_PAR_FILE, "build.tcl"};
        char p[1100];
        for (int i = 0; i < 4; i++) { snprintf(p, sizeof p, "%s/%s", dir, stale[i]); unlink(p); }   /* from a streaming emission */
        if (rm_hls_emit_simd(ctx, dir, q, model, part, clk, n, info->files, &info->nfiles, 20)) return RM_ERR;
        if (write_project(ctx, dir, q, part, clk, model, n, "simd", RM_HLS_TOP)) return RM_ERR;
        note_file(info, RM_HLS_PROJECT_FILE);
        return RM_OK;
    }
    if (rm_hls_project_write_par(ctx, dir, des)) return RM_ERR;
    note_file(info, RM_HLS_PAR_FILE);

    /* the design: stage text first (it also yields the prototypes and the pipeline) */
    char *stages = NULL, *rd = NULL;
    size_t stages_len = 0, rd_len = 0;
    FILE *sf = open_memstream(&stages, &stages_len), *rf = open_memstream(&rd, &rd_len);
    static pipeline pp;
    if (!sf || !rf) {
        if (sf) fclose(sf);
        if (rf) fclose(rf);
        free(stages); free(rd);
        return rm_err(ctx, "hls emit: out of memory");
    }
    build_pipeline(q, &pp, sf, rf);
    fclose(sf);
    fclose(rf);
    if (write_fifo(ctx, dir, &pp, opt)) { free(stages); free(rd); return RM_ERR; }
    note_file(info, "hls_fifo.h");
    sect_ud ud = { &pp, stages, has_tables(q), q->relu };
    kvs s = { .n = 0 };
    kset(&s, "MODEL", "%s", model);
    kset(&s, "ACT", "%s", act_label(q));
    kset(&s, "TOP", "%s", RM_HLS_TOP);
    kset(&s, "T", "%d", q->T); kset(&s, "P", "%d", q->P); kset(&s, "D", "%d", q->D);
    kset(&s, "H", "%d", q->H); kset(&s, "L", "%d", q->L); kset(&s, "K", "%d", q->K);
    kset(&s, "POOL", "%d", q->pool_shift);
    kset(&s, "II", "%ld", des->ii);
    kset(&s, "FPS", "%.0f", des->fps);
    kset(&s, "CLOCK", "%g", clk);
    kset(&s, "PART", "%s", part);
    kset(&s, "N", "%d", n);
    kset(&s, "LUT", "%ld", des->lut); kset(&s, "FF", "%ld", des->ff);
    kset(&s, "DSP", "%ld", des->dsp); kset(&s, "BRAM", "%ld", des->bram18);
    kset(&s, "DIR", "%s", dir);
    kset(&s, "SYNTOP", "%s", mm ? RM_HLS_TOP "_mm" : RM_HLS_TOP);
    kset(&s, "IFDOC", "%s", mm ? "interface=m_axi, the paper's: images/logits over m_axi, s_axilite control"
                               : "interface=axis: AXI-Stream in/out, ap_ctrl_chain");
    kset(&s, "README_LUT", "%s", has_tables(q) ? "| `lerp_psa_params.h` | learned activations as int8 tables per channel |\n" : "");
    kset(&s, "README_EDGE", "%s", !q->lut64 ? "" :
         q->lut_edge == RM_LUT_EDGE_EXTEND ? "\nTop segment (u = 252..255, past the last sample): `lut_edge=extend`, the last segment\n"
                                              "extended (the float LERP's rule), result saturated; `quantize lut_edge=` picks\n"
                                              "`paper_hls` (65-entry tables, entry 64 = code 126) or `clamp` (m <= 62, off by a segment).\n"
         : q->lut_edge == RM_LUT_EDGE_PAPER_HLS ? "\nTop segment (u = 252..255): `lut_edge=paper_hls`, 65-entry tables whose entry 64 is\n"
                                                  "the table at code 126, as the paper's HLS/numpy build them.\n"
         : "\nTop segment (u = 252..255): `lut_edge=clamp`, m stops at 62, so these codes read the\n"
           "values of u - 4 (resmlp before lut_edge).\n");
    int rc = RM_OK;
    struct { const char *name, *tpl; } files[] = {
        { "rm_stream.h", T_STREAM_H }, { "resmlp.h", T_KERNEL_H }, { "resmlp.cpp", T_KERNEL_CPP },
        { "resmlp_tb.cpp", T_TB },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0] && rc == RM_OK; i++) {
        wfile w;
        if (wbegin(ctx, &w, dir, files[i].name)) { rc = RM_ERR; break; }
        fill_sections(w.f, files[i].tpl, &s, kernel_section, &ud);
        rc = wend(ctx, &w);
        if (rc == RM_OK) note_file(info, files[i].name);
    }
    if (rc == RM_OK) {
        wfile w;
        rc = wbegin(ctx, &w, dir, "README.md");
        if (rc == RM_OK) {
            /* the stage list is longer than a key may be: split the template at @STAGES@ */
            const char *at = strstr(T_README, "@STAGES@");
            fill(w.f, T_README, (size_t)(at - T_README), &s);
            fputs(rd, w.f);
            fill(w.f, at + 8, strlen(at + 8), &s);
            rc = wend(ctx, &w);
            if (rc == RM_OK) note_file(info, "README.md");
        }
    }
    free(stages);
    free(rd);
    if (rc) return RM_ERR;

    /* build.tcl */
    const char *src[] = { "resmlp.cpp", NULL }, *tbs[] = { "resmlp_tb.cpp", NULL };
    rm_hls_tcl_opts to = { .top = mm ? RM_HLS_TOP "_mm" : RM_HLS_TOP, .part = part, .clock_ns = clk, .src = src, .tb = tbs,
                           .cflags = "-std=c++14" };
    char tp[1100];
    snprintf(tp, sizeof tp, "%s/build.tcl", dir);
    if (rm_hls_tcl_write(ctx, &to, tp)) return RM_ERR;
    note_file(info, "build.tcl");
    if (write_project(ctx, dir, q, part, clk, model, n, "stream", to.top)) return RM_ERR;
    note_file(info, RM_HLS_PROJECT_FILE);
    return RM_OK;
}

/* ---------------------------------------------------------------- C simulation */

typedef struct csim_watch {
    const rm_hls_run_opts *user;
    rm_hls_csim_result *r;
} csim_watch;

static void csim_log(void *ud, double el, const char *line) {
    csim_watch *w = ud;
    int s;
    long a, b;
    char nm[48];
    if (sscanf(line, "FIFO %47s depth %ld max %ld", nm, &a, &b) == 3 && w->r->nfifo < 128) {
        snprintf(w->r->fifo[w->r->nfifo].name, sizeof w->r->fifo[0].name, "%s", nm);
        w->r->fifo[w->r->nfifo].depth = a;
        w->r->fifo[w->r->nfifo].max = b;
        w->r->nfifo++;
    }
    /* the full FIFOs are the cause (a blocked writer); a blocked reader only when no writer is blocked */
    if (!strncmp(line, "DEADLOCK ", 9) && !w->r->deadlock_cause &&
        (!w->r->deadlock_msg[0] || (strstr(line, " writing ") && !w->r->deadlock_writer))) {
        snprintf(w->r->deadlock_msg, sizeof w->r->deadlock_msg, "%s", line + 9);
        w->r->deadlock_writer = strstr(line, " writing ") != NULL;
    }
    if (!strncmp(line, "DEADLOCK", 8)) w->r->deadlock = 1;
    if (!strncmp(line, "DEADLOCK_CAUSE ", 15) && !w->r->deadlock_cause)
        snprintf(w->r->deadlock_msg, sizeof w->r->deadlock_msg, "%s", line + 15), w->r->deadlock_cause = 1;
    if (sscanf(line, "RESULT samples=%d checked=%ld mismatches=%ld", &s, &a, &b) == 3) {
        w->r->samples = s;
        w->r->checked = a;
        w->r->mismatches = b;
        w->r->result_seen = 1;
    }
    if (w->user && w->user->log) w->user->log(w->user->log_ud, el, line);
}

int rm_hls_csim(rm_ctx *ctx, const char *dir, const rm_hls_run_opts *opts, rm_hls_csim_result *r) {
    rm_hls_csim_result local;
    if (!r) r = &local;
    memset(r, 0, sizeof *r);
    char p[1100];
    snprintf(p, sizeof p, "%s/resmlp_tb.cpp", dir);
    if (access(p, R_OK) != 0) return rm_err(ctx, "hls csim: no resmlp_tb.cpp in %s (run `hls emit %s` first)", dir, dir);
    char cxx[1024];
    const char *env = getenv("CXX");
    if (!((env && *env && rm_hls_which(env, cxx, sizeof cxx)) || rm_hls_which("g++", cxx, sizeof cxx) ||
          rm_hls_which("c++", cxx, sizeof cxx)))
        return rm_err(ctx, "hls csim: no C++ compiler (set CXX, or install g++: apt-get install g++)");
    csim_watch w = { opts, r };
    rm_hls_run_opts o = opts ? *opts : (rm_hls_run_opts){0};
    o.log = csim_log;
    o.log_ud = &w;
    o.log_path = NULL;
    /* compiler flags: fixed ones, then $RESMLP_CSIM_FLAGS split at spaces */
    const char *argv[48];
    int na = 0;
    argv[na++] = cxx;
    argv[na++] = "-O2";
    argv[na++] = "-std=c++14";
    argv[na++] = "-Wall";
    argv[na++] = "-Wno-unknown-pragmas";
    argv[na++] = "-Wno-unused-label";
    argv[na++] = "-DRM_CONCURRENT";   /* the testbench's third part: a thread per process, bounded FIFOs */
    argv[na++] = "-pthread";
    char extra[512] = "";
    const char *ef = getenv("RESMLP_CSIM_FLAGS");
    if (ef) snprintf(extra, sizeof extra, "%s", ef);
    for (char *t = strtok(extra, " \t"); t && na < 40; t = strtok(NULL, " \t")) argv[na++] = t;
    argv[na++] = "-o";
    argv[na++] = "csim_tb";
    argv[na++] = "resmlp.cpp";
    argv[na++] = "resmlp_tb.cpp";
    argv[na] = NULL;
    snprintf(p, sizeof p, "%s/csim_tb", dir);
    unlink(p);
    double t0 = rm_now();
    if (rm_hls_run(ctx, dir, argv, "the C++ compiler", &o, &r->run)) {
        rm_errprefix(ctx, "hls csim: compiling %s", dir);
        return RM_ERR;
    }
    r->compile_s = rm_now() - t0;
    const char *av2[] = { "./csim_tb", NULL };
    t0 = rm_now();
    int rc = rm_hls_run(ctx, dir, av2, "the testbench", &o, &r->run);
    r->run_s = rm_now() - t0;
    if (r->deadlock)
        return rm_err(ctx, "hls csim: deadlock in the concurrent run, every process blocked: %s (a FIFO too shallow; see hls_fifo.h)",
                      r->deadlock_msg[0] ? r->deadlock_msg : "(no detail)");
    if (r->result_seen && r->mismatches)
        return rm_err(ctx, "hls csim: %ld of %ld values differ from the integer engine over %d samples", r->mismatches,
                      r->checked, r->samples);
    if (rc) { rm_errprefix(ctx, "hls csim"); return RM_ERR; }
    if (!r->result_seen) return rm_err(ctx, "hls csim: the testbench printed no RESULT line");
    if (r->checked == 0) return rm_err(ctx, "hls csim: the testbench compared nothing");
    return RM_OK;
}
