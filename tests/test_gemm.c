/* test_gemm.c - rm_gemm on the path in use (the runner runs it once per RESMLP_ISA value): every
 * orientation, odd shapes, padded leading dims, alpha and beta, against a double-precision reference
 * (fp32 paths to 1e-5 relative); bf16 against the reference on bf16-rounded inputs and within bf16
 * tolerance of fp32; bit-identical repeats; the primitive cache; the ISA / precision controls. */
#include "tests/tutil.h"
#include "core/ctx.h"
#include "core/gemm.h"
#include <stdlib.h>
#include <string.h>

// reference in double: A (M,K) or (K,M), B (K,N) or (N,K); rounds inputs to bf16 when bf
static void ref(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, const float *C0, double *C, int ldc, int bf, double *mag) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, a = 0;
            for (int k = 0; k < K; k++) {
                float x = tA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float y = tB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (bf) x = rm_bf16_round(x), y = rm_bf16_round(y);
                s += (double)x * y;
                a += fabs((double)x * y);
            }
            C[(size_t)i * ldc + j] = alpha * s + beta * C0[(size_t)i * ldc + j];
            mag[(size_t)i * ldc + j] = fabs(alpha) * a + fabs(beta * C0[(size_t)i * ldc + j]);
        }
}

/* worst |C - ref| / (magnitude + tiny) over the matrix */
static double case_err(int tA, int tB, int M, int N, int K, float alpha, float beta, int pad, int bf, uint64_t *rng,
                       int *bitsame) {
    int lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? N : K) * ldb, nc = (size_t)M * ldc;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *C0 = malloc(nc * 4), *C2 = malloc(nc * 4);
    double *R = malloc(nc * 8), *mag = malloc(nc * 8);
    for (size_t i = 0; i < na; i++) A[i] = rm_rng_normal(rng);
    for (size_t i = 0; i < nb; i++) B[i] = rm_rng_normal(rng);
    for (size_t i = 0; i < nc; i++) C0[i] = rm_rng_normal(rng);
    memcpy(C, C0, nc * 4);
    memcpy(C2, C0, nc * 4);
    rm_gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    rm_gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    ref(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C0, R, ldc, bf, mag);
    double worst = 0;
    int pad_ok = 1;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double e = fabs(C[(size_t)i * ldc + j] - R[(size_t)i * ldc + j]) / (mag[(size_t)i * ldc + j] + 1e-20);
            if (e > worst) worst = e;
        }
        for (int j = N; j < ldc; j++) pad_ok &= C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j];
    }
    *bitsame = !memcmp(C, C2, nc * 4) && pad_ok;
    free(A); free(B); free(C); free(C0); free(C2); free(R); free(mag);
    return worst;
}

static int run_cases(int bf, double tol, uint64_t *rng) {
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 96, 48}, {130, 33, 257}, {256, 64, 64}, {33, 384, 96}};
    int bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int o = 0; o < 4; o++) {
            int tA = o & 1, tB = o >> 1, M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            float alpha[] = {1.0f, 0.5f}, beta[] = {0.0f, 1.0f, -0.25f};
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 3; b++) {
                    int pad = (s + a + b) % 3 == 0 ? 3 : 0, same;
                    /* bf16 keeps products with A transposed in fp32 (see gemm.c), so those meet fp32 limits */
                    int rounded = bf && !tA;
                    double e = case_err(tA, tB, M, N, K, alpha[a], beta[b], pad, rounded, rng, &same);
                    if (e > tol || !same) {
                        bad++;
                        fprintf(stderr, "  %c%c M=%d N=%d K=%d alpha=%g beta=%g pad=%d: rel err %.3g, repeat %s\n",
                                tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K, alpha[a], beta[b], pad, e,
                                same ? "identical" : "DIFFERS");
                    }
                }
        }
    return bad;
}

int main(void) {
    rm_set_threads(0);
    char d[256], note[200];
    rm_gemm_describe(d, sizeof d);
    printf("%s\n", d);
    const char *env = getenv("RESMLP_ISA");
    if (env && *env && rm_isa_parse(env) >= 0) {
        int want = rm_isa_parse(env);
        rm_isa expect = want <= (int)rm_gemm_cpu_isa() ? (rm_isa)want : rm_gemm_cpu_isa();
        CHECK(rm_gemm_isa() == expect, "RESMLP_ISA=%s gives path %s, expected %s", env, rm_isa_name(rm_gemm_isa()),
              rm_isa_name(expect));
        if (want > (int)rm_gemm_cpu_isa()) printf("skip: this CPU has no %s, testing %s instead\n", env,
                                                  rm_isa_name(rm_gemm_cpu_isa()));
    }
    CHECK(strstr(d, rm_isa_name(rm_gemm_isa())) != NULL, "describe names the path: %s", d);
    CHECK(rm_isa_parse("nonsense") < 0 && rm_isa_parse("avx512_bf16") == RM_ISA_AVX512_BF16, "isa names");
    CHECK(rm_precision_parse("bf16") == RM_PREC_BF16 && rm_precision_parse("fp16") < 0, "precision names");

    /* bf16 rounding: round to nearest, ties to even */
    CHECK(rm_bf16_round(1.0f) == 1.0f, "1 stays");
    CHECK(rm_bf16_round(1.0f + 1.0f / 256) == 1.0f, "tie rounds to even (down)");
    CHECK(rm_bf16_round(1.0f + 3.0f / 256) == 1.0f + 4.0f / 256, "tie rounds to even (up)");
    CHECK(rm_bf16_round(1.0f + 1.5f / 256) == 1.0f + 2.0f / 256, "above half rounds up");
    CHECK(isnan(rm_bf16_round(NAN)) && isinf(rm_bf16_round(INFINITY)), "nan and inf survive");

    uint64_t rng = 7;
    int bad = run_cases(0, 1e-5, &rng);
    CHECK(bad == 0, "%d fp32 cases beyond 1e-5 relative on path %s", bad, rm_isa_name(rm_gemm_isa()));

    long c0, h0, c1, h1;
    rm_gemm_stats(&c0, &h0);
    float A[6 * 4], B[4 * 5], C[6 * 5];
    for (int i = 0; i < 24; i++) A[i] = (float)i;
    for (int i = 0; i < 20; i++) B[i] = (float)(i % 3);
    for (int r = 0; r < 5; r++) rm_gemm(0, 0, 6, 5, 4, 1.0f, A, 4, B, 5, 0.0f, C, 5);
    rm_gemm_stats(&c1, &h1);
    if (rm_gemm_isa() != RM_ISA_OPENBLAS)
        CHECK(c1 - c0 <= 1 && h1 - h0 >= 4, "one primitive per shape: created %ld, hits %ld", c1 - c0, h1 - h0);
    CHECK(C[0] == 4.0f && C[5] == 16.0f && C[29] == 20 * 1 + 21 * 0 + 22 * 2 + 23 * 1, "small integer product exact: %g %g %g",
          C[0], C[5], C[29]);

    rm_precision p = rm_gemm_set_precision(RM_PREC_BF16, note, sizeof note);
    if (rm_gemm_isa() >= RM_ISA_AVX512_BF16) {
        CHECK(p == RM_PREC_BF16 && note[0] == 0, "bf16 available on %s", rm_isa_name(rm_gemm_isa()));
        bad = run_cases(1, 1e-5, &rng);
        CHECK(bad == 0, "%d bf16 cases differ from the reference on bf16-rounded inputs", bad);
        /* and against the true fp32 product: within bf16 input rounding (2^-8 relative per factor) */
        rng = 9;
        int same;
        double e = case_err(0, 1, 128, 96, 384, 1.0f, 0.0f, 0, 0, &rng, &same);
        CHECK(e < 8e-3 && e > 1e-7, "bf16 product vs fp32: %.3g (bf16 tolerance, and really bf16)", e);
        rm_gemm_describe(d, sizeof d);
        CHECK(strstr(d, "bf16") != NULL, "describe shows bf16: %s", d);
    } else {
        CHECK(p == RM_PREC_FP32 && strstr(note, "using fp32"), "bf16 falls back with a notice: '%s'", note);
        printf("skip bf16 cases: %s\n", note);
    }
    rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
    rm_gemm_release();
    /* after release everything rebuilds */
    rng = 7;
    bad = run_cases(0, 1e-5, &rng);
    CHECK(bad == 0, "after release: %d cases bad", bad);
    rm_gemm_release();
    TEST_END();
}
