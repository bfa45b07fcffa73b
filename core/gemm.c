/* gemm.c - backend of rm_gemm (see gemm.h). Today: OpenBLAS sgemm in fp32. */
#include "gemm.h"
#include <cblas.h>

static int g_prec = RM_PREC_FP32;

// A is (M,K) or (K,M), B is (K,N) or (N,K), C is (M,N)
void rm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void rm_gemm_set_precision(int prec) { g_prec = prec; }
int rm_gemm_precision(void) { return g_prec; }
const char *rm_gemm_path(void) { return "fp32 openblas"; }
