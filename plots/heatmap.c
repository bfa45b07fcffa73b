/* heatmap.c - a matrix (e.g. a 64x64 token-mixing weight) as a framed shade map, one source cell
 * as 1 row x 2 columns (square-ish) scaled by whole factors when there is room, block-averaged when
 * there is not. A range without 0 uses one ramp from its low end (" .:-=+*#%@" in ASCII, " ░▒▓█"
 * in the Unicode modes); a range holding 0 (signed weights) is diverging: 0 is the blank centre,
 * negative and positive values get their own glyph ramps (ASCII ".-=#" and "'+*@", Unicode braille
 * dots "⠂⠒⠶⠿" and shades "░▒▓█"), each side scaled by its own extreme, blue and red with colour.
 * A scale line shows the ramp with the values at its ends (and 0). Non-finite entries show as '?'
 * and are counted in a note. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

int heatmap_range(rm_ctx *ctx, const rm_heatmap *hm, double *lo, double *hi, int *nonfinite) {
    if (!hm) return rm_err(ctx, "heatmap: no description");
    if (hm->rows < 1 || hm->cols < 1 || !hm->m) return rm_err(ctx, "heatmap: %dx%d matrix%s", hm->rows, hm->cols, hm->m ? "" : " without data");
    if ((double)hm->rows * hm->cols > 1e8) return rm_err(ctx, "heatmap: %dx%d matrix too large", hm->rows, hm->cols);
    double mn = INFINITY, mx = -INFINITY;
    int bad = 0;
    for (long i = 0; i < (long)hm->rows * hm->cols; i++) {
        if (!isfinite(hm->m[i])) { bad++; continue; }
        mn = fmin(mn, hm->m[i]); mx = fmax(mx, hm->m[i]);
    }
    if (hm->vmin < hm->vmax) { mn = hm->vmin; mx = hm->vmax; }
    else if (mn > mx) { mn = 0; mx = 1; }
    else if (hm->symmetric) { double a = fmax(fabs(mn), fabs(mx)); mn = -a; mx = a; }
    widen_range(&mn, &mx);
    *lo = mn; *hi = mx;
    if (nonfinite) *nonfinite = bad;
    return RM_OK;
}

/* the glyph ramps: one-sided (lowest first), or diverging (weakest first on each side) */
typedef struct ramp {
    int diverging, n;        /* one-sided: n levels; diverging: n per side */
    const uint32_t *one, *neg, *pos;
} ramp;

static ramp ramp_of(int mode, double lo, double hi) {
    static const uint32_t one_u[5] = {' ', 0x2591, 0x2592, 0x2593, 0x2588}, pos_u[4] = {0x2591, 0x2592, 0x2593, 0x2588},
                          neg_u[4] = {0x2802, 0x2812, 0x2836, 0x283F};
    static const uint32_t one_a[10] = {' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'}, pos_a[4] = {'\'', '+', '*', '@'},
                          neg_a[4] = {'.', '-', '=', '#'};
    int uni = mode != RM_CANVAS_ASCII;
    if (lo < 0 && hi > 0) return (ramp){1, 4, NULL, uni ? neg_u : neg_a, uni ? pos_u : pos_a};
    return (ramp){0, uni ? 5 : 10, uni ? one_u : one_a, NULL, NULL};
}

enum { HEAT_NEG = 1, HEAT_POS = 2 };   /* palette: blue below 0, red above */

/* the glyph and colour of value v */
static uint32_t heat_glyph(const ramp *r, double v, double lo, double hi, int *colour) {
    *colour = 0;
    if (!isfinite(v)) return '?';
    if (!r->diverging) {
        int lev = (int)floor((v - lo) / (hi - lo) * r->n);
        return r->one[lev < 0 ? 0 : lev >= r->n ? r->n - 1 : lev];
    }
    double t = v < 0 ? v / lo : v / hi;                 /* 0..1 towards that side's extreme */
    long k = lround(fmin(t, 1.0) * r->n);
    if (k <= 0) return ' ';
    *colour = v < 0 ? HEAT_NEG : HEAT_POS;
    return v < 0 ? r->neg[k - 1] : r->pos[k - 1];
}

static const char *centre_piece[2] = {" 0 ", " [ ]=0 "};   /* between the sides of a diverging ramp */

/* the ramp from the low end up as UTF-8 text */
static void ramp_text(const ramp *r, char *buf, int long_centre) {
    char u[5];
    buf[0] = 0;
    if (!r->diverging) {
        for (int i = 0; i < r->n; i++) { cp_utf8(u, r->one[i]); strcat(buf, u); }
        return;
    }
    for (int i = r->n - 1; i >= 0; i--) { cp_utf8(u, r->neg[i]); strcat(buf, u); }
    strcat(buf, centre_piece[long_centre]);
    for (int i = 0; i < r->n; i++) { cp_utf8(u, r->pos[i]); strcat(buf, u); }
}

static void colour_cells(rm_canvas *cv, int x, int y, int n, int colour) {
    for (int i = x; i < x + n && i < cv->w; i++) cv->c[(size_t)y * cv->w + i].colour = (uint8_t)colour;
}

/* the scale line: "-0.52 #=-. [ ]=0 '+*@ 0.52  16x16" (one-sided: "min 0 [ .:-=+*#%@] max 1  4x4"),
 * shortened to fit; a diverging ramp's glyphs in their colours */
static void draw_scale(rm_canvas *cv, int y, int width, const ramp *r, double lo, double hi, int rows, int cols) {
    char a[24], b[24], rt[96], leg[200];
    fmt_value(lo, a, sizeof a); fmt_value(hi, b, sizeof b);
    int pass = 0;
    for (; pass < 3; pass++) {
        ramp_text(r, rt, pass == 0);
        if (pass == 0) snprintf(leg, sizeof leg, r->diverging ? "%s %s %s  %dx%d" : "min %s [%s] max %s  %dx%d", a, rt, b, rows, cols);
        else if (pass == 1) snprintf(leg, sizeof leg, r->diverging ? "%s %s %s" : "%s [%s] %s", a, rt, b);
        else snprintf(leg, sizeof leg, r->diverging ? "%s..0..%s" : "%s..%s", a, b);
        if (rm_text_width(leg) <= width || pass == 2) break;
    }
    cv_text(cv, 0, y, leg, width, 0);
    if (!r->diverging || pass == 2) return;
    int x = rm_text_width(a) + 1;
    colour_cells(cv, x, y, r->n, HEAT_NEG);
    colour_cells(cv, x + r->n + (int)strlen(centre_piece[pass == 0]), y, r->n, HEAT_POS);
}

/* mean of the finite entries in source block [r0,r1) x [c0,c1); NaN if none */
static double block_mean(const rm_heatmap *hm, int r0, int r1, int c0, int c1) {
    double s = 0;
    int k = 0;
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            float v = hm->m[(long)r * hm->cols + c];
            if (isfinite(v)) { s += v; k++; }
        }
    return k ? s / k : NAN;
}

char *rm_plot_heatmap(rm_ctx *ctx, const rm_heatmap *hm, int width, int height, int mode, int colour) {
    double lo, hi;
    int bad;
    rm_canvas cv;
    if (heatmap_range(ctx, hm, &lo, &hi, &bad) != RM_OK || cv_init(ctx, &cv, width, height, mode) != RM_OK) return NULL;
    int uni = mode != RM_CANVAS_ASCII;
    ramp rp = ramp_of(mode, lo, hi);
    /* rows: title, ylabel, frame, data, frame, column indices (+ xlabel), legend, note */
    int t_title = hm->title && *hm->title, t_ylabel = hm->ylabel && *hm->ylabel, t_cols = 1, t_note = bad > 0;
    int *drop[] = {&t_ylabel, &t_cols, &t_note, &t_title};
    /* drop rows when that lets every matrix row have its own text row, or the map would be squeezed */
    int dh_av = height - (t_title + t_ylabel + 2 + t_cols + 1 + t_note);
    int can_fit = height - 3 >= hm->rows;
    for (size_t i = 0; i < sizeof drop / sizeof *drop && dh_av < hm->rows; i++)
        if (can_fit || dh_av < height * 2 / 3) {
            *drop[i] = 0;
            dh_av = height - (t_title + t_ylabel + 2 + t_cols + 1 + t_note);
        }
    char rl0[16], rl1[16];
    snprintf(rl0, sizeof rl0, "0");
    snprintf(rl1, sizeof rl1, "%d", hm->rows - 1);
    int lw = (int)strlen(rl1) + 1;
    int dw_av = width - lw - 2;
    int fh = dh_av / hm->rows, fw = dw_av / hm->cols, kh, kw;
    if (fh >= 1 && fw >= 2) { kh = fh < fw / 2 ? fh : fw / 2; kw = 2 * kh; }
    else { kh = fh >= 1 ? 1 : 0; kw = fw >= 1 ? (fw < 2 ? fw : 2) : 0; }
    int dh = kh ? hm->rows * kh : dh_av, dw = kw ? hm->cols * kw : dw_av;

    int y = 0;
    if (t_title) center_text(&cv, 0, y++, width, hm->title, 0);
    if (t_ylabel) cv_text(&cv, 0, y++, hm->ylabel, width, 0);
    int fx = lw, fy = y;                                    /* frame top-left */
    uint32_t h_ = uni ? 0x2500 : '-', v_ = uni ? 0x2502 : '|';
    cv_put(&cv, fx, fy, uni ? 0x250C : '+', 0);
    cv_put(&cv, fx + dw + 1, fy, uni ? 0x2510 : '+', 0);
    cv_put(&cv, fx, fy + dh + 1, uni ? 0x2514 : '+', 0);
    cv_put(&cv, fx + dw + 1, fy + dh + 1, uni ? 0x2518 : '+', 0);
    for (int c = 0; c < dw; c++) { cv_put(&cv, fx + 1 + c, fy, h_, 0); cv_put(&cv, fx + 1 + c, fy + dh + 1, h_, 0); }
    for (int r = 0; r < dh; r++) { cv_put(&cv, fx, fy + 1 + r, v_, 0); cv_put(&cv, fx + dw + 1, fy + 1 + r, v_, 0); }
    cv_textr(&cv, lw - 1, fy + 1, rl0, lw - 1, 0);
    if (dh > 1) cv_textr(&cv, lw - 1, fy + dh, rl1, lw - 1, 0);
    for (int r = 0; r < dh; r++) {
        int r0 = kh ? r / kh : (int)((long)r * hm->rows / dh), r1 = kh ? r0 + 1 : (int)((long)(r + 1) * hm->rows / dh);
        for (int c = 0; c < dw; c++) {
            int c0 = kw ? c / kw : (int)((long)c * hm->cols / dw), c1 = kw ? c0 + 1 : (int)((long)(c + 1) * hm->cols / dw);
            int col;
            uint32_t ch = heat_glyph(&rp, block_mean(hm, r0, r1, c0, c1), lo, hi, &col);
            cv_put(&cv, fx + 1 + c, fy + 1 + r, ch, col);
        }
    }
    y = fy + dh + 2;
    if (t_cols) {
        char cl[16];
        snprintf(cl, sizeof cl, "%d", hm->cols - 1);
        cv_text(&cv, fx + 1, y, "0", 1, 0);
        int xe = fx + 1 + dw;
        if (hm->cols > 1 && xe - (int)strlen(cl) > fx + 2) cv_textr(&cv, xe, y, cl, 16, 0);
        if (hm->xlabel && *hm->xlabel) {
            int room = dw - 2 * ((int)strlen(cl) + 1);
            if (room > 0) center_text(&cv, fx + 1 + (int)strlen(cl) + 1, y, room, hm->xlabel, 0);
        }
        y++;
    }
    draw_scale(&cv, y++, width, &rp, lo, hi, hm->rows, hm->cols);
    if (t_note) {
        char note[64];
        snprintf(note, sizeof note, "%d non-finite value%s shown as ?", bad, bad == 1 ? "" : "s");
        cv_text(&cv, 0, y, note, width, 0);
    }
    char *s = cv_render(ctx, &cv, colour);
    cv_free(&cv);
    return s;
}
