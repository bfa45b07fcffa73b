/* test_actplot.c - the model-aware plots of plots/actplot.h on a deterministic model (fixed seed, no
 * training) with small fixed fake input statistics: golden text files for an activation channel
 * (LERP-PSA, and B-spline in ASCII), a channel grid, weight and input histograms, the token heatmap
 * and a training history, in each canvas mode at a fixed size (tests/golden/actplot/;
 * RESMLP_REGEN_GOLDEN=1 rewrites them: review them by eye); every output fits its size; the one-line
 * errors (bad block, unknown layer, channel out of range, no recorded inputs); SVG of each kind
 * passes xmllint and has one class="series" path per series. Parsed from the text: the legend lists
 * exactly the glyphs (and colours) drawn, the data band is a strip on the x axis, grid cells have
 * their own y ranges unless share_y, and both histograms carry the same stats line. Runs from the
 * repository root. */
#include "plots/actplot.h"
#include "core/curves.h"
#include "tests/tutil.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN_DIR "tests/golden/actplot"
static const char *mode_name[3] = {"ascii", "block", "braille"};

/* ---------- helpers */

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(n + 1);
    if (s && fread(s, 1, n, f) != (size_t)n) { free(s); s = NULL; }
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
    if (regen && !strcmp(regen, "1")) {
        mkdir(GOLDEN_DIR, 0777);   /* a fresh checkout: the first regeneration makes it */
        CHECK(out && write_file(path, out), "cannot write %s", path);
        return;
    }
    char *want = read_file(path);
    CHECK(want != NULL, "missing %s (run tools/regen_golden.sh and review the files)", path);
    if (want && out && strcmp(want, out)) {
        int line = 1;
        const char *a = want, *b = out;
        while (*a && *a == *b) { if (*a == '\n') line++; a++; b++; }
        CHECK(0, "%s differs from the output at line %d; got:\n%s", path, line, out);
    }
    free(want);
}

/* every line '\n'-terminated, at most h lines of at most w code points, no control characters */
static void fits(const char *out, int w, int h, const char *what) {
    int lines = 0;
    for (const char *s = out; s && *s;) {
        const char *e = strchr(s, '\n');
        if (!e) { CHECK(0, "%s: last line not terminated", what); return; }
        int cols = 0;
        for (const char *p = s; p < e; p++) {
            if (((unsigned char)*p & 0xC0) != 0x80) cols++;
            if ((unsigned char)*p < 0x20) { CHECK(0, "%s: control character on line %d", what, lines + 1); return; }
        }
        CHECK(cols <= w, "%s: line %d is %d wide > %d", what, lines + 1, cols, w);
        lines++;
        s = e + 1;
    }
    CHECK(lines <= h, "%s: %d lines > %d", what, lines, h);
}

static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* fake recorded inputs: `count` values from a normal(mu, sd) binned analytically into the model's
 * histogram range, with the moments and min/max to match (no RNG, no evaluation) */
static void fake_stats(rm_act_stats *s, double mu, double sd, double count) {
    double lo = s->hist_lo, hi = s->hist_hi;
    if (!(lo < hi)) { lo = s->hist_lo = -8; hi = s->hist_hi = 8; }
    double w = (hi - lo) / RM_HIST_BINS, total = 0;
    for (int i = 0; i < RM_HIST_BINS; i++) {
        double x = lo + (i + 0.5) * w, z = (x - mu) / sd;
        s->hist[i] = floor(count * w * exp(-0.5 * z * z) / (sd * sqrt(2 * M_PI)));
        total += s->hist[i];
    }
    s->count = total;
    s->sum = mu * total;
    s->sumsq = (sd * sd + mu * mu) * total;
    s->min = (float)(mu - 3.2 * sd);
    s->max = (float)(mu + 3.4 * sd);
}

static rm_model *make_model(int kind, int hidden) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    rm_model_cfg c = rm_model_default_cfg(kind, hidden);
    CHECK_OK(rm_model_new(&ctx, &m, &c, 7), &ctx);
    return m;
}

static void fixed_history(rm_history *h) {
    memset(h, 0, sizeof *h);
    for (int e = 0; e < 8; e++) {
        float tl = 2.3f * expf(-0.25f * e) + 0.4f, vl = tl + 0.05f * e;
        float ta = 0.1f + 0.75f * (1 - expf(-0.4f * e)), va = ta - 0.02f * e;
        rm_history_add(h, tl, ta, 1, vl, va);
    }
}

/* ---------- tests */

enum { W = 72, H = 24 };
typedef struct { const char *kind; char *out; int w, h; } rendered;

static void test_golden(rm_model *lerp, rm_model *spl) {
    rm_ctx ctx = {0};
    char name[96];
    rm_history *hist = malloc(sizeof *hist);
    fixed_history(hist);
    for (int mode = 0; mode < 3; mode++) {
        rm_plot_opts o = {.width = W, .height = H, .mode = mode};
        rendered k[6];
        int n = 0;
        k[n++] = (rendered){"act", rm_plot_activation(&ctx, lerp, 1, "mlp.2", 5, 5, &o, NULL, 0), W, H};
        rm_plot_opts g = {.width = 100, .height = 30, .mode = mode};
        k[n++] = (rendered){"grid", rm_plot_activation(&ctx, lerp, 0, "mlp.0", 0, 7, &g, NULL, 0), 100, 30};
        rm_plot_opts sh = {.width = 60, .height = 16, .mode = mode};
        k[n++] = (rendered){"weights", rm_plot_weights_hist(&ctx, lerp, 0, "mlp.1", &sh), 60, 16};
        k[n++] = (rendered){"inputs", rm_plot_inputs_hist(&ctx, lerp, 1, "mlp.2", &sh), 60, 16};
        rm_plot_opts hm = {.width = 72, .height = 36, .mode = mode};
        k[n++] = (rendered){"heatmap", rm_plot_token_heatmap(&ctx, lerp, 0, &hm), 72, 36};
        k[n++] = (rendered){"history", rm_plot_history(&ctx, hist, &o), W, H};
        for (int i = 0; i < n; i++) {
            snprintf(name, sizeof name, "%s_%s", k[i].kind, mode_name[mode]);
            CHECK(k[i].out != NULL, "%s: %s", name, ctx.msg);
            if (!k[i].out) continue;
            fits(k[i].out, k[i].w, k[i].h, name);
            golden(name, k[i].out);
            free(k[i].out);
        }
    }
    /* B-spline: the curve with its coefficients as knots, ASCII */
    rm_plot_opts o = {.width = W, .height = H, .mode = RM_CANVAS_ASCII};
    char *s = rm_plot_activation(&ctx, spl, 0, "mlp.0", 3, 3, &o, NULL, 0);
    CHECK(s != NULL, "bspline act: %s", ctx.msg);
    if (s) { fits(s, W, H, "bspline"); golden("act_bspline_ascii", s); free(s); }
    /* a fixed x range given by the caller */
    o.lo = -1; o.hi = 2;
    s = rm_plot_activation(&ctx, lerp, 2, "mlp.0", 1, 1, &o, NULL, 0);
    CHECK(s != NULL, "act lo/hi: %s", ctx.msg);
    if (s) { fits(s, W, H, "act lo/hi"); golden("act_range_ascii", s); free(s); }
    free(hist);
}

static void test_content(rm_model *lerp) {
    rm_ctx ctx = {0};
    rm_plot_opts o = {.width = W, .height = H, .mode = RM_CANVAS_ASCII};
    char *s = rm_plot_activation(&ctx, lerp, 1, "mlp.2", 5, 5, &o, NULL, 0);
    CHECK(s && strstr(s, "block 1 mlp.2") && strstr(s, "ch 5"), "act title names block, layer and channel");
    CHECK(s && strstr(s, "LERP-PSA") && strstr(s, "relu"), "act legend: LERP-PSA, relu");
    CHECK(s && strstr(s, "table T: 64 points, too dense to mark"), "dense table markers: a note instead of hiding the curve");
    CHECK(s && strstr(s, "data p1..p99") && strstr(s, "p50"), "recorded inputs: the data strip and its median in the legend");
    free(s);
    rm_plot_opts wide = {.width = 160, .height = H, .mode = RM_CANVAS_ASCII};
    s = rm_plot_activation(&ctx, lerp, 1, "mlp.2", 5, 5, &wide, NULL, 0);
    CHECK(s && strstr(s, "o table T") && !strstr(s, "too dense"), "wide enough: the table markers are drawn:\n%s", s ? s : "");
    free(s);
    rm_plot_opts g = {.width = 100, .height = 30, .mode = RM_CANVAS_ASCII};
    s = rm_plot_activation(&ctx, lerp, 0, "mlp.0", 0, 7, &g, NULL, 0);
    CHECK(s && strstr(s, "ch 0") && strstr(s, "ch 7") && strstr(s, "channels 0..7"), "grid panels ch 0..ch 7");
    free(s);
    s = rm_plot_inputs_hist(&ctx, lerp, 1, "mlp.2", &o);
    CHECK(s && strstr(s, "inputs of block 1 mlp.2"), "inputs title");
    free(s);
}

/* errors are NULL with a one-line message naming the problem */
static void test_errors(rm_model *lerp) {
    rm_ctx ctx = {0};
    rm_plot_opts o = {.width = W, .height = H, .mode = RM_CANVAS_ASCII};
    char *s;
#define ERR(call, want, what) \
    do { ctx.msg[0] = 0; s = (call); CHECK(!s && strstr(ctx.msg, want) && !strchr(ctx.msg, '\n'), "%s: '%s'", what, ctx.msg); free(s); } while (0)
    ERR(rm_plot_activation(&ctx, lerp, 9, "mlp.0", 0, 0, &o, NULL, 0), "block 9 out of range", "bad block");
    ERR(rm_plot_activation(&ctx, lerp, 0, "mlp.5", 0, 0, &o, NULL, 0), "no activation layer 'mlp.5'", "unknown layer");
    ERR(rm_plot_activation(&ctx, lerp, 0, "mlp.2", 0, 24, &o, NULL, 0), "out of range 0..23", "channel out of range");
    ERR(rm_plot_inputs_hist(&ctx, lerp, 2, "mlp.0", &o), "no inputs recorded", "no recorded inputs");
    ERR(rm_plot_weights_hist(&ctx, lerp, 0, "bogus", &o), "no tensor 'bogus'", "unknown weight");
    ERR(rm_plot_token_heatmap(&ctx, lerp, -1, &o), "block -1 out of range", "heatmap block");
#undef ERR
}

static void test_svg(rm_model *lerp, rm_model *spl) {
    rm_ctx ctx = {0};
    char dir[] = "/tmp/resmlp_actplot_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    rm_history *hist = malloc(sizeof *hist);
    fixed_history(hist);
    rm_plot_opts o = {.width = 900, .height = 560, .svg = 1};
    rm_plot_opts big = {.width = 1200, .height = 900, .svg = 1};
    struct { const char *name; char *svg; int nseries; } k[] = {
        /* relu, smooth ResPSA, LERP-PSA, table markers */
        {"act", rm_plot_activation(&ctx, lerp, 1, "mlp.2", 5, 5, &o, NULL, 0), 4},
        /* relu, B-spline, knots */
        {"act_bspline", rm_plot_activation(&ctx, spl, 0, "mlp.0", 3, 3, &o, NULL, 0), 3},
        /* 8 mini panels of relu + LERP-PSA */
        {"grid", rm_plot_activation(&ctx, lerp, 0, "mlp.0", 0, 7, &big, NULL, 0), 16},
        {"weights", rm_plot_weights_hist(&ctx, lerp, 0, "mlp.1", &o), 1},
        {"inputs", rm_plot_inputs_hist(&ctx, lerp, 1, "mlp.2", &o), 1},
        {"heatmap", rm_plot_token_heatmap(&ctx, lerp, 0, &o), 0},
        /* train and test loss, train and test accuracy */
        {"history", rm_plot_history(&ctx, hist, &o), 4},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char path[128], cmd[300];
        CHECK(k[i].svg != NULL, "svg %s: %s", k[i].name, ctx.msg);
        if (!k[i].svg) continue;
        snprintf(path, sizeof path, "%s/%s.svg", dir, k[i].name);
        CHECK(write_file(path, k[i].svg), "write %s", path);
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
        int rc = system(cmd);
        CHECK(rc == 0, "xmllint rejects %s (rc %d)", path, rc);
        int n = count_str(k[i].svg, "class=\"series\"");
        CHECK(n == k[i].nseries, "svg %s: %d series paths, want %d", k[i].name, n, k[i].nseries);
        remove(path);
        free(k[i].svg);
    }
    remove(dir);
    free(hist);
}

/* ---------- the text parsed back into cells */

enum { MAXL = 64, MAXC = 512 };
typedef struct { uint32_t cp[MAXL][MAXC]; int col[MAXL][MAXC], len[MAXL], n; } cells;

static uint32_t utf8_cp(const char **p) {
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = *s++;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra) c &= 0x3F >> extra;
    while (extra-- > 0 && (*s & 0xC0) == 0x80) c = (c << 6) | (*s++ & 0x3F);
    *p = (const char *)s;
    return c;
}

/* code points and the SGR colour (0 = none) of every column of every line */
static void parse_cells(const char *out, cells *t) {
    memset(t, 0, sizeof *t);
    int sgr = 0;
    for (const char *p = out; *p && t->n < MAXL;) {
        if (*p == '\n') { t->n++; p++; sgr = 0; continue; }
        if (*p == '\x1b') { p += 2; int v = atoi(p); sgr = v == 0 || v == 39 ? 0 : v; while (*p && *p != 'm') p++; if (*p) p++; continue; }
        int l = t->len[t->n];
        uint32_t c = utf8_cp(&p);
        if (l < MAXC) { t->cp[t->n][l] = c; t->col[t->n][l] = sgr; t->len[t->n]++; }
    }
}

static uint32_t cell_at(const cells *t, int r, int c) { return r < t->n && c < t->len[r] ? t->cp[r][c] : ' '; }

/* the x axis row and the y axis column: the corner, followed by axis, tick and strip glyphs */
static int find_axes(const cells *t, int *axis_row, int *axis_col) {
    static const uint32_t along[] = {'-', '=', '+', '^', 0x2500, 0x2501, 0x252C, 0x252F, 0x25B2};
    for (int r = 0; r < t->n; r++)
        for (int c = 0; c + 6 < t->len[r]; c++) {
            uint32_t g = t->cp[r][c];
            if (g != '+' && g != 0x2514) continue;
            int k = 1;
            for (; k <= 6; k++) {
                int ok = 0;
                for (size_t i = 0; i < sizeof along / sizeof *along; i++) ok |= cell_at(t, r, c + k) == along[i];
                if (!ok) break;
            }
            if (k > 6) { *axis_row = r; *axis_col = c; return 1; }
        }
    return 0;
}

/* what tells series apart: the glyph (sub-pixel glyphs as their family) and the colour */
static uint32_t glyph_key(uint32_t cp, int colour) {
    if (cp >= 0x2800 && cp <= 0x28FF) cp = 0x2800;
    if (cp >= 0x2580 && cp <= 0x259F) cp = 0x2580;
    return cp * 128 + (uint32_t)colour;
}

static int has_key(const uint32_t *k, int n, uint32_t v) {
    for (int i = 0; i < n; i++) if (k[i] == v) return 1;
    return 0;
}

/* legend entries "KEY NAME" for the given names under the axis: the key's last glyph */
static int legend_keys(const cells *t, int from, const char *const *names, int nn, uint32_t *keys) {
    int nk = 0;
    for (int r = from; r < t->n; r++)
        for (int j = 0; j < nn; j++) {
            int w = (int)strlen(names[j]);
            for (int c = 2; c + w <= t->len[r]; c++) {
                int m = t->cp[r][c - 1] == ' ' && t->cp[r][c - 2] != ' ' && (c + w == t->len[r] || t->cp[r][c + w] == ' ');
                for (int i = 0; m && i < w; i++) m = t->cp[r][c + i] == (uint32_t)(unsigned char)names[j][i];
                if (m) keys[nk++] = glyph_key(t->cp[r][c - 2], t->col[r][c - 2]);
            }
        }
    return nk;
}

/* item: the legend lists exactly the series drawn, each with the glyph and colour it is drawn in */
static void test_legend_is_drawn(rm_model *lerp) {
    static const char *const names[] = {"relu", "ResPSA (smooth)", "LERP-PSA", "table T", "grid [-R,R]", "data p1..p99", "p50"};
    static cells t;
    rm_ctx ctx = {0};
    for (int mode = 0; mode < 3; mode++)
        for (int colour = 0; colour < 2; colour++) {
            rm_plot_opts o = {.width = W, .height = H, .mode = mode, .colour = colour};
            char *s = rm_plot_activation(&ctx, lerp, 1, "mlp.2", 5, 5, &o, NULL, 0);
            CHECK(s != NULL, "act %s: %s", mode_name[mode], ctx.msg);
            if (!s) continue;
            parse_cells(s, &t);
            int ar = -1, ac = -1;
            CHECK(find_axes(&t, &ar, &ac), "%s: no x axis found:\n%s", mode_name[mode], s);
            uint32_t lk[32], area[4096];
            int nl = ar < 0 ? 0 : legend_keys(&t, ar + 1, names, 7, lk), na = 0;
            CHECK(nl >= 4, "%s colour %d: %d legend entries parsed:\n%s", mode_name[mode], colour, nl, s);
            for (int r = 0; r < ar; r++) {                         /* the plot area: right of the y axis */
                uint32_t y = cell_at(&t, r, ac);
                if (y != '|' && y != '+' && y != 0x2502 && y != 0x2524) continue;
                for (int c = ac + 1; c < t.len[r]; c++) {
                    uint32_t g = t.cp[r][c];
                    if (g == ' ' || g == 0x2800) continue;
                    uint32_t k = glyph_key(g, t.col[r][c]);
                    CHECK(has_key(lk, nl, k), "%s colour %d: plot glyph U+%04X (colour %d) at row %d col %d has no legend entry:\n%s",
                          mode_name[mode], colour, g, t.col[r][c], r, c, s);
                    if (!has_key(area, na, k) && na < 4096) area[na++] = k;
                }
            }
            for (int c = ac; ar >= 0 && c < t.len[ar]; c++) {      /* the strip on the axis row counts as drawn */
                uint32_t k = glyph_key(t.cp[ar][c], t.col[ar][c]);
                if (!has_key(area, na, k) && na < 4096) area[na++] = k;
            }
            for (int i = 0; i < nl; i++)
                CHECK(has_key(area, na, lk[i]), "%s colour %d: legend glyph U+%04X (colour %d) is not drawn:\n%s", mode_name[mode],
                      colour, lk[i] / 128, lk[i] % 128, s);
            free(s);
        }
}

/* item: the data band p1..p99 is a strip on the x axis with p50 marked, nothing of it in the area */
static void test_data_strip(rm_model *lerp) {
    static cells t;
    rm_ctx ctx = {0};
    rm_plot_opts o = {.width = W, .height = H, .mode = RM_CANVAS_ASCII};
    char *s = rm_plot_activation(&ctx, lerp, 1, "mlp.2", 5, 5, &o, NULL, 0);
    if (!s) { CHECK(0, "act: %s", ctx.msg); return; }
    parse_cells(s, &t);
    int ar = -1, ac = -1;
    CHECK(find_axes(&t, &ar, &ac), "no x axis:\n%s", s);
    if (ar < 0) { free(s); return; }
    int band = 0;
    for (int r = 0; r < ar; r++)
        for (int c = ac + 1; c < t.len[r] && (cell_at(&t, r, ac) == '|' || cell_at(&t, r, ac) == '+'); c++) band += t.cp[r][c] == '=' || t.cp[r][c] == '.' || t.cp[r][c] == '^';
    CHECK(band == 0, "%d band glyphs inside the plot area:\n%s", band, s);
    /* tick columns and their labels map values to columns */
    int tc[32], nt = 0, c0 = -1, c1 = -1, mid = -1;
    for (int c = ac + 1; c < t.len[ar]; c++) {
        uint32_t g = t.cp[ar][c];
        if (g == '+' && nt < 32) tc[nt++] = c;
        if ((g == '=' || g == '^') && c0 < 0) c0 = c;     /* (a tick inside the strip stays '+') */
        if (g == '=' || g == '^') c1 = c;
        if (g == '^') mid = c;
    }
    char lab[MAXC];
    int nlab = 0, k = 0;
    double tv[32];
    for (int c = 0; c < t.len[ar + 1] && k < MAXC - 1; c++) lab[k++] = (char)t.cp[ar + 1][c];
    lab[k] = 0;
    for (char *p = lab; *p && nlab < 32;) {
        char *e;
        double v = strtod(p, &e);
        if (e == p) { p++; continue; }
        tv[nlab++] = v;
        p = e;
    }
    CHECK(nlab == nt && nt >= 2, "%d tick labels for %d ticks", nlab, nt);
    if (nlab == nt && nt >= 2) {
        rm_act_layer a;
        CHECK_OK(rm_curve_layer(&ctx, lerp, 1, "mlp.2", &a), &ctx);
        double per = (tc[nt - 1] - tc[0]) / (tv[nt - 1] - tv[0]);
        int want0 = (int)lround(tc[0] + (rm_curve_percentile(a.stats, 1) - tv[0]) * per);
        int want1 = (int)lround(tc[0] + (rm_curve_percentile(a.stats, 99) - tv[0]) * per);
        int wantm = (int)lround(tc[0] + (rm_curve_percentile(a.stats, 50) - tv[0]) * per);
        CHECK(abs(c0 - want0) <= 1 && abs(c1 - want1) <= 1, "strip spans columns %d..%d, want %d..%d:\n%s", c0, c1, want0, want1, s);
        CHECK(abs(mid - wantm) <= 1, "p50 mark at column %d, want %d", mid, wantm);
        for (int c = c0; c <= c1 && c0 >= 0; c++) {
            uint32_t g = t.cp[ar][c];
            CHECK(g == '=' || g == '+' || g == '^', "strip column %d is '%c'", c, (int)g);
        }
    }
    free(s);
}

/* "ch 3 [-1.2,4.5]" labels of a grid: how many, and how many distinct ranges */
static int grid_ranges(const char *s, int *distinct) {
    char seen[16][48];
    int n = 0, d = 0;
    for (const char *p = s; (p = strstr(p, "ch ")) != NULL; p += 3) {
        const char *b = strchr(p, '['), *e = b ? strchr(b, ']') : NULL, *nl = strchr(p, '\n');
        if (!b || !e || (nl && b > nl) || e - b >= 48 || n >= 16) continue;
        char r[48];
        snprintf(r, sizeof r, "%.*s", (int)(e - b + 1), b);
        int dup = 0;
        for (int i = 0; i < d; i++) dup |= !strcmp(seen[i], r);
        if (!dup) strcpy(seen[d++], r);
        n++;
    }
    *distinct = d;
    return n;
}

/* item: grid cells have their own y range by default; share_y gives them one */
static void test_grid_y(rm_model *lerp) {
    rm_ctx ctx = {0};
    rm_plot_opts g = {.width = 100, .height = 30, .mode = RM_CANVAS_ASCII};
    char *s = rm_plot_activation(&ctx, lerp, 0, "mlp.0", 0, 7, &g, NULL, 0);
    int d, n = s ? grid_ranges(s, &d) : 0;
    CHECK(n == 8 && d >= 2 && strstr(s, "y per panel"), "own y ranges: %d labels with ranges, %d distinct:\n%s", n, d, s ? s : "");
    free(s);
    g.share_y = 1;
    s = rm_plot_activation(&ctx, lerp, 0, "mlp.0", 0, 7, &g, NULL, 0);
    n = s ? grid_ranges(s, &d) : -1;
    CHECK(n == 0 && s && strstr(s, "  y ["), "share_y: one y range in the footer, none per cell:\n%s", s ? s : "");
    free(s);
}

/* item: the input histogram has the weight histogram's stats line */
static void test_stats_lines(rm_model *lerp) {
    rm_ctx ctx = {0};
    rm_plot_opts o = {.width = 100, .height = 20, .mode = RM_CANVAS_ASCII};
    static const char *const keys[] = {"n=", " mean=", " sd=", " min=", " max=", " p1=", " p50=", " p99="};
    char *k[2] = {rm_plot_weights_hist(&ctx, lerp, 0, "mlp.1", &o), rm_plot_inputs_hist(&ctx, lerp, 1, "mlp.2", &o)};
    for (int i = 0; i < 2; i++) {
        const char *line = k[i] ? strstr(k[i], "\nn=") : NULL;
        CHECK(line != NULL, "%s histogram: no stats line:\n%s", i ? "inputs" : "weights", k[i] ? k[i] : "");
        for (size_t j = 0; line && j < sizeof keys / sizeof *keys; j++)
            CHECK(strstr(line, keys[j]) != NULL, "%s histogram stats line lacks '%s'", i ? "inputs" : "weights", keys[j]);
    }
    /* the fake inputs: normal(0.4, 1.1): mean 0.4 and median near it */
    CHECK(k[1] && strstr(k[1], " mean=0.4 ") && strstr(k[1], " sd=1.1 "), "inputs stats from the recorded moments:\n%s", k[1] ? k[1] : "");
    free(k[0]); free(k[1]);
}

int main(void) {
    rm_model *lerp = make_model(RM_ACT_LERP_PSA, 24), *spl = make_model(RM_ACT_BSPLINE, 24);
    if (!lerp || !spl) TEST_END();
    /* inputs recorded for block 1's mlp.2 only; block 2 mlp.0 stays empty for the error test */
    fake_stats(&lerp->stats[1][1], 0.4, 1.1, 200000);
    fake_stats(&lerp->stats[0][0], -0.2, 0.8, 100000);
    test_golden(lerp, spl);
    test_content(lerp);
    test_legend_is_drawn(lerp);
    test_data_strip(lerp);
    test_grid_y(lerp);
    test_stats_lines(lerp);
    test_errors(lerp);
    test_svg(lerp, spl);
    rm_model_free(lerp);
    rm_model_free(spl);
    TEST_END();
}
