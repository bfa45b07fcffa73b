/* curves.c - activation-layer lookup, curve sampling, tables, TV2 and input percentiles. */
#include "curves.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static int learned(const rm_model *m) { return rm_act_has_params(m->cfg.act.kind); }

int rm_curve_nlayers(const rm_model *m) { return m->cfg.L * (learned(m) ? 2 : 1); }

int rm_curve_layer_at(const rm_model *m, int i, rm_act_layer *a) {
    int per = learned(m) ? 2 : 1;
    if (i < 0 || i >= rm_curve_nlayers(m)) return RM_ERR;
    int block = i / per, slot = per == 2 ? i % 2 : 1;
    memset(a, 0, sizeof *a);
    a->block = block; a->slot = slot;
    a->C = slot == 0 ? m->cfg.D : m->cfg.H;
    a->cfg = &m->cfg.act;
    a->p = learned(m) ? (slot == 0 ? m->p.mlp[block].act1 : m->p.mlp[block].act2) : NULL;
    a->stats = &m->stats[block][slot];
    rm_model_act_name(m, block, slot, a->name, sizeof a->name);
    snprintf(a->short_name, sizeof a->short_name, "mlp.%d", learned(m) ? (slot ? 2 : 0) : 1);
    return RM_OK;
}

int rm_curve_layer(rm_ctx *ctx, const rm_model *m, int block, const char *layer, rm_act_layer *out) {
    if (block < 0 || block >= m->cfg.L) return rm_err(ctx, "block %d out of range 0..%d", block, m->cfg.L - 1);
    int per = learned(m) ? 2 : 1;
    for (int s = 0; s < per; s++) {
        rm_curve_layer_at(m, block * per + s, out);
        char slot[8];
        snprintf(slot, sizeof slot, "%d", out->slot);
        if (!strcmp(layer, out->short_name) || !strcmp(layer, out->short_name + 4) || !strcmp(layer, out->name))
            return RM_OK;
    }
    return rm_err(ctx, "no activation layer '%s' in block %d (this %s model has %s)", layer, block,
                  rm_act_name(m->cfg.act.kind), learned(m) ? "mlp.0 and mlp.2" : "mlp.1");
}

int rm_curve_sample(rm_ctx *ctx, const rm_act_layer *a, int ch, float lo, float hi, int n, int which, float *x, float *y) {
    if (ch < 0 || ch >= a->C) return rm_err(ctx, "%s: channel %d out of range 0..%d", a->name, ch, a->C - 1);
    if (n < 1 || !(lo <= hi) || !isfinite(lo) || !isfinite(hi)) return rm_err(ctx, "bad curve range [%g, %g] with %d points", lo, hi, n);
    for (int i = 0; i < n; i++) x[i] = n == 1 ? lo : lo + (hi - lo) * i / (n - 1);
    rm_act_curve(a->cfg, a->C, a->p, ch, which, x, y, n);
    return RM_OK;
}

int rm_curve_table(const rm_act_layer *a, int ch, float *vals, float *gx) {
    if (!a->p || ch < 0 || ch >= a->C) return 0;
    int n = rm_act_table(a->cfg, a->C, a->p, ch, vals);
    if (gx) {
        if (a->cfg->kind == RM_ACT_BSPLINE) {
            int half = (a->cfg->K - 1) / 2;
            for (int i = 0; i < n; i++) gx[i] = (i - half) * a->cfg->spacing;
        } else {
            for (int i = 0; i < n; i++) gx[i] = -a->cfg->R + 2 * a->cfg->R * i / (n - 1);
        }
    }
    return n;
}

float rm_curve_tv2(const rm_act_layer *a, int ch) {
    if (a->cfg->kind != RM_ACT_BSPLINE || ch < 0 || ch >= a->C) return 0;
    const float *c = a->p + (size_t)ch * a->cfg->K;
    double s = 0;
    for (int k = 0; k + 2 < a->cfg->K; k++) s += fabs(c[k] - 2 * c[k + 1] + c[k + 2]);
    return (float)(s / a->cfg->spacing);
}

float rm_curve_percentile(const rm_act_stats *s, float q) {
    if (!s || s->count <= 0) return NAN;
    double target = s->count * q / 100.0, acc = 0;
    double w = (s->hist_hi - s->hist_lo) / RM_HIST_BINS;
    for (int b = 0; b < RM_HIST_BINS; b++) {
        if (acc + s->hist[b] >= target && s->hist[b] > 0) {
            double f = (target - acc) / s->hist[b];
            float v = (float)(s->hist_lo + (b + f) * w);
            return v < s->min ? s->min : v > s->max ? s->max : v;
        }
        acc += s->hist[b];
    }
    return s->max;
}

void rm_curve_default_range(const rm_act_layer *a, float *lo, float *hi) {
    float R = a->cfg->kind == RM_ACT_LERP_PSA ? a->cfg->R : 4.0f;
    if (a->stats && a->stats->count > 0) {
        float p1 = rm_curve_percentile(a->stats, 1), p99 = rm_curve_percentile(a->stats, 99);
        float pad = 0.1f * (p99 - p1) + 1e-3f;
        *lo = p1 - pad; *hi = p99 + pad;
        if (a->cfg->kind == RM_ACT_LERP_PSA) {   /* keep the grid range [-R, R] in view */
            if (*lo > -R * 1.05f) *lo = -R * 1.05f;
            if (*hi < R * 1.05f) *hi = R * 1.05f;
        }
    } else {
        *lo = -R; *hi = R;
    }
}
