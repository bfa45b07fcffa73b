/* gemm.h - the one matrix-product module of resmlp. Every matrix product of training, evaluation,
 * the layer-list networks and the quantisation code calls rm_gemm; the backend (OpenBLAS today,
 * oneDNN with cached primitives and bf16 / AMX dispatch per issue 16) is chosen here and nowhere else.
 * Row-major: C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, op = transpose when trans* != 0. */
#ifndef RM_GEMM_H
#define RM_GEMM_H

// A is (M,K) (or (K,M) when transA), B is (K,N) (or (N,K) when transB), C is (M,N); leading dims in floats
void rm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
#endif
