/* bf16.h - fp32 -> bf16 row conversion shared by the matmul module (gemm.c: operands of bf16 products) and
 * the layer-list nets (net.c: im2col columns written in bf16). Round to nearest even, as rm_bf16_round. */
#ifndef RM_BF16_H
#define RM_BF16_H
#include <stddef.h>
#include <stdint.h>
#ifdef __x86_64__
#include <immintrin.h>
// s is (n) fp32, d is (n) bf16: VCVTNEPS2BF16, 16 at a time, masked tail. Only for CPUs with AVX-512 BF16
// (callers check rm_gemm_cpu_isa() >= RM_ISA_AVX512_BF16); rm_bf16_convert is the general entry.
__attribute__((target("avx512f,avx512bf16,avx512vl")))
static inline void rm_bf16_row_hw(const float *s, uint16_t *d, size_t n) {
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        _mm256_storeu_si256((__m256i *)(d + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(s + j)));
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
        _mm256_mask_storeu_epi16(d + j, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s + j)));
    }
}
#endif
#endif
