/* test_hls_emit.c - the emitted HLS project against the integer engine, on real quantized models:
 *  - LERP-PSA h=16 and ReLU h=24 (tests/fixtures), PTQ on 500 CIFAR-10 training images, emitted with
 *    4 test images: `hls csim` (host g++) bit-exact with the integer engine on every intermediate and
 *    the logits; the headers carry shape / min / max / zeros / model comments that match the data;
 *  - a corrupted weight makes csim fail with mismatches (the testbench really compares);
 *  - build.tcl sourced by tclsh with stub HLS commands, and a full synth -> report round trip through
 *    the stand-in vitis_hls of tests/fake_tools;
 *  - a synthetic h=8 network with 256-entry tables (the other LUT form) through csim, and the golden
 *    header lines of its quant_params.h (tests/golden/hls/; RESMLP_REGEN_GOLDEN=1 rewrites them);
 *  - design=simd on a SIMD-block pruned network: csim bit-exact, kept-input loops, the saved cycles;
 *  - the LERP-PSA Verilog unit for a real quantized layer (block 0's first activation, all 96
 *    channels x 256 inputs) in Icarus, bit-exact with the engine's tables, and its Yosys cell counts.
 * Icarus / Yosys / tclsh parts print SKIP when the tool is absent. */
#include "tests/tutil.h"
#include "core/checkpoint.h"
#include "core/quant.h"
#include "hlsgen/emit.h"
#include "hlsgen/simd.h"
#include "hlsgen/report.h"
#include "hlsgen/synth.h"
#include "hlsgen/tcl.h"
#include "hlsgen/verilog.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[64];
static char repo[1024];
#define NSAMP 4

static char *read_all(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    if (b) b[n] = 0;
    fclose(f);
    if (len) *len = n;
    return b;
}

static int have(const char *tool) {
    char p[1024];
    return rm_hls_which(tool, p, sizeof p);
}

/* the comment line of array `name` in text: min, max, zeros parsed back */
static int array_comment(const char *text, const char *name, char *shape, int *mn, int *mx, long *zeros, char *model) {
    char key[128];
    snprintf(key, sizeof key, "/* %s: ", name);
    const char *p = strstr(text, key);
    if (!p) return 0;
    char line[1024];
    const char *e = strchr(p, '\n');
    snprintf(line, sizeof line, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    const char *q = strstr(line, ": ");
    if (sscanf(q + 2, "%*s %63s", shape) != 1) return 0;
    const char *m = strstr(line, ", min ");
    if (!m || sscanf(m, ", min %d, max %d, zeros %ld", mn, mx, zeros) != 3) return 0;
    const char *mo = strstr(line, "; model ");
    if (!mo) return 0;
    snprintf(model, 512, "%s", mo + 8);
    char *end = strstr(model, " */");
    if (end) *end = 0;
    return 1;
}

static void stats8(const int8_t *v, long n, int *mn, int *mx, long *z) {
    *mn = 127; *mx = -128; *z = 0;
    for (long i = 0; i < n; i++) {
        if (v[i] < *mn) *mn = v[i];
        if (v[i] > *mx) *mx = v[i];
        *z += v[i] == 0;
    }
}

static void check_comment(const char *text, const char *name, const char *want_shape, const int8_t *v, long n,
                          const char *want_model) {
    char shape[64], model[512];
    int mn, mx;
    long z;
    int ok = array_comment(text, name, shape, &mn, &mx, &z, model);
    CHECK(ok, "no comment line for %s", name);
    if (!ok) return;
    int emn, emx;
    long ez;
    stats8(v, n, &emn, &emx, &ez);
    CHECK(!strcmp(shape, want_shape), "%s: shape %s, want %s", name, shape, want_shape);
    CHECK(mn == emn && mx == emx && z == ez, "%s: comment min %d max %d zeros %ld, data %d %d %ld", name, mn, mx, z,
          emn, emx, ez);
    CHECK(!strcmp(model, want_model), "%s: model '%s', want '%s'", name, model, want_model);
}

/* every comparison the testbench makes: per sample, the stages (embedding, 2 per block, logits) and
 * the top's logits */
static long expected_checks(const rm_qnet *q, int n) {
    return (long)n * ((long)q->T * q->D * (1 + 2 * q->L) + 4L * q->K);   /* stages, top, m_axi top, concurrent run */
}

static int quantize(rm_ctx *ctx, const char *path, const rm_dataset *calib, rm_qnet **net) {
    rm_model *m = NULL;
    rm_qmodel *qm = NULL;
    *net = NULL;
    if (rm_checkpoint_load(ctx, path, &m)) return RM_ERR;
    rm_calib_opts co = rm_calib_defaults();
    rm_calib_result cr;
    int rc = rm_quant_ptq(ctx, m, calib, 1, &co, &qm, &cr);
    if (rc == RM_OK) rc = rm_quant_export(ctx, qm, net);
    rm_qmodel_free(qm);
    rm_model_free(m);
    return rc;
}

static void csim_log(void *ud, double el, const char *line) {
    (void)el;
    if (ud && (strstr(line, "MISMATCH") || strstr(line, "error") || strstr(line, "RESULT"))) printf("   | %s\n", line);
}

/* emit + csim + header checks for one model */
static void real_model(const char *fixture, const rm_dataset *calib, const rm_dataset *test, const char *sub,
                       int corrupt, rm_qnet **keep) {
    rm_ctx ctx = {0};
    rm_qnet *q = NULL;
    double t0 = rm_now();
    CHECK_OK(quantize(&ctx, fixture, calib, &q), &ctx);
    if (!q) return;
    printf("%s: PTQ %.1f s\n", fixture, rm_now() - t0);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
    rm_hls_emit_opts eo = { .model_file = fixture };
    rm_hls_emit_info info;
    t0 = rm_now();
    CHECK_OK(rm_hls_emit(&ctx, dir, q, test->pixels, test->labels, NSAMP, &eo, &info), &ctx);
    printf("%s: emit %.2f s, %d files, estimated II %ld\n", sub, rm_now() - t0, info.nfiles, info.design.ii);
    CHECK(info.samples == NSAMP && info.nfiles >= 10, "emit info %d %d", info.samples, info.nfiles);

    rm_hls_csim_result r;
    rm_hls_run_opts ro = { .log = csim_log, .log_ud = (void *)1, .timeout_s = 120 };
    int rc = rm_hls_csim(&ctx, dir, &ro, &r);
    CHECK(rc == RM_OK, "%s: csim: %s", sub, ctx.msg);
    printf("%s: csim compile %.1f s, run %.2f s: %ld values checked, %ld mismatches\n", sub, r.compile_s, r.run_s,
           r.checked, r.mismatches);
    CHECK(r.samples == NSAMP && r.mismatches == 0 && r.checked == expected_checks(q, NSAMP),
          "%s: samples %d checked %ld (want %ld) mismatches %ld", sub, r.samples, r.checked, expected_checks(q, NSAMP),
          r.mismatches);

    /* the samples header holds the integer engine's results */
    int8_t logits[NSAMP * 256];
    CHECK_OK(rm_ie_run(&ctx, q, RM_IE_AUTO, test->pixels, NSAMP, logits, NULL), &ctx);
    char p[512];
    snprintf(p, sizeof p, "%s/quant_samples.h", dir);
    char *samples = read_all(p, NULL);
    CHECK(samples != NULL, "read %s", p);
    if (samples) {
        char shp[64];
        snprintf(shp, sizeof shp, "[%d][%d]", NSAMP, q->K);
        check_comment(samples, "samples_output", shp, logits, (long)NSAMP * q->K, fixture);
        snprintf(shp, sizeof shp, "[%d][%d][%d]", NSAMP, q->T, q->D);
        CHECK(strstr(samples, "const int8_t samples_inter_4[4][64][96] = {"), "samples_inter_4 declaration");
        CHECK(strstr(samples, "const int8_t samples_input[4][64][48] = {"), "samples_input declaration");
        CHECK(strstr(samples, "#define SAMPLES_HAVE_LABELS 1"), "labels");
        free(samples);
    }
    snprintf(p, sizeof p, "%s/quant_params.h", dir);
    char *params = read_all(p, NULL);
    CHECK(params != NULL, "read %s", p);
    if (params) {
        check_comment(params, "embed_linear_w", "[96][48]", q->embed.w, 96L * 48, fixture);
        check_comment(params, "blocks_2_token_mixer_linear_w", "[64][64]", q->blk[2].lin.w, 64L * 64, fixture);
        char hs[16];
        snprintf(hs, sizeof hs, "[%d]", q->H);
        check_comment(params, "blocks_3_mlp_linear_1_s", hs, q->blk[3].fc1.k, q->H, fixture);
        check_comment(params, "blocks_1_token_mixer_affine_2_w", "[96]", q->blk[1].a2.w, 96, fixture);
        check_comment(params, "classifier_linear_b", "[10]", q->cls.b, 10, fixture);
        char want[64];
        snprintf(want, sizeof want, "const int8_t blocks_0_mlp_linear_1_w[%d][96] = {", q->H);
        CHECK(strstr(params, want), "%s", want);
        CHECK(strstr(params, "const uint8_t blocks_0_mlp_linear_2_s[96] = {"), "shift array type");
        free(params);
    }
    snprintf(p, sizeof p, "%s/lerp_psa_params.h", dir);
    char *luts = read_all(p, NULL);
    CHECK((luts != NULL) == !q->relu, "lerp_psa_params.h present iff tables");
    if (luts) {
        check_comment(luts, "blocks_0_mlp_psa_0_lerp_lut", "[96][64]", q->blk[0].lut1_64, 96L * 64, fixture);
        char hs[16];
        snprintf(hs, sizeof hs, "[%d][64]", q->H);
        check_comment(luts, "blocks_3_mlp_psa_1_lerp_lut", hs, q->blk[3].lut2_64, 64L * q->H, fixture);
        free(luts);
    }
    snprintf(p, sizeof p, "%s/resmlp.cpp", dir);
    char *cpp = read_all(p, NULL);
    if (cpp) {
        CHECK(strstr(cpp, "blocks_0_mlp_linear_1_in:") && strstr(cpp, "#pragma HLS dataflow") &&
              strstr(cpp, "#pragma HLS pipeline II=1") && strstr(cpp, "BLOCKS_0_MLP_LINEAR_1_SIMD"),
              "labelled, pipelined loops with the parallelism macros");
        CHECK((strstr(cpp, "rm_relu(rm_rq(") != NULL) == q->relu, "ReLU fused in linear_1 iff relu");
        free(cpp);
    }

    if (corrupt) {
        /* one weight changed by one: the testbench must see it */
        snprintf(p, sizeof p, "%s/quant_params.h", dir);
        long len;
        char *t = read_all(p, &len);
        char *w = t ? strstr(t, "const int8_t blocks_1_mlp_linear_2_w") : NULL;
        w = w ? strstr(w, "\n    {") : NULL;
        if (w) {
            w += 6;
            int v = atoi(w);
            char *e = w + strspn(w, "-0123456789");
            char nv[8];
            int n = snprintf(nv, sizeof nv, "%d", v == 127 ? 126 : v + 1);
            FILE *f = fopen(p, "w");
            fwrite(t, 1, (size_t)(w - t), f);
            fwrite(nv, 1, (size_t)n, f);
            fputs(e, f);
            fclose(f);
            setenv("RESMLP_CSIM_FLAGS", "-O0", 1);
            rm_ctx c2 = {0};
            rm_hls_run_opts quiet = { .timeout_s = 120 };
            rc = rm_hls_csim(&c2, dir, &quiet, &r);
            unsetenv("RESMLP_CSIM_FLAGS");
            printf("%s corrupted: %s\n", sub, c2.msg);
            CHECK(rc == RM_ERR && r.mismatches > 0 && strstr(c2.msg, "differ from the integer engine"),
                  "corrupted weight: rc %d mismatches %ld: %s", rc, r.mismatches, c2.msg);
            int tails = 0;
            for (int i = 0; i < rm_hls_tail_count(&r.run); i++) tails += strstr(rm_hls_tail_line(&r.run, i), "MISMATCH sample") != NULL;
            CHECK(tails > 0, "the log tail shows the mismatches");
        } else CHECK(0, "could not find blocks_1_mlp_linear_2_w to corrupt");
        free(t);
    }
    if (keep) *keep = q;
    else rm_qnet_free(q);
}

/* build.tcl under tclsh with stub HLS commands, and the whole flow through the stand-in vitis_hls */
static void tcl_and_fake_synth(const char *sub) {
    char dir[256], cmd[2048];
    snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
    if (!have("tclsh")) { printf("SKIP build.tcl under tclsh: tclsh not installed\n"); return; }
    char stub[300];
    snprintf(stub, sizeof stub, "%s/stub.tcl", tmp);
    FILE *f = fopen(stub, "w");
    fputs("set ::calls {}\n"
          "foreach c {open_project set_top add_files open_solution set_part create_clock csim_design csynth_design\n"
          "           cosim_design export_design close_project} { proc $c {args} \"lappend ::calls $c\" }\n"
          "rename exit __exit\n"
          "proc exit {args} { puts \"CALLS $::calls\"; __exit 0 }\n"
          "set ::env(RESMLP_HLS_STEPS) {csim csynth cosim export}\n"
          "source build.tcl\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && tclsh %s > %s/tcl.out 2>&1", dir, stub, tmp);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/tcl.out", tmp);
    char *out = read_all(cmd, NULL);
    CHECK(rc == 0 && out && strstr(out, "CALLS open_project set_top add_files add_files open_solution set_part "
                                        "create_clock csim_design csynth_design cosim_design export_design close_project"),
          "tclsh build.tcl: rc %d: %s", rc, out ? out : "(no output)");
    free(out);

    /* synth with the stand-in tool, then the report */
    rm_ctx ctx = {0};
    rm_hls_tool tool;
    char fake[1200];
    snprintf(fake, sizeof fake, "%s/tests/fake_tools/vitis_hls", repo);
    CHECK_OK(rm_hls_find_tool(&ctx, fake, &tool), &ctx);
    rm_hls_project pj;
    CHECK_OK(rm_hls_project_load(&ctx, dir, &pj), &ctx);
    rm_hls_run_opts o = { .top = pj.top, .steps = "csim csynth", .timeout_s = 60 };
    static rm_hls_run_result res;
    rc = rm_hls_synth(&ctx, dir, &tool, &o, &res);
    CHECK(rc == RM_OK, "fake synth: %s", ctx.msg);
    static rm_hls_report rep;
    CHECK_OK(rm_hls_report_load_dir(&ctx, dir, pj.top, &rep), &ctx);
    CHECK(!strcmp(rep.top, RM_HLS_TOP) && !strcmp(rep.part, RM_HLS_DEFAULT_PART) && rep.used.lut > 0 && rep.used.dsp > 0,
          "report top %s part %s lut %ld dsp %ld", rep.top, rep.part, rep.used.lut, rep.used.dsp);
    /* a csim-only run writes no report and is not a failure */
    rm_hls_run_opts o2 = { .top = pj.top, .steps = "csim", .timeout_s = 60 };
    rc = rm_hls_synth(&ctx, dir, &tool, &o2, &res);
    CHECK(rc == RM_OK && res.report[0] == 0, "csim-only run: rc %d: %s", rc, ctx.msg);
}

/* a synthetic network: weights from a fixed LCG, shifts that keep the values in range */
static rm_qnet *synthetic(rm_ctx *ctx, int D, int H, int L, int act, int lut64, uint64_t seed) {
    rm_qnet *q = NULL;
    if (rm_qnet_new(ctx, &q, 64, 48, D, H, L, 10, 3, 32, 32, 4, act, lut64)) return NULL;
    uint64_t s = seed;
#define R() ((int)(rm_rng_next(&s) % 256) - 128)
    rm_qlin *all[3 + 7 * RM_MAXL];
    int nl = 0;
    all[nl++] = &q->embed; all[nl++] = &q->cls;
    for (int l = 0; l < L; l++) {
        rm_qblock *b = &q->blk[l];
        all[nl++] = &b->a1; all[nl++] = &b->lin; all[nl++] = &b->a2; all[nl++] = &b->res;
        all[nl++] = &b->res2; all[nl++] = &b->fc1; all[nl++] = &b->fc2;
    }
    for (int i = 0; i < nl; i++) {
        rm_qlin *l = all[i];
        int k0 = l->IC == 1 ? 7 : 9 + (l->IC >= 64);
        for (long j = 0; j < (long)l->OC * l->IC; j++) l->w[j] = (int8_t)R();
        for (int o = 0; o < l->OC; o++) {
            l->b[o] = (int8_t)(R() / 8);
            l->k[o] = (int8_t)(k0 + (int)(rm_rng_next(&s) % 3) - 1);
        }
    }
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) q->pix_lut[c][v] = (int8_t)(v - 128 + c);
    for (int l = 0; l < L; l++) {
        rm_qblock *b = &q->blk[l];
        for (int j = 0; j < 2; j++) {
            int8_t *t = j ? (lut64 ? b->lut2_64 : b->lut2) : (lut64 ? b->lut1_64 : b->lut1);
            if (!t) continue;
            int C = j ? H : D, N = lut64 ? 64 : 256;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < N; i++) {
                    int x = (i * 256 / N) - 128;   /* a wobbly curve through the codes */
                    int y = x / 2 + (R() / 16) + (c % 5) * 3;
                    t[c * N + i] = (int8_t)(y < -128 ? -128 : y > 127 ? 127 : y);
                }
        }
    }
#undef R
    if (rm_qnet_prepare(ctx, q)) { rm_qnet_free(q); return NULL; }
    return q;
}

/* the header lines (no data rows) of a generated header */
static char *header_lines(const char *text) {
    size_t n = strlen(text);
    char *o = malloc(n + 1), *w = o;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p + 1) : strlen(p);
        if (strncmp(p, "    ", 4) != 0) { memcpy(w, p, len); w += len; }
        p += len;
    }
    *w = 0;
    return o;
}

static void synthetic_h8(const rm_dataset *test) {
    rm_ctx ctx = {0};
    rm_qnet *q = synthetic(&ctx, 16, 8, 1, RM_ACT_LERP_PSA, 0, 77);
    CHECK(q != NULL, "synthetic network: %s", ctx.msg);
    if (!q) return;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/h8", tmp);
    rm_hls_emit_opts eo = { .model_file = "synthetic_h8" };
    CHECK_OK(rm_hls_emit(&ctx, dir, q, test->pixels, NULL, 3, &eo, NULL), &ctx);
    setenv("RESMLP_CSIM_FLAGS", "-O1", 1);
    rm_hls_csim_result r;
    int rc = rm_hls_csim(&ctx, dir, NULL, &r);
    unsetenv("RESMLP_CSIM_FLAGS");
    CHECK(rc == RM_OK && r.mismatches == 0 && r.checked == expected_checks(q, 3), "h8 csim (256-entry tables): %s "
          "(checked %ld of %ld)", ctx.msg, r.checked, expected_checks(q, 3));
    printf("synthetic h=8, 256-entry tables: csim %ld values, %ld mismatches\n", r.checked, r.mismatches);
    char p[512];
    snprintf(p, sizeof p, "%s/lerp_psa_params.h", dir);
    char *l = read_all(p, NULL);
    CHECK(l && strstr(l, "const int8_t blocks_0_mlp_psa_1_lut[8][256] = {"), "256-entry table header");
    free(l);

    /* interface=m_axi: the paper's kernel top goes to synthesis (build.tcl, the project file) */
    {
        char d2[300];
        snprintf(d2, sizeof d2, "%s/h8_mm", tmp);
        rm_hls_emit_opts e2 = { .model_file = "synthetic_h8", .interface = "m_axi" };
        CHECK_OK(rm_hls_emit(&ctx, d2, q, test->pixels, NULL, 1, &e2, NULL), &ctx);
        snprintf(p, sizeof p, "%s/build.tcl", d2);
        char *tcl = read_all(p, NULL);
        CHECK(tcl && strstr(tcl, "set_top resmlp_mm"), "interface=m_axi: build.tcl top");
        free(tcl);
        rm_hls_project pj;
        CHECK(rm_hls_project_load(&ctx, d2, &pj) == RM_OK && !strcmp(pj.top, "resmlp_mm"), "interface=m_axi: project top");
        snprintf(p, sizeof p, "%s/resmlp.cpp", d2);
        char *cpp = read_all(p, NULL);
        CHECK(cpp && strstr(cpp, "#pragma HLS INTERFACE m_axi port=x bundle=gmem0") && strstr(cpp, "s_axilite port=return"),
              "m_axi top pragmas");
        free(cpp);
        rm_hls_emit_opts e3 = { .interface = "pcie" };
        CHECK(rm_hls_emit(&ctx, d2, q, test->pixels, NULL, 1, &e3, NULL) == RM_ERR && strstr(ctx.msg, "interface=pcie"), "bad interface");
    }

    /* golden: the header lines of quant_params.h */
    snprintf(p, sizeof p, "%s/quant_params.h", dir);
    char *t = read_all(p, NULL);
    char *h = t ? header_lines(t) : NULL;
    const char *gold = "tests/golden/hls/quant_params_h8.txt";
    if (h && getenv("RESMLP_REGEN_GOLDEN") && !strcmp(getenv("RESMLP_REGEN_GOLDEN"), "1")) {
        mkdir("tests/golden/hls", 0777);
        FILE *f = fopen(gold, "w");
        if (f) { fputs(h, f); fclose(f); }
        printf("regenerated %s\n", gold);
    }
    char *g = read_all(gold, NULL);
    CHECK(g && h && !strcmp(g, h), "%s differs from the emitted header lines (RESMLP_REGEN_GOLDEN=1 rewrites it)", gold);
    if (g && h && strcmp(g, h)) {
        FILE *f = fopen("build/test-logs/quant_params_h8.txt", "w");
        if (f) { fputs(h, f); fclose(f); printf("emitted header lines in build/test-logs/quant_params_h8.txt\n"); }
    }
    free(g); free(h); free(t);
    rm_qnet_free(q);
}

/* every lut_edge mode: the emitted tables and lookup simulate bit-exact with the integer engine, and
 * the table shapes say which mode (65 entries only for paper_hls). Tables chosen with steep tops so the
 * modes differ, and inputs reach the top segment (the synthetic weights are wide). */
static void synthetic_edges(const rm_dataset *test) {
    for (int edge = 0; edge < RM_LUT_EDGE_N; edge++) {
        rm_ctx ctx = {0};
        rm_qnet *q = synthetic(&ctx, 16, 8, 1, RM_ACT_LERP_PSA, 1, 500 + edge);
        CHECK(q != NULL, "synthetic network: %s", ctx.msg);
        if (!q) return;
        q->lut_edge = edge;
        for (int c = 0; c < 16; c++) { q->blk[0].lut1_64[c * 64 + 63] = 127; q->blk[0].lut1_64[c * 64 + 62] = -20; q->blk[0].lut1_e[c] = (int8_t)(c * 7 - 60); }
        for (int c = 0; c < 8; c++) { q->blk[0].lut2_64[c * 64 + 63] = -128; q->blk[0].lut2_e[c] = (int8_t)(c * 11); }
        CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
        char dir[256];
        snprintf(dir, sizeof dir, "%s/edge_%s", tmp, rm_lut_edge_name(edge));
        rm_hls_emit_opts eo = { .model_file = "synthetic_edges" };
        CHECK_OK(rm_hls_emit(&ctx, dir, q, test->pixels, NULL, 3, &eo, NULL), &ctx);
        char p[512], want[96];
        snprintf(p, sizeof p, "%s/lerp_psa_params.h", dir);
        char *l = read_all(p, NULL);
        snprintf(want, sizeof want, "const int8_t blocks_0_mlp_psa_1_lerp_lut[8][%d] = {", edge == RM_LUT_EDGE_PAPER_HLS ? 65 : 64);
        CHECK(l && strstr(l, want) && strstr(l, rm_lut_edge_name(edge)), "lut_edge=%s: %s", rm_lut_edge_name(edge), want);
        free(l);
        setenv("RESMLP_CSIM_FLAGS", "-O1", 1);
        rm_hls_csim_result r;
        int rc = rm_hls_csim(&ctx, dir, NULL, &r);
        unsetenv("RESMLP_CSIM_FLAGS");
        CHECK(rc == RM_OK && r.mismatches == 0 && r.checked == expected_checks(q, 3), "lut_edge=%s csim: %s (checked %ld)",
              rm_lut_edge_name(edge), ctx.msg, r.checked);
        printf("synthetic h=8, lut_edge=%s: csim %ld values, %ld mismatches\n", rm_lut_edge_name(edge), r.checked, r.mismatches);
        rm_qnet_free(q);
    }
}

/* the concurrent csim: FIFO occupancies are reported, and a token-mixer skip FIFO shallower than an
 * image deadlocks (the transpose buffer needs all T tokens before the main path yields one): the run
 * stops and names the blocked process, the FIFO and its depth */
static void concurrent_fifos(const rm_dataset *test) {
    rm_ctx ctx = {0};
    rm_qnet *q = synthetic(&ctx, 16, 8, 2, RM_ACT_LERP_PSA, 1, 61);
    CHECK(q != NULL, "synthetic network: %s", ctx.msg);
    if (!q) return;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/fifo", tmp);
    rm_hls_emit_opts eo = { .model_file = "synthetic_fifo" };
    CHECK_OK(rm_hls_emit(&ctx, dir, q, test->pixels, NULL, 3, &eo, NULL), &ctx);
    setenv("RESMLP_CSIM_FLAGS", "-O1", 1);
    static rm_hls_csim_result r;
    int rc = rm_hls_csim(&ctx, dir, NULL, &r);
    CHECK(rc == RM_OK && r.nfifo > 10, "concurrent csim: %s (%d FIFOs reported)", ctx.msg, r.nfifo);
    int skip = -1;
    for (int i = 0; i < r.nfifo; i++) if (!strcmp(r.fifo[i].name, "b1_skip")) skip = i;
    CHECK(skip >= 0 && r.fifo[skip].depth == 2 * 64 + 2 && r.fifo[skip].max >= 64 && r.fifo[skip].max <= r.fifo[skip].depth,
          "b1_skip: depth %ld, max occupancy %ld (a whole image waits there)", skip >= 0 ? r.fifo[skip].depth : -1,
          skip >= 0 ? r.fifo[skip].max : -1);
    for (int i = 0; i < r.nfifo; i++) CHECK(r.fifo[i].max >= 1 && r.fifo[i].max <= r.fifo[i].depth, "FIFO %s max %ld depth %ld",
                                            r.fifo[i].name, r.fifo[i].max, r.fifo[i].depth);
    /* too shallow: 16 < 64 tokens */
    setenv("RESMLP_CSIM_FLAGS", "-O1 -DRM_FIFO_b1_skip=16", 1);
    rm_ctx c2 = {0};
    rc = rm_hls_csim(&c2, dir, NULL, &r);
    CHECK(rc == RM_ERR && r.deadlock && strstr(c2.msg, "deadlock") && strstr(c2.msg, "stream 'b1_skip' (depth 16) is full"),
          "shallow FIFO: %s", c2.msg);
    printf("b1_skip at depth 16: %s\n", c2.msg);
    unsetenv("RESMLP_CSIM_FLAGS");
    rm_qnet_free(q);
}

/* design=simd: the shared-tile design simulates bit-exact with the integer engine for a real PTQ network
 * and synthetic ones of every table kind (ReLU, 256-entry, each lut_edge), odd sizes included (h=8,
 * D=16: tiles padded) */
static int simd_csim_one(const rm_dataset *test, const rm_qnet *q, const char *what, int ns) {
    rm_ctx ctx = {0};
    char dir[256];
    snprintf(dir, sizeof dir, "%s/simd_%s", tmp, what);
    rm_hls_emit_opts eo = { .model_file = what, .design = "simd" };
    rm_hls_emit_info info;
    CHECK_OK(rm_hls_emit(&ctx, dir, q, test->pixels, NULL, ns, &eo, &info), &ctx);
    char p[512];
    snprintf(p, sizeof p, "%s/resmlp.cpp", dir);
    char *cpp = read_all(p, NULL);
    CHECK(cpp && strstr(cpp, "allocation function instances=simd_call limit=1") && strstr(cpp, "kslice:") &&
          strstr(cpp, "POST_TOKRES"), "%s: one shared simd_call", what);
    free(cpp);
    setenv("RESMLP_CSIM_FLAGS", "-O1", 1);
    rm_hls_csim_result r;
    int rc = rm_hls_csim(&ctx, dir, NULL, &r);
    unsetenv("RESMLP_CSIM_FLAGS");
    long want = (long)ns * ((long)q->T * q->D * (1 + 2 * q->L) + q->K);
    CHECK(rc == RM_OK && r.mismatches == 0 && r.checked == want, "simd %s csim: %s (checked %ld of %ld)", what, ctx.msg,
          r.checked, want);
    printf("design=simd %s: csim %ld values, %ld mismatches\n", what, r.checked, r.mismatches);
    return rc;
}

/* prune the blocks of l marked '1' in pat (one character per block of simd inputs): zero their weights, set
 * the mask */
static void prune_blocks(rm_qnet *q, rm_qlin *l, int simd, const char *pat) {
    rm_ctx ctx = {0};
    uint8_t m[64];
    for (int b = 0; b < l->IC / simd; b++) {
        m[b] = pat[b] == '1';
        for (int o = 0; m[b] && o < l->OC; o++) memset(l->w + (size_t)o * l->IC + (size_t)b * simd, 0, (size_t)simd);
    }
    CHECK_OK(rm_qnet_set_pruned(&ctx, q, l, simd, m), &ctx);
}

/* design=simd on a SIMD-block pruned network (D=16, h=24, 2 blocks, every kind of linear pruned): csim
 * bit-exact with the integer engine (which skips the same blocks), the kslice loop over the kept-input
 * lists, and the latency model's saving by hand: a pruned input saves ceil(N/16)*ceil(O/16) cycles of its
 * call, embed 16 x 4 x 1 = 64, per block token 16 x 1 x 4 = 64, linear_1 8 x 4 x 2 = 64, linear_2
 * 8 x 4 x 1 = 32, classifier 8 x 1 x 1 = 8: 64 + 2 * 160 + 8 = 392 cycles */
static void simd_pruned(const rm_dataset *test) {
    rm_ctx ctx = {0};
    rm_qnet *q = synthetic(&ctx, 16, 24, 2, RM_ACT_LERP_PSA, 1, 951);
    CHECK(q != NULL, "synthetic: %s", ctx.msg);
    if (!q) return;
    prune_blocks(q, &q->embed, 8, "010010");
    for (int l = 0; l < 2; l++) {
        prune_blocks(q, &q->blk[l].lin, 16, l ? "1000" : "0010");
        prune_blocks(q, &q->blk[l].fc1, 4, "1001");
        prune_blocks(q, &q->blk[l].fc2, 8, l ? "001" : "010");
    }
    prune_blocks(q, &q->cls, 8, "01");
    CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
    simd_csim_one(test, q, "pruned_h24", 3);
    char p[512];
    snprintf(p, sizeof p, "%s/simd_pruned_h24/resmlp.cpp", tmp);
    char *cpp = read_all(p, NULL);
    CHECK(cpp && strstr(cpp, "static const uint16_t blocks_1_mlp_linear_2_ki[16] = {") && strstr(cpp, "&blocks_1_mlp_linear_2_wk[0][0]") &&
          strstr(cpp, "for (int kk = 0; kk < c.NK; kk++)") && strstr(cpp, "{ 48, 32, 64, 16, 0, 0, &embed_linear_wk[0][0]"),
          "pruned layers: kept-input lists, compact weights, the kslice loop over NK");
    free(cpp);
    int pruned[2 + 3 * RM_MAXL];
    rm_hls_simd_pruned_of_qnet(q, pruned);
    CHECK(pruned[0] == 16 && pruned[1] == 16 && pruned[2] == 8 && pruned[3] == 8 && pruned[7] == 8, "pruned inputs per call");
    rm_hls_dims dims = rm_hls_dims_of_qnet(q);
    rm_simd_est e, e0;
    CHECK_OK(rm_hls_simd_estimate_pruned(&ctx, &dims, 5.0, pruned, &e), &ctx);
    CHECK_OK(rm_hls_simd_estimate(&ctx, &dims, 5.0, &e0), &ctx);
    CHECK(e.mac_dense == e0.mac && e0.mac - e.mac == 392 && e0.total - e.total == 392 && e.total_dense == e0.total,
          "pruning saves 392 MAC cycles (%ld -> %ld)", e0.total, e.total);
    CHECK(e.call[2].kept == 8 && e.call[2].mac == 8L * 4 * 2 && e.call[7].mac == 8 * 1 * 1, "per call: kept inputs x tiles");
    char b[8192];
    rm_hls_simd_format(&e, b, sizeof b);
    CHECK(strstr(b, "pruning saves 392 MAC cycles") && strstr(b, "8/16"), "estimate text: %s", b);
    snprintf(p, sizeof p, "%s/simd_pruned_h24/README.md", tmp);
    char *rd = read_all(p, NULL);
    CHECK(rd && strstr(rd, "pruning saves 392 MAC cycles"), "README latency with the pruned blocks");
    free(rd);
    /* the project's design (its "pruned" lines) gives the same per-call counts (`hls estimate DIR design=simd`) */
    rm_hls_design d;
    snprintf(p, sizeof p, "%s/simd_pruned_h24", tmp);
    CHECK_OK(rm_hls_project_design(&ctx, p, &d, NULL), &ctx);
    int pd[2 + 3 * RM_MAXL];
    rm_hls_simd_pruned_of_design(&d, pd);
    CHECK(!memcmp(pd, pruned, sizeof(int) * (2 + 3 * 2)), "project design: the same pruned inputs per call");
    rm_qnet_free(q);
}

static void simd_synthetic(const rm_dataset *test) {
    struct { int act, lut64, edge, H; const char *what; } cs[] = {
        {RM_ACT_RELU, 0, 0, 8, "relu_h8"}, {RM_ACT_LERP_PSA, 0, 0, 8, "lut256_h8"},
        {RM_ACT_LERP_PSA, 1, RM_LUT_EDGE_EXTEND, 24, "extend_h24"}, {RM_ACT_LERP_PSA, 1, RM_LUT_EDGE_PAPER_HLS, 8, "paper_hls_h8"},
        {RM_ACT_LERP_PSA, 1, RM_LUT_EDGE_CLAMP, 8, "clamp_h8"}};
    for (int i = 0; i < 5; i++) {
        rm_ctx ctx = {0};
        rm_qnet *q = synthetic(&ctx, 16, cs[i].H, 2, cs[i].act, cs[i].lut64, 900 + i);
        CHECK(q != NULL, "synthetic: %s", ctx.msg);
        if (!q) continue;
        q->lut_edge = cs[i].edge;
        for (int l = 0; cs[i].lut64 && l < 2; l++) {
            if (q->blk[l].lut1_e) for (int c = 0; c < 16; c++) q->blk[l].lut1_e[c] = (int8_t)(c * 5 - 40);
            if (q->blk[l].lut2_e) for (int c = 0; c < cs[i].H; c++) q->blk[l].lut2_e[c] = (int8_t)(c * 3);
        }
        CHECK_OK(rm_qnet_prepare(&ctx, q), &ctx);
        simd_csim_one(test, q, cs[i].what, 3);
        rm_qnet_free(q);
    }
}

/* folded parallelism (PE > 1 and SIMD < IN everywhere it divides) computes the same: a synthetic
 * network with 64-entry tables, two blocks */
static void synthetic_folded(const rm_dataset *test) {
    rm_ctx ctx = {0};
    rm_qnet *q = synthetic(&ctx, 16, 8, 2, RM_ACT_LERP_PSA, 1, 91);
    CHECK(q != NULL, "synthetic network: %s", ctx.msg);
    if (!q) return;
    static rm_hls_design d;
    rm_hls_dims dims = rm_hls_dims_of_qnet(q);
    CHECK_OK(rm_hls_design_init(&ctx, &d, &dims, 5.0), &ctx);
    int folded = 0;
    for (int i = 0; i < d.nstages; i++) {
        rm_hls_stage *st = &d.st[i];
        int pe = 1, simd = 1;
        for (int k = 1; k <= 4; k++) if (st->out % k == 0) pe = k;
        if (st->kind == RM_HLS_ST_MATMUL) for (int k = 1; k <= 8 && k < st->in; k++) if (st->in % k == 0) simd = k;
        CHECK_OK(rm_hls_set_par(&ctx, &d, st->name, pe, simd), &ctx);
        folded += pe > 1;
    }
    rm_hls_estimate(&d, NULL);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/folded", tmp);
    rm_hls_emit_opts eo = { .model_file = "synthetic_folded", .par = &d };
    CHECK_OK(rm_hls_emit(&ctx, dir, q, test->pixels, NULL, 2, &eo, NULL), &ctx);
    char p[512];
    snprintf(p, sizeof p, "%s/hls_parallelism.h", dir);
    char *par = read_all(p, NULL);
    CHECK(par && strstr(par, "#define BLOCKS_1_MLP_PSA_1_PE 4") && strstr(par, "#define BLOCKS_0_MLP_LINEAR_1_SIMD 8") &&
          strstr(par, "#define BLOCKS_0_TOKEN_MIXER_LINEAR_SIMD 8"), "parallelism header: %s", par ? par : "(none)");
    free(par);
    /* the project reads it back */
    static rm_hls_design back;
    CHECK_OK(rm_hls_project_design(&ctx, dir, &back, NULL), &ctx);
    CHECK(back.ii == d.ii && back.st[3].pe == d.st[3].pe, "project design ii %ld vs %ld", back.ii, d.ii);
    setenv("RESMLP_CSIM_FLAGS", "-O1", 1);
    rm_hls_csim_result r;
    int rc = rm_hls_csim(&ctx, dir, NULL, &r);
    unsetenv("RESMLP_CSIM_FLAGS");
    CHECK(rc == RM_OK && r.mismatches == 0 && r.checked == expected_checks(q, 2),
          "folded csim: %s (checked %ld of %ld)", ctx.msg, r.checked, expected_checks(q, 2));
    printf("synthetic h=8, folded (%d stages with PE > 1, interval %ld): csim %ld values, %ld mismatches\n", folded,
           d.ii, r.checked, r.mismatches);
    rm_qnet_free(q);
}

/* the LERP-PSA unit of a real quantized layer in Icarus (every input of every channel) and Yosys */
static void verilog_real(const rm_qnet *q) {
    if (!q || q->relu || !q->lut64) return;
    if (!have("iverilog") || !have("vvp")) { printf("SKIP Verilog LERP unit: iverilog not installed\n"); return; }
    rm_ctx ctx = {0};
    char dir[256];
    snprintf(dir, sizeof dir, "%s/verilog", tmp);
    mkdir(dir, 0777);
    /* the engine's tables: lut1 (256 entries per channel) is what every engine reads */
    CHECK_OK(rm_hls_verilog_lerp(&ctx, dir, "psa_b0_0", q->blk[0].lut1_64, q->blk[0].lut1_e, q->lut_edge, q->D, q->blk[0].lut1), &ctx);
    long checked = 0, bad = -1;
    double t0 = rm_now();
    rm_hls_run_opts ro = { .timeout_s = 60 };
    CHECK_OK(rm_hls_iverilog_sim(&ctx, dir, "psa_b0_0", q->D, &ro, &checked, &bad, NULL), &ctx);
    printf("Verilog LERP unit, block 0 psa_0 (%d channels): %ld outputs checked in Icarus, %ld mismatches (%.1f s)\n",
           q->D, checked, bad, rm_now() - t0);
    CHECK(checked == 256L * q->D && bad == 0, "icarus: %ld checked, %ld mismatches", checked, bad);
    if (!have("yosys")) { printf("SKIP Yosys: not installed\n"); return; }
    /* Yosys on the narrower layer of the same block (psa_1, H channels; its time grows with the ROM), generic 6-LUT
     * mapping (synth_xilinx of the unit is in test_hls),
     * after checking that one in Icarus as well */
    CHECK_OK(rm_hls_verilog_lerp(&ctx, dir, "psa_b0_1", q->blk[0].lut2_64, q->blk[0].lut2_e, q->lut_edge, q->H, q->blk[0].lut2), &ctx);
    CHECK_OK(rm_hls_iverilog_sim(&ctx, dir, "psa_b0_1", q->H, &ro, &checked, &bad, NULL), &ctx);
    CHECK(checked == 256L * q->H && bad == 0, "icarus psa_1: %ld checked, %ld mismatches", checked, bad);
    rm_hls_cells cells;
    t0 = rm_now();
    int rc = rm_hls_yosys_synth(&ctx, dir, "psa_b0_1", "generic", &ro, &cells, NULL);
    CHECK(rc == RM_OK, "yosys: %s", ctx.msg);
    if (rc == RM_OK) {
        char b[1024];
        rm_hls_cells_format(&cells, b, sizeof b);
        printf("Yosys (generic 6-LUT) of block 0 psa_1 (%d channels, %.1f s): %s\n", q->H, rm_now() - t0, b);
        CHECK(cells.dsp == 0 && cells.lut + cells.lutram + cells.bram18 > 0 && cells.ff > 0, "cells: %s", b);
    }
}

int main(void) {
    rm_set_threads(0);
    if (!getcwd(repo, sizeof repo)) return 1;
    snprintf(tmp, sizeof tmp, "/tmp/rm_hls_emit_XXXXXX");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    rm_ctx ctx = {0};
    rm_dataset train = {0}, calib = {0}, test = {0};
    CHECK_OK(rm_cifar10_load(&ctx, &train, DATA_DIR "/cifar-10-batches-bin/data_batch_1.bin", NULL), &ctx);
    CHECK_OK(rm_cifar10_load(&ctx, &test, DATA_DIR "/cifar-10-batches-bin", "test"), &ctx);
    if (train.n >= 500 && test.n >= NSAMP) {
        CHECK_OK(rm_dataset_slice(&ctx, &calib, &train, 0, 500), &ctx);
        rm_qnet *lerp = NULL;
        real_model("tests/fixtures/resmlp_lerp_h16.safetensors", &calib, &test, "lerp", 0, &lerp);
        tcl_and_fake_synth("lerp");
        verilog_real(lerp);
        if (lerp) simd_csim_one(&test, lerp, "lerp_ptq", NSAMP);
        rm_qnet_free(lerp);
        real_model("tests/fixtures/resmlp_relu_h24.safetensors", &calib, &test, "relu", 1, NULL);
        synthetic_h8(&test);
        const char *th = getenv("RESMLP_THREADS");
        if (th && !strcmp(th, "1"))   /* g++ builds of emitted projects do not depend on the engine's threads */
            printf("SKIP: the lut_edge, deadlock and design=simd csims run in the suite's 2-thread pass\n");
        else {
            synthetic_edges(&test);
            concurrent_fifos(&test);
            simd_synthetic(&test);
            simd_pruned(&test);
        }
        synthetic_folded(&test);
    }
    rm_dataset_free(&train);
    rm_dataset_free(&calib);
    rm_dataset_free(&test);
    if (!t_fail) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd)) {}
    } else printf("kept %s for inspection\n", tmp);
    TEST_END();
}
