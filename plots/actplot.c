/* actplot.c - model-aware plots: activation curves, channel grids, weight/input histograms, token
 * heatmaps and training history, assembled from core/curves.h and rendered by plot.h. */
#include "actplot.h"
#include "core/curves.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPTS 241

static char *render_lines(rm_ctx *ctx, const rm_plot *p, const rm_plot_opts *o) {
    return o->svg ? rm_svg_lines(ctx, p, o->width, o->height) : rm_plot_lines(ctx, p, o->width, o->height, o->mode, o->colour);
}

typedef struct {          /* storage behind one channel's series */
    float x[NPTS], y[NPTS], ys[NPTS], relu[NPTS], tx[4097], ty[4097];
    rm_series s[8];
    char title[160];
    double vl[2];
} chan_buf;

/* fill one panel for channel ch; returns number of series */
static int build_channel(rm_ctx *ctx, const rm_act_layer *a, int ch, float lo, float hi, chan_buf *b, rm_plot *p,
                         const rm_plot_extra *extra, int nextra, int mini) {
    if (rm_curve_sample(ctx, a, ch, lo, hi, NPTS, 0, b->x, b->y)) return -1;
    int ns = 0;
    for (int i = 0; i < NPTS; i++) b->relu[i] = b->x[i] > 0 ? b->x[i] : 0;
    if (a->cfg->kind != RM_ACT_RELU) b->s[ns++] = (rm_series){.name = "relu", .x = b->x, .y = b->relu, .n = NPTS, .dash = RM_DASH_DOTTED, .colour = 7};
    int lerp = a->cfg->kind == RM_ACT_LERP_PSA;
    if (lerp && !mini) {
        rm_curve_sample(ctx, a, ch, lo, hi, NPTS, 1, b->x, b->ys);
        b->s[ns++] = (rm_series){.name = "ResPSA (smooth)", .x = b->x, .y = b->ys, .n = NPTS, .dash = RM_DASH_DASHED, .colour = 2};
    }
    b->s[ns++] = (rm_series){.name = lerp ? "LERP-PSA" : rm_act_name(a->cfg->kind), .x = b->x, .y = b->y, .n = NPTS, .colour = 1};
    int nt = mini ? 0 : rm_curve_table(a, ch, b->ty, b->tx);
    if (nt > 0) {
        /* only the table points inside the plotted range */
        int k = 0;
        for (int i = 0; i < nt; i++) if (b->tx[i] >= lo && b->tx[i] <= hi) { b->tx[k] = b->tx[i]; b->ty[k] = b->ty[i]; k++; }
        b->s[ns++] = (rm_series){.name = lerp ? "table T" : "knots", .x = b->tx, .y = b->ty, .n = k, .style = RM_STYLE_MARKERS, .colour = 3};
    }
    for (int e = 0; e < nextra && ns < 8 && !mini; e++)
        b->s[ns++] = (rm_series){.name = extra[e].name, .x = extra[e].x, .y = extra[e].y, .n = extra[e].n, .style = extra[e].style, .colour = 4 + e};
    memset(p, 0, sizeof *p);
    if (mini) snprintf(b->title, sizeof b->title, "ch %d", ch);
    else snprintf(b->title, sizeof b->title, "block %d %s (%s) ch %d", a->block, a->short_name, a->name, ch);
    p->title = b->title;
    p->xlabel = mini ? NULL : "x (pre-activation)";
    p->series = b->s;
    p->nseries = ns;
    p->xmin = lo; p->xmax = hi;
    if (lerp) { b->vl[0] = -a->cfg->R; b->vl[1] = a->cfg->R; p->vlines = b->vl; p->nvlines = 2; p->vline_name = mini ? NULL : "grid [-R,R]"; }
    if (a->stats && a->stats->count > 0 && !mini) {   /* a strip on the x axis */
        p->span_lo = rm_curve_percentile(a->stats, 1); p->span_hi = rm_curve_percentile(a->stats, 99);
        p->span_mid = rm_curve_percentile(a->stats, 50);
        p->span_name = "data p1..p99";
        p->span_mid_name = "p50";
    }
    return ns;
}

char *rm_plot_activation(rm_ctx *ctx, const rm_model *m, int block, const char *layer, int ch_lo, int ch_hi,
                         const rm_plot_opts *o, const rm_plot_extra *extra, int nextra) {
    rm_act_layer a;
    if (rm_curve_layer(ctx, m, block, layer, &a)) return NULL;
    if (ch_hi < ch_lo) { int t = ch_lo; ch_lo = ch_hi; ch_hi = t; }
    if (ch_lo < 0 || ch_hi >= a.C) { rm_err(ctx, "%s: channels %d..%d out of range 0..%d", a.name, ch_lo, ch_hi, a.C - 1); return NULL; }
    float lo = o->lo, hi = o->hi;
    if (!(lo < hi)) rm_curve_default_range(&a, &lo, &hi);
    int n = ch_hi - ch_lo + 1;
    chan_buf *bufs = calloc(n, sizeof *bufs);
    rm_plot *panels = calloc(n, sizeof *panels);
    char *out = NULL;
    if (!bufs || !panels) { rm_err(ctx, "out of memory for the plot"); goto done; }
    for (int i = 0; i < n; i++)
        if (build_channel(ctx, &a, ch_lo + i, lo, hi, &bufs[i], &panels[i], extra, nextra, n > 1) < 0) goto done;
    if (n == 1) {
        out = render_lines(ctx, &panels[0], o);
    } else {
        char title[128];
        snprintf(title, sizeof title, "block %d %s (%s) channels %d..%d", block, a.short_name, a.name, ch_lo, ch_hi);
        rm_grid g = {.title = title, .panels = panels, .n = n, .shared = 1, .own_y = !o->share_y};
        out = o->svg ? rm_svg_grid(ctx, &g, o->width, o->height) : rm_plot_grid(ctx, &g, o->width, o->height, o->mode, o->colour);
    }
done:
    free(bufs); free(panels);
    return out;
}

/* resolve a block-relative weight name to a tensor of the model */
static const rm_ptensor *find_weight(rm_ctx *ctx, const rm_model *m, int block, const char *what, char *name, size_t n) {
    int learned = rm_act_has_params(m->cfg.act.kind);
    if (strchr(what, '.') && strncmp(what, "mlp.", 4)) snprintf(name, n, "%s", what);
    else if (!strcmp(what, "embed")) snprintf(name, n, "embed_linear.weight");
    else if (!strcmp(what, "classifier")) snprintf(name, n, "classifier.weight");
    else if (!strcmp(what, "token")) snprintf(name, n, "layers.%d.layers.0.layers.weight", block);
    else if (!strncmp(what, "mlp.", 4)) {
        int idx = atoi(what + 4);
        if (learned && (idx == 0 || idx == 2)) snprintf(name, n, "layers.%d.layers.1.layers.%d.psa.v_weight", block, idx);
        else snprintf(name, n, "layers.%d.layers.1.layers.%d.weight", block, idx);
        if (m->cfg.act.kind == RM_ACT_BSPLINE && (idx == 0 || idx == 2)) snprintf(name, n, "layers.%d.layers.1.layers.%d.coefficients", block, idx);
    } else snprintf(name, n, "%s", what);
    const rm_ptensor *t = rm_model_find(m, name, NULL);
    if (!t) rm_err(ctx, "no tensor '%s' (try token, mlp.0..mlp.3, embed, classifier or a full name)", name);
    return t;
}

static char *render_hist(rm_ctx *ctx, const rm_hist *h, const rm_plot_opts *o) {
    return o->svg ? rm_svg_hist(ctx, h, o->width, o->height) : rm_plot_hist(ctx, h, o->width, o->height, o->mode, o->colour);
}

char *rm_plot_weights_hist(rm_ctx *ctx, const rm_model *m, int block, const char *what, const rm_plot_opts *o) {
    if (block < 0 || block >= m->cfg.L) { rm_err(ctx, "block %d out of range 0..%d", block, m->cfg.L - 1); return NULL; }
    char name[128], title[192];
    const rm_ptensor *t = find_weight(ctx, m, block, what, name, sizeof name);
    if (!t) return NULL;
    snprintf(title, sizeof title, "%s (%zu values)", name, t->n);
    rm_hist h = {.title = title, .xlabel = "value", .values = m->mem + t->off, .n = (int)t->n, .nbins = 40};
    return render_hist(ctx, &h, o);
}

char *rm_plot_inputs_hist(rm_ctx *ctx, const rm_model *m, int block, const char *layer, const rm_plot_opts *o) {
    rm_act_layer a;
    if (rm_curve_layer(ctx, m, block, layer, &a)) return NULL;
    if (!a.stats || a.stats->count <= 0) { rm_err(ctx, "no inputs recorded for %s yet: run `eval` first", a.name); return NULL; }
    char title[192];
    snprintf(title, sizeof title, "inputs of block %d %s (%s)", block, a.short_name, a.name);
    const rm_act_stats *s = a.stats;
    double mean = s->sum / s->count, var = s->sumsq / s->count - mean * mean;
    rm_hist_stats st = {.n = s->count, .mean = mean, .sd = sqrt(var > 0 ? var : 0), .min = s->min, .max = s->max,
                        .p1 = rm_curve_percentile(s, 1), .p50 = rm_curve_percentile(s, 50), .p99 = rm_curve_percentile(s, 99)};
    rm_hist h = {.title = title, .xlabel = "pre-activation x", .counts = s->hist, .nbins = RM_HIST_BINS,
                 .lo = s->hist_lo, .hi = s->hist_hi, .stats = &st};
    return render_hist(ctx, &h, o);
}

char *rm_plot_token_heatmap(rm_ctx *ctx, const rm_model *m, int block, const rm_plot_opts *o) {
    if (block < 0 || block >= m->cfg.L) { rm_err(ctx, "block %d out of range 0..%d", block, m->cfg.L - 1); return NULL; }
    char title[128];
    snprintf(title, sizeof title, "block %d token mixing weights (%dx%d)", block, m->cfg.T, m->cfg.T);
    rm_heatmap hm = {.title = title, .xlabel = "input token", .ylabel = "output token", .m = m->p.tok[block].w,
                     .rows = m->cfg.T, .cols = m->cfg.T, .symmetric = 1};
    return o->svg ? rm_svg_heatmap(ctx, &hm, o->width, o->height) : rm_plot_heatmap(ctx, &hm, o->width, o->height, o->mode, o->colour);
}

void rm_history_add(rm_history *h, float tl, float ta, int have_test, float vl, float va) {
    if (h->n >= RM_HIST_MAX) {
        memmove(h->train_loss, h->train_loss + 1, sizeof(float) * (RM_HIST_MAX - 1));
        memmove(h->train_acc, h->train_acc + 1, sizeof(float) * (RM_HIST_MAX - 1));
        memmove(h->test_loss, h->test_loss + 1, sizeof(float) * (RM_HIST_MAX - 1));
        memmove(h->test_acc, h->test_acc + 1, sizeof(float) * (RM_HIST_MAX - 1));
        h->n--;
    }
    h->train_loss[h->n] = tl; h->train_acc[h->n] = ta;
    h->test_loss[h->n] = have_test ? vl : NAN; h->test_acc[h->n] = have_test ? va : NAN;
    h->have_test |= have_test;
    h->n++;
}

char *rm_plot_history(rm_ctx *ctx, const rm_history *h, const rm_plot_opts *o) {
    rm_trainchart t = {.title = "training", .n = h->n, .train_loss = h->train_loss, .train_acc = h->train_acc,
                  .test_loss = h->have_test ? h->test_loss : NULL, .test_acc = h->have_test ? h->test_acc : NULL};
    return o->svg ? rm_svg_train(ctx, &t, o->width, o->height) : rm_plot_train(ctx, &t, o->width, o->height, o->mode, o->colour);
}
