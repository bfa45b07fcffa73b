/* ticks.c - "nice" tick values (multiples of 1, 2 or 5 x 10^k), their labels, and fitting tick
 * labels into a given number of cells without overlap. Pure arithmetic, no drawing. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* k * m * 10^e computed so that decimal steps come out as close to the decimal value as possible */
static double tick_value(double k, int m, int e) {
    double v = e >= 0 ? k * m * pow(10.0, e) : k * m / pow(10.0, -e);
    return v == 0 ? 0.0 : v;
}

int rm_nice_ticks(double lo, double hi, int maxticks, double *ticks) {
    if (!isfinite(lo) || !isfinite(hi) || maxticks < 1) return 0;
    if (maxticks > RM_PLOT_MAX_TICKS) maxticks = RM_PLOT_MAX_TICKS;
    if (lo > hi) { double t = lo; lo = hi; hi = t; }
    double span = hi / 2 - lo / 2; /* halves: no overflow for +-DBL_MAX */
    double mag = fmax(fabs(lo), fabs(hi));
    if (span <= 0 || span < mag * 1e-13) { ticks[0] = (lo / 2 + hi / 2) == 0 ? 0.0 : lo / 2 + hi / 2; return 1; }
    static const int mant[3] = {1, 2, 5};
    int e0 = (int)floor(log10(2 * span / maxticks)) - 1;
    double best_k0 = 0, best_k1 = -1;
    int best_m = 1, best_e = 0, found = 0;
    for (int e = e0; e <= e0 + 4 && !found; e++)
        for (int i = 0; i < 3 && !found; i++) {
            double step = mant[i] * pow(10.0, e);
            if (!isfinite(step) || step <= 0) continue;
            double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
            if (k1 < k0) continue;
            best_k0 = k0; best_k1 = k1; best_m = mant[i]; best_e = e;
            if (k1 - k0 + 1 <= maxticks) found = 1;
        }
    if (best_k1 < best_k0) { ticks[0] = lo / 2 + hi / 2; return 1; }
    if (!found) best_k0 = best_k1 = floor((best_k0 + best_k1) / 2); /* only for maxticks 1: the middle one */
    int n = 0;
    for (double k = best_k0; k <= best_k1 && n < maxticks; k++) ticks[n++] = tick_value(k, best_m, best_e);
    return n;
}

/* "e+06" -> "e6", "e-07" -> "e-7"; trailing mantissa zeros dropped ("1.50e3" -> "1.5e3") */
static void compact_exp(char *s) {
    char *e = strchr(s, 'e');
    if (!e) return;
    char exp[16];
    int neg = e[1] == '-';
    const char *d = e + 1;
    if (*d == '+' || *d == '-') d++;
    while (*d == '0' && d[1]) d++;
    snprintf(exp, sizeof exp, "e%s%s", neg ? "-" : "", d);
    char *m = e;
    if (memchr(s, '.', (size_t)(e - s))) {
        while (m > s && m[-1] == '0') m--;
        if (m > s && m[-1] == '.') m--;
    }
    strcpy(m, exp);
}

void rm_tick_label(double v, double step, char *buf, int n) {
    if (v == 0 || !isfinite(v)) { snprintf(buf, (size_t)n, "%s", v == 0 ? "0" : isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); return; }
    if (!(step > 0) || !isfinite(step)) step = fabs(v);
    int e = (int)floor(log10(step) + 1e-9);
    double a = fabs(v);
    if (a < 1e6 && e >= -4) {                 /* plain decimals down to 0.0001 steps */
        snprintf(buf, (size_t)n, "%.*f", e < 0 ? -e : 0, v);
        if ((int)strlen(buf) <= 8) return;
    }
    int ev = (int)floor(log10(a) + 1e-9);
    int digits = ev - e;
    if (digits < 0) digits = 0;
    if (digits > 12) digits = 12;
    snprintf(buf, (size_t)n, "%.*e", digits, v);
    compact_exp(buf);
}

void fmt_value(double v, char *buf, int n) {
    if (!isfinite(v)) { snprintf(buf, (size_t)n, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); return; }
    snprintf(buf, (size_t)n, "%.3g", v == 0 ? 0.0 : v);
    compact_exp(buf);
}

int map_px(double v, double lo, double hi, int npx) {
    double f = (v - lo) / (hi - lo) * (npx - 1);
    if (!(f > 0)) return 0;                    /* also NaN */
    if (f > npx - 1) return npx - 1;
    return (int)lround(f);
}

int tick_cell(double t, double lo, double hi, int cells, int s) { return map_px(t, lo, hi, cells * s) / s; }

int tick_row(double t, double lo, double hi, int rows, int s) { return map_px(-t, -hi, -lo, rows * s) / s; }

/* ticks for [lo,hi] with at most m of them, integers only when xint; labels formatted */
static int make_ticks(double lo, double hi, int m, int xint, double *ticks, char labels[][24]) {
    int n = rm_nice_ticks(lo, hi, m, ticks);
    double step = n > 1 ? ticks[1] - ticks[0] : (hi - lo) > 0 ? hi - lo : fabs(lo);
    if (xint) {
        int k = 0;
        for (int i = 0; i < n; i++) if (fabs(ticks[i] - round(ticks[i])) < 1e-9) ticks[k++] = round(ticks[i]) + 0.0;
        n = k;
        if (step < 1) step = 1;
    }
    for (int i = 0; i < n; i++) rm_tick_label(ticks[i], step, labels[i], 24);
    return n;
}

int fit_xticks(double lo, double hi, int cells, int s, int xint, int left_slack, int right_slack,
               double *ticks, char labels[][24], int *start) {
    int m0 = cells / 7;
    if (m0 < 2) m0 = 2;
    if (m0 > RM_PLOT_MAX_TICKS) m0 = RM_PLOT_MAX_TICKS;
    for (int m = m0; m >= 1; m--) {
        int n = make_ticks(lo, hi, m, xint, ticks, labels), ok = n > 0, prev_end = -left_slack - 2;
        for (int i = 0; i < n && ok; i++) {
            int len = (int)strlen(labels[i]);
            int st = tick_cell(ticks[i], lo, hi, cells, s) - len / 2;
            if (st + len > cells + right_slack) st = cells + right_slack - len;
            if (st < -left_slack) st = -left_slack;
            if (st < prev_end + 2 || st + len > cells + right_slack) ok = 0;
            start[i] = st;
            prev_end = st + len;
        }
        if (ok) return n;
    }
    return 0;
}

int fit_yticks(double lo, double hi, int rows, int s, int xint, double *ticks, char labels[][24]) {
    int m0 = rows / 2 + 1;
    if (m0 > RM_PLOT_MAX_TICKS) m0 = RM_PLOT_MAX_TICKS;
    int n = 0;
    /* a blank row between ticks when there is room; adjacent rows rather than a single tick */
    for (int gap = rows >= 6 ? 2 : 1; gap >= 1; gap--) {
        for (int m = m0; m >= 1; m--) {
            n = make_ticks(lo, hi, m, xint, ticks, labels);
            int ok = n > 0, prev = -100;
            for (int i = n - 1; i >= 0 && ok; i--) {   /* top (largest value) first */
                int r = tick_row(ticks[i], lo, hi, rows, s);
                if (r < prev + gap) ok = 0;
                prev = r;
            }
            if (ok) break;
            n = 0;
        }
        if (n >= 2 || rows < 3) break;
    }
    return n;
}
