/* lut.h - learned activation curves as integer lookup tables, and the integer rounding primitives
 * shared by the quantizer (quant.c), the integer engine (int_engine*.c) and the HLS emitter.
 *
 * An activation of one channel maps an int8 input code x (-128..127) to an int8 output code. Tables
 * are indexed by u = x + 128 (0..255).
 *  - 256-entry form: L256[u] = clamp(round(f((u-128)/s_in) * s_out)), f = the fp32 curve (with any
 *    folded BatchNorm and the residual), round = half up.
 *  - 64-entry hardware form: L64[i] = L256[4i] (the samples at u = 0, 4, .., 252), read back with the
 *    paper's interpolation
 *        m = u >> 2; l = u & 3; t = ((L[m+1] - L[m]) * l) >> 1; y = L[m] + (t >> 1) + (t & 1)
 *    The top segment u = 252..255 (m = 63) lies past the last sample; the edge mode (lut_edge) says
 *    what is read there:
 *      extend    (default) the last segment extended: t = ((L[63] - L[62]) * l) >> 1 from L[63], result
 *                saturated to int8. The same rule as the float LERP ("outside the grid the end segment
 *                extrapolates"); u = 252 reads L[63] exactly, as every multiple of 4 reads its own sample.
 *                Hardware: the second read goes to L[62] instead of L[64] and the difference is negated;
 *                no extra entry.
 *      paper_hls one edge entry E per channel as L[64] = L256[254]: the paper's HLS reads entry 64 of a
 *                65-entry table, which its numpy (lerp_compress, append=True) fills with lut[-2:-1],
 *                the code at u = 254, not a sample 4 on. u = 253..255 then follow a flattened slope.
 *      clamp     m = min(m, 62), so u = 252..255 interpolate the segment 248..252 again with l = 0..3
 *                and read the values of u - 4 (resmlp before lut_edge; the paper's numpy with
 *                append=False). Off by one segment: u = 252 gives L[62] instead of L[63].
 *    The code error of each mode against L256 on real activations is what `verify` reports. On two
 *    trained students (bench/RESULTS.md) paper_hls is closest in the top segment, clamp worst, and all
 *    three agree over all reads and in accuracy; extend stays the default (no 65th entry).
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

/* edge modes of the 64-entry form (see the top of this file) */
enum { RM_LUT_EDGE_EXTEND = 0, RM_LUT_EDGE_PAPER_HLS, RM_LUT_EDGE_CLAMP, RM_LUT_EDGE_N };
const char *rm_lut_edge_name(int edge);          /* "extend", "paper_hls", "clamp" */
int rm_lut_edge_from_name(const char *name);     /* -1 if unknown */

/* the hardware 64-entry interpolation for input code x: l64 the 64 samples, e the edge entry (read
 * in paper_hls mode only) */
static inline int32_t rm_lut64_eval(const int8_t *l64, int32_t e, int edge, int32_t x) {
    int32_t u = x + 128, m = u >> 2, l = u & 3, y0, d;
    if (m < RM_LUT64_N - 1) { y0 = l64[m]; d = l64[m + 1] - y0; }
    else if (edge == RM_LUT_EDGE_CLAMP) { y0 = l64[m - 1]; d = l64[m] - y0; }
    else if (edge == RM_LUT_EDGE_PAPER_HLS) { y0 = l64[m]; d = e - y0; }
    else { y0 = l64[m]; d = y0 - l64[m - 1]; }
    int32_t t = (d * l) >> 1;
    return rm_sat8(y0 + (t >> 1) + (t & 1));
}

/* ---- tables (one channel each) --------------------------------------------------------------- */

/* L256[u] = clamp(round_half_up(y[u] * s_out)) for the 256 fp32 curve values y (at codes u-128);
 * NaN maps to 0. This is the only function here that touches floating point. */
void rm_lut_quantize(const float *y, float s_out, int8_t *l256);
/* L64[i] = L256[4i] */
void rm_lut_subsample64(const int8_t *l256, int8_t *l64);
/* the edge entry of a channel in mode edge: L256[254] for paper_hls, 0 otherwise (not read) */
int8_t rm_lut_edge_entry(const int8_t *l256, const int8_t *l64, int edge);
/* out[u] = rm_lut64_eval(l64, e, edge, u - 128) for all 256 codes (the table the fast engine reads) */
void rm_lut64_expand(const int8_t *l64, int8_t e, int edge, int8_t *out256);
/* max over the 256 codes of |64-entry interpolation - L256| (in output codes) in mode edge */
int rm_lut64_max_err(const int8_t *l256, int edge);
#endif
