/* plot_int.h - internals shared by the plot files (not part of the public API): a growable string
 * buffer, UTF-8 helpers, the cell canvas with its sub-pixel modes, data ranges and the line-plot
 * panel that histograms, training charts and grids are built from. */
#ifndef RM_PLOT_INT_H
#define RM_PLOT_INT_H
#include "plot.h"
#include <stddef.h>
#include <stdint.h>

/* ---- growable buffer (buf.c); after an allocation failure `oom` is set and appends do nothing */
typedef struct rm_sbuf { char *s; size_t n, cap; int oom; } rm_sbuf;
void sb_put(rm_sbuf *b, const char *s, size_t n);
void sb_puts(rm_sbuf *b, const char *s);
void sb_printf(rm_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_cp(rm_sbuf *b, uint32_t cp);            /* one code point as UTF-8 */
int cp_utf8(char *u, uint32_t cp);              /* code point -> NUL-terminated UTF-8 in u[5]; returns bytes */
char *sb_finish(rm_ctx *ctx, rm_sbuf *b);       /* the string (caller frees) or NULL + message */
/* next code point of *s (advances *s; 0 at the end); invalid UTF-8 and control characters come
 * back as '?' so user text can never break a line, the layout or an XML document */
uint32_t utf8_next(const char **s);

/* ---- canvas (canvas.c): w x h cells; drawing outside the clip rectangle is ignored. Every cell
 * remembers who drew it last (cv->owner at the time: a series, the vlines, or 0 for text and axes);
 * sub-pixels of another owner are wiped first, so a cell always shows exactly one owner's glyph */
enum { CELL_AREA = 1 };              /* inside a plot area: braille empties are U+2800 */
enum { OWN_NONE = 0, OWN_MAXSERIES = 250, OWN_VLINE = 254 };   /* series j is owner j + 1 */
typedef struct rm_cell { uint32_t ch; uint8_t bits, colour, flags, owner; } rm_cell;
typedef struct rm_canvas {
    int w, h, mode;
    int sx, sy;                      /* sub-pixels per cell: 1x1 ascii, 2x2 block, 2x4 braille */
    int cx0, cy0, cx1, cy1;          /* clip rectangle [cx0,cx1) x [cy0,cy1) */
    int owner;                       /* owner of what is drawn next */
    rm_cell *c;
} rm_canvas;
int cv_init(rm_ctx *ctx, rm_canvas *cv, int w, int h, int mode);
void cv_free(rm_canvas *cv);
void cv_clip(rm_canvas *cv, int x, int y, int w, int h);   /* intersected with the canvas */
void cv_put(rm_canvas *cv, int x, int y, uint32_t ch, int colour);
/* text at (x,y), at most maxw cells; returns cells written */
int cv_text(rm_canvas *cv, int x, int y, const char *s, int maxw, int colour);
int cv_textr(rm_canvas *cv, int xend, int y, const char *s, int maxw, int colour); /* right-aligned, ends before xend */
void cv_mark_area(rm_canvas *cv, int x, int y, int w, int h);
void cv_wipe(rm_canvas *cv, int x, int y, int w, int h);        /* cells back to blank */
/* seen[o] = 1 for every owner o with a visible cell in the rectangle (seen[] is not cleared) */
void cv_owners(const rm_canvas *cv, int x, int y, int w, int h, uint8_t seen[256]);
/* sub-pixel (px,py) of the area whose top-left cell is (ax,ay); ASCII mode writes `glyph` */
void cv_px(rm_canvas *cv, int ax, int ay, int px, int py, int colour, uint32_t glyph);
char *cv_render(rm_ctx *ctx, const rm_canvas *cv, int colour);
int ansi_colour(int c);              /* palette entry 1..RM_NCOLOURS -> SGR code */
const char *svg_colour(int c);       /* palette entry -> "#rrggbb" */

/* ---- glyphs (canvas.c) */
uint32_t g_axis(int mode, int which);  /* see AX_* */
/* AX_BAND: the span strip on the x axis, AX_BAND_TICK: an x tick inside it, AX_BAND_MID: its mark */
enum { AX_H, AX_V, AX_CORNER, AX_YTICK, AX_XTICK, AX_VLINE, AX_BAND, AX_BAND_TICK, AX_BAND_MID };
#define MARKER_GLYPH 0x2022u           /* a marker in the block and braille modes: one whole cell */
/* legend sample, drawn as the series is: ASCII its glyph; block/braille a horizontal stretch in the
 * mode's sub-pixels with its dash pattern, or the marker glyph (buf >= 24) */
void legend_key(char *buf, int mode, int style, int dash, char glyph);
/* dash pattern of a line in sub-pixels (off 0: solid), the same for the curve and its legend key */
void dash_pattern(int mode, int dash, int *on, int *off);
/* the ASCII glyph of every series of p (g[j] for j < min(nseries, OWN_MAXSERIES)): its own when set,
 * else the next one of its style's list not taken by another series of the plot */
void plot_glyphs(const rm_plot *p, char *g);
int series_colour(const rm_series *s, int idx);

/* ---- ranges and data helpers (range.c) */
int finite_pt(const rm_series *s, int i, double *x, double *y); /* 1 if point i is finite */
double bar_width(const rm_series *s);
/* data ranges of a plot (fixed ones taken as given); widened when degenerate; returns the number of
 * finite points, counts non-finite ones into *nonfinite (may be NULL) */
int plot_ranges(const rm_plot *p, double *x0, double *x1, double *y0, double *y1, int *nonfinite);
void widen_range(double *lo, double *hi);
/* finite points inside the x range but outside the y range (hidden extremes worth a note; points
 * beyond a fixed x range are a chosen view window and not counted) */
int count_outside(const rm_plot *p, double x0, double x1, double y0, double y1);

/* ---- one line-plot panel drawn into a canvas region (lines.c) */
typedef struct panel_opt {
    int legend;          /* legend rows under the plot */
    int legend_in_title; /* legend on the title row instead (compact; training charts) */
    int xticks;          /* x tick labels */
    int mini;            /* small-multiples style: label row + bare area, no axes */
    int show_range;      /* mini: append the y range to the label when it fits */
    int ylw;             /* minimum width of the y tick label column (aligns stacked panels) */
    const char *note;    /* extra note line (appended to the non-finite/clipped notes) */
} panel_opt;
void draw_panel(rm_canvas *cv, int x, int y, int w, int h, const rm_plot *p, const panel_opt *o);
int panel_ylw(const rm_canvas *cv, int w, int h, const rm_plot *p, const panel_opt *o); /* its label column */
int check_plot(rm_ctx *ctx, const rm_plot *p);   /* argument errors (NULL arrays, bad style) */
/* Liang-Barsky: clip segment a-b to the box [xlo,xhi] x [ylo,yhi] in place; 0 if nothing is left */
int clip_seg(double *ax, double *ay, double *bx, double *by, double xlo, double xhi, double ylo, double yhi);
/* "2 non-finite points skipped; 3 points outside the y range; <extra>" (empty when nothing to say) */
void make_note(char *buf, int n, int nbad, int nout, const char *extra);
void center_text(rm_canvas *cv, int x, int y, int w, const char *s, int colour);
/* legend: entries of a plot (named series, vlines, span strip and its mark), lines needed to wrap
 * them into w columns, drawing at most maxl lines. With seen (owners drawn, see cv_owners) only the
 * series and vlines that are visible are listed; NULL lists every named one */
typedef struct lentry { char key[24]; const char *name; int colour; } lentry;
int legend_entries(const rm_plot *p, int mode, const uint8_t *seen, lentry *e, int max);
int legend_lines(const lentry *e, int n, int w);
int draw_legend(rm_canvas *cv, int x, int y, int w, int maxl, const lentry *e, int n);

/* ---- plot kinds as line plots (hist.c, train.c), shared by the text and SVG renderers */
typedef struct hist_data {
    float *x, *y;            /* bin centres, counts */
    rm_series s;
    rm_plot p;
    char note[256];          /* stats line: n, mean, sd, min, max, p1, p50, p99; skipped */
} hist_data;
int hist_prepare(rm_ctx *ctx, const rm_hist *h, hist_data *d);
/* "n=2000 mean=0.01 sd=0.98 min=-3.2 max=3.5 p1=-2.3 p50=0.02 p99=2.3" (n = 0: "n=0") */
void hist_stats_line(const rm_hist_stats *st, char *buf, int n);
void hist_release(hist_data *d);

typedef struct train_data {
    float *epoch;            /* 1..n */
    rm_series s[2][2];       /* [loss|acc][train|test] */
    char names[2][2][48];
    rm_plot p[2];
    int np;                  /* panels present (loss and/or accuracy; at least 1) */
} train_data;
int train_prepare(rm_ctx *ctx, const rm_trainchart *t, train_data *d);
void train_release(train_data *d);

/* grid: copies of the panels, with the shared ranges {x0,x1,y0,y1} applied when g->shared (free) */
rm_plot *grid_prepare(rm_ctx *ctx, const rm_grid *g, double range[4]);
/* heatmap: validates and finds the value range (fixed, symmetric or from the data; widened) */
int heatmap_range(rm_ctx *ctx, const rm_heatmap *hm, double *lo, double *hi, int *nonfinite);

/* ---- tick layout helpers (ticks.c) */
/* value -> sub-pixel 0..npx-1 (clamped); x ticks sit in cell tick_cell, y ticks in row tick_row
 * (row 0 at the top) of an area `cells` wide / `rows` high with s sub-pixels per cell */
int map_px(double v, double lo, double hi, int npx);
int tick_cell(double t, double lo, double hi, int cells, int s);
int tick_row(double t, double lo, double hi, int rows, int s);
/* x ticks whose labels fit with >= 2 blanks between them, in [-left_slack, cells+right_slack):
 * returns the count, labels and each label's start cell; 0 if not even one fits */
int fit_xticks(double lo, double hi, int cells, int s, int xint, int left_slack, int right_slack,
               double *ticks, char labels[][24], int *start);
/* y ticks at distinct rows (a blank row between when rows >= 6) */
int fit_yticks(double lo, double hi, int rows, int s, int xint, double *ticks, char labels[][24]);
void fmt_value(double v, char *buf, int n);   /* compact %g-like value for legends and notes */
#endif
