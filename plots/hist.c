/* hist.c - histograms: binning raw values (or taking the caller's counts) into one bar series with a
 * stats line (n, mean, sd, min, max, p1, p50, p99, skipped values; one formatter for both kinds),
 * then drawing it as a line-plot panel. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hist_stats_line(const rm_hist_stats *st, char *buf, int n) {
    if (!(st->n > 0)) { snprintf(buf, (size_t)n, "n=0"); return; }
    const double v[7] = {st->mean, st->sd, st->min, st->max, st->p1, st->p50, st->p99};
    char a[7][24];
    for (int i = 0; i < 7; i++) fmt_value(v[i], a[i], 24);
    snprintf(buf, (size_t)n, "n=%.0f mean=%s sd=%s min=%s max=%s p1=%s p50=%s p99=%s", st->n, a[0], a[1], a[2], a[3], a[4],
             a[5], a[6]);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* q-th percentile of k sorted values, interpolated */
static double sorted_pct(const float *v, int k, double q) {
    double t = q / 100 * (k - 1);
    int i = (int)floor(t);
    return i + 1 < k ? v[i] + (t - i) * (v[i + 1] - v[i]) : v[k - 1];
}

/* stats of the finite raw values; counts the non-finite ones into *bad */
static int raw_stats(rm_ctx *ctx, const rm_hist *h, rm_hist_stats *st, int *bad) {
    float *v = malloc(sizeof(float) * (h->n > 0 ? h->n : 1));
    if (!v) return rm_err(ctx, "hist: out of memory for %d values", h->n);
    int k = 0;
    double s = 0, s2 = 0;
    for (int i = 0; i < h->n; i++)
        if (isfinite(h->values[i])) { v[k++] = h->values[i]; s += h->values[i]; }
    *bad = h->n - k;
    memset(st, 0, sizeof *st);
    st->n = k;
    if (k > 0) {
        st->mean = s / k;
        for (int i = 0; i < k; i++) s2 += (v[i] - st->mean) * (v[i] - st->mean);
        st->sd = k > 1 ? sqrt(s2 / (k - 1)) : 0;
        qsort(v, (size_t)k, sizeof *v, cmp_float);
        st->min = v[0]; st->max = v[k - 1];
        st->p1 = sorted_pct(v, k, 1); st->p50 = sorted_pct(v, k, 50); st->p99 = sorted_pct(v, k, 99);
    }
    free(v);
    return RM_OK;
}

int hist_prepare(rm_ctx *ctx, const rm_hist *h, hist_data *d) {
    memset(d, 0, sizeof *d);
    if (!h) return rm_err(ctx, "hist: no histogram description");
    if (h->nbins < 1 || h->nbins > 100000) return rm_err(ctx, "hist: nbins %d out of range (1..100000)", h->nbins);
    if (h->counts && !(h->lo < h->hi)) return rm_err(ctx, "hist: given counts need lo < hi (got %g, %g)", h->lo, h->hi);
    if (!h->counts && (h->n < 0 || (h->n > 0 && !h->values))) return rm_err(ctx, "hist: n = %d without values", h->n);
    int nb = h->nbins;
    d->x = malloc(sizeof(float) * nb);
    d->y = calloc((size_t)nb, sizeof(float));
    if (!d->x || !d->y) { hist_release(d); return rm_err(ctx, "hist: out of memory for %d bins", nb); }
    double lo = h->lo, hi = h->hi;
    char *note = d->note;
    int have = 1;                                           /* any finite value */
    if (h->counts) {
        for (int i = 0; i < nb; i++) d->y[i] = (float)h->counts[i];   /* non-finite: skipped by the panel */
        if (h->stats) hist_stats_line(h->stats, note, sizeof d->note);
    } else {
        rm_hist_stats st = {0};
        int bad = 0, out = 0;
        if (raw_stats(ctx, h, &st, &bad) != RM_OK) { hist_release(d); return RM_ERR; }
        have = st.n > 0;
        if (!(lo < hi)) { lo = have ? st.min : 0; hi = have ? st.max : 1; widen_range(&lo, &hi); }
        for (int i = 0; i < h->n; i++) {
            double v = h->values[i];
            if (!isfinite(v)) continue;
            if (v < lo || v > hi) { out++; continue; }
            int b = (int)((v - lo) / (hi - lo) * nb);
            d->y[b < 0 ? 0 : b >= nb ? nb - 1 : b] += 1;
        }
        hist_stats_line(&st, note, sizeof d->note);
        int n = (int)strlen(note);
        if (bad) n += snprintf(note + n, sizeof d->note - n, "; %d non-finite value%s skipped", bad, bad == 1 ? "" : "s");
        if (out) snprintf(note + n, sizeof d->note - n, "; %d outside the bin range", out);
    }
    for (int i = 0; i < nb; i++) d->x[i] = (float)(lo + (i + 0.5) * (hi - lo) / nb);
    /* no finite values: an empty series, so the panel says "(no data)" */
    d->s = (rm_series){.x = d->x, .y = d->y, .n = have ? nb : 0, .style = RM_STYLE_BARS, .colour = h->colour};
    d->p = (rm_plot){.title = h->title, .xlabel = h->xlabel, .ylabel = "count", .xmin = lo, .xmax = hi,
                     .series = &d->s, .nseries = 1};
    return RM_OK;
}

void hist_release(hist_data *d) { free(d->x); free(d->y); d->x = d->y = NULL; }

char *rm_plot_hist(rm_ctx *ctx, const rm_hist *h, int width, int height, int mode, int colour) {
    hist_data d;
    rm_canvas cv;
    if (hist_prepare(ctx, h, &d) != RM_OK) return NULL;
    if (cv_init(ctx, &cv, width, height, mode) != RM_OK) { hist_release(&d); return NULL; }
    panel_opt o = {.legend = 1, .xticks = 1, .note = d.note};
    draw_panel(&cv, 0, 0, width, height, &d.p, &o);
    char *s = cv_render(ctx, &cv, colour);
    cv_free(&cv);
    hist_release(&d);
    return s;
}
