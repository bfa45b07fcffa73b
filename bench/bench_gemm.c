/* bench_gemm.c - GFLOP/s of the matrix products a ResMLP training step makes (the shapes of issue 16),
 * OpenBLAS sgemm against rm_gemm in fp32 (oneDNN) and in bf16 (where the CPU has bf16 units), for the
 * forward (x·W^T), weight-gradient (dy^T·x) and input-gradient (dy·W) orientations.
 * Usage: bench_gemm [seconds per case, default 0.5]. RESMLP_ISA lowers the rm_gemm path. */
#include "core/ctx.h"
#include "core/gemm.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { const char *name; int M, N, K; } shape;

static double rate(int which, int tA, int tB, int M, int N, int K, const float *A, const float *B, float *C,
                   double secs) {
    int lda = tA ? M : K, ldb = tB ? K : N;
    int reps = 0;
    double t0 = rm_now(), t;
    do {
        if (which == 0)
            cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                        A, lda, B, ldb, 0.0f, C, N);
        else
            rm_gemm(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        reps++;
        t = rm_now() - t0;
    } while (t < secs);
    return 2.0 * M * N * K * reps / t * 1e-9;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    int threads = rm_set_threads(0);
    shape sh[] = {{"(8192x96)·(96x384)", 8192, 384, 96},
                  {"(8192x384)·(384x96)", 8192, 96, 384},
                  {"(8192x96)·(96x96)", 8192, 96, 96},
                  {"(12288x64)·(64x64) token mix", 12288, 64, 64},
                  {"(8192x48)·(48x96) embedding", 8192, 96, 48}};
    int ns = sizeof sh / sizeof sh[0];
    size_t big = 12288 * 384;
    float *A = malloc(big * 4), *B = malloc(big * 4), *C = malloc(big * 4);
    uint64_t s = 1;
    for (size_t i = 0; i < big; i++) A[i] = rm_rng_uniform(&s) - 0.5f, B[i] = rm_rng_uniform(&s) - 0.5f;
    char d[256];
    rm_gemm_describe(d, sizeof d);
    printf("threads %d; %s\n", threads, d);
    char note[200];
    int has_bf16 = rm_gemm_set_precision(RM_PREC_BF16, note, sizeof note) == RM_PREC_BF16;
    rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
    if (!has_bf16) printf("%s\n", note);
    printf("%-30s %-6s %10s %10s %10s\n", "shape", "orient", "openblas", "rm fp32", "rm bf16");
    const char *on[] = {"fwd", "dW", "dX"};
    for (int i = 0; i < ns; i++)
        for (int o = 0; o < 3; o++) {
            /* fwd: y(M,N) = x(M,K) W(N,K)^T; dW: (N,K) = dy(M,N)^T x(M,K); dX: (M,K) = dy(M,N) W(N,K) */
            int M = sh[i].M, N = sh[i].N, K = sh[i].K, tA = 0, tB = 1;
            if (o == 1) { int m = N, n = K, k = M; M = m; N = n; K = k; tA = 1; tB = 0; }
            if (o == 2) { int n = K, k = N; N = n; K = k; tA = 0; tB = 0; }
            double r0 = rate(0, tA, tB, M, N, K, A, B, C, secs);
            rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
            double r1 = rate(1, tA, tB, M, N, K, A, B, C, secs);
            double r2 = 0;
            if (has_bf16) {
                rm_gemm_set_precision(RM_PREC_BF16, NULL, 0);
                r2 = rate(1, tA, tB, M, N, K, A, B, C, secs);
                rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
            }
            printf("%-30s %-6s %10.1f %10.1f %10.1f\n", o ? "" : sh[i].name, on[o], r0, r1, r2);
        }
    long created, hits;
    rm_gemm_stats(&created, &hits);
    printf("primitives created %ld, cache hits %ld\n", created, hits);
    rm_gemm_release();
    free(A); free(B); free(C);
    return 0;
}
