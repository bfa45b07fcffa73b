/* hist.c - histograms: binning raw values (or taking the caller's counts) into one bar series with a
 * summary note (n, mean, sd, min, max, skipped values), then drawing it as a line-plot panel. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    } else {
        double mn = INFINITY, mx = -INFINITY, s = 0, s2 = 0;
        int k = 0, bad = 0, out = 0;
        for (int i = 0; i < h->n; i++) {
            double v = h->values[i];
            if (!isfinite(v)) { bad++; continue; }
            mn = fmin(mn, v); mx = fmax(mx, v); s += v; k++;
        }
        double mean = k ? s / k : 0;
        have = k > 0;
        for (int i = 0; i < h->n; i++) if (isfinite(h->values[i])) s2 += (h->values[i] - mean) * (h->values[i] - mean);
        if (!(lo < hi)) { lo = k ? mn : 0; hi = k ? mx : 1; widen_range(&lo, &hi); }
        for (int i = 0; i < h->n; i++) {
            double v = h->values[i];
            if (!isfinite(v)) continue;
            if (v < lo || v > hi) { out++; continue; }
            int b = (int)((v - lo) / (hi - lo) * nb);
            d->y[b < 0 ? 0 : b >= nb ? nb - 1 : b] += 1;
        }
        char a[5][24];
        fmt_value(mean, a[0], 24); fmt_value(k > 1 ? sqrt(s2 / (k - 1)) : 0, a[1], 24);
        fmt_value(mn, a[2], 24); fmt_value(mx, a[3], 24);
        int n = k ? snprintf(note, sizeof d->note, "n=%d mean=%s sd=%s min=%s max=%s", k, a[0], a[1], a[2], a[3])
                  : snprintf(note, sizeof d->note, "n=0");
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
