/* lines.c - the line-plot panel (axes, ticks, series as lines/markers/bars, vertical marker lines,
 * the span as a strip on the x axis, legend, notes) drawn into a region of a canvas, its
 * small-multiples variant, and rm_plot_lines. The legend lists what is visible: the series are drawn
 * once to see which survive (later ones cover earlier ones), then laid out again for real. Markers
 * denser than one per two columns are not drawn (they would hide their curve); a note says so.
 * Histograms, training charts and grids are built from draw_panel. */
#include "plot_int.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- mapping data to sub-pixels of an area */
typedef struct area {
    int x, y, w, h;          /* cells */
    int pw, ph;              /* sub-pixels */
    double x0, x1, y0, y1;   /* data range */
} area;

static double fx_of(const area *a, double x) { return (x - a->x0) / (a->x1 - a->x0) * (a->pw - 1); }
static double fy_of(const area *a, double y) { return (a->y1 - y) / (a->y1 - a->y0) * (a->ph - 1); }

int clip_seg(double *ax, double *ay, double *bx, double *by, double xlo, double xhi, double ylo, double yhi) {
    double t0 = 0, t1 = 1, dx = *bx - *ax, dy = *by - *ay;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {*ax - xlo, xhi - *ax, *ay - ylo, yhi - *ay};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) { if (q[i] < 0) return 0; continue; }
        double t = q[i] / p[i];
        if (p[i] < 0) { if (t > t1) return 0; if (t > t0) t0 = t; }
        else { if (t < t0) return 0; if (t < t1) t1 = t; }
    }
    double nax = *ax + t0 * dx, nay = *ay + t0 * dy;
    *bx = *ax + t1 * dx; *by = *ay + t1 * dy;
    *ax = nax; *ay = nay;
    return 1;
}

typedef struct pen {
    rm_canvas *cv;
    const area *a;
    int colour, on, off;     /* dash pattern in pixels (off 0: solid) */
    long step;               /* pixels walked along the series */
    int lastx, lasty;        /* last pixel drawn (to not count a joint twice) */
    uint32_t glyph;
} pen;

static void pen_dot(pen *pn, int px, int py) {
    if (px == pn->lastx && py == pn->lasty) return;
    pn->lastx = px; pn->lasty = py;
    long t = pn->step++;
    if (pn->off && t % (pn->on + pn->off) >= pn->on) return;
    if (px < 0 || py < 0 || px >= pn->a->pw || py >= pn->a->ph) return;
    cv_px(pn->cv, pn->a->x, pn->a->y, px, py, pn->colour, pn->glyph);
}

static void pen_seg(pen *pn, double ax, double ay, double bx, double by) {
    if (!clip_seg(&ax, &ay, &bx, &by, -0.49, pn->a->pw - 0.51, -0.49, pn->a->ph - 0.51)) return;
    int x = (int)lround(ax), y = (int)lround(ay), x1 = (int)lround(bx), y1 = (int)lround(by);
    int dx = x1 > x ? x1 - x : x - x1, dy = y1 > y ? y - y1 : y1 - y; /* dy <= 0 */
    int sx = x < x1 ? 1 : -1, sy = y < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        pen_dot(pn, x, y);
        if (x == x1 && y == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x += sx; }
        if (e2 <= dx) { err += dx; y += sy; }
    }
}

static void draw_series(rm_canvas *cv, const area *a, const rm_series *s, int colour, char glyph) {
    double x, y;
    if (s->style == RM_STYLE_BARS) {
        double bw = bar_width(s), base = a->y0 > 0 ? a->y0 : a->y1 < 0 ? a->y1 : 0.0;
        double hb = (a->y1 - base) / (a->y1 - a->y0) * a->ph;
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i, &x, &y)) continue;
            double el = (x - bw / 2 - a->x0) / (a->x1 - a->x0) * a->pw;
            double er = (x + bw / 2 - a->x0) / (a->x1 - a->x0) * a->pw;
            double hy = (a->y1 - y) / (a->y1 - a->y0) * a->ph;
            if (er < 0 || el > a->pw) continue;
            /* columns whose centre is inside [el, er); the slack makes neighbours agree on a shared edge */
            int c0 = (int)floor(fmax(el, -1) + 0.5 + 1e-3), c1 = (int)floor(fmin(er, a->pw + 1) + 0.5 + 1e-3) - 1;
            double top = fmax(fmin(hy, hb), 0), bot = fmin(fmax(hy, hb), a->ph);
            int r0 = (int)ceil(top - 0.5), r1 = (int)ceil(bot - 0.5) - 1;
            if (r1 < r0 && y != base) {                 /* a non-zero bar shows at least one pixel */
                if (y > base) r0 = r1 = (int)ceil(hb - 0.5) - 1;
                else r0 = r1 = (int)ceil(hb - 0.5);
            }
            for (int c = c0; c <= c1; c++)
                for (int r = r0; r <= r1; r++)
                    if (c >= 0 && c < a->pw && r >= 0 && r < a->ph) cv_px(cv, a->x, a->y, c, r, colour, (uint32_t)glyph);
        }
        return;
    }
    if (s->style == RM_STYLE_MARKERS) {        /* one whole cell each, the glyph of the legend */
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i, &x, &y)) continue;
            double fx = fx_of(a, x), fy = fy_of(a, y);
            if (fx < -0.5 || fx > a->pw - 0.5 || fy < -0.5 || fy > a->ph - 0.5) continue;
            int px = (int)lround(fx), py = (int)lround(fy);
            if (cv->mode == RM_CANVAS_ASCII) cv_px(cv, a->x, a->y, px, py, colour, (uint32_t)glyph);
            else cv_put(cv, a->x + px / cv->sx, a->y + py / cv->sy, MARKER_GLYPH, colour);
        }
        return;
    }
    pen pn = {cv, a, colour, 1, 0, 0, -1, -1, (uint32_t)glyph};
    dash_pattern(cv->mode, s->dash, &pn.on, &pn.off);
    int have = 0;
    double px = 0, py = 0;
    for (int i = 0; i < s->n; i++) {
        if (!finite_pt(s, i, &x, &y)) { have = 0; continue; }
        double fx = fx_of(a, x), fy = fy_of(a, y);
        int next_ok = i + 1 < s->n && finite_pt(s, i + 1, &x, &y);
        if (have) pen_seg(&pn, px, py, fx, fy);
        else if (!next_ok) pen_seg(&pn, fx, fy, fx, fy);  /* isolated point */
        px = fx; py = fy; have = 1;
    }
}

/* ---- legend */
/* markers too dense to draw as such at a panel `cells` wide: more than one per two columns */
static int too_dense(const rm_plot *p, int j, int cells) {
    const rm_series *s = &p->series[j];
    if (s->style != RM_STYLE_MARKERS) return 0;
    int fx = p->xmin < p->xmax, k = 0;
    double x, y;
    for (int i = 0; i < s->n; i++)
        if (finite_pt(s, i, &x, &y) && (!fx || (x >= p->xmin && x <= p->xmax))) k++;
    return 2 * k > cells;
}

/* "table T: 65 points, too dense to mark" for each such series, then `extra` */
static void dense_note(const rm_plot *p, int cells, const char *extra, char *buf, int n) {
    int k = 0;
    buf[0] = 0;
    for (int j = 0; j < p->nseries && j < OWN_MAXSERIES && k < n; j++)
        if (too_dense(p, j, cells))
            k += snprintf(buf + k, (size_t)(n - k), "%s%s: %d points, too dense to mark", k ? "; " : "",
                          p->series[j].name && *p->series[j].name ? p->series[j].name : "markers", p->series[j].n);
    if (extra && *extra && k < n) snprintf(buf + k, (size_t)(n - k), "%s%s", k ? "; " : "", extra);
}

static int span_shown(const rm_plot *p) { return p->span_lo < p->span_hi; }
static int mid_shown(const rm_plot *p) {
    return span_shown(p) && p->span_mid_name && *p->span_mid_name && p->span_mid >= p->span_lo && p->span_mid <= p->span_hi;
}

static void add_entry(lentry *e, uint32_t cp, const char *name, int colour) {
    cp_utf8(e->key, cp); e->name = name; e->colour = colour;
}

int legend_entries(const rm_plot *p, int mode, const uint8_t *seen, lentry *e, int max) {
    char g[OWN_MAXSERIES];
    plot_glyphs(p, g);
    int k = 0;
    for (int j = 0; j < p->nseries && j < OWN_MAXSERIES && k < max; j++) {
        const rm_series *s = &p->series[j];
        if (!s->name || !*s->name || (seen && !seen[j + 1])) continue;
        legend_key(e[k].key, mode, s->style, s->dash, g[j]);
        e[k].name = s->name;
        e[k].colour = series_colour(s, j);
        k++;
    }
    if (p->nvlines > 0 && p->vline_name && *p->vline_name && (!seen || seen[OWN_VLINE]) && k < max)
        add_entry(&e[k++], g_axis(mode, AX_VLINE), p->vline_name, 7);
    if (span_shown(p) && p->span_name && *p->span_name && k < max) add_entry(&e[k++], g_axis(mode, AX_BAND), p->span_name, 7);
    if (mid_shown(p) && k < max) add_entry(&e[k++], g_axis(mode, AX_BAND_MID), p->span_mid_name, 7);
    return k;
}

static int entry_w(const lentry *e) { return rm_text_width(e->key) + 1 + rm_text_width(e->name); }

/* lines needed to wrap the entries into width w (entries 3 apart) */
int legend_lines(const lentry *e, int n, int w) {
    int lines = 0, col = 0;
    for (int i = 0; i < n; i++) {
        int ew = entry_w(&e[i]);
        if (col == 0 || col + 3 + ew > w) { lines++; col = ew; }
        else col += 3 + ew;
    }
    return lines;
}

/* draws entries from (x,y), wrapping within w and at most maxl lines; returns the column after the
 * last entry on the last line used */
int draw_legend(rm_canvas *cv, int x, int y, int w, int maxl, const lentry *e, int n) {
    int line = 0, col = 0;
    for (int i = 0; i < n; i++) {
        int ew = entry_w(&e[i]);
        if (col > 0 && col + 3 + ew > w) { line++; col = 0; }
        else if (col > 0) col += 3;
        if (line >= maxl) break;
        col += cv_text(cv, x + col, y + line, e[i].key, w - col, e[i].colour);
        if (col < w) col++;
        col += cv_text(cv, x + col, y + line, e[i].name, w - col, 0);
    }
    return col;
}

/* ---- notes: non-finite points, clipped points, caller's note */
void make_note(char *buf, int n, int nbad, int nout, const char *extra) {
    buf[0] = 0;
    int k = 0;
    if (nbad) k += snprintf(buf + k, (size_t)(n - k), "%d non-finite point%s skipped", nbad, nbad == 1 ? "" : "s");
    if (nout && k < n) k += snprintf(buf + k, (size_t)(n - k), "%s%d point%s outside the y range", k ? "; " : "", nout, nout == 1 ? "" : "s");
    if (extra && *extra && k < n) snprintf(buf + k, (size_t)(n - k), "%s%s", k ? "; " : "", extra);
}

/* where to break a note into two lines of at most w columns: after the last "; " that fits, else
 * at the last blank that fits, else -1 (hard break); returns the lines needed (1 or 2) */
static int note_split(const char *note, int w, int *cut) {
    *cut = -1;
    if (rm_text_width(note) <= w) return 1;
    int col = 0, semi = -1, blank = -1;
    for (const char *p = note; *p && col <= w; col++) {
        if (*p == ' ') { blank = (int)(p - note); if (p > note && p[-1] == ';') semi = (int)(p - note) - 1; }
        utf8_next(&p);
    }
    *cut = semi >= 0 ? semi : blank;
    return 2;
}

static void draw_decor(rm_canvas *cv, const area *a, const rm_plot *p, int zero_axes) {
    if (zero_axes) {
        if (a->y0 < 0 && a->y1 > 0) {
            int r = tick_row(0, a->y0, a->y1, a->h, cv->sy);
            for (int c = 0; c < a->w; c++) cv_put(cv, a->x + c, a->y + r, g_axis(cv->mode, AX_H), 7);
        }
        if (a->x0 < 0 && a->x1 > 0) {
            int c = tick_cell(0, a->x0, a->x1, a->w, cv->sx);
            for (int r = 0; r < a->h; r++) cv_put(cv, a->x + c, a->y + r, g_axis(cv->mode, AX_V), 7);
        }
    }
    cv->owner = OWN_VLINE;
    for (int i = 0; i < p->nvlines; i++) {
        double v = p->vlines[i];
        if (!isfinite(v) || v < a->x0 || v > a->x1) continue;
        int c = tick_cell(v, a->x0, a->x1, a->w, cv->sx);
        for (int r = 0; r < a->h; r++) cv_put(cv, a->x + c, a->y + r, g_axis(cv->mode, AX_VLINE), 7);
    }
    cv->owner = OWN_NONE;
}

/* every series in order, each as its own owner; `cells`: the panel width markers are judged at */
static void draw_all_series(rm_canvas *cv, const area *a, const rm_plot *p, int cells) {
    char g[OWN_MAXSERIES];
    plot_glyphs(p, g);
    for (int j = 0; j < p->nseries && j < OWN_MAXSERIES; j++) {
        if (too_dense(p, j, cells)) continue;
        cv->owner = j + 1;
        draw_series(cv, a, &p->series[j], series_colour(&p->series[j], j), g[j]);
    }
    cv->owner = OWN_NONE;
}

/* the span as a strip on the x axis row (under the area): the band glyph over [span_lo, span_hi]
 * with its ticks kept, and the mark at span_mid */
static void draw_strip(rm_canvas *cv, const area *a, const rm_plot *p) {
    if (!span_shown(p) || p->span_hi < a->x0 || p->span_lo > a->x1 || a->y + a->h >= cv->cy1) return;
    int c0 = tick_cell(fmax(p->span_lo, a->x0), a->x0, a->x1, a->w, cv->sx);
    int c1 = tick_cell(fmin(p->span_hi, a->x1), a->x0, a->x1, a->w, cv->sx);
    for (int c = c0; c <= c1; c++) {
        rm_cell *cl = &cv->c[(size_t)(a->y + a->h) * cv->w + a->x + c];
        int tick = cl->ch == g_axis(cv->mode, AX_XTICK);
        cv_put(cv, a->x + c, a->y + a->h, g_axis(cv->mode, tick ? AX_BAND_TICK : AX_BAND), 7);
    }
    if (mid_shown(p) && p->span_mid >= a->x0 && p->span_mid <= a->x1)
        cv_put(cv, a->x + tick_cell(p->span_mid, a->x0, a->x1, a->w, cv->sx), a->y + a->h, g_axis(cv->mode, AX_BAND_MID), 7);
}

void center_text(rm_canvas *cv, int x, int y, int w, const char *s, int colour) {
    int n = rm_text_width(s);
    if (n > w && w >= 4) {                       /* cut, marked with a trailing ellipsis */
        cv_text(cv, x, y, s, w - 1, colour);
        cv_put(cv, x + w - 1, y, cv->mode == RM_CANVAS_ASCII ? '~' : 0x2026, colour);
        return;
    }
    if (n > w) n = w;
    cv_text(cv, x + (w - n) / 2, y, s, n, colour);
}

/* small-multiples panel: label row, then a bare area with faint zero axes */
static void draw_mini(rm_canvas *cv, int X, int Y, int W, int H, const rm_plot *p, const panel_opt *o) {
    double x0, x1, y0, y1;
    int nbad, nfin = plot_ranges(p, &x0, &x1, &y0, &y1, &nbad);
    char label[160];
    snprintf(label, sizeof label, "%s", p->title ? p->title : "");
    if (nbad) snprintf(label + strlen(label), sizeof label - strlen(label), " (%d skipped)", nbad);
    if (o->show_range) {                      /* "ch 3 [-1.2,2]" when it fits */
        char lo[24], hi[24], r[64];
        fmt_value(y0, lo, sizeof lo); fmt_value(y1, hi, sizeof hi);
        snprintf(r, sizeof r, " [%s,%s]", lo, hi);
        if (rm_text_width(label) + rm_text_width(r) <= W) strcat(label, r);
    }
    cv_text(cv, X, Y, label, W, 0);
    area a = {X, Y + 1, W, H - 1, W * cv->sx, (H - 1) * cv->sy, x0, x1, y0, y1};
    if (a.h < 1) return;
    cv_mark_area(cv, a.x, a.y, a.w, a.h);
    draw_decor(cv, &a, p, 1);
    draw_all_series(cv, &a, p, W);
    if (nfin == 0) center_text(cv, a.x, a.y + (a.h - 1) / 2, a.w, "(no data)", 0);
}

/* the layout of a full panel: which rows are kept, plot area, ticks */
typedef struct playout {
    double x0, x1, y0, y1;
    int nbad, nfin, nle, cut;
    int t_title, t_ylabel, t_xlabel, t_xticks, t_legend, t_note;
    int ph, ny, nx, ylw, rmargin;
    double yt[RM_PLOT_MAX_TICKS], xt[RM_PLOT_MAX_TICKS];
    char yl[RM_PLOT_MAX_TICKS][24], xl[RM_PLOT_MAX_TICKS][24];
    int xs[RM_PLOT_MAX_TICKS];
    char note[512];
    lentry le[40];
} playout;

/* seen: the owners visible (legend entries), NULL for all named ones */
static void panel_layout(const rm_canvas *cv, int W, int H, const rm_plot *p, const panel_opt *o, const uint8_t *seen,
                         playout *L) {
    char extra[512];
    L->cut = -1;
    L->nfin = plot_ranges(p, &L->x0, &L->x1, &L->y0, &L->y1, &L->nbad);
    int nout = p->ymin < p->ymax ? count_outside(p, L->x0, L->x1, L->y0, L->y1) : 0;
    dense_note(p, W, o->note, extra, sizeof extra);
    make_note(L->note, sizeof L->note, L->nbad, nout, extra);
    L->nle = legend_entries(p, cv->mode, seen, L->le, 40);

    /* rows, dropped in this order while the plot area is too small */
    L->t_title = (p->title && *p->title) || (o->legend_in_title && L->nle > 0);
    L->t_ylabel = p->ylabel && *p->ylabel;
    L->t_xlabel = p->xlabel && *p->xlabel && o->xticks;
    L->t_xticks = o->xticks;
    L->t_legend = o->legend && !o->legend_in_title && L->nle > 0 ? legend_lines(L->le, L->nle, W) : 0;
    L->t_note = L->note[0] ? note_split(L->note, W, &L->cut) : 0;
    if (L->t_legend > 3) L->t_legend = 3;
    int min_ph = H < 8 ? 2 : H * 2 / 5 > 3 ? H * 2 / 5 : 3;
    if (min_ph > H - 1) min_ph = H - 1;
    /* a title row that carries the legend outlives the x tick labels */
    int *late1 = o->legend_in_title ? &L->t_xticks : &L->t_title, *late2 = o->legend_in_title ? &L->t_title : &L->t_xticks;
    int *drop[] = {&L->t_ylabel, &L->t_note, &L->t_xlabel, &L->t_legend, &L->t_legend, &L->t_legend,
                   late1, late2, &L->t_note};
    for (size_t i = 0; i <= sizeof drop / sizeof *drop; i++) {
        L->ph = H - (L->t_title + L->t_ylabel + 1 + L->t_xticks + L->t_xlabel + L->t_legend + L->t_note);
        if (L->ph >= min_ph || i == sizeof drop / sizeof *drop) break;
        if (*drop[i] > 0) (*drop[i])--;
    }

    /* y ticks decide the left margin (at least o->ylw); dropped when they would leave too little width */
    L->ny = fit_yticks(L->y0, L->y1, L->ph, cv->sy, 0, L->yt, L->yl);
    L->ylw = o->ylw;
    for (int i = 0; i < L->ny; i++) if ((int)strlen(L->yl[i]) > L->ylw) L->ylw = (int)strlen(L->yl[i]);
    if (W - L->ylw - 1 < 12 || L->ylw > W / 3) { L->ny = 0; L->ylw = 0; }
    L->rmargin = W >= 40 ? 1 : 0;
    int aw = W - L->ylw - 1 - L->rmargin;
    L->nx = L->t_xticks ? fit_xticks(L->x0, L->x1, aw, cv->sx, p->x_integer, L->ylw + 1, L->rmargin, L->xt, L->xl, L->xs) : 0;
}

static void panel_area(const rm_canvas *cv, int X, int Y, int W, const playout *L, area *a) {
    *a = (area){X + L->ylw + 1, Y + L->t_title + L->t_ylabel, W - L->ylw - 1 - L->rmargin, L->ph, 0, 0, L->x0, L->x1, L->y0, L->y1};
    a->pw = a->w * cv->sx;
    a->ph = a->h * cv->sy;
}

int panel_ylw(const rm_canvas *cv, int W, int H, const rm_plot *p, const panel_opt *o) {
    if (o->mini || W < 12 || H < 3) return 0;
    playout L;
    panel_layout(cv, W, H, p, o, NULL, &L);
    return L.ylw;
}

/* the note on one or two lines from (x, row): split where panel_layout decided, else hard-wrapped */
static void draw_note(rm_canvas *cv, int x, int row, int w, const playout *L) {
    const char *note = L->note;
    if (L->t_note == 1 || (L->t_note == 2 && L->cut < 0)) cv_text(cv, x, row, note, w, 0);
    if (L->t_note != 2) return;
    if (L->cut < 0) {
        const char *rest = note;
        for (int k = 0; k < w && utf8_next(&rest); k++) {}
        cv_text(cv, x, row + 1, rest, w, 0);
        return;
    }
    char first[512];
    snprintf(first, sizeof first, "%.*s", L->cut, note);
    cv_text(cv, x, row, first, w, 0);
    cv_text(cv, x, row + 1, note + L->cut + (note[L->cut] == ';' ? 2 : 1), w, 0);
}

void draw_panel(rm_canvas *cv, int X, int Y, int W, int H, const rm_plot *p, const panel_opt *o) {
    cv_clip(cv, X, Y, W, H);
    if (o->mini || W < 12 || H < 3) { draw_mini(cv, X, Y, W, H, p, o); cv_clip(cv, 0, 0, cv->w, cv->h); return; }
    playout L;
    uint8_t seen[256] = {0};
    area a;
    /* a trial drawing at the size the full legend leaves tells which series stay visible */
    panel_layout(cv, W, H, p, o, NULL, &L);
    panel_area(cv, X, Y, W, &L, &a);
    draw_decor(cv, &a, p, 0);
    draw_all_series(cv, &a, p, W);
    cv_owners(cv, a.x, a.y, a.w, a.h, seen);
    cv_wipe(cv, a.x, a.y, a.w, a.h);
    panel_layout(cv, W, H, p, o, seen, &L);
    panel_area(cv, X, Y, W, &L, &a);

    cv_mark_area(cv, a.x, a.y, a.w, a.h);
    draw_decor(cv, &a, p, 0);
    /* axes: y axis one column left of the area, x axis one row below it */
    int axc = a.x - 1;
    for (int r = 0; r < a.h; r++) cv_put(cv, axc, a.y + r, g_axis(cv->mode, AX_V), 0);
    for (int i = 0; i < L.ny; i++) {
        int r = tick_row(L.yt[i], a.y0, a.y1, a.h, cv->sy);
        cv_put(cv, axc, a.y + r, g_axis(cv->mode, AX_YTICK), 0);
        cv_textr(cv, axc, a.y + r, L.yl[i], L.ylw, 0);
    }
    cv_put(cv, axc, a.y + a.h, g_axis(cv->mode, AX_CORNER), 0);
    for (int c = 0; c < a.w; c++) cv_put(cv, a.x + c, a.y + a.h, g_axis(cv->mode, AX_H), 0);
    for (int i = 0; i < L.nx; i++) {
        cv_put(cv, a.x + tick_cell(L.xt[i], a.x0, a.x1, a.w, cv->sx), a.y + a.h, g_axis(cv->mode, AX_XTICK), 0);
        cv_text(cv, a.x + L.xs[i], a.y + a.h + 1, L.xl[i], 24, 0);
    }
    draw_strip(cv, &a, p);
    draw_all_series(cv, &a, p, W);
    memset(seen, 0, sizeof seen);                /* the legend of what is drawn */
    cv_owners(cv, a.x, a.y, a.w, a.h, seen);
    L.nle = legend_entries(p, cv->mode, seen, L.le, 40);
    if (L.nfin == 0) center_text(cv, a.x, a.y + (a.h - 1) / 2, a.w, "(no data)", 0);

    /* text rows: title (or title + legend), ylabel; under the axis: xlabel, legend, note */
    int row = Y;
    if (L.t_title) {
        if (o->legend_in_title) {
            int k = cv_text(cv, X, row, p->title, W, 0);
            if (k > 0) k += 2;
            if (k < W) draw_legend(cv, X + k, row, W - k, 1, L.le, L.nle);
        } else center_text(cv, X, row, W, p->title, 0);
        row++;
    }
    if (L.t_ylabel) cv_text(cv, X, row++, p->ylabel, W, 0);
    row = a.y + a.h + 1 + L.t_xticks;
    if (L.t_xlabel) center_text(cv, a.x, row++, a.w, p->xlabel, 0);
    if (L.t_legend) { draw_legend(cv, X, row, W, L.t_legend, L.le, L.nle); row += L.t_legend; }
    if (L.t_note) draw_note(cv, X, row, W, &L);
    cv_clip(cv, 0, 0, cv->w, cv->h);
}

int check_plot(rm_ctx *ctx, const rm_plot *p) {
    if (!p) return rm_err(ctx, "plot: no plot description");
    if (p->nseries < 0 || (p->nseries > 0 && !p->series)) return rm_err(ctx, "plot: nseries %d without a series array", p->nseries);
    if (p->nvlines < 0 || (p->nvlines > 0 && !p->vlines)) return rm_err(ctx, "plot: nvlines %d without values", p->nvlines);
    for (int j = 0; j < p->nseries; j++) {
        const rm_series *s = &p->series[j];
        if (s->n < 0 || (s->n > 0 && !s->y)) return rm_err(ctx, "plot: series %d has n = %d but no y values", j, s->n);
        if (s->style < RM_STYLE_LINE || s->style > RM_STYLE_BARS) return rm_err(ctx, "plot: series %d has unknown style %d", j, s->style);
    }
    return RM_OK;
}

char *rm_plot_lines(rm_ctx *ctx, const rm_plot *p, int width, int height, int mode, int colour) {
    rm_canvas cv;
    if (check_plot(ctx, p) != RM_OK || cv_init(ctx, &cv, width, height, mode) != RM_OK) return NULL;
    panel_opt o = {.legend = 1, .xticks = 1};
    draw_panel(&cv, 0, 0, width, height, p, &o);
    char *s = cv_render(ctx, &cv, colour);
    cv_free(&cv);
    return s;
}
