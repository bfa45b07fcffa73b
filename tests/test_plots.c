/* test_plots.c - tests of the plot library: nice ticks and labels, robustness (NaN/Inf, empty,
 * single point, constant, clipping), that every output fits its width/height in every mode over many
 * sizes, exact pixels of a known diagonal, golden text files for every plot kind x canvas mode
 * (tests/golden/plots/; RESMLP_REGEN_GOLDEN=1 rewrites them), SVG validity via xmllint, grids with
 * a y range per panel, the diverging heatmap of signed values and the shared histogram stats line.
 * Runs from the repository root. */
#include "plots/plot.h"
#include "tests/tutil.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/golden/plots"

/* ---------- helpers */

/* display width of one line [s, e): code points, ANSI CSI sequences excluded (independent of the
 * library's own rm_text_width on purpose) */
static int line_width(const char *s, const char *e) {
    int w = 0;
    while (s < e) {
        if (*s == '\x1b' && s + 1 < e && s[1] == '[') {
            s += 2;
            while (s < e && !(*s >= 0x40 && *s <= 0x7E)) s++;
            s++;
            continue;
        }
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
        s++;
    }
    return w;
}

/* every line '\n'-terminated, at most h lines, each at most w columns, valid UTF-8, and no control
 * characters except ESC (only when colour is on) */
static int fits(const char *out, int w, int h, int colour, const char *what) {
    if (!out) { CHECK(0, "%s: NULL output", what); return 0; }
    int lines = 0, ok = 1;
    const char *s = out;
    while (*s) {
        const char *e = strchr(s, '\n');
        if (!e) { CHECK(0, "%s: last line not terminated", what); return 0; }
        int lw = line_width(s, e);
        if (lw > w) { CHECK(lw <= w, "%s: line %d is %d wide > %d: '%.*s'", what, lines + 1, lw, w, (int)(e - s), s); ok = 0; }
        for (const char *p = s; p < e; p++)
            if ((unsigned char)*p < 0x20 && !(*p == '\x1b' && colour)) { CHECK(0, "%s: control char 0x%02x on line %d", what, *p, lines + 1); ok = 0; break; }
        lines++;
        s = e + 1;
    }
    if (lines > h) { CHECK(lines <= h, "%s: %d lines > %d", what, lines, h); ok = 0; }
    return ok;
}

static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* line i (0-based) of s copied into buf; returns 0 if there is no such line */
static int get_line(const char *s, int i, char *buf, size_t n) {
    for (; i > 0 && s; i--) { s = strchr(s, '\n'); if (s) s++; }
    if (!s || !*s) return 0;
    const char *e = strchr(s, '\n');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len >= n) len = n - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return 1;
}

/* the y axis in an ASCII plot row: first '|' or '+' (a tick) */
static char *axis_at(char *line) {
    char *a = strchr(line, '|'), *b = strchr(line, '+');
    return !a ? b : !b ? a : a < b ? a : b;
}

/* local deterministic RNG (xorshift64*) and Box-Muller, so the goldens never depend on core's RNG */
static uint64_t rng_s = 0x9E3779B97F4A7C15ull;
static double urand(void) {
    rng_s ^= rng_s >> 12; rng_s ^= rng_s << 25; rng_s ^= rng_s >> 27;
    return ((rng_s * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double nrand(void) {
    double u = urand(), v = urand();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/* ---------- deterministic fixtures */

static float cx[241], cy[241], mx[64], my[64], ry[241];
static rm_series lser[3];
static double lvl[2] = {-4, 4};
static rm_plot lplot;

static float hv[2000];
static rm_hist hist;

static float tl[10], vl[10], ta[10], va[10];
static rm_trainchart train;

static float gx[16][81], gy[16][81];
static rm_series gser[16][2];
static rm_plot gpan[16];
static char gname[16][16];
static rm_grid grid;

static float hm16[16 * 16], hm64[64 * 64];
static rm_heatmap heat, heat64;

static void make_fixtures(void) {
    /* ResPSA-like curve y = x + 0.5 tanh(3x) on [-5, 5], its 64-point LERP table on [-4, 4], ReLU */
    for (int i = 0; i < 241; i++) {
        double x = -5 + 10.0 * i / 240;
        cx[i] = (float)x; cy[i] = (float)(x + 0.5 * tanh(3 * x)); ry[i] = (float)(x > 0 ? x : 0);
    }
    for (int i = 0; i < 64; i++) {
        double x = -4 + 8.0 * i / 63;
        mx[i] = (float)x; my[i] = (float)(x + 0.5 * tanh(3 * x));
    }
    lser[0] = (rm_series){.name = "ReLU", .x = cx, .y = ry, .n = 241, .dash = RM_DASH_DASHED, .colour = 7};
    lser[1] = (rm_series){.name = "ResPSA", .x = cx, .y = cy, .n = 241, .colour = 1};
    lser[2] = (rm_series){.name = "LERP table (64)", .x = mx, .y = my, .n = 64, .style = RM_STYLE_MARKERS, .colour = 2};
    lplot = (rm_plot){.title = "block 2, channel 5 activation", .xlabel = "x", .ylabel = "f(x)", .series = lser,
                      .nseries = 3, .vlines = lvl, .nvlines = 2, .vline_name = "grid [-R,R]",
                      .span_lo = -2.5, .span_hi = 3.0, .span_name = "data range"};
    rng_s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 2000; i++) hv[i] = (float)nrand();
    hist = (rm_hist){.title = "pre-activations, block 2", .xlabel = "value", .values = hv, .n = 2000, .nbins = 30};
    for (int i = 0; i < 10; i++) {
        tl[i] = (float)(2.3 * exp(-0.3 * i) + 0.2);
        vl[i] = (float)(2.3 * exp(-0.25 * i) + 0.35 + 0.02 * i);
        ta[i] = (float)(0.1 + 0.8 * (1 - exp(-0.4 * i)));
        va[i] = (float)(ta[i] - 0.01 * i);
    }
    train = (rm_trainchart){.title = "ResMLP h=96, CIFAR-10", .n = 10, .train_loss = tl, .test_loss = vl, .train_acc = ta, .test_acc = va};
    for (int c = 0; c < 16; c++) {
        for (int i = 0; i < 81; i++) {
            double x = -4 + 8.0 * i / 80;
            gx[c][i] = (float)x;
            gy[c][i] = (float)(x * (0.4 + 0.05 * c) + (c % 4 - 1.5) * 0.7 * tanh((1 + c % 3) * x));
        }
        gser[c][0] = (rm_series){.name = "ReLU", .x = cx, .y = ry, .n = 241, .dash = RM_DASH_DOTTED, .colour = 7};
        gser[c][1] = (rm_series){.name = "learned", .x = gx[c], .y = gy[c], .n = 81, .colour = 1};
        snprintf(gname[c], sizeof gname[c], "ch %d", c);
        gpan[c] = (rm_plot){.title = gname[c], .series = gser[c], .nseries = 2, .xmin = -4, .xmax = 4};
    }
    grid = (rm_grid){.title = "block 2 activations (16 channels)", .panels = gpan, .n = 16, .shared = 1};
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            hm16[i * 16 + j] = (float)(exp(-(i - j) * (i - j) / 6.0) - 0.25 * sin(0.7 * i + 0.3 * j));
    heat = (rm_heatmap){.title = "token mixing, block 0", .xlabel = "from token", .ylabel = "to token", .m = hm16, .rows = 16, .cols = 16};
    for (int i = 0; i < 64 * 64; i++) hm64[i] = (float)nrand() * 0.1f + (i % 65 == 0 ? 1.0f : 0.0f);
    heat64 = (rm_heatmap){.title = "64x64", .m = hm64, .rows = 64, .cols = 64, .symmetric = 1};
}

enum { K_LINES, K_HIST, K_TRAIN, K_GRID, K_HEAT, NKINDS };
static const char *kind_name[NKINDS] = {"lines", "hist", "train", "grid", "heatmap"};
static const char *mode_name[3] = {"ascii", "block", "braille"};

static char *render(rm_ctx *ctx, int kind, int w, int h, int mode, int colour) {
    switch (kind) {
    case K_LINES: return rm_plot_lines(ctx, &lplot, w, h, mode, colour);
    case K_HIST: return rm_plot_hist(ctx, &hist, w, h, mode, colour);
    case K_TRAIN: return rm_plot_train(ctx, &train, w, h, mode, colour);
    case K_GRID: return rm_plot_grid(ctx, &grid, w, h, mode, colour);
    default: return rm_plot_heatmap(ctx, &heat, w, h, mode, colour);
    }
}

/* ---------- tests */

static int is_nice_step(double step) {
    double e = floor(log10(step) + 1e-9), m = step / pow(10, e);
    return fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6;
}

static void test_nice_ticks(void) {
    double t[RM_PLOT_MAX_TICKS];
    struct { double lo, hi; int max, n; double first, step; } c[] = {
        {0, 1, 6, 6, 0, 0.2},          {-4, 4, 5, 5, -4, 2},        {0, 1e-7, 6, 6, 0, 2e-8},
        {-3e9, 7e9, 6, 5, -2e9, 2e9},  {-7.3, -2.1, 6, 5, -7, 1},   {4, -4, 5, 5, -4, 2},
        {0.001, 0.0042, 5, 4, 0.001, 0.001}, {-1, 1, 3, 3, -1, 1},  {1, 10, 10, 10, 1, 1},
        {-5.5, 5.5, 6, 5, -4, 2},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        int n = rm_nice_ticks(c[i].lo, c[i].hi, c[i].max, t);
        CHECK(n == c[i].n, "[%g,%g] max %d: %d ticks, want %d", c[i].lo, c[i].hi, c[i].max, n, c[i].n);
        if (n < 2) continue;
        CHECK(t_close(t[0], c[i].first, 1e-9, 1e-15), "[%g,%g]: first %g want %g", c[i].lo, c[i].hi, t[0], c[i].first);
        CHECK(t_close(t[1] - t[0], c[i].step, 1e-9, 1e-15), "[%g,%g]: step %g want %g", c[i].lo, c[i].hi, t[1] - t[0], c[i].step);
    }
    CHECK(rm_nice_ticks(3, 3, 5, t) == 1 && t[0] == 3, "degenerate range gives the value");
    CHECK(rm_nice_ticks(NAN, 1, 5, t) == 0, "NaN gives no ticks");
    CHECK(rm_nice_ticks(0, INFINITY, 5, t) == 0, "Inf gives no ticks");
    CHECK(rm_nice_ticks(0, 1, 0, t) == 0, "maxticks 0 gives no ticks");
    int n = rm_nice_ticks(-1, 1, 5, t);
    int zero = -1;
    for (int i = 0; i < n; i++) if (t[i] == 0) zero = i;
    CHECK(zero >= 0 && !signbit(t[zero]), "zero tick is +0.0");
    /* properties over many ranges, tiny to huge: count, inside, ascending, even, 1/2/5 step */
    rng_s = 12345;
    for (int k = 0; k < 3000; k++) {
        double scale = pow(10, -12 + 24 * urand());
        double a = (urand() * 2 - 1) * scale, b = a + urand() * scale * (urand() < 0.5 ? 1 : 1e-3);
        int m = 1 + (int)(urand() * 12);
        n = rm_nice_ticks(a, b, m, t);
        if (a == b) continue;
        int ok = n >= 1 && n <= m;
        double eps = (b - a) * 1e-9;
        for (int i = 0; i < n && ok; i++) ok = t[i] >= a - eps && t[i] <= b + eps && (i == 0 || t[i] > t[i - 1]);
        if (n >= 2) {
            double st = (t[n - 1] - t[0]) / (n - 1);
            ok = ok && is_nice_step(st);
            for (int i = 1; i < n && ok; i++) ok = fabs((t[i] - t[i - 1]) - st) <= st * 1e-6;
            for (int i = 0; i < n && ok; i++) ok = fabs(t[i] / st - round(t[i] / st)) < 1e-9 * fabs(t[i] / st) + 1e-6;
        }
        if (m >= 2 && n == 1 && b - a > 0) {
            /* a single tick with room for two: no nice step may give 2..m ticks */
            double e = floor(log10(b - a)) - 2;
            for (int j = 0; j < 15 && ok; j++) {
                double st = (j % 3 == 0 ? 1 : j % 3 == 1 ? 2 : 5) * pow(10, e + j / 3);
                double cnt = floor(b / st + 1e-9) - ceil(a / st - 1e-9) + 1;
                ok = !(cnt >= 2 && cnt <= m);
            }
        }
        CHECK(ok, "ticks for [%.17g, %.17g] max %d: n=%d", a, b, m, n);
        if (!ok) break;
    }
    char buf[32];
    struct { double v, step; const char *want; } l[] = {
        {0.5, 0.5, "0.5"}, {-2, 1, "-2"}, {0, 0.1, "0"}, {1e6, 1e6, "1e6"}, {2.5e-7, 5e-8, "2.5e-7"},
        {0.30000000000000004, 0.1, "0.3"}, {-0.004, 0.002, "-0.004"}, {3e9, 1e9, "3e9"}, {1500, 500, "1500"},
        {-6e9, 2e9, "-6e9"}, {1.2e-5, 2e-6, "1.2e-5"},
    };
    for (size_t i = 0; i < sizeof l / sizeof *l; i++) {
        rm_tick_label(l[i].v, l[i].step, buf, sizeof buf);
        CHECK(strcmp(buf, l[i].want) == 0, "label(%g, step %g) = '%s', want '%s'", l[i].v, l[i].step, buf, l[i].want);
    }
    CHECK(rm_text_width("a\xe2\xa0\x80\x1b[31mb\x1b[0m") == 3, "text width skips escapes, counts code points");
}

static void test_sizes(void) {
    static const int ws[] = {20, 21, 23, 26, 31, 40, 47, 60, 79, 100, 133, 160, 200};
    static const int hs[] = {8, 9, 10, 11, 13, 16, 20, 25, 33, 45, 60};
    rm_ctx ctx = {0};
    char what[96];
    int fails = 0;
    for (int kind = 0; kind < NKINDS; kind++)
        for (int mode = 0; mode < 3; mode++)
            for (size_t i = 0; i < sizeof ws / sizeof *ws; i++)
                for (size_t j = 0; j < sizeof hs / sizeof *hs; j++) {
                    int colour = (int)((i + j) & 1);
                    char *o = render(&ctx, kind, ws[i], hs[j], mode, colour);
                    snprintf(what, sizeof what, "%s %s %dx%d%s", kind_name[kind], mode_name[mode], ws[i], hs[j], colour ? " colour" : "");
                    if (!fits(o, ws[i], hs[j], colour, what) && ++fails > 5) { free(o); return; }
                    free(o);
                }
    /* the 64x64 heatmap (downsampled) and a histogram of given counts, all sizes */
    double counts[7] = {1, 5, 20, 40, 20, 5, 1};
    rm_hist hc = {.title = "given counts", .counts = counts, .nbins = 7, .lo = -3.5, .hi = 3.5};
    for (int mode = 0; mode < 3; mode++)
        for (size_t i = 0; i < sizeof ws / sizeof *ws; i += 2)
            for (size_t j = 0; j < sizeof hs / sizeof *hs; j += 2) {
                char *o = rm_plot_heatmap(&ctx, &heat64, ws[i], hs[j], mode, 0);
                snprintf(what, sizeof what, "heat64 %s %dx%d", mode_name[mode], ws[i], hs[j]);
                fits(o, ws[i], hs[j], 0, what);
                free(o);
                o = rm_plot_hist(&ctx, &hc, ws[i], hs[j], mode, 1);
                snprintf(what, sizeof what, "hist counts %s %dx%d", mode_name[mode], ws[i], hs[j]);
                fits(o, ws[i], hs[j], 1, what);
                free(o);
            }
}

static void test_robustness(void) {
    rm_ctx ctx = {0};
    char *o;
    /* NaN/Inf skipped with a note */
    float x[6] = {0, 1, 2, 3, 4, 5}, y[6] = {0, 1, NAN, 3, INFINITY, 5};
    rm_series s = {.name = "s", .x = x, .y = y, .n = 6};
    rm_plot p = {.title = "nan", .series = &s, .nseries = 1};
    for (int mode = 0; mode < 3; mode++) {
        o = rm_plot_lines(&ctx, &p, 60, 20, mode, 0);
        CHECK(o && strstr(o, "2 non-finite points skipped"), "NaN/Inf note in mode %d", mode);
        fits(o, 60, 20, 0, "nan plot");
        free(o);
    }
    /* a NaN in x too; and an all-NaN series is "no data" */
    float xn[3] = {NAN, 1, 2}, yn[3] = {NAN, NAN, NAN};
    rm_series sn = {.x = xn, .y = yn, .n = 3};
    rm_plot pn = {.series = &sn, .nseries = 1};
    o = rm_plot_lines(&ctx, &pn, 40, 10, RM_CANVAS_ASCII, 0);
    CHECK(o && strstr(o, "(no data)") && strstr(o, "3 non-finite points skipped"), "all non-finite:\n%s", o ? o : "");
    free(o);
    /* empty data: frame with "(no data)" in every kind */
    rm_series se = {.name = "empty", .n = 0};
    rm_plot pe = {.title = "empty", .series = &se, .nseries = 1};
    rm_plot p0 = {.title = "none"};
    rm_hist he = {.title = "empty", .n = 0, .nbins = 10};
    rm_trainchart te = {.title = "empty", .n = 0};
    rm_grid ge = {.title = "empty", .n = 0};
    for (int mode = 0; mode < 3; mode++) {
        char *outs[5] = {rm_plot_lines(&ctx, &pe, 40, 12, mode, 0), rm_plot_lines(&ctx, &p0, 40, 12, mode, 0),
                         rm_plot_hist(&ctx, &he, 40, 12, mode, 0), rm_plot_train(&ctx, &te, 40, 12, mode, 0),
                         rm_plot_grid(&ctx, &ge, 40, 12, mode, 0)};
        for (int k = 0; k < 5; k++) {
            CHECK(outs[k] && (strstr(outs[k], "(no data)") || strstr(outs[k], "(no panels)")), "empty %d mode %d:\n%s", k, mode, outs[k] ? outs[k] : ctx.msg);
            if (k < 4) CHECK(outs[k] && (strchr(outs[k], '|') || strstr(outs[k], "\xe2\x94\x82")), "empty %d mode %d has a frame", k, mode);
            fits(outs[k], 40, 12, 0, "empty");
            free(outs[k]);
        }
    }
    /* single point: one glyph, y ticks around the value */
    float x1 = 2, y1 = 7;
    rm_series s1 = {.x = &x1, .y = &y1, .n = 1};
    rm_plot p1 = {.series = &s1, .nseries = 1};
    o = rm_plot_lines(&ctx, &p1, 40, 12, RM_CANVAS_ASCII, 0);
    CHECK(o && count_str(o, "*") == 1, "single point drawn once:\n%s", o ? o : "");
    CHECK(o && strstr(o, "7") && !strstr(o, "(no data)"), "single point axis labels:\n%s", o ? o : "");
    free(o);
    /* constant function: the line sits on the row labelled with its value */
    float xc[50], yc[50];
    for (int i = 0; i < 50; i++) { xc[i] = (float)i; yc[i] = 3; }
    rm_series sc = {.x = xc, .y = yc, .n = 50};
    rm_plot pc = {.series = &sc, .nseries = 1};
    o = rm_plot_lines(&ctx, &pc, 60, 15, RM_CANVAS_ASCII, 0);
    int row_line = -1, row_label = -1;
    char line[512];
    for (int i = 0; o && get_line(o, i, line, sizeof line); i++) {
        if (strstr(line, "*****")) row_line = i;
        char *plus = strchr(line, '+');                 /* "3.0+" : a y tick label and its tick */
        if (plus && plus > line && plus[-1] != ' ' && atof(line) == 3.0) row_label = i;
    }
    CHECK(row_line >= 0 && row_line == row_label, "constant: line row %d, label '3' row %d:\n%s", row_line, row_label, o ? o : "");
    if (row_line >= 0 && get_line(o, row_line, line, sizeof line))
        CHECK(count_str(o, "*") == count_str(line, "*") && count_str(line, "*") >= 50, "constant line: one full row:\n%s", o);
    free(o);
    /* clipping: fixed ranges, points outside are not drawn and are counted */
    float xs[7] = {-3, -0.9, -0.5, 0, 0.5, 0.9, 3}, ys[7] = {0, -9, -0.5, 0, 0.5, 9, 0};
    rm_series sm = {.x = xs, .y = ys, .n = 7, .style = RM_STYLE_MARKERS, .glyph = '@'};
    rm_plot pm = {.series = &sm, .nseries = 1, .xmin = -1, .xmax = 1, .ymin = -1, .ymax = 1};
    o = rm_plot_lines(&ctx, &pm, 40, 12, RM_CANVAS_ASCII, 0);
    CHECK(o && count_str(o, "@") == 3, "3 markers inside:\n%s", o ? o : "");
    CHECK(o && strstr(o, "2 points outside the y range"), "clip note (x-window points not counted):\n%s", o ? o : "");
    free(o);
    /* a steep line through a fixed box: glyphs only inside the area (right of the axis, above it) */
    float xl[2] = {-1, 1}, yl[2] = {-50, 50};
    rm_series sl = {.x = xl, .y = yl, .n = 2};
    rm_plot pl = {.title = "clip", .series = &sl, .nseries = 1, .xmin = -1, .xmax = 1, .ymin = -1, .ymax = 1};
    o = rm_plot_lines(&ctx, &pl, 40, 12, RM_CANVAS_ASCII, 0);
    int bad = 0, stars = 0, axis_row = -1;
    for (int i = 0; o && get_line(o, i, line, sizeof line); i++) {
        char *bar = axis_at(line), *st = strchr(line, '*');
        if (strstr(line, "+--")) axis_row = i;
        if (st) { stars += count_str(line, "*"); if (!bar || st < bar || axis_row >= 0 || i == 0) bad++; }
    }
    CHECK(o && bad == 0 && stars >= 2, "steep clipped line stays in the area (%d stray, %d stars):\n%s", bad, stars, o ? o : "");
    free(o);
    /* huge values do not break anything */
    float yh[3] = {1e30f, -1e30f, 3};
    rm_series sh = {.y = yh, .n = 3};
    rm_plot ph = {.series = &sh, .nseries = 1};
    for (int mode = 0; mode < 3; mode++) { o = rm_plot_lines(&ctx, &ph, 30, 8, mode, 0); fits(o, 30, 8, 0, "huge"); free(o); }
    /* hostile text: escapes, newlines, invalid UTF-8 and a very long title never leak or overflow */
    char longt[600];
    memset(longt, 'T', sizeof longt - 1);
    longt[sizeof longt - 1] = 0;
    rm_series sx = {.name = "bad\x1b[31m\nname\xff\xfe", .y = y, .n = 2};
    rm_plot px = {.title = longt, .xlabel = "x\r\n", .ylabel = "\x1b]0;t\x07", .series = &sx, .nseries = 1};
    for (int mode = 0; mode < 3; mode++) {
        o = rm_plot_lines(&ctx, &px, 30, 10, mode, 0);
        CHECK(o && !strchr(o, '\x1b') && !strchr(o, '\r') && !strchr(o, '\x07'), "hostile text escaped (mode %d)", mode);
        fits(o, 30, 10, 0, "hostile");
        free(o);
    }
    /* histogram bars: 3 values in bin 0, 1 in bin 1 -> bar heights 3:1 */
    float hv2[4] = {0, 0, 0, 1};
    rm_hist h2 = {.values = hv2, .n = 4, .nbins = 2};
    o = rm_plot_hist(&ctx, &h2, 40, 16, RM_CANVAS_ASCII, 0);
    int left = 0, right = 0, maxlen = 0;
    for (int pass = 0; pass < 2; pass++)                 /* pass 0: width of the widest bar row */
        for (int i = 0; o && get_line(o, i, line, sizeof line); i++) {
            char *bar = axis_at(line);
            if (!bar || strlen(bar) < 4 || strstr(line, "+--")) continue;
            int L = (int)strlen(line);
            if (pass == 0) { if (line[L - 1] == '#' && L > maxlen) maxlen = L; continue; }
            if (bar[1] == '#') left++;
            if (L == maxlen && line[L - 1] == '#') right++;
        }
    CHECK(o && left > 0 && right > 0 && abs(left - 3 * right) <= 1, "hist bars %d vs %d rows (want 3:1):\n%s", left, right, o ? o : "");
    CHECK(o && strstr(o, "n=4"), "hist summary note");
    free(o);
    /* argument errors come back as NULL + message, never a crash */
    rm_series sbad = {.n = 3};
    rm_plot pbad = {.series = &sbad, .nseries = 1};
    rm_heatmap hbad = {.rows = 0, .cols = 3, .m = hm16};
    ctx.msg[0] = 0; o = rm_plot_lines(&ctx, NULL, 40, 10, 0, 0);
    CHECK(!o && ctx.msg[0], "NULL plot is an error");
    ctx.msg[0] = 0; o = rm_plot_lines(&ctx, &p, 19, 10, 0, 0);
    CHECK(!o && strstr(ctx.msg, "too small"), "19 columns is an error: %s", ctx.msg);
    ctx.msg[0] = 0; o = rm_plot_lines(&ctx, &p, 40, 7, 0, 0);
    CHECK(!o && strstr(ctx.msg, "too small"), "7 rows is an error: %s", ctx.msg);
    ctx.msg[0] = 0; o = rm_plot_lines(&ctx, &p, 40, 10, 7, 0);
    CHECK(!o && strstr(ctx.msg, "mode"), "bad mode is an error: %s", ctx.msg);
    ctx.msg[0] = 0; o = rm_plot_lines(&ctx, &pbad, 40, 10, 0, 0);
    CHECK(!o && strstr(ctx.msg, "no y"), "series without y is an error: %s", ctx.msg);
    ctx.msg[0] = 0; o = rm_plot_heatmap(&ctx, &hbad, 40, 10, 0, 0);
    CHECK(!o && ctx.msg[0], "0-row heatmap is an error");
    rm_hist hcbad = {.counts = (double[]){1, 2}, .nbins = 2};
    ctx.msg[0] = 0; o = rm_plot_hist(&ctx, &hcbad, 40, 10, 0, 0);
    CHECK(!o && strstr(ctx.msg, "lo < hi"), "counts without a range is an error: %s", ctx.msg);
    ctx.msg[0] = 0; o = rm_svg_lines(&ctx, &p, 100, 50);
    CHECK(!o && ctx.msg[0], "tiny svg is an error");
}

static void test_braille_and_diagonal(void) {
    rm_ctx ctx = {0};
    char line[1024];
    /* braille: empty plot cells are U+2800, never a plain space */
    rm_plot p0 = {0};
    char *o = rm_plot_lines(&ctx, &p0, 40, 12, RM_CANVAS_BRAILLE, 0);
    int rows = 0, ok = 1;
    for (int i = 0; o && get_line(o, i, line, sizeof line); i++) {
        char *ax = strstr(line, "\xe2\x94\x82");     /* │ */
        if (!ax || strstr(line, "(no data)")) continue;
        rows++;
        const char *q = ax + 3;
        int cells = 0;
        while (*q) {
            if (strncmp(q, "\xe2\xa0\x80", 3) != 0) { ok = 0; break; }
            q += 3; cells++;
        }
        if (cells < 30) ok = 0;
    }
    CHECK(o && rows >= 3 && ok, "braille empties are U+2800 (%d rows checked):\n%s", rows, o ? o : "");
    free(o);
    /* a known diagonal in ASCII: fixed box [0,1]^2, line (0,0)-(1,1); in an area of pw x ph cells
     * column c holds exactly one '*', on row round((1 - c/(pw-1)) * (ph-1)) (ph < pw: x-major) */
    float dx[2] = {0, 1}, dy[2] = {0, 1};
    rm_series sd = {.x = dx, .y = dy, .n = 2};
    rm_plot pd = {.series = &sd, .nseries = 1, .xmin = 0, .xmax = 1, .ymin = 0, .ymax = 1};
    o = rm_plot_lines(&ctx, &pd, 40, 12, RM_CANVAS_ASCII, 0);
    char grid_[64][64];
    int nrow = 0, axcol = -1;
    memset(grid_, 0, sizeof grid_);
    for (int i = 0; o && get_line(o, i, line, sizeof line) && nrow < 64; i++) {
        char *bar = axis_at(line);
        if (!bar || strstr(line, "+--")) break;       /* the area ends at the x axis row */
        axcol = (int)(bar - line);
        snprintf(grid_[nrow++], 64, "%s", bar + 1);
    }
    int pw = 40 - axcol - 1 - 1, ph = nrow, good = pw > 10 && ph > 3;
    for (int c = 0; c < pw && good; c++) {
        int n = 0, r_at = -1;
        for (int r = 0; r < ph; r++) if ((int)strlen(grid_[r]) > c && grid_[r][c] == '*') { n++; r_at = r; }
        int want = (int)lround((1.0 - (double)c / (pw - 1)) * (ph - 1));
        if (n != 1 || abs(r_at - want) > 1) { good = 0; CHECK(0, "diagonal column %d: %d stars at row %d, want row %d", c, n, r_at, want); }
    }
    CHECK(good && grid_[ph - 1][0] == '*' && grid_[0][pw - 1] == '*', "diagonal corners:\n%s", o ? o : "");
    free(o);
    /* the same diagonal in braille: bottom-left dot (dot 7) in the first area cell of the last
     * area row, top-right dot (dot 4) in the last area cell of the first area row */
    o = rm_plot_lines(&ctx, &pd, 40, 12, RM_CANVAS_BRAILLE, 0);
    unsigned first_bits = 0, last_bits = 0;
    int seen = 0;
    for (int i = 0; o && get_line(o, i, line, sizeof line); i++) {
        char *ax = strstr(line, "\xe2\x94\x82");
        if (!ax) { ax = strstr(line, "\xe2\x94\xa4"); if (!ax) continue; }   /* │ or ┤ */
        const unsigned char *q = (const unsigned char *)ax + 3;
        size_t L = strlen((const char *)q);
        if (L < 3 || q[0] != 0xE2) continue;
        unsigned cp0 = ((q[0] & 0x0Fu) << 12) | ((q[1] & 0x3Fu) << 6) | (q[2] & 0x3Fu);
        const unsigned char *e = q + L - 3;
        unsigned cpl = ((e[0] & 0x0Fu) << 12) | ((e[1] & 0x3Fu) << 6) | (e[2] & 0x3Fu);
        if (!seen) last_bits = cpl - 0x2800;      /* first area row: its last cell */
        first_bits = cp0 - 0x2800;                /* keeps the last area row's first cell */
        seen++;
    }
    CHECK(seen > 3 && (first_bits & 0x40) && (last_bits & 0x08), "braille diagonal ends: %02x %02x\n%s", first_bits, last_bits, o ? o : "");
    free(o);
}

static void test_content(void) {
    rm_ctx ctx = {0};
    char *o = rm_plot_train(&ctx, &train, 60, 20, RM_CANVAS_ASCII, 0);
    char last[32];
    snprintf(last, sizeof last, "train %.3g", tl[9]);
    CHECK(o && strstr(o, "loss") && strstr(o, "accuracy") && strstr(o, last) && strstr(o, "test"), "train chart content:\n%s", o ? o : "");
    free(o);
    o = rm_plot_grid(&ctx, &grid, 60, 20, RM_CANVAS_BLOCK, 0);
    CHECK(o && strstr(o, "ch 0") && strstr(o, "ch 15") && !strstr(o, "showing"), "grid shows all 16:\n%s", o ? o : "");
    free(o);
    rm_grid own = grid;                              /* per-panel ranges: shown in the labels */
    own.shared = 0;
    o = rm_plot_grid(&ctx, &own, 120, 30, RM_CANVAS_BRAILLE, 1);
    CHECK(o && strstr(o, "ch 0 [") && !strstr(o, "x [-4"), "unshared grid labels carry ranges:\n%s", o ? o : "");
    fits(o, 120, 30, 1, "unshared grid");
    free(o);
    float nl[10];
    memcpy(nl, vl, sizeof nl);
    nl[3] = NAN;
    rm_trainchart tn = train;
    tn.test_loss = nl;
    o = rm_plot_train(&ctx, &tn, 60, 24, RM_CANVAS_BLOCK, 0);
    CHECK(o && strstr(o, "1 non-finite point skipped"), "train chart NaN note:\n%s", o ? o : "");
    free(o);
    o = rm_plot_grid(&ctx, &grid, 20, 8, RM_CANVAS_BLOCK, 0);
    CHECK(o && strstr(o, "showing") && strstr(o, "of 16"), "small grid says what it shows:\n%s", o ? o : "");
    free(o);
    /* identity heatmap: '@' exactly on the diagonal cells, blanks elsewhere */
    float id[16];
    for (int i = 0; i < 16; i++) id[i] = i % 5 == 0 ? 1.0f : 0.0f;
    rm_heatmap hid = {.m = id, .rows = 4, .cols = 4};
    o = rm_plot_heatmap(&ctx, &hid, 40, 12, RM_CANVAS_ASCII, 0);
    int at = 0, rowsat = 0;
    char line[256];
    for (int i = 0; o && get_line(o, i, line, sizeof line); i++)
        if (strchr(line, '|') && strchr(line, '@')) { rowsat++; at += count_str(line, "@"); }
    CHECK(o && at > 0 && at % 4 == 0 && rowsat >= 4 && strstr(o, "min 0") && strstr(o, "max 1"), "identity heatmap:\n%s", o ? o : "");
    free(o);
    /* colour: escapes only when asked, each coloured line reset at its end */
    o = rm_plot_lines(&ctx, &lplot, 60, 20, RM_CANVAS_BRAILLE, 1);
    CHECK(o && strstr(o, "\x1b[34m") && strstr(o, "\x1b[0m\n"), "colour escapes present");
    free(o);
    o = rm_plot_lines(&ctx, &lplot, 60, 20, RM_CANVAS_BRAILLE, 0);
    CHECK(o && !strchr(o, '\x1b'), "no escapes without colour");
    free(o);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static int write_file(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fputs(s, f) >= 0;
    return fclose(f) == 0 && ok;
}

static void golden(const char *name, const char *out) {
    char path[256];
    snprintf(path, sizeof path, GOLDEN_DIR "/%s.txt", name);
    const char *regen = getenv("RESMLP_REGEN_GOLDEN");
    if (regen && strcmp(regen, "1") == 0) {
        CHECK(out && write_file(path, out), "cannot write %s", path);
        return;
    }
    char *want = read_file(path);
    CHECK(want != NULL, "missing %s (run tools/regen_golden.sh and review the files)", path);
    if (want && out && strcmp(want, out) != 0) {
        int line = 1;
        const char *a = want, *b = out;
        while (*a && *a == *b) { if (*a == '\n') line++; a++; b++; }
        CHECK(0, "%s differs from the output at line %d; got:\n%s", path, line, out);
    }
    free(want);
}

static void test_golden(void) {
    rm_ctx ctx = {0};
    char name[64];
    for (int kind = 0; kind < NKINDS; kind++)
        for (int mode = 0; mode < 3; mode++) {
            char *o = render(&ctx, kind, 60, 20, mode, 0);
            snprintf(name, sizeof name, "%s_%s", kind_name[kind], mode_name[mode]);
            CHECK(o != NULL, "%s: %s", name, ctx.msg);
            fits(o, 60, 20, 0, name);
            golden(name, o);
            free(o);
        }
    char *o = render(&ctx, K_LINES, 60, 20, RM_CANVAS_BRAILLE, 1);
    golden("lines_braille_colour", o);
    free(o);
    o = rm_plot_lines(&ctx, &lplot, 20, 8, RM_CANVAS_BLOCK, 0);
    golden("lines_block_20x8", o);
    free(o);
    o = rm_plot_heatmap(&ctx, &heat64, 100, 40, RM_CANVAS_ASCII, 0);
    golden("heatmap64_ascii_100x40", o);
    free(o);
}

static void test_svg(void) {
    rm_ctx ctx = {0};
    char dir[] = "/tmp/resmlp_plots_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    /* hostile title to exercise escaping; NaN and out-of-range data in the line plot */
    float yb[4] = {0, NAN, 1e30f, 1};
    rm_series sb[4] = {lser[0], lser[1], lser[2], {.name = "bad <&> \"q\" 'a' \xff", .y = yb, .n = 4}};
    rm_plot pb = lplot;
    pb.title = "a <b> & \"c\" 'd' \x1b[31m \xc3\x28";
    pb.series = sb;
    pb.nseries = 4;
    pb.ymin = -3; pb.ymax = 3;
    struct { const char *name; char *svg; int nseries; } k[] = {
        {"lines", rm_svg_lines(&ctx, &pb, 640, 400), 4},
        {"hist", rm_svg_hist(&ctx, &hist, 640, 400), 1},
        {"train", rm_svg_train(&ctx, &train, 640, 480), 4},
        {"grid", rm_svg_grid(&ctx, &grid, 900, 700), 32},
        {"heatmap", rm_svg_heatmap(&ctx, &heat64, 500, 500), 0},
        {"empty", rm_svg_lines(&ctx, &(rm_plot){.title = "empty"}, 300, 200), 0},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char path[128], cmd[256];
        CHECK(k[i].svg != NULL, "svg %s: %s", k[i].name, ctx.msg);
        if (!k[i].svg) continue;
        snprintf(path, sizeof path, "%s/%s.svg", dir, k[i].name);
        CHECK(write_file(path, k[i].svg), "write %s", path);
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
        int rc = system(cmd);
        CHECK(rc == 0, "xmllint rejects %s (rc %d)", path, rc);
        int n = count_str(k[i].svg, "class=\"series\"");
        CHECK(n == k[i].nseries, "svg %s: %d series paths, want %d", k[i].name, n, k[i].nseries);
        CHECK(!strstr(k[i].svg, "nan") && !strstr(k[i].svg, "inf\""), "svg %s has non-finite numbers", k[i].name);
        CHECK(strstr(k[i].svg, "class=\"axis\"") || strstr(k[i].svg, "class=\"frame\""), "svg %s has axes", k[i].name);
        remove(path);
        free(k[i].svg);
    }
    remove(dir);
}

/* UTF-8 text of one code point (for strstr) */
static const char *u8(uint32_t cp, char *buf) {
    if (cp < 0x80) { buf[0] = (char)cp; buf[1] = 0; }
    else if (cp < 0x800) { buf[0] = (char)(0xC0 | cp >> 6); buf[1] = (char)(0x80 | (cp & 0x3F)); buf[2] = 0; }
    else { buf[0] = (char)(0xE0 | cp >> 12); buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); buf[2] = (char)(0x80 | (cp & 0x3F)); buf[3] = 0; }
    return buf;
}

/* code points of a heatmap line inside the frame (between its first and last frame bar) */
static int frame_row(const char *line, uint32_t bar, uint32_t *cp, int max) {
    int n = 0;
    uint32_t all[512];
    int na = 0;
    for (const unsigned char *p = (const unsigned char *)line; *p && na < 512;) {
        uint32_t c = *p++;
        if (c >= 0xE0) { c = (c & 0x0F) << 12 | (p[0] & 0x3F) << 6 | (p[1] & 0x3F); p += 2; }
        else if (c >= 0xC0) { c = (c & 0x1F) << 6 | (p[0] & 0x3F); p++; }
        all[na++] = c;
    }
    int first = -1, last = -1;
    for (int i = 0; i < na; i++) if (all[i] == bar) { if (first < 0) first = i; last = i; }
    for (int i = first + 1; first >= 0 && i < last && n < max; i++) cp[n++] = all[i];
    return n;
}

/* item: signed matrices get a diverging map: 0 is the centre glyph, negative and positive values
 * glyphs of two disjoint ramps, and a scale line with both ends and 0 */
static void test_heatmap_diverging(void) {
    rm_ctx ctx = {0};
    /* rows: all negative, all zero, all positive */
    float m[9] = {-1.0f, -0.6f, -0.3f, 0, 0, 0, 0.3f, 0.6f, 1.0f};
    rm_heatmap hm = {.title = "signed", .m = m, .rows = 3, .cols = 3, .symmetric = 1};
    for (int mode = 0; mode < 3; mode++) {
        char *o = rm_plot_heatmap(&ctx, &hm, 40, 14, mode, 0);
        if (!o) { CHECK(0, "heatmap: %s", ctx.msg); continue; }
        uint32_t bar = mode == RM_CANVAS_ASCII ? '|' : 0x2502, cp[256];
        uint32_t set[3][64];
        int nset[3] = {0, 0, 0}, rows = 0;
        char line[1024];
        for (int i = 0; get_line(o, i, line, sizeof line); i++) rows += frame_row(line, bar, cp, 256) > 0;
        /* which third of the frame rows a row falls in decides the source row */
        int r = 0;
        for (int i = 0; get_line(o, i, line, sizeof line); i++) {
            int n = frame_row(line, bar, cp, 256);
            if (n <= 0) continue;
            int src = r++ * 3 / rows;
            for (int j = 0; j < n; j++) {
                int dup = 0;
                for (int q = 0; q < nset[src]; q++) dup |= set[src][q] == cp[j];
                if (!dup && nset[src] < 64) set[src][nset[src]++] = cp[j];
            }
        }
        CHECK(rows >= 3, "%s: %d heatmap rows:\n%s", mode_name[mode], rows, o);
        CHECK(nset[1] == 1 && set[1][0] == ' ', "%s: zero row is all the centre glyph (blank):\n%s", mode_name[mode], o);
        for (int q = 0; q < nset[0]; q++) CHECK(set[0][q] != ' ', "%s: a negative cell is blank:\n%s", mode_name[mode], o);
        for (int q = 0; q < nset[2]; q++) CHECK(set[2][q] != ' ', "%s: a positive cell is blank:\n%s", mode_name[mode], o);
        for (int a = 0; a < nset[0]; a++)
            for (int b = 0; b < nset[2]; b++)
                CHECK(set[0][a] != set[2][b], "%s: U+%04X drawn for negative and positive values:\n%s", mode_name[mode], set[0][a], o);
        CHECK(nset[0] >= 2 && nset[2] >= 2, "%s: each side has its own ramp levels:\n%s", mode_name[mode], o);
        /* the scale line: "-1 <negative ramp> [ ]=0 <positive ramp> 1  3x3", every drawn glyph in it */
        const char *sc = strstr(o, "\n-1 ");
        CHECK(sc && strstr(sc, "=0 ") && strstr(sc, " 1  3x3"), "%s: scale line with -1, 0 and 1:\n%s", mode_name[mode], o);
        char u[8];
        for (int side = 0; side < 3 && sc; side += 2)
            for (int q = 0; q < nset[side]; q++) CHECK(strstr(sc, u8(set[side][q], u)) != NULL, "%s: glyph U+%04X not on the scale line", mode_name[mode], set[side][q]);
        free(o);
    }
    /* colour: negative blue, positive red */
    char *o = rm_plot_heatmap(&ctx, &hm, 40, 14, RM_CANVAS_BLOCK, 1);
    CHECK(o && strstr(o, "\x1b[34m") && strstr(o, "\x1b[31m"), "coloured heatmap: blue and red");
    free(o);
}

/* item: a grid keeps one y range per panel with own_y, the shared one without */
static void test_grid_own_y(void) {
    rm_ctx ctx = {0};
    static float x[11], ya[11], yb[11];
    for (int i = 0; i < 11; i++) { x[i] = (float)i; ya[i] = 0.1f * i; yb[i] = 100.0f * i; }
    rm_series sa = {.name = "a", .x = x, .y = ya, .n = 11}, sb = {.name = "b", .x = x, .y = yb, .n = 11};
    rm_plot pan[2] = {{.title = "small", .series = &sa, .nseries = 1}, {.title = "big", .series = &sb, .nseries = 1}};
    rm_grid g = {.panels = pan, .n = 2, .ncols = 2, .shared = 1, .own_y = 1};
    char *o = rm_plot_grid(&ctx, &g, 50, 12, RM_CANVAS_ASCII, 0);        /* mini panels: the range in the label */
    CHECK(o && strstr(o, "small [0,1]") && strstr(o, "big [0,1e3]") && strstr(o, "x [0, 10]  y per panel"),
          "own y, mini panels:\n%s", o ? o : "");
    free(o);
    o = rm_plot_grid(&ctx, &g, 120, 24, RM_CANVAS_ASCII, 0);             /* full panels: their own y ticks */
    CHECK(o && count_str(o, "1000") == 1, "own y, full panels: 1000 only on the big panel's axis:\n%s", o ? o : "");
    free(o);
    g.own_y = 0;
    o = rm_plot_grid(&ctx, &g, 120, 24, RM_CANVAS_ASCII, 0);
    CHECK(o && count_str(o, "1000") >= 2, "shared y, full panels: both axes reach 1000:\n%s", o ? o : "");
    free(o);
    o = rm_plot_grid(&ctx, &g, 50, 12, RM_CANVAS_ASCII, 0);
    CHECK(o && !strstr(o, "small [") && strstr(o, "y [0, 1e3]"), "shared y, mini panels:\n%s", o ? o : "");
    free(o);
}

/* item: raw values and given counts produce the same stats line */
static void test_hist_stats(void) {
    rm_ctx ctx = {0};
    char *o = rm_plot_hist(&ctx, &hist, 100, 20, RM_CANVAS_ASCII, 0);
    CHECK(o && strstr(o, "n=2000 mean=") && strstr(o, " p1=") && strstr(o, " p50=") && strstr(o, " p99="), "raw stats line:\n%s", o ? o : "");
    free(o);
    double counts[4] = {1, 3, 3, 1};
    rm_hist_stats st = {.n = 8, .mean = 0.5, .sd = 0.25, .min = 0, .max = 1, .p1 = 0.01, .p50 = 0.5, .p99 = 0.99};
    rm_hist hc = {.title = "given", .counts = counts, .nbins = 4, .lo = 0, .hi = 1, .stats = &st};
    o = rm_plot_hist(&ctx, &hc, 100, 20, RM_CANVAS_ASCII, 0);
    CHECK(o && strstr(o, "n=8 mean=0.5 sd=0.25 min=0 max=1 p1=0.01 p50=0.5 p99=0.99"), "given stats line:\n%s", o ? o : "");
    free(o);
}

int main(void) {
    make_fixtures();
    test_heatmap_diverging();
    test_grid_own_y();
    test_hist_stats();
    test_nice_ticks();
    test_robustness();
    test_braille_and_diagonal();
    test_content();
    test_sizes();
    test_golden();
    test_svg();
    TEST_END();
}
