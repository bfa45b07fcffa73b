/* test_actplot.c - the model-aware plots of plots/actplot.h on a deterministic model (fixed seed, no
 * training) with small fixed fake input statistics: golden text files for an activation channel
 * (LERP-PSA, and B-spline in ASCII), a channel grid, weight and input histograms, the token heatmap
 * and a training history, in each canvas mode at a fixed size (tests/golden/actplot/;
 * RESMLP_REGEN_GOLDEN=1 rewrites them: review them by eye); every output fits its size; the one-line
 * errors (bad block, unknown layer, channel out of range, no recorded inputs); SVG of each kind
 * passes xmllint and has one class="series" path per series. Runs from the repository root. */
#include "plots/actplot.h"
#include "core/curves.h"
#include "tests/tutil.h"
#include <math.h>
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
    CHECK(s && strstr(s, "LERP-PSA") && strstr(s, "relu") && strstr(s, "table T"), "act legend: LERP-PSA, relu, table");
    CHECK(s && strstr(s, "data p1..p99"), "recorded inputs shade the data range");
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

int main(void) {
    rm_model *lerp = make_model(RM_ACT_LERP_PSA, 24), *spl = make_model(RM_ACT_BSPLINE, 24);
    if (!lerp || !spl) TEST_END();
    /* inputs recorded for block 1's mlp.2 only; block 2 mlp.0 stays empty for the error test */
    fake_stats(&lerp->stats[1][1], 0.4, 1.1, 200000);
    fake_stats(&lerp->stats[0][0], -0.2, 0.8, 100000);
    test_golden(lerp, spl);
    test_content(lerp);
    test_errors(lerp);
    test_svg(lerp, spl);
    rm_model_free(lerp);
    rm_model_free(spl);
    TEST_END();
}
