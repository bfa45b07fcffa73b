/* grid.c - small multiples: many panels (e.g. the 16 channel activations of one layer) in a grid
 * that fits a total width/height. Roomy panels get full axes; small ones are mini plots (label row,
 * bare area with faint zero axes) with the shared ranges and legend (of the series visible in some
 * panel) in a footer. With own_y each panel keeps its own y range (in its label or ticks) under the
 * shared x range. When even mini panels do not fit, the first ones that do are shown and the footer
 * says how many. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rm_plot *grid_prepare(rm_ctx *ctx, const rm_grid *g, double range[4]) {
    if (!g) { rm_err(ctx, "grid: no description"); return NULL; }
    if (g->n < 0 || (g->n > 0 && !g->panels)) { rm_err(ctx, "grid: n = %d without panels", g->n); return NULL; }
    for (int i = 0; i < g->n; i++)
        if (check_plot(ctx, &g->panels[i]) != RM_OK) { rm_errprefix(ctx, "grid panel %d", i); return NULL; }
    rm_plot *c = malloc(sizeof *c * (g->n > 0 ? g->n : 1));
    if (!c) { rm_err(ctx, "grid: out of memory"); return NULL; }
    double r[4] = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    for (int i = 0; i < g->n; i++) {
        c[i] = g->panels[i];
        if (!g->shared) continue;
        double x0, x1, y0, y1;                   /* the ranges the panel would use on its own */
        if (plot_ranges(&g->panels[i], &x0, &x1, &y0, &y1, NULL) == 0) continue;
        r[0] = fmin(r[0], x0); r[1] = fmax(r[1], x1); r[2] = fmin(r[2], y0); r[3] = fmax(r[3], y1);
    }
    if (!(r[0] <= r[1])) { r[0] = 0; r[1] = 1; r[2] = 0; r[3] = 1; }
    for (int i = 0; g->shared && i < g->n; i++) {
        c[i].xmin = r[0]; c[i].xmax = r[1];
        if (!g->own_y) { c[i].ymin = r[2]; c[i].ymax = r[3]; }
    }
    memcpy(range, r, sizeof r);
    return c;
}

char *rm_plot_grid(rm_ctx *ctx, const rm_grid *g, int width, int height, int mode, int colour) {
    double r[4];
    rm_plot *pan = grid_prepare(ctx, g, r);
    if (!pan) return NULL;
    rm_canvas cv;
    if (cv_init(ctx, &cv, width, height, mode) != RM_OK) { free(pan); return NULL; }
    enum { MINW = 8, MINH = 3 };
    int title = g->title && *g->title, gap = 2;
    int n = g->n, gc = g->ncols > 0 ? g->ncols : (int)ceil(sqrt((double)n));
    if (gc < 1) gc = 1;
    if (gc > n && n > 0) gc = n;
    if ((width - (gc - 1) * gap) / gc < MINW) gc = (width + gap) / (MINW + gap);
    int gr = n > 0 ? (n + gc - 1) / gc : 0, shown = n;
    int footer = height >= 10 || n == 0 || (height - title) / (gr > 0 ? gr : 1) < MINH; /* "showing k of n" */
    int avail = height - title - footer;
    if (gr > 0 && avail / gr < MINH) { gr = avail / MINH; shown = gr * gc < n ? gr * gc : n; }
    if (title) center_text(&cv, 0, 0, width, g->title, 0);
    int pw = (width - (gc - 1) * gap) / gc, ph = gr > 0 ? avail / gr : 0;
    panel_opt mini = {.mini = 1, .show_range = !g->shared || g->own_y}, full = {.xticks = 1};
    for (int i = 0; i < shown; i++) {
        int x = (i % gc) * (pw + gap), y = title + (i / gc) * ph;
        draw_panel(&cv, x, y, pw, ph, &pan[i], pw >= 30 && ph >= 10 ? &full : &mini);
    }
    if (footer) {                      /* pieces that fit: count shown, shared ranges, legend */
        char a[4][24], piece[160];
        int fy = title + gr * ph < height - 1 ? title + gr * ph : height - 1, col = 0;
        for (int k = 0; k < 2; k++) {
            piece[0] = 0;
            if (k == 0 && n == 0) snprintf(piece, sizeof piece, "(no panels)");
            if (k == 0 && shown < n) snprintf(piece, sizeof piece, "showing %d of %d", shown, n);
            if (k == 1 && g->shared && n > 0) {
                for (int j = 0; j < 4; j++) fmt_value(r[j], a[j], 24);
                if (g->own_y) snprintf(piece, sizeof piece, "x [%s, %s]  y per panel", a[0], a[1]);
                else snprintf(piece, sizeof piece, "x [%s, %s]  y [%s, %s]", a[0], a[1], a[2], a[3]);
            }
            int pw_ = rm_text_width(piece), sep = col ? 3 : 0;
            if (pw_ && col + sep + pw_ <= width) col += sep + cv_text(&cv, col + sep, fy, piece, pw_, 0);
        }
        lentry le[40];
        uint8_t seen[256] = {0};
        cv_owners(&cv, 0, title, width, height - title - 1, seen);
        int nle = n > 0 ? legend_entries(&pan[0], mode, seen, le, 40) : 0;
        if (nle > 0) {
            int x = col ? col + 3 : 0;
            if (x < width) draw_legend(&cv, x, fy, width - x, 1, le, nle);
        }
    }
    char *s = cv_render(ctx, &cv, colour);
    cv_free(&cv);
    free(pan);
    return s;
}
