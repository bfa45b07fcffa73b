/* gemm.h - the one matrix-product module of resmlp. Every matrix product of training, evaluation,
 * the layer-list networks and the quantisation code calls rm_gemm; the backend is chosen here and
 * nowhere else: oneDNN matmul primitives (created once per shape and cached) in fp32 or, under
 * precision bf16, with bf16 inputs and fp32 accumulation on AMX or AVX-512 BF16; OpenBLAS sgemm as
 * the reference path. The path is picked at run time from the CPU's flags; RESMLP_ISA forces a lower
 * one (amx | avx512_bf16 | avx512 | avx2 | openblas) so every path can be tested on any machine.
 * Row-major: C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, op = transpose when trans* != 0.
 * Not re-entrant: call from one thread (each call is itself parallel over OpenMP threads). */
#ifndef RM_GEMM_H
#define RM_GEMM_H
#include <stddef.h>

typedef enum { RM_ISA_OPENBLAS = 0, RM_ISA_AVX2, RM_ISA_AVX512, RM_ISA_AVX512_BF16, RM_ISA_AMX } rm_isa;
typedef enum { RM_PREC_FP32 = 0, RM_PREC_BF16 } rm_precision;

// A is (M,K) (or (K,M) when transA), B is (K,N) (or (N,K) when transB), C is (M,N); leading dims in floats
void rm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* rm_gemm in bf16 whatever the precision setting, for callers that hold an operand in bf16 already (an
 * im2col written in bf16) or want the weight-gradient product (transA) in bf16 too: A (a_bf16) and B
 * (b_bf16) are uint16_t bf16 arrays when flagged, else fp32 converted here (round to nearest even); an fp32
 * A with transA is converted into its transpose so oneDNN runs a plain product. A path without bf16 units
 * (below avx512_bf16) widens bf16 operands back to fp32 and runs the fp32 product. */
void rm_gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const void *A, int a_bf16, int lda,
                  const void *B, int b_bf16, int ldb, float beta, float *C, int ldc);
/* n floats -> bf16 (round to nearest even), with AVX-512 BF16 where the CPU has it */
void rm_bf16_convert(const float *src, unsigned short *dst, size_t n);
/* 1 when bf16 products run on bf16 units (path avx512_bf16 or amx) */
int rm_gemm_has_bf16(void);

/* the path in use: the CPU's best, lowered by RESMLP_ISA (read once, at the first call of any rm_gemm*). */
rm_isa rm_gemm_isa(void);
/* what the CPU itself offers, ignoring RESMLP_ISA */
rm_isa rm_gemm_cpu_isa(void);
const char *rm_isa_name(rm_isa isa);
/* parse "amx", "avx512_bf16", ... ; returns -1 when unknown */
int rm_isa_parse(const char *s);

/* precision of every following product. Asking for bf16 where the path has no bf16 units (below
 * avx512_bf16) keeps fp32; the return value is the precision now in effect, and when it differs from
 * the request a one-line notice is written into notice (if given). */
rm_precision rm_gemm_set_precision(rm_precision p, char *notice, size_t n);
rm_precision rm_gemm_precision(void);
const char *rm_precision_name(rm_precision p);
int rm_precision_parse(const char *s); /* "fp32" | "bf16", -1 when unknown */

/* one line for `info`: backend, ISA path, precision, notice when RESMLP_ISA lowered the path */
void rm_gemm_describe(char *buf, size_t n);
/* drop cached primitives and scratch buffers (tests, leak checks); the next call rebuilds them */
void rm_gemm_release(void);
/* cache statistics since start: primitives created and calls served from the cache */
void rm_gemm_stats(long *created, long *hits);

/* round-to-nearest-even fp32 -> bf16 -> fp32, as the bf16 path rounds its inputs (for tests) */
float rm_bf16_round(float x);
#endif
