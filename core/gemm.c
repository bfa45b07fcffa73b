/* gemm.c - backend of rm_gemm (see gemm.h). Today: OpenBLAS sgemm in fp32. */
#include "gemm.h"
#include <cblas.h>

// A is (M,K) or (K,M), B is (K,N) or (N,K), C is (M,N)
void rm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
