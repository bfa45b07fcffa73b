/* svg.c - SVG documents of the same plots as the text renderers: vector paths, one
 * <path class="series"> per series, axes with nice ticks, title, legend and notes, all text
 * XML-escaped. Segments are clipped to the plot area here (no clipPath), so coordinates stay sane
 * whatever the data. Layout is in pixels with a 12px sans-serif font (~7px per character). */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHW = 7, LINE_H = 16 };

static int svg_check(rm_ctx *ctx, int w, int h) {
    if (w < 200 || h < 120 || w > 20000 || h > 20000)
        return rm_err(ctx, "svg: size %dx%d out of range (200x120 .. 20000x20000)", w, h);
    return RM_OK;
}

static void svg_begin(rm_sbuf *b, int w, int h) {
    sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"sans-serif\" font-size=\"12\">\n"
                 "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n", w, h, w, h);
}

static void svg_esc(rm_sbuf *b, const char *s) {
    uint32_t cp;
    while (s && (cp = utf8_next(&s)) != 0) {
        switch (cp) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&apos;"); break;
        default: sb_cp(b, cp);
        }
    }
}

/* text with its baseline at y; anchor "start", "middle" or "end" */
static void svg_text(rm_sbuf *b, double x, double y, const char *anchor, const char *cls, const char *s) {
    sb_printf(b, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#222222\">", cls, x, y, anchor);
    svg_esc(b, s);
    sb_puts(b, "</text>\n");
}

typedef struct sarea { double x, y, w, h, x0, x1, y0, y1; } sarea;
static double sx_of(const sarea *a, double x) { return a->x + (x - a->x0) / (a->x1 - a->x0) * a->w; }
static double sy_of(const sarea *a, double y) { return a->y + a->h - (y - a->y0) / (a->y1 - a->y0) * a->h; }

static void svg_series(rm_sbuf *b, const sarea *a, const rm_series *s, int colour) {
    const char *col = svg_colour(colour);
    double x, y;
    if (s->style == RM_STYLE_LINE)
        sb_printf(b, "<path class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" "
                     "stroke-linecap=\"round\"%s d=\"", col,
                  s->dash == RM_DASH_DASHED ? " stroke-dasharray=\"6 4\"" : s->dash == RM_DASH_DOTTED ? " stroke-dasharray=\"1.5 3\"" : "");
    else sb_printf(b, "<path class=\"series\" fill=\"%s\" fill-opacity=\"%s\" stroke=\"none\" d=\"", col,
                   s->style == RM_STYLE_BARS ? "0.8" : "1");
    if (s->style == RM_STYLE_BARS) {
        double bw = bar_width(s), base = a->y0 > 0 ? a->y0 : a->y1 < 0 ? a->y1 : 0.0;
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i, &x, &y)) continue;
            double l = fmax(sx_of(a, x - bw / 2), a->x), r = fmin(sx_of(a, x + bw / 2), a->x + a->w);
            double t = sy_of(a, fmax(y, base)), u = sy_of(a, fmin(y, base));
            t = fmin(fmax(t, a->y), a->y + a->h); u = fmin(fmax(u, a->y), a->y + a->h);
            if (r > l && u > t) sb_printf(b, "M%.2f %.2fH%.2fV%.2fH%.2fZ", l, t, r, u, l);
        }
    } else if (s->style == RM_STYLE_MARKERS) {
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i, &x, &y)) continue;
            double px = sx_of(a, x), py = sy_of(a, y);
            if (px < a->x - 0.01 || px > a->x + a->w + 0.01 || py < a->y - 0.01 || py > a->y + a->h + 0.01) continue;
            sb_printf(b, "M%.2f %.2fa2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0", px - 2.5, py);
        }
    } else {
        int have = 0;
        double px = 0, py = 0, ex = NAN, ey = NAN;   /* previous point; end of the last piece drawn */
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i, &x, &y)) { have = 0; continue; }
            double qx = sx_of(a, x), qy = sy_of(a, y);
            int next_ok = i + 1 < s->n && finite_pt(s, i + 1, &x, &y);
            double ax = have ? px : qx, ay = have ? py : qy, bx = qx, by = qy;
            if ((have || !next_ok) && clip_seg(&ax, &ay, &bx, &by, a->x, a->x + a->w, a->y, a->y + a->h)) {
                if (!(fabs(ax - ex) < 1e-6 && fabs(ay - ey) < 1e-6)) sb_printf(b, "M%.2f %.2f", ax, ay);
                sb_printf(b, "L%.2f %.2f", bx, by);
                ex = bx; ey = by;
            }
            px = qx; py = qy; have = 1;
        }
    }
    sb_puts(b, "\"/>\n");
}

/* legend sample for a series at (x, baseline y) */
static void svg_key(rm_sbuf *b, double x, double y, const rm_series *s, int colour) {
    const char *col = svg_colour(colour);
    if (s->style == RM_STYLE_MARKERS) sb_printf(b, "<circle class=\"key\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x + 9, y - 4, col);
    else if (s->style == RM_STYLE_BARS) sb_printf(b, "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"8\" fill=\"%s\"/>\n", x + 3, y - 8, col);
    else sb_printf(b, "<path class=\"key\" stroke=\"%s\" stroke-width=\"1.5\"%s d=\"M%.1f %.1fh18\"/>\n", col,
                   s->dash == RM_DASH_DASHED ? " stroke-dasharray=\"6 4\"" : s->dash == RM_DASH_DOTTED ? " stroke-dasharray=\"1.5 3\"" : "",
                   x, y - 4);
}

/* legend entries (named series, vlines, span) wrapped into width w from (x, y); returns lines used
 * (draw = 0 only counts) */
static int svg_legend(rm_sbuf *b, const rm_plot *p, double x, double y, double w, int draw) {
    double cx = 0;
    int lines = 0;
    for (int j = 0; j < p->nseries + 2; j++) {
        const char *name = j < p->nseries ? p->series[j].name : j == p->nseries ? (p->nvlines > 0 ? p->vline_name : NULL)
                                                                                : (p->span_lo < p->span_hi ? p->span_name : NULL);
        if (!name || !*name) continue;
        double ew = 24 + CHW * rm_text_width(name);
        if (lines == 0 || (cx > 0 && cx + ew > w)) { lines++; cx = 0; }
        double ly = y + (lines - 1) * LINE_H + 12;
        if (draw) {
            if (j < p->nseries) svg_key(b, x + cx, ly, &p->series[j], series_colour(&p->series[j], j));
            else if (j == p->nseries) sb_printf(b, "<path class=\"key\" stroke=\"#7f7f7f\" stroke-dasharray=\"3 3\" d=\"M%.1f %.1fv-10\"/>\n", x + cx + 9, ly + 1);
            else sb_printf(b, "<rect class=\"key\" x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"#000000\" fill-opacity=\"0.08\"/>\n", x + cx + 3, ly - 9);
            svg_text(b, x + cx + 22, ly, "start", "legend", name);
        }
        cx += ew + 12;
    }
    return lines;
}

/* one line-plot panel in the box (X,Y,W,H) */
static void svg_panel(rm_sbuf *b, double X, double Y, double W, double H, const rm_plot *p, int legend, const char *extra) {
    double x0, x1, y0, y1;
    int nbad, nfin = plot_ranges(p, &x0, &x1, &y0, &y1, &nbad);
    int nout = p->ymin < p->ymax ? count_outside(p, x0, x1, y0, y1) : 0;
    char note[512];
    make_note(note, sizeof note, nbad, nout, extra);
    double top = Y + 6, bot = Y + H - 4;
    if (p->title && *p->title) { svg_text(b, X + W / 2, top + 13, "middle", "title", p->title); top += 22; }
    if (note[0]) { svg_text(b, X + 4, bot - 3, "start", "note", note); bot -= LINE_H; }
    int nleg = legend ? svg_legend(b, p, 0, 0, W - 16, 0) : 0;
    if (nleg) { bot -= nleg * LINE_H + 4; svg_legend(b, p, X + 8, bot + 4, W - 16, 1); }
    if (p->xlabel && *p->xlabel) bot -= LINE_H;
    double xlab_y = bot;
    bot -= LINE_H + 6;                                   /* tick labels, tick marks */
    double left = X + 50 + (p->ylabel && *p->ylabel ? 18 : 0);
    sarea a = {left, top + 4, fmax(X + W - 12 - left, 10), fmax(bot - top - 4, 10), x0, x1, y0, y1};
    if (p->xlabel && *p->xlabel) svg_text(b, a.x + a.w / 2, xlab_y + 12, "middle", "xlabel", p->xlabel);
    if (p->ylabel && *p->ylabel) {
        sb_printf(b, "<text class=\"ylabel\" transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" fill=\"#222222\">", X + 14, a.y + a.h / 2);
        svg_esc(b, p->ylabel);
        sb_puts(b, "</text>\n");
    }
    if (p->span_lo < p->span_hi && p->span_hi >= x0 && p->span_lo <= x1) {
        double l = sx_of(&a, fmax(p->span_lo, x0)), r = sx_of(&a, fmin(p->span_hi, x1));
        sb_printf(b, "<rect class=\"span\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#000000\" fill-opacity=\"0.08\"/>\n", l, a.y, r - l, a.h);
    }
    for (int i = 0; i < p->nvlines; i++) {
        double v = p->vlines[i];
        if (isfinite(v) && v >= x0 && v <= x1)
            sb_printf(b, "<path class=\"vline\" stroke=\"#7f7f7f\" stroke-dasharray=\"3 3\" d=\"M%.2f %.2fV%.2f\"/>\n", sx_of(&a, v), a.y, a.y + a.h);
    }
    /* axes and ticks */
    sb_printf(b, "<path class=\"axis\" fill=\"none\" stroke=\"#222222\" d=\"M%.2f %.2fV%.2fH%.2f\"/>\n", a.x, a.y, a.y + a.h, a.x + a.w);
    double t[RM_PLOT_MAX_TICKS];
    char lab[24];
    int mx = (int)(a.w / 40) + 1, my = (int)(a.h / 30) + 1;
    int n = rm_nice_ticks(x0, x1, mx < 2 ? 2 : mx, t);
    double step = n > 1 ? t[1] - t[0] : x1 - x0;
    for (int i = 0; i < n; i++) {
        if (p->x_integer && fabs(t[i] - round(t[i])) > 1e-9) continue;
        rm_tick_label(t[i], p->x_integer && step < 1 ? 1 : step, lab, sizeof lab);
        double px = sx_of(&a, t[i]);
        sb_printf(b, "<path class=\"tick\" stroke=\"#222222\" d=\"M%.2f %.2fv5\"/>\n", px, a.y + a.h);
        svg_text(b, px, a.y + a.h + 18, "middle", "tick", lab);
    }
    n = rm_nice_ticks(y0, y1, my < 2 ? 2 : my, t);
    step = n > 1 ? t[1] - t[0] : y1 - y0;
    for (int i = 0; i < n; i++) {
        rm_tick_label(t[i], step, lab, sizeof lab);
        double py = sy_of(&a, t[i]);
        sb_printf(b, "<path class=\"tick\" stroke=\"#222222\" d=\"M%.2f %.2fh-5\"/>\n", a.x, py);
        svg_text(b, a.x - 8, py + 4, "end", "tick", lab);
    }
    for (int j = 0; j < p->nseries; j++) svg_series(b, &a, &p->series[j], series_colour(&p->series[j], j));
    if (nfin == 0) svg_text(b, a.x + a.w / 2, a.y + a.h / 2, "middle", "nodata", "(no data)");
}

static char *svg_end(rm_ctx *ctx, rm_sbuf *b) {
    sb_puts(b, "</svg>\n");
    return sb_finish(ctx, b);
}

char *rm_svg_lines(rm_ctx *ctx, const rm_plot *p, int w_px, int h_px) {
    if (check_plot(ctx, p) != RM_OK || svg_check(ctx, w_px, h_px) != RM_OK) return NULL;
    rm_sbuf b = {0};
    svg_begin(&b, w_px, h_px);
    svg_panel(&b, 0, 0, w_px, h_px, p, 1, NULL);
    return svg_end(ctx, &b);
}

char *rm_svg_hist(rm_ctx *ctx, const rm_hist *h, int w_px, int h_px) {
    hist_data d;
    if (svg_check(ctx, w_px, h_px) != RM_OK || hist_prepare(ctx, h, &d) != RM_OK) return NULL;
    rm_sbuf b = {0};
    svg_begin(&b, w_px, h_px);
    svg_panel(&b, 0, 0, w_px, h_px, &d.p, 1, d.note);
    hist_release(&d);
    return svg_end(ctx, &b);
}

char *rm_svg_train(rm_ctx *ctx, const rm_trainchart *t, int w_px, int h_px) {
    train_data d;
    if (svg_check(ctx, w_px, h_px) != RM_OK || train_prepare(ctx, t, &d) != RM_OK) return NULL;
    rm_sbuf b = {0};
    svg_begin(&b, w_px, h_px);
    double top = 0;
    if (t->title && *t->title) { svg_text(&b, w_px / 2.0, 18, "middle", "title", t->title); top = 26; }
    double ph = (h_px - top) / d.np;
    for (int i = 0; i < d.np; i++) svg_panel(&b, 0, top + i * ph, w_px, ph, &d.p[i], 1, NULL);
    train_release(&d);
    return svg_end(ctx, &b);
}

char *rm_svg_grid(rm_ctx *ctx, const rm_grid *g, int w_px, int h_px) {
    double r[4];
    if (svg_check(ctx, w_px, h_px) != RM_OK) return NULL;
    rm_plot *pan = grid_prepare(ctx, g, r);
    if (!pan) return NULL;
    rm_sbuf b = {0};
    svg_begin(&b, w_px, h_px);
    double top = 0, foot = g->n > 0 && svg_legend(&b, &pan[0], 0, 0, w_px - 16, 0) ? LINE_H + 8 : 0;
    if (g->title && *g->title) { svg_text(&b, w_px / 2.0, 18, "middle", "title", g->title); top = 26; }
    int n = g->n, gc = g->ncols > 0 ? g->ncols : (int)ceil(sqrt((double)n));
    if (gc < 1) gc = 1;
    int gr = n > 0 ? (n + gc - 1) / gc : 1;
    double pw = (double)w_px / gc, ph = (h_px - top - foot) / gr;
    for (int i = 0; i < n; i++) svg_panel(&b, (i % gc) * pw, top + (i / gc) * ph, pw, ph, &pan[i], 0, NULL);
    if (n == 0) svg_text(&b, w_px / 2.0, h_px / 2.0, "middle", "nodata", "(no panels)");
    if (foot) svg_legend(&b, &pan[0], 8, h_px - foot, w_px - 16, 1);
    free(pan);
    return svg_end(ctx, &b);
}

/* fill for value v in [lo,hi]: white -> dark blue, or, when the range holds 0 (signed weights), blue
 * below 0 and red above it, white at exactly 0, each side scaled by its own extreme */
static void heat_colour(double v, double lo, double hi, char *out) {
    double r, g, bl;
    if (!isfinite(v)) { strcpy(out, "#bbbbbb"); return; }
    v = fmin(fmax(v, lo), hi);
    if (lo < 0 && hi > 0) {
        double u = v < 0 ? v / lo : v / hi;
        if (v < 0) { r = 1 - 0.85 * u; g = 1 - 0.6 * u; bl = 1 - 0.3 * u; }
        else { r = 1 - 0.3 * u; g = 1 - 0.85 * u; bl = 1 - 0.85 * u; }
    } else {
        double t = (v - lo) / (hi - lo);
        r = 1 - 0.97 * t; g = 1 - 0.81 * t; bl = 1 - 0.58 * t;
    }
    snprintf(out, 8, "#%02x%02x%02x", (int)lround(r * 255), (int)lround(g * 255), (int)lround(bl * 255));
}

char *rm_svg_heatmap(rm_ctx *ctx, const rm_heatmap *hm, int w_px, int h_px) {
    double lo, hi;
    int bad;
    if (svg_check(ctx, w_px, h_px) != RM_OK || heatmap_range(ctx, hm, &lo, &hi, &bad) != RM_OK) return NULL;
    rm_sbuf b = {0};
    svg_begin(&b, w_px, h_px);
    double top = 8, bot = h_px - 8;
    if (hm->title && *hm->title) { svg_text(&b, w_px / 2.0, 20, "middle", "title", hm->title); top = 30; }
    bot -= 30;                                           /* legend bar and labels */
    if (hm->xlabel && *hm->xlabel) bot -= LINE_H;
    bot -= LINE_H;                                       /* column indices */
    double left = 40 + (hm->ylabel && *hm->ylabel ? 18 : 0), avw = w_px - left - 12, avh = bot - top;
    double cell = fmin(avw / hm->cols, avh / hm->rows);
    double mw = cell * hm->cols, mh = cell * hm->rows, mx = left + (avw - mw) / 2, my = top;
    char col[8];
    sb_puts(&b, "<g class=\"cells\" shape-rendering=\"crispEdges\">\n");
    for (int r = 0; r < hm->rows; r++)
        for (int c = 0; c < hm->cols; c++) {
            heat_colour(hm->m[(long)r * hm->cols + c], lo, hi, col);
            sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                      mx + c * cell, my + r * cell, cell + 0.05, cell + 0.05, col);
        }
    sb_puts(&b, "</g>\n");
    sb_printf(&b, "<rect class=\"frame\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#222222\"/>\n", mx, my, mw, mh);
    char s[32];
    svg_text(&b, mx - 6, my + fmin(cell, 12) , "end", "tick", "0");
    snprintf(s, sizeof s, "%d", hm->rows - 1);
    if (hm->rows > 1) svg_text(&b, mx - 6, my + mh, "end", "tick", s);
    svg_text(&b, mx, my + mh + 14, "start", "tick", "0");
    snprintf(s, sizeof s, "%d", hm->cols - 1);
    if (hm->cols > 1) svg_text(&b, mx + mw, my + mh + 14, "end", "tick", s);
    if (hm->xlabel && *hm->xlabel) svg_text(&b, mx + mw / 2, my + mh + 14 + LINE_H, "middle", "xlabel", hm->xlabel);
    if (hm->ylabel && *hm->ylabel) {
        sb_printf(&b, "<text class=\"ylabel\" transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" fill=\"#222222\">", 14.0, my + mh / 2);
        svg_esc(&b, hm->ylabel);
        sb_puts(&b, "</text>\n");
    }
    /* legend: a 20-step colour bar from min to max, 0 marked when inside */
    double lx = w_px / 2.0 - 100, ly = h_px - 30;
    for (int i = 0; i < 20; i++) {
        heat_colour(lo + (i + 0.5) / 20 * (hi - lo), lo, hi, col);
        sb_printf(&b, "<rect class=\"ramp\" x=\"%.1f\" y=\"%.1f\" width=\"10.2\" height=\"10\" fill=\"%s\"/>\n", lx + 10 * i, ly, col);
    }
    if (lo < 0 && hi > 0) {
        double zx = lx + 200 * (0 - lo) / (hi - lo);
        sb_printf(&b, "<path class=\"tick\" stroke=\"#222222\" d=\"M%.1f %.1fv14\"/>\n", zx, ly - 2);
        svg_text(&b, zx, ly + 24, "middle", "legend", "0");
    }
    char a1[24], a2[24], note[64];
    fmt_value(lo, a1, sizeof a1); fmt_value(hi, a2, sizeof a2);
    svg_text(&b, lx - 6, ly + 10, "end", "legend", a1);
    svg_text(&b, lx + 206, ly + 10, "start", "legend", a2);
    if (bad) {
        snprintf(note, sizeof note, "%d non-finite value%s (grey)", bad, bad == 1 ? "" : "s");
        svg_text(&b, 4, h_px - 4, "start", "note", note);
    }
    return svg_end(ctx, &b);
}
