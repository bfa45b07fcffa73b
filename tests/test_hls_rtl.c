/* test_hls_rtl.c - `hls rtl`: the learned-activation units of a network as Verilog, simulated with
 * Icarus and Verilator against the integer engine's 256-entry tables on all 256 inputs of every channel,
 * for each lut_edge; a wrong expected value is caught; the manifest round trip; a Yosys cell count; the
 * affine / residual-add / pool PEs (pe.h) and the matmul PE through Icarus against the engine's arithmetic
 * in C (hundreds of inputs each); the Yosys
 * calibration of one PE per stage kind and the estimate that uses it. */
#include "hlsgen/rtl.h"
#include "hlsgen/calib.h"
#include "hlsgen/pe.h"
#include "core/model.h"
#include "tests/tutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmp[] = "/tmp/resmlp_rtl_XXXXXX";

/* the external tools do not use the OpenMP threads: their slow runs (Verilator, the Yosys calibration)
 * happen in the suite's 2-thread pass only (tests/run.sh runs every test with 2 threads, then 1) */
static int tools_pass(void) {
    const char *t = getenv("RESMLP_THREADS");
    if (t && !strcmp(t, "1")) { printf("SKIP: Verilator and the Yosys calibration run in the 2-thread pass\n"); return 0; }
    return 1;
}

/* a small network (D 16, h 8, 2 blocks) whose tables are steep at the top so the edge modes differ */
static rm_qnet *net(rm_ctx *ctx, int edge, uint64_t seed) {
    rm_qnet *q = NULL;
    if (rm_qnet_new(ctx, &q, 64, 48, 16, 8, 2, 10, 3, 32, 32, 4, RM_ACT_LERP_PSA, 1)) return NULL;
    q->lut_edge = edge;
    uint64_t s = seed;
    for (int l = 0; l < 2; l++) {
        rm_qblock *b = &q->blk[l];
        for (int i = 0; i < 16 * 64; i++) b->lut1_64[i] = (int8_t)((int)(rm_rng_next(&s) % 200) - 100);
        for (int i = 0; i < 8 * 64; i++) b->lut2_64[i] = (int8_t)((int)(rm_rng_next(&s) % 256) - 128);
        for (int c = 0; c < 16; c++) { b->lut1_64[c * 64 + 63] = 127; b->lut1_64[c * 64 + 62] = (int8_t)(c * 8 - 60); b->lut1_e[c] = (int8_t)(c - 8); }
        for (int c = 0; c < 8; c++) b->lut2_e[c] = (int8_t)(c * 9);
    }
    /* the linear layers only need legal shifts */
    rm_qlin *all[3 + 7 * 2] = {&q->embed, &q->cls};
    int n = 2;
    for (int l = 0; l < 2; l++) {
        rm_qblock *b = &q->blk[l];
        all[n++] = &b->a1; all[n++] = &b->lin; all[n++] = &b->a2; all[n++] = &b->res; all[n++] = &b->res2; all[n++] = &b->fc1; all[n++] = &b->fc2;
    }
    for (int i = 0; i < n; i++) for (int o = 0; o < all[i]->OC; o++) all[i]->k[o] = 8;
    if (rm_qnet_prepare(ctx, q)) { rm_qnet_free(q); return NULL; }
    return q;
}

/* each non-matmul PE (pe.h) through Icarus against the engine's primitives (lut.h) in C */
static void pe_sims(const char *dir) {
    rm_ctx ctx = {0};
    uint64_t s = 77;
    enum { N = 400 };
    static int32_t st[N * 5];
    static int8_t ex[N];
    long chk = 0, bad = 0;
    for (int resadd = 0; resadd < 2; resadd++) {
        /* x, w, b over all int8, k 1..30 (mostly <= 14, where the outputs are not all 0 / b); the corners first */
        for (int i = 0; i < N; i++) {
            int32_t *v = st + i * (4 + resadd);   /* the testbench's stride: its port count */
            int r = (int)(rm_rng_next(&s) % 256) - 128, x = (int)(rm_rng_next(&s) % 256) - 128;
            int w = (int)(rm_rng_next(&s) % 256) - 128, b = (int)(rm_rng_next(&s) % 256) - 128;
            int k = rm_rng_next(&s) % 4 ? 1 + (int)(rm_rng_next(&s) % 14) : 1 + (int)(rm_rng_next(&s) % 30);
            if (i < 4) { x = i & 1 ? 127 : -128; w = i & 2 ? 127 : -128; k = 1; b = i < 2 ? 127 : -128; r = -r; }
            if (i == 4) { x = -128; w = -128; k = 30; b = 0; }
            int j = 0;
            if (resadd) v[j++] = r;
            v[j++] = x; v[j++] = w; v[j++] = k; v[j++] = b;
            int32_t q = rm_requant(x * w, k, b);
            ex[i] = (int8_t)(resadd ? rm_sat8(r + q) : q);
        }
        const char *mod = resadd ? "pe_resadd" : "pe_affine";
        rm_hls_pe_port pr[5] = {{"r", 8}, {"x", 8}, {"w", 8}, {"k", 5}, {"b", 8}};
        CHECK_OK(resadd ? rm_hls_pe_resadd_verilog(&ctx, dir, mod) : rm_hls_pe_affine_verilog(&ctx, dir, mod), &ctx);
        CHECK_OK(rm_hls_pe_testbench(&ctx, dir, mod, resadd ? pr : pr + 1, resadd ? 5 : 4, N, st, N, ex, NULL), &ctx);
        long c = 0, m = 0;
        CHECK_OK(rm_hls_iverilog_check(&ctx, dir, mod, N, NULL, &c, &m, NULL), &ctx);
        CHECK(c == N && m == 0, "%s: %ld checked, %ld mismatches", mod, c, m);
        chk += c; bad += m;
    }
    /* pool: (C channels per lane, T tokens) = (4, 64) the paper's T, (3, 5) where the shift (2) is short
     * of log2 T and 5 x 127 / 4 saturates; images of random tokens, then all -128 and all 127 */
    static const int cfg[2][3] = {{4, 64, 4}, {3, 5, 30}};   /* C, T, images */
    for (int g = 0; g < 2; g++) {
        int C = cfg[g][0], T = cfg[g][1], I = cfg[g][2] + 2, n = 0, ne = 0;
        int sh = rm_pool_shift(T);
        static int32_t ps[4 * 64 * 40 * 4];
        static int8_t pe[4 * 40];
        for (int im = 0; im < I; im++) {
            int32_t sum[4] = {0};
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++) {
                    int x = im == I - 2 ? -128 : im == I - 1 ? 127 : (int)(rm_rng_next(&s) % 256) - 128;
                    int32_t *v = ps + (size_t)n * 4;
                    v[0] = c; v[1] = t == 0; v[2] = t == T - 1; v[3] = x;
                    n++;
                    sum[c] += x;
                    if (t == T - 1) pe[ne++] = (int8_t)rm_sat8(rm_rshift_round(sum[c], sh));
                }
        }
        char mod[32];
        snprintf(mod, sizeof mod, "pe_pool_t%d", T);
        rm_hls_pe_port pp[4] = {{"ch", 2}, {"first", 1}, {"last", 1}, {"x", 8}};
        CHECK_OK(rm_hls_pe_pool_verilog(&ctx, dir, mod, C, T), &ctx);
        CHECK_OK(rm_hls_pe_testbench(&ctx, dir, mod, pp, 4, n, ps, ne, pe, NULL), &ctx);
        long c = 0, m = 0;
        CHECK_OK(rm_hls_iverilog_check(&ctx, dir, mod, ne, NULL, &c, &m, NULL), &ctx);
        CHECK(c == ne && m == 0, "%s: %ld checked, %ld mismatches", mod, c, m);
        CHECK(T != 5 || pe[ne - 1] == 127, "the T=5 all-127 image saturates (%d)", pe[ne - 1]);
        printf("pe_pool C=%d T=%d (shift %d, %d-bit accumulators): %d tokens in, %ld sums equal to the engine's\n", C, T, sh,
               rm_hls_pe_pool_acc_bits(T), n, c);
        chk += c; bad += m;
    }
    /* the matmul PE (calib.h) at SIMD 2: 300 dot products of 1..6 input vectors (x, w over all int8, the
     * -128 x -128 corner first), rq(sum, k, b) with k and b held per run (the PE reads them at the output) */
    static const int kb[2][2] = {{8, -2}, {3, 100}};
    for (int r = 0; r < 2; r++) {
        enum { DOTS = 300 };
        static int32_t ms[DOTS * 6 * 5];
        static int8_t me[DOTS];
        int n = 0;
        for (int d = 0; d < DOTS; d++) {
            int len = 1 + (int)(rm_rng_next(&s) % 6);
            int32_t sum = 0;
            for (int v = 0; v < len; v++) {
                int x0 = (int)(rm_rng_next(&s) % 256) - 128, x1 = (int)(rm_rng_next(&s) % 256) - 128;
                int w0 = (int)(rm_rng_next(&s) % 256) - 128, w1 = (int)(rm_rng_next(&s) % 256) - 128;
                if (d == 0) x0 = x1 = w0 = w1 = -128;
                int32_t *m = ms + (size_t)n * 5;
                m[0] = v == len - 1;
                m[1] = (int32_t)(((uint32_t)(uint8_t)x1 << 8) | (uint8_t)x0);   /* lane i in bits 8i..8i+7 */
                m[2] = (int32_t)(((uint32_t)(uint8_t)w1 << 8) | (uint8_t)w0);
                m[3] = kb[r][0];
                m[4] = kb[r][1];
                n++;
                sum += x0 * w0 + x1 * w1;
            }
            me[d] = (int8_t)rm_requant(sum, kb[r][0], kb[r][1]);
        }
        char mod[32];
        snprintf(mod, sizeof mod, "pe_mm%d", r);
        rm_hls_pe_port pm[5] = {{"in_last", 1}, {"x", 16}, {"w", 16}, {"k", 5}, {"b", 8}};
        CHECK_OK(rm_hls_pe_verilog(&ctx, dir, mod, 2), &ctx);
        CHECK_OK(rm_hls_pe_testbench(&ctx, dir, mod, pm, 5, n, ms, DOTS, me, "y"), &ctx);
        long c = 0, m = 0;
        CHECK_OK(rm_hls_iverilog_check(&ctx, dir, mod, DOTS, NULL, &c, &m, NULL), &ctx);
        CHECK(c == DOTS && m == 0, "%s: %ld checked, %ld mismatches", mod, c, m);
        chk += c; bad += m;
    }
    /* a wrong expectation is caught */
    ex[7] = (int8_t)(ex[7] ^ 0x55);
    CHECK_OK(rm_hls_pe_testbench(&ctx, dir, "pe_resadd", (rm_hls_pe_port[]){{"r", 8}, {"x", 8}, {"w", 8}, {"k", 5}, {"b", 8}},
                                 5, N, st, N, ex, NULL), &ctx);
    long c = 0, m = 0;
    CHECK(rm_hls_iverilog_check(&ctx, dir, "pe_resadd", N, NULL, &c, &m, NULL) == RM_ERR && m == 1, "a wrong output caught: %ld", m);
    printf("PEs (affine, resadd, pool, matmul SIMD 2) through Icarus: %ld outputs equal to the engine's arithmetic, %ld mismatches\n", chk, bad);
}

int main(void) {
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    char iv[1024], vl[1024], ys[1024];
    int have_iv = rm_hls_which("iverilog", iv, sizeof iv) && rm_hls_which("vvp", iv, sizeof iv);
    int have_vl = rm_hls_which("verilator", vl, sizeof vl), have_ys = rm_hls_which("yosys", ys, sizeof ys);
    rm_ctx ctx = {0};
    static rm_rtl_unit u[RM_RTL_MAXU], back[RM_RTL_MAXU];
    char dir[300];
    for (int edge = 0; edge < RM_LUT_EDGE_N; edge++) {
        rm_qnet *q = net(&ctx, edge, 40 + edge);
        CHECK(q != NULL, "network: %s", ctx.msg);
        if (!q) continue;
        snprintf(dir, sizeof dir, "%s/%s", tmp, rm_lut_edge_name(edge));
        int nu = 0, nb = 0;
        CHECK_OK(rm_hls_rtl_write(&ctx, dir, q, u, &nu), &ctx);
        CHECK(nu == 4 && u[1].C == 8 && u[1].slot == 1 && !strcmp(u[3].name, "psa_b1_1"), "4 units (%d)", nu);
        CHECK_OK(rm_hls_rtl_load(&ctx, dir, back, &nb), &ctx);
        CHECK(nb == nu && back[2].C == 16 && back[3].edge == edge, "manifest round trip");
        if (!have_iv) printf("SKIP: Icarus Verilog not installed\n");
        for (int i = 0; have_iv && i < nu; i++) {
            CHECK_OK(rm_hls_rtl_sim(&ctx, dir, &u[i], RM_RTL_SIM_ICARUS, NULL, NULL), &ctx);
            CHECK(u[i].checked == 256L * u[i].C && u[i].mismatches == 0, "%s icarus: %ld checked", u[i].name, u[i].checked);
        }
        if (have_iv) printf("lut_edge=%s: %d units, all 256 inputs of every channel equal to the engine's tables (Icarus)\n",
                            rm_lut_edge_name(edge), nu);
        rm_qnet_free(q);
    }
    /* Verilator on one unit (the extend one: the saturating top), and a wrong expectation is caught */
    snprintf(dir, sizeof dir, "%s/extend", tmp);
    rm_rtl_unit x = {0};
    snprintf(x.name, sizeof x.name, "psa_b0_0");
    x.C = 16;
    int slow = tools_pass();
    if (!have_vl) printf("SKIP: Verilator not installed (apt-get install verilator)\n");
    else if (slow) {
        double t0 = rm_now();
        CHECK_OK(rm_hls_rtl_sim(&ctx, dir, &x, RM_RTL_SIM_VERILATOR, NULL, NULL), &ctx);
        CHECK(x.checked == 256L * 16 && x.mismatches == 0, "verilator: %ld checked", x.checked);
        printf("Verilator: psa_b0_0 %ld outputs equal to the engine's tables (%.1f s)\n", x.checked, rm_now() - t0);
    }
    if (have_iv) {
        char hex[400];
        snprintf(hex, sizeof hex, "%s/psa_b0_0_expected.hex", dir);
        FILE *f = fopen(hex, "r+");
        CHECK(f != NULL, "open %s", hex);
        if (f) { fseek(f, 3 * 300, SEEK_SET); fputs("7f\n00\n", f); fclose(f); }   /* two lines wrong (unless equal) */
        rm_ctx c2 = {0};
        CHECK(rm_hls_rtl_sim(&c2, dir, &x, RM_RTL_SIM_ICARUS, NULL, NULL) == RM_ERR && x.mismatches >= 1 &&
              strstr(c2.msg, "mismatches"), "a wrong expected output is caught: %s", c2.msg);
    }
    if (!have_ys) printf("SKIP: Yosys not installed: no cell count\n");
    else {
        rm_hls_cells cells;
        CHECK_OK(rm_hls_yosys_synth(&ctx, dir, "psa_b0_1", "generic", NULL, &cells, NULL), &ctx);
        CHECK(cells.lut > 10 && cells.ff > 5 && cells.dsp == 0, "yosys generic: LUT %ld FF %ld", cells.lut, cells.ff);
        printf("Yosys (generic) psa_b0_1, 8 channels: LUT %ld, FF %ld\n", cells.lut, cells.ff);
    }
    /* FINN-R's model on a stage by hand: PE 2, SIMD 4, IN 96, DSP multiplies:
     * 300 + 1.1 * 2 * (0 + 16*7 + 16+7) = 300 + 1.1*2*135 = 597; fabric: + 1.1*2*(4*(2*3-1)*16) = +704 */
    rm_hls_stage st = { .kind = RM_HLS_ST_MATMUL, .vectors = 64, .in = 96, .out = 64, .pe = 2, .simd = 4 };
    CHECK(rm_hls_finnr_lut(&st, 1) == 597 && rm_hls_finnr_lut(&st, 0) == 1301 && rm_hls_finnr_dsp(&st) == 8,
          "FINN-R: %ld %ld %ld", rm_hls_finnr_lut(&st, 1), rm_hls_finnr_lut(&st, 0), rm_hls_finnr_dsp(&st));
    /* the calibration: the matmul PE through Yosys at SIMD 4 and 16 sets the per-MAC costs */
    if (have_ys && slow) {
        rm_hls_cost cost = rm_hls_cost_default();
        rm_hls_calib cal;
        double t0 = rm_now();
        CHECK_OK(rm_hls_calibrate(&ctx, tmp, "xc7", 64, &cost, &cal), &ctx);
        CHECK(cal.hi.dsp == 16 && cal.lo.dsp == 4 && cost.dsp_per_mac == 1.0 && cost.lut_requant > 20 && cost.lut_requant < 1000,
              "calibration: DSP %ld/%ld, per lane LUT %.0f", cal.lo.dsp, cal.hi.dsp, cost.lut_requant);
        printf("calibration (Yosys xc7, %.1f s): per MAC LUT %.1f FF %.1f DSP %.2f; per lane LUT %.0f FF %.0f\n", rm_now() - t0,
               cal.lut_per_mac, cal.ff_per_mac, cal.dsp_per_mac, cal.lut_lane, cal.ff_lane);
        /* every kind measured: the multiplying ones on a DSP, pool and LERP without; storage per channel > 0 */
        for (int k = 1; k < 5; k++) {
            const rm_hls_pe_meas *pm = &cal.kind[k];
            int mul = k == RM_HLS_ST_AFFINE || k == RM_HLS_ST_RESADD, two = k == RM_HLS_ST_POOL || k == RM_HLS_ST_LUT;
            CHECK(cost.kind[k].pe[0] && !strcmp(cost.kind[k].pe, pm->pe) && pm->n == 1 + two && pm->lut > 0 && pm->ff > 0 &&
                  pm->dsp == mul && (!two || (pm->lut_ch > 0 && cost.kind[k].has_ch)),
                  "%s: %d points, lane LUT %.0f FF %.0f DSP %.0f, per channel LUT %.2f", pm->pe, pm->n, pm->lut, pm->ff, pm->dsp, pm->lut_ch);
            printf("  %-6s %-9s lane LUT %.0f, FF %.0f, DSP %.0f; per channel LUT %.2f, FF %.2f\n", rm_hls_stage_kind_name(k), pm->pe,
                   pm->lut, pm->ff, pm->dsp, pm->lut_ch, pm->ff_ch);
        }
        static rm_hls_design d;
        rm_hls_dims dims = rm_hls_dims_paper(RM_HLS_ACT_LERP, 96);
        CHECK_OK(rm_hls_design_init(&ctx, &d, &dims, 5), &ctx);
        long before = d.lut;
        rm_hls_estimate(&d, &cost);
        static char note[8192], tab[16384];
        rm_hls_resource_note(&d, &cal, note, sizeof note);
        CHECK(d.lut != before && strstr(note, "calibrated against Yosys synth_xilinx -family xc7") && strstr(note, "FINN-R") &&
              strstr(note, "pe_pool") && strstr(note, "pe_lerp") && strstr(note, "16-bit product"),
              "estimate with the calibrated costs: %s", note);
        rm_hls_estimate_format(&d, tab, sizeof tab);
        CHECK(strstr(tab, "yosys pe_affine") && strstr(tab, "yosys pe_resadd") && strstr(tab, "yosys pe_pool") &&
              strstr(tab, "yosys pe_lerp") && strstr(tab, "yosys pe_simd4/16") && !strstr(tab, "analytic"), "%s", tab);
        int ia = rm_hls_find_stage(&d, "blocks_0_token_mixer_affine_1");
        CHECK(ia >= 0 && d.st[ia].dsp == (long)cal.kind[RM_HLS_ST_AFFINE].dsp, "affine stage DSP from its PE");
        fputs(tab, stdout);
        fputs(note, stdout);
    }
    if (have_iv) pe_sims(tmp);
    else printf("SKIP: Icarus Verilog not installed: the PEs' arithmetic is not simulated\n");
    if (have_iv) {   /* the PE computes rq(sum x*w, k, b): one dot product of 3 inputs through Icarus */
        CHECK_OK(rm_hls_pe_verilog(&ctx, tmp, "pe_t", 2), &ctx);
        char tb[400];
        snprintf(tb, sizeof tb, "%s/pe_t_tb.v", tmp);
        FILE *f = fopen(tb, "w");
        /* x.w = (10*3 + -7*5) + (100*100 + -128*2) + (1*1 + 0*0) = -5 + 9744 + 1 = 9740; rq(9740, 6, 3):
         * 9740 >> 5 = 304; (304 >> 1) + 0 = 152; + 3 = 155 -> clamp 127.  rq(9740, 8, -2): 9740 >> 7 = 76;
         * 38 + 0 - 2 = 36 */
        fprintf(f, "module pe_t_tb; reg clk = 0; always #5 clk = ~clk; reg v = 0, l = 0; reg [15:0] x, w; reg [4:0] k; reg [7:0] b;\n"
                   "wire ov; wire [7:0] y; pe_t dut(.clk(clk), .in_valid(v), .in_last(l), .x(x), .w(w), .k(k), .b(b), .out_valid(ov), .y(y));\n"
                   "always @(posedge clk) if (ov) $display(\"PE %%0d\", $signed(y));\n"
                   "initial begin k = 8; b = -2;\n"
                   " @(negedge clk) v = 1; l = 0; x = {-8'sd7, 8'sd10}; w = {8'sd5, 8'sd3};\n"
                   " @(negedge clk) x = {-8'sd128, 8'sd100}; w = {8'sd2, 8'sd100};\n"
                   " @(negedge clk) l = 1; x = {8'sd0, 8'sd1}; w = {8'sd0, 8'sd1};\n"
                   " @(negedge clk) v = 0; l = 0; repeat (8) @(negedge clk); $finish; end endmodule\n");
        fclose(f);
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "cd %s && iverilog -g2005 -o pe_t.vvp pe_t.v pe_t_tb.v && vvp -n pe_t.vvp > pe_t.out", tmp);
        CHECK(system(cmd) == 0, "icarus on the PE");
        snprintf(cmd, sizeof cmd, "%s/pe_t.out", tmp);
        f = fopen(cmd, "r");
        char line[128] = "";
        int got = -999;
        while (f && fgets(line, sizeof line, f)) if (sscanf(line, "PE %d", &got) == 1) break;
        if (f) fclose(f);
        CHECK(got == 36, "PE: rq(9740, 8, -2) = 36, got %d", got);
    }
    rm_qnet q0 = {0};
    q0.relu = 1;
    CHECK(rm_hls_rtl_write(&ctx, dir, &q0, u, &(int){0}) == RM_ERR && strstr(ctx.msg, "no learned activations"), "ReLU: %s", ctx.msg);
    CHECK(rm_hls_rtl_load(&ctx, tmp, u, &(int){0}) == RM_ERR && strstr(ctx.msg, "hls rtl"), "no manifest: %s", ctx.msg);
    if (!t_fail) { char cmd[400]; snprintf(cmd, sizeof cmd, "rm -rf %s", tmp); if (system(cmd)) {} }
    else fprintf(stderr, "kept %s\n", tmp);
    TEST_END();
}
