/* lut.h - learned activation curves as integer lookup tables, and the integer rounding primitives
 * shared by the quantizer (quant.c), the integer engine (int_engine*.c) and the HLS emitter.
 *
 * An activation of one channel maps an int8 input code x (-128..127) to an int8 output code. Tables
 * are indexed by u = x + 128 (0..255).
 *  - 256-entry form: L256[u] = clamp(round(f((u-128)/s_in) * s_out)), f = the fp32 curve (with any
 *    folded BatchNorm and the residual), round = half up.
 *  - 64-entry hardware form: L64[i] = L256[4i], read back with the paper's interpolation
 *        m = min(u >> 2, 62); l = u & 3; t = ((L64[m+1] - L64[m]) * l) >> 1; y = L64[m] + (t >> 1) + (t & 1)
 *    (the clamp to 62 matters: without it u >= 252 would read L64[64], past the table).
 * Right shifts of negative values are arithmetic (gcc's documented behaviour for signed >>).
 * Nothing here allocates, prints or uses floating point except rm_lut_quantize. */
#ifndef RM_LUT_H
#define RM_LUT_H
#include <stdint.h>

#define RM_LUT_N 256
#define RM_LUT64_N 64

/* ---- integer primitives (the whole integer pipeline is built from these) ---------------------- */

/* saturate to int8 */
static inline int32_t rm_sat8(int32_t v) { return v < -128 ? -128 : v > 127 ? 127 : v; }

/* rounded right shift by k >= 1, the paper's requantisation: a = v >> (k-1); (a >> 1) + (a & 1).
 * Equals floor(v / 2^k + 1/2) (round half up). */
static inline int32_t rm_rshift_round(int32_t v, int k) {
    int32_t a = v >> (k - 1);
    return (a >> 1) + (a & 1);
}

/* requantise an int32 accumulator: rounded shift by k, add the int8 bias, saturate */
static inline int32_t rm_requant(int32_t acc, int k, int32_t bias) { return rm_sat8(rm_rshift_round(acc, k) + bias); }

/* the token-pool shift: round(log2 T), at least 1 (pool = rounded shift of the token sum) */
static inline int rm_pool_shift(int T) {
    int p = 0;
    while ((1LL << (p + 1)) <= T) p++;
    if ((long long)T * T >= (2LL << (2 * p))) p++;
    return p < 1 ? 1 : p;
}

/* the hardware 64-entry interpolation for input code x */
static inline int32_t rm_lut64_eval(const int8_t *l64, int32_t x) {
    int32_t u = x + 128, m = u >> 2, l = u & 3;
    if (m > RM_LUT64_N - 2) m = RM_LUT64_N - 2;
    int32_t y0 = l64[m], y1 = l64[m + 1], t = ((y1 - y0) * l) >> 1;
    return y0 + (t >> 1) + (t & 1);
}

/* ---- tables (one channel each) --------------------------------------------------------------- */

/* L256[u] = clamp(round_half_up(y[u] * s_out)) for the 256 fp32 curve values y (at codes u-128);
 * NaN maps to 0. This is the only function here that touches floating point. */
void rm_lut_quantize(const float *y, float s_out, int8_t *l256);
/* L64[i] = L256[4i] */
void rm_lut_subsample64(const int8_t *l256, int8_t *l64);
/* out[u] = rm_lut64_eval(l64, u - 128) for all 256 codes (the table the fast engine reads) */
void rm_lut64_expand(const int8_t *l64, int8_t *out256);
/* max over the 256 codes of |64-entry interpolation - L256| (in output codes) */
int rm_lut64_max_err(const int8_t *l256);
#endif
