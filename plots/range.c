/* range.c - data ranges of a plot: finite points, automatic x/y ranges (bars include 0 and their
 * width), widening a degenerate range, counting points a fixed y range hides. */
#include "plot_int.h"
#include <math.h>

int finite_pt(const rm_series *s, int i, double *x, double *y) {
    *x = s->x ? s->x[i] : (double)i;
    *y = s->y ? s->y[i] : NAN;
    return isfinite(*x) && isfinite(*y);
}

double bar_width(const rm_series *s) {
    double lo = INFINITY, hi = -INFINITY, x, y;
    int k = 0;
    for (int i = 0; i < s->n; i++)
        if (finite_pt(s, i, &x, &y)) { lo = fmin(lo, x); hi = fmax(hi, x); k++; }
    return k >= 2 && hi > lo ? (hi - lo) / (k - 1) : 1.0;
}

void widen_range(double *lo, double *hi) {
    double a = fmax(fabs(*lo), fabs(*hi));
    if (*hi - *lo > a * 1e-9 && *hi > *lo) return;
    double v = *lo / 2 + *hi / 2, d = v == 0 ? 1.0 : fabs(v) * 0.1;
    *lo = v - d;
    *hi = v + d;
}

int plot_ranges(const rm_plot *p, double *x0, double *x1, double *y0, double *y1, int *nonfinite) {
    int fx = p->xmin < p->xmax, fy = p->ymin < p->ymax, nfin = 0, nbad = 0;
    double ax = INFINITY, bx = -INFINITY, ay = INFINITY, by = -INFINITY, x, y;
    for (int j = 0; j < p->nseries; j++) {
        const rm_series *s = &p->series[j];
        double hw = s->style == RM_STYLE_BARS ? bar_width(s) / 2 : 0;
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i, &x, &y)) { nbad++; continue; }
            nfin++;
            ax = fmin(ax, x - hw); bx = fmax(bx, x + hw);
            if (fx && (x < p->xmin || x > p->xmax)) continue;   /* y range from what is shown */
            ay = fmin(ay, y); by = fmax(by, y);
            if (s->style == RM_STYLE_BARS) { ay = fmin(ay, 0); by = fmax(by, 0); }
        }
    }
    if (nonfinite) *nonfinite = nbad;
    if (fx) { *x0 = p->xmin; *x1 = p->xmax; }
    else if (ax <= bx) { *x0 = ax; *x1 = bx; }
    else { *x0 = 0; *x1 = 1; }
    if (fy) { *y0 = p->ymin; *y1 = p->ymax; }
    else if (ay <= by) { *y0 = ay; *y1 = by; }
    else { *y0 = 0; *y1 = 1; }
    widen_range(x0, x1);
    widen_range(y0, y1);
    return nfin;
}

int count_outside(const rm_plot *p, double x0, double x1, double y0, double y1) {
    double ex = (x1 - x0) * 1e-9, ey = (y1 - y0) * 1e-9, x, y;
    int k = 0;
    for (int j = 0; j < p->nseries; j++)
        for (int i = 0; i < p->series[j].n; i++)
            if (finite_pt(&p->series[j], i, &x, &y) && x >= x0 - ex && x <= x1 + ex && (y < y0 - ey || y > y1 + ey)) k++;
    return k;
}
