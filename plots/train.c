/* train.c - training charts: loss and accuracy per epoch, train vs test, as two line-plot panels
 * (stacked, or side by side when the height is short) with the latest values in the legend. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int last_finite(const float *v, int n, double *out) {
    for (int i = n - 1; i >= 0; i--) if (isfinite(v[i])) { *out = v[i]; return 1; }
    return 0;
}

int train_prepare(rm_ctx *ctx, const rm_trainchart *t, train_data *d) {
    memset(d, 0, sizeof *d);
    if (!t) return rm_err(ctx, "train chart: no description");
    if (t->n < 0) return rm_err(ctx, "train chart: n = %d epochs", t->n);
    d->epoch = malloc(sizeof(float) * (t->n > 0 ? t->n : 1));
    if (!d->epoch) return rm_err(ctx, "train chart: out of memory");
    for (int i = 0; i < t->n; i++) d->epoch[i] = (float)(i + 1);
    const float *arr[2][2] = {{t->train_loss, t->test_loss}, {t->train_acc, t->test_acc}};
    static const char *title[2] = {"loss", "accuracy"}, *who[2] = {"train", "test"};
    for (int k = 0; k < 2; k++) {
        int ns = 0;
        for (int j = 0; j < 2; j++) {
            if (!arr[k][j]) continue;
            double last;
            char v[24] = "";
            if (last_finite(arr[k][j], t->n, &last)) fmt_value(last, v, sizeof v);
            snprintf(d->names[d->np][ns], sizeof d->names[0][0], "%s%s%s", who[j], v[0] ? " " : "", v);
            d->s[d->np][ns] = (rm_series){.name = d->names[d->np][ns], .x = d->epoch, .y = arr[k][j], .n = t->n,
                                          .style = RM_STYLE_LINE, .colour = j + 1,
                                          .dash = j ? RM_DASH_DASHED : RM_DASH_SOLID};
            ns++;
        }
        if (ns == 0) continue;
        d->p[d->np] = (rm_plot){.title = title[k], .xlabel = "epoch", .series = d->s[d->np], .nseries = ns,
                                .x_integer = 1};
        d->np++;
    }
    if (d->np == 0) {                                        /* nothing given: an empty loss panel */
        d->p[0] = (rm_plot){.title = title[0], .xlabel = "epoch", .x_integer = 1};
        d->np = 1;
    }
    return RM_OK;
}

void train_release(train_data *d) { free(d->epoch); d->epoch = NULL; }

char *rm_plot_train(rm_ctx *ctx, const rm_trainchart *t, int width, int height, int mode, int colour) {
    train_data d;
    rm_canvas cv;
    if (train_prepare(ctx, t, &d) != RM_OK) return NULL;
    if (cv_init(ctx, &cv, width, height, mode) != RM_OK) { train_release(&d); return NULL; }
    int top = 0;
    if (t->title && *t->title && height >= 12) {
        int n = rm_text_width(t->title);
        cv_text(&cv, n < width ? (width - n) / 2 : 0, 0, t->title, width, 0);
        top = 1;
    }
    int h = height - top;
    panel_opt o = {.legend_in_title = 1, .xticks = 1};
    if (d.np == 1) draw_panel(&cv, 0, top, width, h, &d.p[0], &o);
    else if (h < 14 && width >= 60) {                  /* short: side by side */
        int w1 = (width - 2) / 2;
        draw_panel(&cv, 0, top, w1, h, &d.p[0], &o);
        draw_panel(&cv, w1 + 2, top, width - w1 - 2, h, &d.p[1], &o);
    } else {                                           /* stacked; top x labels only when roomy */
        int h1 = h / 2;
        panel_opt o1 = o;
        o1.xticks = h1 >= 10;
        int w0 = panel_ylw(&cv, width, h1, &d.p[0], &o1), w1 = panel_ylw(&cv, width, h - h1, &d.p[1], &o);
        o1.ylw = o.ylw = w0 > w1 ? w0 : w1;            /* same x positions in both panels */
        draw_panel(&cv, 0, top, width, h1, &d.p[0], &o1);
        draw_panel(&cv, 0, top + h1, width, h - h1, &d.p[1], &o);
    }
    char *s = cv_render(ctx, &cv, colour);
    cv_free(&cv);
    train_release(&d);
    return s;
}
