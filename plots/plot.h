/* plot.h - terminal and SVG plots of learned 1-D activation curves, histograms, training curves,
 * small multiples and heatmaps. Everything renders into a malloc'd UTF-8 string the caller frees;
 * nothing here touches the terminal (the caller decides whether to print and whether colour is on).
 *
 * Text output: at most `height` lines, each '\n'-terminated, each at most `width` display columns
 * (one column per code point; ANSI colour escapes take none). Any size from 20x8 up works: parts
 * are dropped (ylabel, xlabel, legend, ticks, title) when space is short, never overflowed.
 * Canvas modes: ASCII (one char per cell, a glyph per series), BLOCK (2x2 quadrant blocks per cell),
 * BRAILLE (2x4 dots per cell; empty plot cells are U+2800 so the area keeps its shape when pasted).
 * Bad data never fails a plot: NaN/Inf points are skipped with a note line, no data draws a frame
 * with "(no data)", a constant range is widened around its value, points outside a range the caller
 * fixed are clipped (a note counts those hidden by a fixed y range). Functions return NULL only for
 * bad arguments (NULL arrays, unknown mode/style, size outside 20x8 .. 4096x4096) or out of memory,
 * with the reason in ctx. Nothing is kept between calls; all functions are thread-safe. */
#ifndef RM_PLOT_H
#define RM_PLOT_H
#include "ctx.h"

enum { RM_CANVAS_ASCII = 0, RM_CANVAS_BLOCK = 1, RM_CANVAS_BRAILLE = 2 };
enum { RM_STYLE_LINE = 0, RM_STYLE_MARKERS = 1, RM_STYLE_BARS = 2 };
enum { RM_DASH_SOLID = 0, RM_DASH_DASHED = 1, RM_DASH_DOTTED = 2 };
enum { RM_PLOT_MIN_W = 20, RM_PLOT_MIN_H = 8, RM_PLOT_MAX_TICKS = 32 };
#define RM_NCOLOURS 8 /* 1 blue 2 red 3 green 4 yellow 5 magenta 6 cyan 7 grey 8 plain (fg/black) */

typedef struct rm_series {
    const char *name;    /* legend text; NULL or "" keeps the series out of the legend */
    const float *x, *y;  /* n points; x NULL means x = 0,1,..,n-1. Lines connect points in order and
                            break at non-finite points */
    int n;
    int style;           /* RM_STYLE_LINE, _MARKERS (unconnected points), _BARS (from 0, width = x spacing) */
    int colour;          /* 0 = by series order, 1..RM_NCOLOURS = palette entry */
    int dash;            /* lines, block/braille modes: RM_DASH_SOLID, _DASHED, _DOTTED (tells series
                            apart without colour; ASCII uses the glyph instead) */
    char glyph;          /* ASCII mode character; 0 = by order among series of its style:
                            lines '*','#','=','%','&','~'; markers 'o','x','@','$'; bars '#','%','@','=' */
} rm_series;

typedef struct rm_plot {
    const char *title, *xlabel, *ylabel;  /* any may be NULL */
    double xmin, xmax;   /* fixed x range when xmin < xmax, else from the data */
    double ymin, ymax;   /* fixed y range when ymin < ymax, else from the data */
    const rm_series *series; /* drawn in order, later ones on top: put references (ReLU) first */
    int nseries;
    const double *vlines;    /* nvlines dotted vertical lines, e.g. the LERP grid range -R, R */
    int nvlines;
    const char *vline_name;  /* legend text for the vlines (NULL: none) */
    double span_lo, span_hi; /* x-interval when span_lo < span_hi, e.g. the data range: text plots mark it
                                as a strip on the x axis, SVG shades it */
    const char *span_name;   /* legend text for the span (NULL: none) */
    double span_mid;         /* a mark on the strip, e.g. the median, when span_mid_name is set */
    const char *span_mid_name;
    int x_integer;           /* only integer x ticks (epochs, indices) */
} rm_plot;

/* summary of the values behind a histogram, shown on its stats line */
typedef struct rm_hist_stats { double n, mean, sd, min, max, p1, p50, p99; } rm_hist_stats;

/* histogram: raw values binned here (their stats line computed here too), or counts the caller
 * already has (with the caller's stats, if any) */
typedef struct rm_hist {
    const char *title, *xlabel;
    const float *values;     /* n raw values (non-finite ones skipped), used when counts is NULL */
    int n;
    const double *counts;    /* nbins counts of equal bins over [lo, hi] (needs lo < hi) */
    int nbins;               /* >= 1 */
    double lo, hi;           /* bin range; for raw values lo >= hi means [min, max] of the data */
    int colour;              /* as rm_series.colour */
    const rm_hist_stats *stats; /* with counts: the stats line (NULL: none) */
} rm_hist;

/* training chart: loss (top) and accuracy (bottom) per epoch, train vs test; epoch i is i+1 */
typedef struct rm_trainchart {
    const char *title;
    int n;                                /* epochs recorded */
    const float *train_loss, *test_loss;  /* each may be NULL */
    const float *train_acc, *test_acc;    /* each may be NULL; fraction or percent, shown as given */
} rm_trainchart;

/* small multiples: one mini plot per panel (its title is the panel label, e.g. "ch 3") */
typedef struct rm_grid {
    const char *title;
    const rm_plot *panels;
    int n;
    int ncols;               /* 0: about square */
    int shared;              /* nonzero: all panels use one x and one y range, the union of the ranges
                                each panel would use alone (its fixed ones, else its data's) */
    int own_y;               /* with shared: the x range only; each panel keeps its own y range */
} rm_grid;

/* heatmap of a row-major rows x cols matrix: shades from blank (min) to densest (max), or, when the
 * range holds 0, a diverging map (0 blank, negative and positive values with their own glyph ramps,
 * blue and red with colour); a scale line shows the ramp and its end values; big matrices are
 * block-averaged, small ones scaled up by whole factors */
typedef struct rm_heatmap {
    const char *title, *xlabel, *ylabel;
    const float *m;
    int rows, cols;
    double vmin, vmax;       /* fixed value range when vmin < vmax, else from the data */
    int symmetric;           /* range [-a, a], a = max |m|: zero sits mid-ramp (signed weights) */
} rm_heatmap;

/* text plots. mode: RM_CANVAS_*; colour: nonzero adds ANSI colours (only for a colour terminal).
 * A grid draws full panels (axes, ticks) when a panel gets at least 30x10 cells, else mini panels
 * with the shared ranges and legend in a footer line; when not all fit it shows the first ones and
 * says "showing k of n". */
char *rm_plot_lines(rm_ctx *ctx, const rm_plot *p, int width, int height, int mode, int colour);
char *rm_plot_hist(rm_ctx *ctx, const rm_hist *h, int width, int height, int mode, int colour);
char *rm_plot_train(rm_ctx *ctx, const rm_trainchart *t, int width, int height, int mode, int colour);
char *rm_plot_grid(rm_ctx *ctx, const rm_grid *g, int width, int height, int mode, int colour);
char *rm_plot_heatmap(rm_ctx *ctx, const rm_heatmap *hm, int width, int height, int mode, int colour);

/* SVG documents of the same plots (w_px x h_px, at least 200 x 120): one <path class="series"> per
 * series (panels of a grid in order; a histogram is one series; a train chart has one per non-NULL
 * array; a heatmap has none: its cells are <rect>s, white to blue, or blue/white/red around 0 when
 * the range holds 0), axes, ticks, title, legend; text is XML-escaped */
char *rm_svg_lines(rm_ctx *ctx, const rm_plot *p, int w_px, int h_px);
char *rm_svg_hist(rm_ctx *ctx, const rm_hist *h, int w_px, int h_px);
char *rm_svg_train(rm_ctx *ctx, const rm_trainchart *t, int w_px, int h_px);
char *rm_svg_grid(rm_ctx *ctx, const rm_grid *g, int w_px, int h_px);
char *rm_svg_heatmap(rm_ctx *ctx, const rm_heatmap *hm, int w_px, int h_px);

/* "nice" ticks: multiples of one step 1, 2 or 5 x 10^k inside [lo, hi] (the order of lo, hi does
 * not matter), at most maxticks (<= RM_PLOT_MAX_TICKS) of them, as many as that allows; written
 * ascending to ticks[]. Returns the count: 1 when lo == hi (the value itself), 0 for non-finite
 * input or maxticks < 1. Exact zero is 0.0, never -0.0. */
int rm_nice_ticks(double lo, double hi, int maxticks, double *ticks);
/* a tick label for v when ticks are `step` apart: "0.5", "-2", "1e6", "2.5e-7" (n >= 16) */
void rm_tick_label(double v, double step, char *buf, int n);
/* display columns of UTF-8 text: code points, not counting ANSI escape sequences */
int rm_text_width(const char *s);
#endif
