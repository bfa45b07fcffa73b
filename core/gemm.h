/* gemm.h - the one matrix-product module of resmlp. Every matrix product of training, evaluation,
 * the layer-list networks and the quantisation code calls rm_gemm; the backend (OpenBLAS today,
 * oneDNN with cached primitives and bf16 / AMX dispatch per issue 16) is chosen here and nowhere else.
 * Row-major: C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, op = transpose when trans* != 0. */
#ifndef RM_GEMM_H
#define RM_GEMM_H

enum { RM_PREC_FP32 = 0, RM_PREC_BF16 = 1 };

// A is (M,K) (or (K,M) when transA), B is (K,N) (or (N,K) when transB), C is (M,N); leading dims in floats
void rm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* precision of the GEMM inputs for the calling process (fp32 default, bit-for-bit deterministic) */
void rm_gemm_set_precision(int prec);
int rm_gemm_precision(void);
/* one-line description of the path that runs, e.g. "fp32 openblas" */
const char *rm_gemm_path(void);
#endif
