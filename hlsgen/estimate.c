/* estimate.c - analytic model of the streaming design and the folding search. See estimate.h.
 *
 * Cycles (one image), for a stage with V outer iterations:
 *   matmul:      V * (ceil(OUT/PE) * ceil(IN/SIMD) + 1)
 *   other kinds: V * (ceil(C/PE) + 1)                      (C = channels per vector)
 * The inner loop is pipelined at II=1 and the "+1" is the cycle the non-pipelined outer loop spends
 * per iteration (loop entry/exit). At the paper's point (SIMD = IN, PE = 1):
 *   token mixer (V = D = 96 channels, 64 outputs): 96 * (64 + 1) = 6,240
 *   mlp_linear_1 (V = T = 64 tokens, h outputs):   64 * (h + 1)  = 6,208 (h=96) / 12,352 (h=192)
 * so II = max(D*(T+1), T*(h+1)) - the paper's "64*h + h_in" - 6,240 for h = 96 and 12,352 for h = 192.
 *   II      = max over stages (the slowest stage sets the rate of a dataflow pipeline)
 *   latency = sum over stages (exact when each stage hands a whole image to the next through a
 *             ping-pong buffer, an upper bound when stages overlap through FIFOs)
 *   fps     = 1e9 / (II * clock_ns)
 *
 * Resources, with c = rm_hls_cost and lanes = PE:
 *   matmul:  MACs = PE*SIMD
 *            DSP  = ceil(MACs * c.dsp_per_mac)
 *            LUT  = MACs*(c.lut_per_mac [+ c.lut_fabric_mul if no DSP]) + PE*(c.lut_requant [+ c.lut_relu])
 *                   + weights + bias/shift table
 *            FF   = MACs*c.ff_per_mac + PE*c.ff_requant + 2*IN*8 (double-buffered input vector)
 *            weights: PE banks, each SIMD*8 bits wide and ceil(IN/SIMD)*ceil(OUT/PE) deep
 *   affine:  per lane one multiply (as a MAC) + requant; parameters (w 8, b 8, shift 5 bits) per channel
 *   resadd:  per lane one multiply (res_affine on the skip path) + requant + 8-bit adder/clamp (10 LUT)
 *   lut:     per lane the interpolation datapath (c.lut_lerp, c.ff_lerp) and its share of the table:
 *            64*C/PE entries of 8 bits, read twice per cycle (L[m], L[m+1]): in LUTs as even/odd
 *            banks (2 x 32*C/PE entries), or one dual-port BRAM bank
 *   pool:    per lane a 16-bit accumulator per channel (LUT RAM, dual port) + adder/round (30 LUT, 24 FF)
 *   every stage: c.lut_stage / c.ff_stage control; its output FIFO by its width w = 8 x vector length:
 *            w * c.fifo_lut_per_bit LUTs + w * c.fifo_ff_per_bit FFs (depth 2) + c.lut_stream / c.ff_stream
 *   buffers (buf_bytes): split into max(PE, SIMD) banks of 8 bits, dual port
 *   calibrated kinds (c.kind[k].pe set, `hls estimate calibrate=yosys`, calib.h): the per-lane LUT / FF /
 *            DSP above are replaced by the Yosys cells of that kind's PE, and for lut / pool the table /
 *            accumulator memory in LUTs by the measured cells per channel (a two-point fit); parameter
 *            memories, buffers, FIFOs and the per-stage control stay analytic
 *   a memory bank of width w bits and depth d: d <= c.lutmem_max_depth -> w*ceil(d/64) LUTs (one LUT6
 *            holds 64x1; RAMs take twice that for the second port), else the fewest BRAM_18K over
 *            the aspect ratios 512x36, 1Kx18, 2Kx9, 4Kx4, 8Kx2, 16Kx1.
 */
#include "estimate.h"
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long cdiv(long a, long b) { return (a + b - 1) / b; }

rm_hls_dims rm_hls_dims_paper(int act, int h) {
    rm_hls_dims d = { .D = 96, .T = 64, .P = 48, .h = h, .L = 4, .classes = 10, .act = act };
    return d;
}

static const char *kind_names[] = { "matmul", "affine", "resadd", "lut", "pool" };
const char *rm_hls_stage_kind_name(int k) { return k >= 0 && k <= RM_HLS_ST_POOL ? kind_names[k] : "?"; }

rm_hls_cost rm_hls_cost_default(void) {
    rm_hls_cost c = {
        .dsp_per_mac = 1.0, .lut_per_mac = 12, .ff_per_mac = 16, .lut_fabric_mul = 40,
        .lut_requant = 40, .ff_requant = 32, .lut_lerp = 40, .ff_lerp = 40, .lut_relu = 8,
        .lut_stage = 150, .ff_stage = 200, .lut_stream = 12, .ff_stream = 8, .lutmem_max_depth = 256,
        .fifo_lut_per_bit = 0.5, .fifo_ff_per_bit = 2.0,
    };
    return c;
}

static rm_hls_stage *add(rm_hls_design *d, const char *name, int kind, int v, int in, int out) {
    rm_hls_stage *s = &d->st[d->nstages++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->kind = kind;
    s->vectors = v;
    s->in = in;
    s->out = out;
    s->pe = 1;
    s->simd = kind == RM_HLS_ST_MATMUL ? in : 1;
    return s;
}

int rm_hls_design_init(rm_ctx *ctx, rm_hls_design *d, const rm_hls_dims *m, double clock_ns) {
    memset(d, 0, sizeof *d);
    if (!m || m->D <= 0 || m->T <= 0 || m->P <= 0 || m->h <= 0 || m->L <= 0 || m->classes <= 0)
        return rm_err(ctx, "hls estimate: model dimensions must be positive (D %d, T %d, P %d, h %d, L %d, "
                      "classes %d)", m ? m->D : 0, m ? m->T : 0, m ? m->P : 0, m ? m->h : 0, m ? m->L : 0,
                      m ? m->classes : 0);
    if (m->act != RM_HLS_ACT_RELU && m->act != RM_HLS_ACT_LERP)
        return rm_err(ctx, "hls estimate: activation must be relu or lerp");
    int per_block = m->act == RM_HLS_ACT_LERP ? 9 : 7;
    if (3 + m->L * per_block > RM_HLS_MAX_STAGES)
        return rm_err(ctx, "hls estimate: %d blocks make more than %d stages", m->L, RM_HLS_MAX_STAGES);
    d->dims = *m;
    d->clock_ns = clock_ns > 0 ? clock_ns : 5.0;
    int D = m->D, T = m->T, h = m->h;
    char nm[48];
    add(d, "embed_linear", RM_HLS_ST_MATMUL, T, m->P, D);
    for (int i = 0; i < m->L; i++) {
        rm_hls_stage *s;
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer_affine_1", i);
        add(d, nm, RM_HLS_ST_AFFINE, T, D, D);
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer_linear", i);
        s = add(d, nm, RM_HLS_ST_MATMUL, D, T, T);
        s->buf_bytes = 2L * T * D;                  /* transpose in: ping-pong image */
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer_affine_2", i);
        add(d, nm, RM_HLS_ST_AFFINE, D, T, T);
        snprintf(nm, sizeof nm, "blocks_%d_token_mixer_res", i);
        s = add(d, nm, RM_HLS_ST_RESADD, T, D, D);
        s->buf_bytes = 3L * T * D;                  /* transpose back (ping-pong) + skip path image */
        if (m->act == RM_HLS_ACT_LERP) {
            snprintf(nm, sizeof nm, "blocks_%d_mlp_psa_0", i);
            add(d, nm, RM_HLS_ST_LUT, T, D, D);
        }
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_1", i);
        s = add(d, nm, RM_HLS_ST_MATMUL, T, D, h);
        s->relu = m->act == RM_HLS_ACT_RELU;
        if (m->act == RM_HLS_ACT_LERP) {
            snprintf(nm, sizeof nm, "blocks_%d_mlp_psa_1", i);
            add(d, nm, RM_HLS_ST_LUT, T, h, h);
        }
        snprintf(nm, sizeof nm, "blocks_%d_mlp_linear_2", i);
        add(d, nm, RM_HLS_ST_MATMUL, T, h, D);
        snprintf(nm, sizeof nm, "blocks_%d_mlp_res", i);
        s = add(d, nm, RM_HLS_ST_RESADD, T, D, D);
        s->buf_bytes = 4L * D;                      /* skip FIFO over the per-token MLP delay */
    }
    add(d, "pool", RM_HLS_ST_POOL, T, D, D);
    rm_hls_stage *cls = add(d, "classifier_linear", RM_HLS_ST_MATMUL, 1, D, m->classes);
    rm_hls_estimate(d, NULL);
    /* the classifier sees one vector per image: its default SIMD is the smallest divisor of its inputs
     * that keeps it within the interval of the others - what the folding search picks for it at the
     * design's rate (SIMD = IN would spend IN multipliers on 11 busy cycles per image) */
    for (int simd = 1; simd <= cls->in; simd++) {
        if (cls->in % simd) continue;
        long cyc = (long)cls->vectors * ((long)cdiv(cls->out, cls->pe) * cdiv(cls->in, simd) + 1);
        if (cyc <= d->ii) { cls->simd = simd; break; }
    }
    rm_hls_estimate(d, NULL);
    return RM_OK;
}

int rm_hls_set_pruned(rm_ctx *ctx, rm_hls_design *d, const char *stage, int pruned_in) {
    int i = rm_hls_find_stage(d, stage);
    if (i < 0) return rm_err(ctx, "no stage %s in the design", stage);
    if (d->st[i].kind != RM_HLS_ST_MATMUL || pruned_in < 0 || pruned_in >= d->st[i].in)
        return rm_err(ctx, "%s: %d pruned inputs of %d (matmuls only, at least one input kept)", stage, pruned_in, d->st[i].in);
    d->st[i].pruned_in = pruned_in;
    return RM_OK;
}

int rm_hls_find_stage(const rm_hls_design *d, const char *name) {
    for (int i = 0; i < d->nstages; i++) if (!strcmp(d->st[i].name, name)) return i;
    return -1;
}

static int check_par(rm_ctx *ctx, const rm_hls_stage *s, int pe, int simd) {
    if (pe < 1 || s->out % pe)
        return rm_err(ctx, "%s: PE %d must divide its %d outputs", s->name, pe, s->out);
    if (s->kind == RM_HLS_ST_MATMUL) {
        if (simd < 1 || s->in % simd)
            return rm_err(ctx, "%s: SIMD %d must divide its %d inputs", s->name, simd, s->in);
    } else if (simd != 1)
        return rm_err(ctx, "%s: SIMD must be 1 for a %s stage", s->name, rm_hls_stage_kind_name(s->kind));
    return RM_OK;
}

int rm_hls_set_par(rm_ctx *ctx, rm_hls_design *d, const char *stage, int pe, int simd) {
    int i = rm_hls_find_stage(d, stage);
    if (i < 0) return rm_err(ctx, "no stage named %s in this design", stage);
    if (check_par(ctx, &d->st[i], pe, simd) != RM_OK) return RM_ERR;
    d->st[i].pe = pe;
    d->st[i].simd = simd;
    return RM_OK;
}

/* ---------------------------------------------------------------- the model */


static long stage_cycles(const rm_hls_stage *s) {
    if (s->kind == RM_HLS_ST_MATMUL)
        return (long)s->vectors * (cdiv(s->out, s->pe) * cdiv(s->in - s->pruned_in, s->simd) + 1);
    return (long)s->vectors * (cdiv(s->out, s->pe) + 1);
}

static long bram_count(long w, long d) {
    static const long cfg[6][2] = { {36, 512}, {18, 1024}, {9, 2048}, {4, 4096}, {2, 8192}, {1, 16384} };
    long best = -1;
    for (int i = 0; i < 6; i++) {
        long n = cdiv(w, cfg[i][0]) * cdiv(d, cfg[i][1]);
        if (best < 0 || n < best) best = n;
    }
    return best;
}

/* one memory bank of w bits x d entries; ports = 1 (ROM) or 2 (dual-port RAM) */
static void mem_bank(const rm_hls_cost *c, long w, long d, int ports, double *lut, long *bram) {
    if (d <= 0 || w <= 0) return;
    if (d <= c->lutmem_max_depth) *lut += (double)ports * w * cdiv(d, 64);
    else *bram += bram_count(w, d);
}

static void stage_res(const rm_hls_cost *c, rm_hls_stage *s) {
    /* the output FIFO: whole vectors of s->out int8 values, depth 2 -> two registers per bit and a
     * 2:1 read mux (two bits per LUT6), plus pointer/flag control */
    double fifo_w = 8.0 * s->out;
    double lut = c->lut_stage + c->lut_stream + fifo_w * c->fifo_lut_per_bit;
    double ff = c->ff_stage + c->ff_stream + fifo_w * c->fifo_ff_per_bit, dsp = 0;
    long bram = 0;
    long C = s->out;
    double mul_lut = c->dsp_per_mac > 0 ? 0 : c->lut_fabric_mul;
    const struct rm_hls_kind_cal *kc = &c->kind[s->kind];
    snprintf(s->src, sizeof s->src, "%s", kc->pe);
    switch (s->kind) {
    case RM_HLS_ST_MATMUL: {
        long kept = s->in - s->pruned_in;   /* pruned inputs need no multiplier lanes either */
        long macs = (long)s->pe * (s->simd < kept ? s->simd : kept);
        dsp += macs * c->dsp_per_mac;
        lut += macs * (c->lut_per_mac + mul_lut) + s->pe * (c->lut_requant + (s->relu ? c->lut_relu : 0));
        ff += macs * c->ff_per_mac + s->pe * c->ff_requant + 2.0 * s->in * 8;
        long depth = cdiv(s->in - s->pruned_in, s->simd) * cdiv(s->out, s->pe);
        for (int p = 0; p < s->pe; p++) mem_bank(c, 8L * s->simd, depth, 1, &lut, &bram);
        for (int p = 0; p < s->pe; p++) mem_bank(c, 13, cdiv(s->out, s->pe), 1, &lut, &bram); /* bias 8 + shift 5 */
        break;
    }
    case RM_HLS_ST_AFFINE:
        if (kc->pe[0]) { dsp += s->pe * kc->dsp; lut += s->pe * kc->lut; ff += s->pe * kc->ff; }
        else {
            dsp += s->pe * c->dsp_per_mac;
            lut += s->pe * (c->lut_per_mac + mul_lut + c->lut_requant);
            ff += s->pe * (c->ff_per_mac + c->ff_requant);
        }
        for (int p = 0; p < s->pe; p++) mem_bank(c, 21, cdiv(C, s->pe), 1, &lut, &bram);
        break;
    case RM_HLS_ST_RESADD:
        if (kc->pe[0]) { dsp += s->pe * kc->dsp; lut += s->pe * kc->lut; ff += s->pe * kc->ff; }
        else {
            dsp += s->pe * c->dsp_per_mac;
            lut += s->pe * (c->lut_per_mac + mul_lut + c->lut_requant + 10);
            ff += s->pe * (c->ff_per_mac + c->ff_requant + 8);
        }
        for (int p = 0; p < s->pe; p++) mem_bank(c, 21, cdiv(C, s->pe), 1, &lut, &bram);
        break;
    case RM_HLS_ST_LUT: {
        if (kc->pe[0]) { dsp += s->pe * kc->dsp; lut += s->pe * kc->lut; ff += s->pe * kc->ff; }
        else { lut += s->pe * c->lut_lerp; ff += s->pe * c->ff_lerp; }
        long entries = 64 * cdiv(C, s->pe);
        for (int p = 0; p < s->pe; p++) {
            if (entries / 2 <= c->lutmem_max_depth) {
                if (kc->pe[0] && kc->has_ch) {                     /* measured LUTs per channel's table */
                    lut += cdiv(C, s->pe) * kc->lut_ch;
                    ff += cdiv(C, s->pe) * kc->ff_ch;
                } else {
                    mem_bank(c, 8, entries / 2, 1, &lut, &bram);   /* even entries */
                    mem_bank(c, 8, entries / 2, 1, &lut, &bram);   /* odd entries */
                }
            } else bram += bram_count(8, entries);                 /* dual-port: both reads */
        }
        break;
    }
    case RM_HLS_ST_POOL:
        if (kc->pe[0]) { lut += s->pe * kc->lut; ff += s->pe * kc->ff; dsp += s->pe * kc->dsp; }
        else { lut += s->pe * 30.0; ff += s->pe * 24.0; }
        for (int p = 0; p < s->pe; p++) {
            if (kc->pe[0] && kc->has_ch && cdiv(C, s->pe) <= c->lutmem_max_depth) {
                lut += cdiv(C, s->pe) * kc->lut_ch;                /* measured accumulator memory per channel */
                ff += cdiv(C, s->pe) * kc->ff_ch;
            } else mem_bank(c, 16, cdiv(C, s->pe), 2, &lut, &bram);
        }
        break;
    }
    if (s->buf_bytes > 0) {
        int banks = s->pe > s->simd ? s->pe : s->simd;
        for (int b = 0; b < banks; b++) mem_bank(c, 8, cdiv(s->buf_bytes, banks), 2, &lut, &bram);
    }
    s->cycles = stage_cycles(s);
    s->lut = (long)ceil(lut);
    s->ff = (long)ceil(ff);
    s->dsp = (long)ceil(dsp);
    s->bram18 = bram;
}

void rm_hls_estimate(rm_hls_design *d, const rm_hls_cost *cost) {
    rm_hls_cost def = rm_hls_cost_default();
    const rm_hls_cost *c = cost ? cost : &def;
    d->ii = d->latency = 0;
    d->lut = d->ff = d->dsp = d->bram18 = 0;
    d->slowest = 0;
    for (int i = 0; i < d->nstages; i++) {
        rm_hls_stage *s = &d->st[i];
        stage_res(c, s);
        if (s->cycles > d->ii) { d->ii = s->cycles; d->slowest = i; }
        d->latency += s->cycles;
        d->lut += s->lut;
        d->ff += s->ff;
        d->dsp += s->dsp;
        d->bram18 += s->bram18;
    }
    d->fps = d->ii > 0 ? 1e9 / ((double)d->ii * d->clock_ns) : 0;
}

typedef struct ob { char *b; size_t n, off; int total; } ob;
static void put(ob *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(ob *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->off < o->n ? o->b + o->off : NULL, o->off < o->n ? o->n - o->off : 0, fmt, ap);
    va_end(ap);
    if (k > 0) { o->off += (size_t)k; o->total += k; }
}

int rm_hls_estimate_format(const rm_hls_design *d, char *buf, size_t n) {
    ob o = { buf, n, 0, 0 };
    if (n) buf[0] = 0;
    const rm_hls_dims *m = &d->dims;
    put(&o, "streaming design estimate: ResMLP %s h=%d (D %d, T %d, %d blocks), clock %.2f ns (%.0f MHz)\n",
        m->act == RM_HLS_ACT_LERP ? "LERP-PSA" : "ReLU", m->h, m->D, m->T, m->L, d->clock_ns, 1000.0 / d->clock_ns);
    put(&o, "  %-32s %-6s %4s %4s %4s %4s %4s %8s %8s %8s %6s %6s  %s\n", "stage", "kind", "V", "IN", "OUT",
        "PE", "SIMD", "cycles", "LUT", "FF", "DSP", "BRAM", "resources");
    for (int i = 0; i < d->nstages; i++) {
        const rm_hls_stage *s = &d->st[i];
        put(&o, "%c %-32s %-6s %4d %4d %4d %4d %4d %8ld %8ld %8ld %6ld %6ld  %s%s\n", i == d->slowest ? '*' : ' ',
            s->name, rm_hls_stage_kind_name(s->kind), s->vectors, s->in, s->out, s->pe, s->simd, s->cycles,
            s->lut, s->ff, s->dsp, s->bram18, s->src[0] ? "yosys " : "analytic", s->src);
    }
    put(&o, "  total: LUT %ld, FF %ld, DSP %ld, BRAM_18K %ld\n", d->lut, d->ff, d->dsp, d->bram18);
    put(&o, "  interval %ld cycles (slowest stage *: %s), latency %ld cycles, %.0f images/s\n", d->ii,
        d->nstages ? d->st[d->slowest].name : "-", d->latency, d->fps);
    if (d->nstages) {
        const rm_hls_stage *s = &d->st[d->slowest];
        put(&o, "  cycles per stage: V * (ceil(OUT/PE) * ceil(IN/SIMD) + 1) for matmuls, V * (ceil(C/PE) + 1) otherwise;\n"
                "  the +1 is the cycle the outer (per-vector) loop, not pipelined, spends entering the pipelined inner loop\n");
        if (s->kind == RM_HLS_ST_MATMUL)
            put(&o, "  interval = %d * (ceil(%d/%d) * ceil(%d/%d) + 1) = %ld (%s); latency = the sum over the stages\n",
                s->vectors, s->out, s->pe, s->in, s->simd, s->cycles, s->name);
        else
            put(&o, "  interval = %d * (ceil(%d/%d) + 1) = %ld (%s); latency = the sum over the stages\n", s->vectors,
                s->out, s->pe, s->cycles, s->name);
    }
    return o.total;
}

/* ---------------------------------------------------------------- budget and folding */

int rm_hls_budget_parse(rm_ctx *ctx, const char *s, rm_hls_budget *b) {
    b->lut = b->ff = b->dsp = b->bram18 = -1;
    if (!s || !*s) return rm_err(ctx, "budget: empty (expected e.g. lut:200000,dsp:1000)");
    const char *p = s;
    int any = 0;
    while (*p) {
        char key[16];
        int k = 0;
        while (*p && *p != ':' && *p != ',' && k < 15) key[k++] = (char)tolower((unsigned char)*p++);
        key[k] = 0;
        if (*p != ':') return rm_err(ctx, "budget '%s': expected NAME:NUMBER items separated by commas "
                                     "(NAME one of lut, ff, dsp, bram)", s);
        p++;
        char *e;
        double v = strtod(p, &e);
        if (e == p || v < 0) return rm_err(ctx, "budget '%s': '%s' needs a non-negative number", s, key);
        if (*e == 'k' || *e == 'K') { v *= 1e3; e++; }
        else if (*e == 'M' || *e == 'm') { v *= 1e6; e++; }
        if (*e && *e != ',') return rm_err(ctx, "budget '%s': unexpected '%c' after %s's number", s, *e, key);
        long *dst = !strcmp(key, "lut") ? &b->lut : !strcmp(key, "ff") ? &b->ff : !strcmp(key, "dsp") ? &b->dsp
                  : (!strcmp(key, "bram") || !strcmp(key, "bram18") || !strcmp(key, "bram_18k")) ? &b->bram18 : NULL;
        if (!dst) return rm_err(ctx, "budget '%s': unknown resource '%s' (known: lut, ff, dsp, bram)", s, key);
        *dst = (long)(v + 0.5);
        any = 1;
        p = *e == ',' ? e + 1 : e;
    }
    if (!any) return rm_err(ctx, "budget '%s': no resource given", s);
    return RM_OK;
}

/* the first resource over budget, or NULL */
static const char *over(const rm_hls_design *d, const rm_hls_budget *b, long *used, long *lim) {
    if (b->lut >= 0 && d->lut > b->lut) { *used = d->lut; *lim = b->lut; return "lut"; }
    if (b->dsp >= 0 && d->dsp > b->dsp) { *used = d->dsp; *lim = b->dsp; return "dsp"; }
    if (b->ff >= 0 && d->ff > b->ff) { *used = d->ff; *lim = b->ff; return "ff"; }
    if (b->bram18 >= 0 && d->bram18 > b->bram18) { *used = d->bram18; *lim = b->bram18; return "bram"; }
    return NULL;
}

static int next_div(int n, int cur) {
    for (int k = cur + 1; k <= n; k++) if (n % k == 0) return k;
    return 0;
}

int rm_hls_fold(rm_ctx *ctx, rm_hls_design *d, const rm_hls_cost *cost, const rm_hls_budget *budget,
                double target_fps, rm_hls_fold_info *info) {
    rm_hls_fold_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    rm_hls_budget nob = { -1, -1, -1, -1 };
    if (!budget) budget = &nob;
    for (int i = 0; i < d->nstages; i++) d->st[i].pe = d->st[i].simd = 1;
    rm_hls_estimate(d, cost);
    long used, lim;
    const char *r = over(d, budget, &used, &lim);
    if (r)
        return rm_err(ctx, "budget %s:%ld is below the smallest design (PE = SIMD = 1 everywhere needs "
                      "%s %ld; it has LUT %ld, FF %ld, DSP %ld, BRAM_18K %ld)", r, lim, r, used,
                      d->lut, d->ff, d->dsp, d->bram18);
    for (int guard = 0; guard < 100000; guard++) {
        if (target_fps > 0 && d->fps >= target_fps) {
            info->met_target = 1;
            snprintf(info->limit, sizeof info->limit, "target %.0f images/s reached", target_fps);
            break;
        }
        int i = d->slowest;
        rm_hls_stage *s = &d->st[i];
        int cand[2][2], nc = 0;   /* (pe, simd) */
        if (s->kind == RM_HLS_ST_MATMUL && s->simd < s->in) {
            cand[nc][0] = s->pe; cand[nc][1] = next_div(s->in, s->simd); nc++;
        }
        if (s->pe < s->out) { cand[nc][0] = next_div(s->out, s->pe); cand[nc][1] = s->simd; nc++; }
        if (nc == 0) {
            snprintf(info->limit, sizeof info->limit, "slowest stage %s is at full parallelism", s->name);
            break;
        }
        int pe0 = s->pe, simd0 = s->simd, ok = 0;
        const char *why = NULL;
        long why_lim = 0;
        for (int k = 0; k < nc && !ok; k++) {
            s->pe = cand[k][0];
            s->simd = cand[k][1];
            rm_hls_estimate(d, cost);
            const char *o = over(d, budget, &used, &lim);
            if (!o) ok = 1;
            else if (!why) { why = o; why_lim = lim; }
        }
        if (!ok) {
            s->pe = pe0;
            s->simd = simd0;
            rm_hls_estimate(d, cost);
            snprintf(info->limit, sizeof info->limit, "budget %s:%ld - relieving the slowest stage %s "
                     "(PE %d, SIMD %d) would exceed it", why, why_lim, s->name, pe0, simd0);
            break;
        }
        info->steps++;
    }
    /* trim: the fewest lanes per stage that still keep up with the interval reached */
    long ii = d->ii;
    for (int i = 0; i < d->nstages; i++) {
        rm_hls_stage *s = &d->st[i];
        int bpe = s->pe, bsimd = s->simd;
        long best_lanes = (long)s->pe * s->simd;
        for (int pe = 1; pe <= s->out; pe++) {
            if (s->out % pe) continue;
            for (int simd = 1; simd <= (s->kind == RM_HLS_ST_MATMUL ? s->in : 1); simd++) {
                if (s->in % simd && s->kind == RM_HLS_ST_MATMUL) continue;
                long lanes = (long)pe * simd;
                if (lanes >= best_lanes) continue;
                rm_hls_stage t = *s;
                t.pe = pe;
                t.simd = simd;
                if (stage_cycles(&t) <= ii) { best_lanes = lanes; bpe = pe; bsimd = simd; }
            }
        }
        if (bpe != s->pe || bsimd != s->simd) {
            int ope = s->pe, osimd = s->simd;
            long olut = d->lut, odsp = d->dsp, off = d->ff, obram = d->bram18;
            s->pe = bpe;
            s->simd = bsimd;
            rm_hls_estimate(d, cost);
            /* keep only if nothing grew (memories can move between LUT and BRAM) */
            if (d->lut > olut || d->dsp > odsp || d->ff > off || d->bram18 > obram || d->ii > ii) {
                s->pe = ope;
                s->simd = osimd;
                rm_hls_estimate(d, cost);
            }
        }
    }
    return RM_OK;
}

/* ---------------------------------------------------------------- parallelism header */

static void upper(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = 0;
}

int rm_hls_par_format(const rm_hls_design *d, char *buf, size_t n) {
    ob o = { buf, n, 0, 0 };
    if (n) buf[0] = 0;
    put(&o, "/* hls_parallelism.h - generated by resmlp: per-layer parallelism of the streaming design.\n"
            " * PE = output lanes, SIMD = input lanes of a matmul (PE divides OUT, SIMD divides IN).\n"
            " * Estimated interval %ld cycles, %.0f images/s at %.2f ns; LUT %ld, FF %ld, DSP %ld, BRAM_18K %ld. */\n",
        d->ii, d->fps, d->clock_ns, d->lut, d->ff, d->dsp, d->bram18);
    put(&o, "#ifndef HLS_PARALLELISM_H\n#define HLS_PARALLELISM_H\n");
    for (int i = 0; i < d->nstages; i++) {
        char u[64];
        upper(u, d->st[i].name, sizeof u);
        put(&o, "#define %s_PE %d\n#define %s_SIMD %d\n", u, d->st[i].pe, u, d->st[i].simd);
    }
    put(&o, "#endif\n");
    return o.total;
}

int rm_hls_par_load(rm_ctx *ctx, rm_hls_design *d, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return rm_err(ctx, "cannot open %s", path);
    char line[512];
    int ln = 0, rc = RM_OK;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char name[128];
        int v;
        if (sscanf(line, " #define %127s %d", name, &v) != 2) continue;
        size_t l = strlen(name);
        int is_pe = l > 3 && !strcmp(name + l - 3, "_PE");
        int is_simd = l > 5 && !strcmp(name + l - 5, "_SIMD");
        if (!is_pe && !is_simd) continue;
        name[l - (is_pe ? 3 : 5)] = 0;
        int idx = -1;
        for (int i = 0; i < d->nstages; i++) {
            char u[64];
            upper(u, d->st[i].name, sizeof u);
            if (!strcmp(u, name)) { idx = i; break; }
        }
        if (idx < 0) { rc = rm_err(ctx, "%s:%d: no stage %s in this design", path, ln, name); break; }
        rm_hls_stage *s = &d->st[idx];
        if (check_par(ctx, s, is_pe ? v : s->pe, is_pe ? s->simd : v) != RM_OK) {
            rm_errprefix(ctx, "%s:%d", path, ln);
            rc = RM_ERR;
            break;
        }
        if (is_pe) s->pe = v; else s->simd = v;
    }
    fclose(f);
    if (rc == RM_OK) rm_hls_estimate(d, NULL);
    return rc;
}
