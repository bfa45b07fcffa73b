/* int_engine_x86.c - the vector integer engines: AVX-512 VNNI (+VBMI) and AVX2. Both run one image per
 * thread at a time in the channel-major packed layouts of int_engine_impl.h, fusing every
 * requantisation, affine, residual add and activation table into the epilogue of the matrix product
 * that produces it (one pass over each weight matrix per image, activations stay in L1).
 * Per block: token mixing (tile: 4 channels x 64 tokens, weights as the vector operand), then fc1 and
 * fc2 (tile: 4 output channels x 64 tokens, weights broadcast 4 at a time).
 * The AMX-INT8 engine (end of the file) is the VNNI engine with its products on AMX tiles.
 * Functions carry target attributes and are chosen at run time (rm_ie_cpu_*), so this file builds
 * without -march flags. Integer instructions only: no float or double. */
#include "int_engine_impl.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RM_X86 1
#endif

#ifdef RM_X86
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))
#define AVX2 __attribute__((target("avx2")))

int rm_ie_cpu_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
}
int rm_ie_cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static inline int32_t rd32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* per-thread scratch of one image */
typedef struct {
    uint32_t *xin;      /* quad input (P/4)*64 */
    uint8_t *A;         /* row: affine_1 output of the next token mixer */
    int8_t *RT, *RM;    /* rows: res_affine outputs (token mixer, MLP) */
    uint32_t *X1, *HP;  /* quads: fc1 input (D/4)*64, fc2 input (H/4)*64 */
    int8_t *dm;         /* rows [2L][D][64]: dumps */
    int32_t *sums;      /* (D) pooled sums */
    int32_t *tile;      /* tile accumulators [4][64] */
    uint8_t *qidx;      /* VNNI quad-building indices [4][2][64] */
    uint8_t *iidx;      /* VNNI input permutes [2][64] */
    uint8_t *itmp;      /* VNNI input after the pixel table (3072 bytes) */
    void *mem;
} vscr;

static void quad_index(uint8_t idx[4][2][64]);
static void input_index(uint8_t idx[2][64]);

static int vscr_new(vscr *s, const rm_qnet *q, int dump) {
    size_t D = q->D, H = q->H, P = q->P;
    size_t sums = (4 * D + 63) & ~(size_t)63;   /* whole 64-byte lines: tile, indices and itmp after it take aligned stores */
    size_t n = P * 64 + D * 64 * 3 + D * 64 + H * 64 + (dump ? 2 * (size_t)q->L * D * 64 : 0) + sums + 4 * 256 + 512 + 128 + 3072 + 64 * 16;
    uint8_t *m = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!m) return -1;
    s->mem = m;
    s->xin = (uint32_t *)m; m += P * 64;
    s->A = m; m += D * 64;
    s->RT = (int8_t *)m; m += D * 64;
    s->RM = (int8_t *)m; m += D * 64;
    s->X1 = (uint32_t *)m; m += D * 64;
    s->HP = (uint32_t *)m; m += H * 64;
    s->dm = dump ? (int8_t *)m : NULL; m += dump ? 2 * (size_t)q->L * D * 64 : 0;
    s->sums = (int32_t *)m; m += sums;
    s->tile = (int32_t *)m; m += 4 * 256;
    s->qidx = m; m += 512;
    quad_index((uint8_t (*)[2][64])s->qidx);
    s->iidx = m; m += 128;
    input_index((uint8_t (*)[64])s->iidx);
    s->itmp = m;
    return 0;
}

/* quad input tensor: byte j = pixel table of the image at in_off[j] (u8 code+128 for VNNI, s8 for AVX2) */
static void build_input(const struct rm_ie_packed *pk, const rm_qnet *q, const uint8_t *img, uint8_t *xin, int offset128) {
    const size_t n = (size_t)q->P * 64;
    const uint16_t *off = pk->in_off;
    const uint8_t *ch = pk->in_ch;
    if (q->img_c == 3 && offset128) {
        for (size_t j = 0; j < n; j++) xin[j] = pk->pixu[ch[j]][img[off[j]]];
    } else {
        for (size_t j = 0; j < n; j++) {
            uint8_t v = pk->pixu[ch[j]][img[off[j]]];
            xin[j] = offset128 ? v : (uint8_t)(v ^ 0x80);
        }
    }
}

/* ================================================================ AVX-512 VNNI
 * Accumulators are int32 with lane = token (vector v, lane i: token 16v+i). Epilogues narrow at once:
 * packs_epi32 gives int16 pairs, packs_epi16 bytes, whose 64 positions hold the tokens in the order
 *     rho(16k + 4m + r) = 16m + 4k + r          (an involution),
 * so byte rows (A, RT, RM, dumps) are stored in rho order, unpacking a byte row (unpacklo/hi_epi8)
 * gives back the int16 pair order, the token-mixing weights are packed to read A in rho order, and the
 * quad tensors are rebuilt in natural order by byte permutes. Per-channel arithmetic runs on int16
 * lanes (products of int8 codes fit), residual adds are saturating int8 adds (vpaddsb == sat8(a+b)). */

#define rho rm_ie_rho

/* quad-building byte indices: for quad vector v, idx[v][0] picks channels 0,1 and idx[v][1] 2,3 */
static void quad_index(uint8_t idx[4][2][64]) {
    for (int v = 0; v < 4; v++)
        for (int i = 0; i < 16; i++) {
            int src = rho(16 * v + i);
            for (int r = 0; r < 4; r++) {
                idx[v][0][4 * i + r] = (uint8_t)(r == 1 ? 64 + src : src);
                idx[v][1][4 * i + r] = (uint8_t)(r == 3 ? 64 + src : src);
            }
        }
}

VNNI static inline __m512i v_clamp16(__m512i a) {
    return _mm512_min_epi16(_mm512_max_epi16(a, _mm512_set1_epi16(-128)), _mm512_set1_epi16(127));
}
/* 4 accumulator vectors of output o (tile row at t) -> int16 pair, one shift for all lanes. Folded
 * constants (r->fold: the tile started from corrb) need a single shift by k. */
VNNI static inline void v_rq16(const int32_t *t, const rm_ie_rq *r, int o, __m512i *h0, __m512i *h1) {
    if (r->fold) {
        __m128i s = _mm_cvtsi32_si128(r->sh[o] + 1);
#define R(v) _mm512_sra_epi32(_mm512_load_si512(t + 16 * (v)), s)
        *h0 = _mm512_packs_epi32(R(0), R(1));
        *h1 = _mm512_packs_epi32(R(2), R(3));
#undef R
        return;
    }
    __m128i s = _mm_cvtsi32_si128(r->sh[o]);
    __m512i b = _mm512_set1_epi32(r->b2[o]);
#define R(v) _mm512_srai_epi32(_mm512_add_epi32(_mm512_sra_epi32(_mm512_load_si512(t + 16 * (v)), s), b), 1)
    *h0 = _mm512_packs_epi32(R(0), R(1));
    *h1 = _mm512_packs_epi32(R(2), R(3));
#undef R
}
/* same with a shift and bias per lane (token) */
VNNI static inline void v_rqv16(const int32_t *t, const rm_ie_rq *r, __m512i *h0, __m512i *h1) {
    if (r->fold) {
        const __m512i one = _mm512_set1_epi32(1);
#define R(v) _mm512_srav_epi32(_mm512_load_si512(t + 16 * (v)), _mm512_add_epi32(_mm512_load_si512(r->sh + 16 * (v)), one))
        *h0 = _mm512_packs_epi32(R(0), R(1));
        *h1 = _mm512_packs_epi32(R(2), R(3));
#undef R
        return;
    }
#define R(v) _mm512_srai_epi32(_mm512_add_epi32(_mm512_srav_epi32(_mm512_load_si512(t + 16 * (v)), \
                   _mm512_load_si512(r->sh + 16 * (v))), _mm512_load_si512(r->b2 + 16 * (v))), 1)
    *h0 = _mm512_packs_epi32(R(0), R(1));
    *h1 = _mm512_packs_epi32(R(2), R(3));
#undef R
}
#define RQSTART(r) ((r)->fold ? (r)->corrb : (r)->corr)
/* per-channel affine on int16 lanes holding int8 codes; result unclamped (pack or clamp after) */
VNNI static inline __m512i v_aff16(__m512i x, const rm_ie_aff *a, int c) {
    if (a->mh[c]) return _mm512_add_epi16(_mm512_mulhrs_epi16(x, _mm512_set1_epi16((short)a->mh[c])), _mm512_set1_epi16((short)a->b[c]));
    __m512i p = _mm512_mullo_epi16(x, _mm512_set1_epi16((short)a->w[c]));
    return _mm512_srai_epi16(_mm512_add_epi16(_mm512_sra_epi16(p, _mm_cvtsi32_si128(a->sh[c])),
                                              _mm512_set1_epi16((short)a->b2[c])), 1);
}
VNNI static inline __m512i v_pack8(__m512i h0, __m512i h1) { return _mm512_packs_epi16(h0, h1); }
VNNI static inline void v_unpack8(__m512i x, __m512i *h0, __m512i *h1) {
    *h0 = _mm512_srai_epi16(_mm512_unpacklo_epi8(x, x), 8);
    *h1 = _mm512_srai_epi16(_mm512_unpackhi_epi8(x, x), 8);
}
/* table of one channel (256 bytes, entry at (uint8)code) applied to the 64 bytes of x */
VNNI static inline __m512i v_lut(const uint8_t *t, __m512i x) {
    __m512i t0 = _mm512_load_si512(t), t1 = _mm512_load_si512(t + 64);
    __m512i t2 = _mm512_load_si512(t + 128), t3 = _mm512_load_si512(t + 192);
    __m512i r1 = _mm512_permutex2var_epi8(t0, x, t1), r2 = _mm512_permutex2var_epi8(t2, x, t3);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), r1, r2);
}
/* 4 byte rows (rho order) of channels d0..d0+3 -> 4 quad vectors (natural order) at out */
VNNI static inline void v_quads(const uint8_t (*idx)[2][64], __m512i y0, __m512i y1, __m512i y2, __m512i y3, uint32_t *out) {
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        __m512i p01 = _mm512_permutex2var_epi8(y0, _mm512_load_si512(idx[v][0]), y1);
        __m512i p23 = _mm512_permutex2var_epi8(y2, _mm512_load_si512(idx[v][1]), y3);
        _mm512_store_si512(out + 16 * v, _mm512_mask_blend_epi16(0xAAAAAAAAu, p01, p23));
    }
}
/* stream of channel d as int16 pair (int8 codes) -> next token mixer's A (u8, +128) and RT rows */
VNNI static inline void v_prologue(const struct rm_ie_pblk *b, vscr *S, int d, __m512i x0, __m512i x1) {
    __m512i a = v_pack8(v_aff16(x0, &b->a1, d), v_aff16(x1, &b->a1, d));
    _mm512_store_si512(S->A + (size_t)d * 64, _mm512_xor_si512(a, _mm512_set1_epi8((char)0x80)));
    _mm512_store_si512(S->RT + (size_t)d * 64, v_pack8(v_aff16(x0, &b->res, d), v_aff16(x1, &b->res, d)));
}

/* acc += u8(a) . s8(b) per 32-bit lane, in place: written as asm because gcc 12 copies the accumulator
 * around the intrinsic (vpdpbusd overwrites it) and spills the tile. */
#define DP(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))
#define DP4(r, x0, x1, x2, x3, w) do { DP(r##0, x0, w); DP(r##1, x1, w); DP(r##2, x2, w); DP(r##3, x3, w); } while (0)
#define DPT4(r, w0, w1, w2, w3, x) do { DP(r##0, x, w0); DP(r##1, x, w1); DP(r##2, x, w2); DP(r##3, x, w3); } while (0)
#define ST4(r, o) (_mm512_store_si512((o), r##0), _mm512_store_si512((o) + 16, r##1), \
                   _mm512_store_si512((o) + 32, r##2), _mm512_store_si512((o) + 48, r##3))

/* channel linear tile: out[c][t] (4 x 64 int32) = corr[o0+c] + sum_i (x[i][t]+128) w[o0+c][i], x the quad
 * tensor xq ((IC/4) x 64 words, u8), w rows of IC int8 broadcast 4 at a time */
VNNI static inline __attribute__((always_inline)) void v_tile_lin(int32_t *out, const uint32_t *xq, const int8_t *w,
                                                                 int IC, int o0, const int32_t *corr, const rm_ie_glist *gl) {
    const int8_t *w0p = w + (size_t)o0 * IC, *w1p = w0p + IC, *w2p = w1p + IC, *w3p = w2p + IC;
    __m512i a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;
    a0 = a1 = a2 = a3 = _mm512_set1_epi32(corr[o0]);
    b0 = b1 = b2 = b3 = _mm512_set1_epi32(corr[o0 + 1]);
    c0 = c1 = c2 = c3 = _mm512_set1_epi32(corr[o0 + 2]);
    d0 = d1 = d2 = d3 = _mm512_set1_epi32(corr[o0 + 3]);
    for (int n = 0; n < gl->n; n++) {   /* the quads with a kept input (pruned blocks skipped) */
        const int g = gl->g[n];
        const uint32_t *xg = xq + (size_t)g * 64;
        __m512i x0 = _mm512_load_si512(xg), x1 = _mm512_load_si512(xg + 16);
        __m512i x2 = _mm512_load_si512(xg + 32), x3 = _mm512_load_si512(xg + 48);
        __m512i w;
        w = _mm512_set1_epi32(rd32(w0p + 4 * g)); DP4(a, x0, x1, x2, x3, w);
        w = _mm512_set1_epi32(rd32(w1p + 4 * g)); DP4(b, x0, x1, x2, x3, w);
        w = _mm512_set1_epi32(rd32(w2p + 4 * g)); DP4(c, x0, x1, x2, x3, w);
        w = _mm512_set1_epi32(rd32(w3p + 4 * g)); DP4(d, x0, x1, x2, x3, w);
    }
    ST4(a, out); ST4(b, out + 64); ST4(c, out + 128); ST4(d, out + 192);
}

/* token-mixing tile: out[c][t] = corr[t] + sum_g,r (A[d0+c][4g+r]+128) tokw[g][t][r], A rows u8 */
VNNI static inline __attribute__((always_inline)) void v_tile_tok(int32_t *out, const uint8_t *A, const uint8_t *tokw,
                                                                 const int32_t *corr, const rm_ie_glist *gl) {
    const uint8_t *r0 = A, *r1 = A + 64, *r2 = A + 128, *r3 = A + 192;
    __m512i a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;
    a0 = b0 = c0 = d0 = _mm512_load_si512(corr);
    a1 = b1 = c1 = d1 = _mm512_load_si512(corr + 16);
    a2 = b2 = c2 = d2 = _mm512_load_si512(corr + 32);
    a3 = b3 = c3 = d3 = _mm512_load_si512(corr + 48);
    for (int n = 0; n < gl->n; n++) {   /* token quads (rho order) with a kept token */
        const int g = gl->g[n];
        const uint8_t *wg = tokw + (size_t)g * 256;
        __m512i w0 = _mm512_load_si512(wg), w1 = _mm512_load_si512(wg + 64);
        __m512i w2 = _mm512_load_si512(wg + 128), w3 = _mm512_load_si512(wg + 192);
        __m512i x;
        x = _mm512_set1_epi32(rd32(r0 + 4 * g)); DPT4(a, w0, w1, w2, w3, x);
        x = _mm512_set1_epi32(rd32(r1 + 4 * g)); DPT4(b, w0, w1, w2, w3, x);
        x = _mm512_set1_epi32(rd32(r2 + 4 * g)); DPT4(c, w0, w1, w2, w3, x);
        x = _mm512_set1_epi32(rd32(r3 + 4 * g)); DPT4(d, w0, w1, w2, w3, x);
    }
    ST4(a, out); ST4(b, out + 64); ST4(c, out + 128); ST4(d, out + 192);
}

/* byte permutes for the 3x32x32, patch 4 input: one (patch row py, kernel row ky) takes the three channel
 * rows y = 4py+ky (32 bytes each, as [c0 | c1] and [c2]) to quad rows g = 3ky, 3ky+1 (idx[0]) and
 * 3ky+2 (idx[1]), 8 tokens x 4 bytes each: byte px*4+r of quad row 3ky+i holds feature 4i+r = kx*3+ch */
static void input_index(uint8_t idx[2][64]) {
    for (int i = 0; i < 3; i++)
        for (int px = 0; px < 8; px++)
            for (int r = 0; r < 4; r++) {
                int f = 4 * i + r, kx = f / 3, ch = f % 3;
                int src = ch < 2 ? ch * 32 + px * 4 + kx : 64 + px * 4 + kx;
                if (i < 2) idx[0][i * 32 + px * 4 + r] = (uint8_t)src;
                else idx[1][px * 4 + r] = idx[1][32 + px * 4 + r] = (uint8_t)src;
            }
}
VNNI static void v_build_input(const struct rm_ie_packed *pk, const uint8_t *img, uint8_t *xin, uint8_t *tmp,
                               const uint8_t (*idx)[64]) {
    for (int ch = 0; ch < 3; ch++) {
        const uint8_t *t = pk->pixu[ch];
        __m512i t0 = _mm512_loadu_si512(t), t1 = _mm512_loadu_si512(t + 64);
        __m512i t2 = _mm512_loadu_si512(t + 128), t3 = _mm512_loadu_si512(t + 192);
        for (int v = 0; v < 16; v++) {
            __m512i x = _mm512_loadu_si512(img + ch * 1024 + 64 * v);
            __m512i r1 = _mm512_permutex2var_epi8(t0, x, t1), r2 = _mm512_permutex2var_epi8(t2, x, t3);
            _mm512_store_si512(tmp + ch * 1024 + 64 * v, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), r1, r2));
        }
    }
    const __m512i i0 = _mm512_load_si512(idx[0]), i1 = _mm512_load_si512(idx[1]);
    for (int py = 0; py < 8; py++)
        for (int ky = 0; ky < 4; ky++) {
            const uint8_t *row = tmp + (4 * py + ky) * 32;
            __m512i a = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256((const __m256i *)row)),
                                           _mm256_load_si256((const __m256i *)(row + 1024)), 1);
            __m512i b = _mm512_castsi256_si512(_mm256_load_si256((const __m256i *)(row + 2048)));
            __m512i o01 = _mm512_permutex2var_epi8(a, i0, b), o2 = _mm512_permutex2var_epi8(a, i1, b);
            uint8_t *dst = xin + (size_t)(3 * ky) * 256 + py * 32;
            _mm256_store_si256((__m256i *)dst, _mm512_castsi512_si256(o01));
            _mm256_store_si256((__m256i *)(dst + 256), _mm512_extracti64x4_epi64(o01, 1));
            _mm256_store_si256((__m256i *)(dst + 512), _mm512_castsi512_si256(o2));
        }
}

/* The per-row epilogues of the three products of a block, shared by vnni_image and amx_image (which
 * differ only in how the int32 tile rows t are computed). tok: token-mix row d -> + affine_2 + residual = m
 * (dumped), res2(m) -> RM, returns act1(m) (or m as unsigned) for the fc1 quads */
VNNI static inline __attribute__((always_inline)) __m512i v_tok_row(const rm_qnet *q, const struct rm_ie_pblk *b, vscr *S,
                                                                     int l, int d, const int32_t *t, __m512i x80) {
    __m512i h0, h1, m0, m1;
    v_rqv16(t, &b->tok, &h0, &h1);
    h0 = v_clamp16(h0); h1 = v_clamp16(h1);
    __m512i u = v_pack8(v_aff16(h0, &b->a2, d), v_aff16(h1, &b->a2, d));
    __m512i m = _mm512_adds_epi8(u, _mm512_load_si512(S->RT + (size_t)d * 64));
    if (S->dm) _mm512_store_si512(S->dm + ((size_t)(2 * l) * q->D + d) * 64, m);
    v_unpack8(m, &m0, &m1);
    _mm512_store_si512(S->RM + (size_t)d * 64, v_pack8(v_aff16(m0, &b->res2, d), v_aff16(m1, &b->res2, d)));
    return q->has_act1 ? v_lut(b->lut1v + (size_t)d * 256, m) : _mm512_xor_si512(m, x80);
}
/* fc1 row j -> ReLU (as unsigned) or the act2 table, for the fc2 quads */
VNNI static inline __attribute__((always_inline)) __m512i v_fc1_row(const rm_qnet *q, const struct rm_ie_pblk *b, int j,
                                                                     const int32_t *t, __m512i x80) {
    __m512i h0, h1;
    v_rq16(t, &b->fc1, j, &h0, &h1);
    __m512i h = v_pack8(h0, h1);
    return q->relu ? _mm512_xor_si512(_mm512_max_epi8(h, _mm512_setzero_si512()), x80) : v_lut(b->lut2v + (size_t)j * 256, h);
}
/* fc2 row d + the residual RM -> the block's output x (dumped): the next block's affine_1 / res_affine, or
 * after the last block the pooled sum over tokens */
VNNI static inline __attribute__((always_inline)) void v_fc2_row(const rm_qnet *q, const struct rm_ie_pblk *b, vscr *S,
                                                                  int l, int d, const int32_t *t, __m512i x80) {
    const struct rm_ie_packed *pk = q->packed;
    __m512i h0, h1;
    v_rq16(t, &b->fc2, d, &h0, &h1);
    __m512i x = _mm512_adds_epi8(v_pack8(h0, h1), _mm512_load_si512(S->RM + (size_t)d * 64));
    if (S->dm) _mm512_store_si512(S->dm + ((size_t)(2 * l + 1) * q->D + d) * 64, x);
    if (l + 1 < q->L) {
        v_unpack8(x, &h0, &h1);
        v_prologue(&pk->blk[l + 1], S, d, h0, h1);
    } else {
        __m512i sad = _mm512_sad_epu8(_mm512_xor_si512(x, x80), _mm512_setzero_si512());
        S->sums[d] = (int32_t)_mm512_reduce_add_epi64(sad) - 64 * 128;
    }
}
/* the image's input quads (the 32x32x3, patch 4 case vectorised) */
VNNI static inline __attribute__((always_inline)) void v_input(const rm_qnet *q, const uint8_t *img, vscr *S) {
    if (q->img_c == 3 && q->patch == 4 && q->img_h == 32 && q->img_w == 32)
        v_build_input(q->packed, img, (uint8_t *)S->xin, S->itmp, (const uint8_t (*)[64])S->iidx);
    else build_input(q->packed, q, img, (uint8_t *)S->xin, 1);
}

VNNI static void vnni_image(const rm_qnet *q, const uint8_t *img, int8_t *logits, vscr *S) {
    const struct rm_ie_packed *pk = q->packed;
    const int D = q->D, H = q->H, P = q->P, L = q->L;
    const uint8_t (*qidx)[2][64] = (const uint8_t (*)[2][64])S->qidx;
    const __m512i x80 = _mm512_set1_epi8((char)0x80);
    v_input(q, img, S);
    /* embed, then block 0's affine_1 / res_affine */
    for (int d0 = 0; d0 < D; d0 += 4) {
        v_tile_lin(S->tile, S->xin, q->embed.w, P, d0, RQSTART(&pk->embed), &pk->gl_embed);
        for (int c = 0; c < 4; c++) {
            __m512i h0, h1;
            v_rq16(S->tile + 64 * c, &pk->embed, d0 + c, &h0, &h1);
            v_prologue(&pk->blk[0], S, d0 + c, v_clamp16(h0), v_clamp16(h1));
        }
    }
    for (int l = 0; l < L; l++) {
        const rm_qblock *qb = &q->blk[l];
        const struct rm_ie_pblk *b = &pk->blk[l];
        /* token mixing: v[d][t] = sum_t' W[t][t'] a[d][t'], + affine_2, + res -> m; res2(m) -> RM; act1(m) -> X1 */
        for (int d0 = 0; d0 < D; d0 += 4) {
            v_tile_tok(S->tile, S->A + (size_t)d0 * 64, b->tokwv, RQSTART(&b->tok), &b->gl_tokv);
            __m512i y[4];
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) y[c] = v_tok_row(q, b, S, l, d0 + c, S->tile + 64 * c, x80);
            v_quads(qidx, y[0], y[1], y[2], y[3], S->X1 + (size_t)(d0 / 4) * 64);
        }
        /* fc1 + ReLU or act2 table -> HP */
        for (int j0 = 0; j0 < H; j0 += 4) {
            v_tile_lin(S->tile, S->X1, qb->fc1.w, D, j0, RQSTART(&b->fc1), &b->gl_fc1);
            __m512i y[4];
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) y[c] = v_fc1_row(q, b, j0 + c, S->tile + 64 * c, x80);
            v_quads(qidx, y[0], y[1], y[2], y[3], S->HP + (size_t)(j0 / 4) * 64);
        }
        /* fc2 + res2 -> stream; next block's affine_1 / res_affine, or the pooled sums */
        for (int d0 = 0; d0 < D; d0 += 4) {
            v_tile_lin(S->tile, S->HP, qb->fc2.w, H, d0, RQSTART(&b->fc2), &b->gl_fc2);
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) v_fc2_row(q, b, S, l, d0 + c, S->tile + 64 * c, x80);
        }
    }
    rm_ie_head(q, S->sums, logits);
}
#undef DP
#undef DP4
#undef DPT4
#undef ST4

/* dump rows in rho order -> (2L, T, D) */
static void vnni_dump(const rm_qnet *q, const int8_t *cm, int8_t *dump) {
    const int D = q->D;
    for (int s = 0; s < 2 * q->L; s++)
        for (int d = 0; d < D; d++)
            for (int t = 0; t < 64; t++) dump[((size_t)s * 64 + t) * D + d] = cm[((size_t)s * D + d) * 64 + rho(t)];
}

/* ================================================================ AVX2 */

AVX2 static inline __m256i a_clamp(__m256i a) {
    return _mm256_min_epi32(_mm256_max_epi32(a, _mm256_set1_epi32(-128)), _mm256_set1_epi32(127));
}
AVX2 static inline __m256i a_rq(__m256i acc, __m128i sh, __m256i b2) {
    return a_clamp(_mm256_srai_epi32(_mm256_add_epi32(_mm256_sra_epi32(acc, sh), b2), 1));
}
AVX2 static inline __m256i a_rqv(__m256i acc, __m256i sh, __m256i b2) {
    return a_clamp(_mm256_srai_epi32(_mm256_add_epi32(_mm256_srav_epi32(acc, sh), b2), 1));
}
AVX2 static inline __m256i a_aff(__m256i x, const rm_ie_aff *a, int c) {
    __m256i p = _mm256_mullo_epi32(x, _mm256_set1_epi32(a->w[c]));
    return a_rq(p, _mm_cvtsi32_si128(a->sh[c]), _mm256_set1_epi32(a->b2[c]));
}
/* table (int8, index code+128, padded) of one channel; low byte of each lane */
AVX2 static inline __m256i a_lut(const int8_t *t, __m256i x) {
    return _mm256_i32gather_epi32((const int *)t, _mm256_add_epi32(x, _mm256_set1_epi32(128)), 1);
}
AVX2 static inline __m256i a_quad(__m256i y0, __m256i y1, __m256i y2, __m256i y3) {
    const __m256i ff = _mm256_set1_epi32(0xff);
    __m256i p = _mm256_and_si256(y0, ff);
    p = _mm256_or_si256(p, _mm256_slli_epi32(_mm256_and_si256(y1, ff), 8));
    p = _mm256_or_si256(p, _mm256_slli_epi32(_mm256_and_si256(y2, ff), 16));
    return _mm256_or_si256(p, _mm256_slli_epi32(y3, 24));
}
/* low bytes of 8 int32 lanes -> 8 bytes at p */
AVX2 static inline void a_store8(void *p, __m256i x) {
    const __m256i sel = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                         0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i s = _mm256_shuffle_epi8(x, sel);
    uint32_t lo = (uint32_t)_mm256_extract_epi32(s, 0), hi = (uint32_t)_mm256_extract_epi32(s, 4);
    uint64_t v = lo | (uint64_t)hi << 32;
    memcpy(p, &v, 8);
}
AVX2 static inline __m256i a_load8(const void *p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)); }

/* s8 x s8 products of 4-byte groups: act (vector, signed) with w (broadcast) summed into 32-bit lanes */
AVX2 static inline __m256i a_dot(__m256i acc, __m256i absx, __m256i x, __m256i w) {
    __m256i p = _mm256_maddubs_epi16(absx, _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

AVX2 static inline void a_prologue(const struct rm_ie_packed *pk, int l, vscr *S, int d, int tok, __m256i x) {
    a_store8(S->A + (size_t)d * 64 + tok, a_aff(x, &pk->blk[l].a1, d));
    a_store8(S->RT + (size_t)d * 64 + tok, a_aff(x, &pk->blk[l].res, d));
}

/* weight -128 corrections for a 4-output x 16-token tile of a channel linear: quad input xq (s8),
 * outputs o0..o0+3, tokens t0..t0+15; tile[c*16 + k] += 256*max(-a, 0) */
static void fix_linear(const rm_ie_fix *f, int o0, int t0, const uint32_t *xq, int32_t *tile) {
    for (int e = 0; e < f->n; e++) {
        int o = f->o[e];
        if (o < o0 || o >= o0 + 4) continue;
        int i = f->i[e];
        const uint8_t *src = (const uint8_t *)(xq + (size_t)(i / 4) * 64) + i % 4;
        for (int k = 0; k < 16; k++) {
            int a = (int8_t)src[(size_t)(t0 + k) * 4];
            if (a < 0) tile[(o - o0) * 16 + k] += -256 * a;
        }
    }
}
/* token mixer: weight (t, t') = -128; channels d0..d0+3, tokens t0..t0+15; A rows (s8) */
static void fix_token(const rm_ie_fix *f, int d0, int t0, const uint8_t *A, int32_t *tile) {
    for (int e = 0; e < f->n; e++) {
        int t = f->o[e];
        if (t < t0 || t >= t0 + 16) continue;
        int u = f->i[e];
        for (int c = 0; c < 4; c++) {
            int a = (int8_t)A[(size_t)(d0 + c) * 64 + u];
            if (a < 0) tile[c * 16 + (t - t0)] += -256 * a;
        }
    }
}

/* accumulate a channel linear tile: 4 outputs o0.. (weights w rows of IC), 16 tokens t0.. of quad input xq */
AVX2 static inline void a_lin_tile(__m256i acc[4][2], const int8_t *w, int IC, int o0, const uint32_t *xq, int t0,
                                   const rm_ie_glist *gl) {
    for (int c = 0; c < 4; c++) acc[c][0] = acc[c][1] = _mm256_setzero_si256();
    for (int n = 0; n < gl->n; n++) {   /* the quads with a kept input (pruned blocks skipped) */
        const int g = gl->g[n];
        const uint32_t *xg = xq + (size_t)g * 64 + t0;
        __m256i x0 = _mm256_load_si256((const __m256i *)xg), x1 = _mm256_load_si256((const __m256i *)(xg + 8));
        __m256i ax0 = _mm256_abs_epi8(x0), ax1 = _mm256_abs_epi8(x1);
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __m256i wb = _mm256_set1_epi32(rd32(w + (size_t)(o0 + c) * IC + 4 * g));
            acc[c][0] = a_dot(acc[c][0], ax0, x0, wb);
            acc[c][1] = a_dot(acc[c][1], ax1, x1, wb);
        }
    }
}
AVX2 static inline void a_fix(__m256i acc[4][2], const rm_ie_fix *f, int o0, int t0, const uint32_t *xq,
                              const uint8_t *A, int token, int32_t *tile) {
    if (!f->n) return;
    for (int c = 0; c < 4; c++) {
        _mm256_storeu_si256((__m256i *)(tile + c * 16), acc[c][0]);
        _mm256_storeu_si256((__m256i *)(tile + c * 16 + 8), acc[c][1]);
    }
    if (token) fix_token(f, o0, t0, A, tile);
    else fix_linear(f, o0, t0, xq, tile);
    for (int c = 0; c < 4; c++) {
        acc[c][0] = _mm256_loadu_si256((const __m256i *)(tile + c * 16));
        acc[c][1] = _mm256_loadu_si256((const __m256i *)(tile + c * 16 + 8));
    }
}

AVX2 static void avx2_image(const rm_qnet *q, const uint8_t *img, int8_t *logits, vscr *S) {
    const struct rm_ie_packed *pk = q->packed;
    const int D = q->D, H = q->H, P = q->P, L = q->L;
    build_input(pk, q, img, (uint8_t *)S->xin, 0);
    for (int d0 = 0; d0 < D; d0 += 4)
        for (int t0 = 0; t0 < 64; t0 += 16) {
            __m256i acc[4][2];
            a_lin_tile(acc, q->embed.w, P, d0, S->xin, t0, &pk->gl_embed);
            a_fix(acc, &pk->fix_embed, d0, t0, S->xin, NULL, 0, S->tile);
            for (int c = 0; c < 4; c++) {
                int d = d0 + c;
                __m128i sh = _mm_cvtsi32_si128(pk->embed.sh[d]);
                __m256i b2 = _mm256_set1_epi32(pk->embed.b2[d]);
                for (int v = 0; v < 2; v++) a_prologue(pk, 0, S, d, t0 + 8 * v, a_rq(acc[c][v], sh, b2));
            }
        }
    for (int l = 0; l < L; l++) {
        const rm_qblock *qb = &q->blk[l];
        const struct rm_ie_pblk *b = &pk->blk[l];
        for (int d0 = 0; d0 < D; d0 += 4)
            for (int t0 = 0; t0 < 64; t0 += 16) {
                __m256i acc[4][2];
                for (int c = 0; c < 4; c++) acc[c][0] = acc[c][1] = _mm256_setzero_si256();
                for (int n = 0; n < b->gl_tok.n; n++) {   /* token quads with a kept token */
                    const int g = b->gl_tok.g[n];
                    const uint8_t *wg = b->tokw + ((size_t)g * 64 + t0) * 4;
                    __m256i w0 = _mm256_load_si256((const __m256i *)wg), w1 = _mm256_load_si256((const __m256i *)(wg + 32));
#pragma GCC unroll 4
                    for (int c = 0; c < 4; c++) {
                        __m256i a = _mm256_set1_epi32(rd32(S->A + (size_t)(d0 + c) * 64 + 4 * g)), aa = _mm256_abs_epi8(a);
                        acc[c][0] = _mm256_add_epi32(acc[c][0], _mm256_madd_epi16(_mm256_maddubs_epi16(aa, _mm256_sign_epi8(w0, a)), _mm256_set1_epi16(1)));
                        acc[c][1] = _mm256_add_epi32(acc[c][1], _mm256_madd_epi16(_mm256_maddubs_epi16(aa, _mm256_sign_epi8(w1, a)), _mm256_set1_epi16(1)));
                    }
                }
                a_fix(acc, &b->fix_tok, d0, t0, NULL, S->A, 1, S->tile);
                for (int v = 0; v < 2; v++) {
                    int tok = t0 + 8 * v;
                    __m256i shv = _mm256_loadu_si256((const __m256i *)(b->tok.sh + tok));
                    __m256i b2v = _mm256_loadu_si256((const __m256i *)(b->tok.b2 + tok));
                    __m256i y[4];
                    for (int c = 0; c < 4; c++) {
                        int d = d0 + c;
                        __m256i u = a_aff(a_rqv(acc[c][v], shv, b2v), &b->a2, d);
                        __m256i m = a_clamp(_mm256_add_epi32(u, a_load8(S->RT + (size_t)d * 64 + tok)));
                        if (S->dm) a_store8(S->dm + ((size_t)(2 * l) * D + d) * 64 + tok, m);
                        a_store8(S->RM + (size_t)d * 64 + tok, a_aff(m, &b->res2, d));
                        y[c] = q->has_act1 ? a_lut(b->lut1g + (size_t)d * 256, m) : m;
                    }
                    _mm256_store_si256((__m256i *)(S->X1 + (size_t)(d0 / 4) * 64 + tok), a_quad(y[0], y[1], y[2], y[3]));
                }
            }
        for (int j0 = 0; j0 < H; j0 += 4)
            for (int t0 = 0; t0 < 64; t0 += 16) {
                __m256i acc[4][2];
                a_lin_tile(acc, qb->fc1.w, D, j0, S->X1, t0, &b->gl_fc1);
                a_fix(acc, &b->fix_fc1, j0, t0, S->X1, NULL, 0, S->tile);
                for (int v = 0; v < 2; v++) {
                    __m256i y[4];
                    for (int c = 0; c < 4; c++) {
                        int j = j0 + c;
                        __m256i h = a_rq(acc[c][v], _mm_cvtsi32_si128(b->fc1.sh[j]), _mm256_set1_epi32(b->fc1.b2[j]));
                        y[c] = q->relu ? _mm256_max_epi32(h, _mm256_setzero_si256()) : a_lut(b->lut2g + (size_t)j * 256, h);
                    }
                    _mm256_store_si256((__m256i *)(S->HP + (size_t)(j0 / 4) * 64 + t0 + 8 * v), a_quad(y[0], y[1], y[2], y[3]));
                }
            }
        for (int d0 = 0; d0 < D; d0 += 4) {
            int32_t sums[4] = {0, 0, 0, 0};
            for (int t0 = 0; t0 < 64; t0 += 16) {
                __m256i acc[4][2];
                a_lin_tile(acc, qb->fc2.w, H, d0, S->HP, t0, &b->gl_fc2);
                a_fix(acc, &b->fix_fc2, d0, t0, S->HP, NULL, 0, S->tile);
                for (int c = 0; c < 4; c++) {
                    int d = d0 + c;
                    __m128i sh = _mm_cvtsi32_si128(b->fc2.sh[d]);
                    __m256i b2 = _mm256_set1_epi32(b->fc2.b2[d]);
                    for (int v = 0; v < 2; v++) {
                        int tok = t0 + 8 * v;
                        __m256i x = a_clamp(_mm256_add_epi32(a_rq(acc[c][v], sh, b2), a_load8(S->RM + (size_t)d * 64 + tok)));
                        if (S->dm) a_store8(S->dm + ((size_t)(2 * l + 1) * D + d) * 64 + tok, x);
                        if (l + 1 < L) a_prologue(pk, l + 1, S, d, tok, x);
                        else {
                            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
                            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
                            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
                            sums[c] += _mm_cvtsi128_si32(s);
                        }
                    }
                }
            }
            if (l + 1 == L) for (int c = 0; c < 4; c++) S->sums[d0 + c] = sums[c];
        }
    }
    rm_ie_head(q, S->sums, logits);
}

/* ================================================================ drivers */

typedef void (*image_fn)(const rm_qnet *, const uint8_t *, int8_t *, vscr *);
typedef void (*dump_fn)(const rm_qnet *, const int8_t *, int8_t *);

static void run_images(image_fn fn, dump_fn dfn, const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits,
                       int8_t *dump) {
    const size_t chw = (size_t)q->img_c * q->img_h * q->img_w, dstride = (size_t)2 * q->L * q->T * q->D;
#pragma omp parallel
    {
        vscr S;
        int ok = vscr_new(&S, q, dump != NULL) == 0;
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < n; i++) {
            if (!ok) { memset(logits + (size_t)i * q->K, 0, (size_t)q->K); continue; }
            fn(q, pixels + (size_t)i * chw, logits + (size_t)i * q->K, &S);
            if (dump) dfn(q, S.dm, dump + (size_t)i * dstride);
        }
        if (ok) free(S.mem);
    }
}

void rm_ie_run_vnni(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) {
    run_images(vnni_image, vnni_dump, q, pixels, n, logits, dump);
}
void rm_ie_run_avx2(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) {
    run_images(avx2_image, rm_ie_dump_transpose, q, pixels, n, logits, dump);
}


/* ================================================================ AMX-INT8
 * The VNNI engine with its matrix products on AMX tiles (Sapphire Rapids and later). Every tile is
 * 16 rows x 64 bytes (one tile configuration for all layers):
 *   channel linear: C[o][t] (16 outputs x 16 tokens, int32) += W[o][k] (s8) . X[k][t] (u8): TDPBSUD with
 *                   the weights as the row operand and the VNNI quad tensor as the column operand, so C
 *                   comes out channel-major like the VNNI tile; weights are repacked per run into
 *                   (OC rounded up to 16) x (IC rounded up to 64) with zeros, and the quad tensors are
 *                   padded with zero quads, so every product runs in whole 64-byte steps;
 *   token mixing:   C[d][t] += A[d][t'] (u8, rho order) . tokwv[t'][t] (s8): TDPBUSD on the VNNI layouts
 *                   as they are (D must be a multiple of 16).
 * Accumulators start from the same corr / corrb constants and integer sums wrap identically, so the
 * int32 tiles equal the VNNI engine's and the epilogues are the VNNI engine's own functions: bit-exact by
 * construction. Selected only when CPUID reports AMX-TILE and AMX-INT8, XCR0 has the tile state
 * enabled and Linux grants this process the XTILEDATA permission (arch_prctl ARCH_REQ_XCOMP_PERM). */
#include <cpuid.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#define AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,amx-tile,amx-int8")))
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_state __attribute__((unused)) = -1;            /* -1: not probed; 0: unavailable (amx_note says why); 1: usable */
static char amx_note[160];

#ifdef RM_AMX_EMULATE
/* Test build only (tests/test_amx_emu.c includes this file with RM_AMX_EMULATE): the tile instructions
 * become a plain C model of their architectural definition (Intel SDM: TILELOADD, TILESTORED, TDPBSUD,
 * TDPBUSD with wrapping int32 sums), so the tile layouts, padding and epilogues of the AMX engine are
 * checked on any CPU with the VNNI engine. The real engine never contains this code. */
typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } emu_cfg;
static __thread struct { emu_cfg cfg; uint8_t t[8][16][64]; int configured; } emu;
static void emu_loadconfig(const void *p) { memcpy(&emu.cfg, p, sizeof emu.cfg); memset(emu.t, 0, sizeof emu.t); emu.configured = 1; }
static void emu_load(int i, const void *base, long stride) {
    for (int r = 0; r < emu.cfg.rows[i]; r++) memcpy(emu.t[i][r], (const uint8_t *)base + r * stride, emu.cfg.colsb[i]);
}
static void emu_store(int i, void *base, long stride) {
    for (int r = 0; r < emu.cfg.rows[i]; r++) memcpy((uint8_t *)base + r * stride, emu.t[i][r], emu.cfg.colsb[i]);
}
/* C[m][n] += sum_k sum_j A[m][4k+j] * B[k][4n+j]; a_signed / b_signed pick s8 or u8 */
static void emu_dp(int c, int a, int b, int a_signed, int b_signed) {
    int M = emu.cfg.rows[c], N = emu.cfg.colsb[c] / 4, K = emu.cfg.colsb[a] / 4;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            uint32_t acc;
            memcpy(&acc, &emu.t[c][m][4 * n], 4);
            for (int k = 0; k < K; k++)
                for (int j = 0; j < 4; j++) {
                    int x = a_signed ? (int8_t)emu.t[a][m][4 * k + j] : emu.t[a][m][4 * k + j];
                    int y = b_signed ? (int8_t)emu.t[b][k][4 * n + j] : emu.t[b][k][4 * n + j];
                    acc += (uint32_t)(x * y);
                }
            memcpy(&emu.t[c][m][4 * n], &acc, 4);
        }
}
#undef _tile_loadconfig
#undef _tile_release
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbsud
#undef _tile_dpbusd
#define _tile_loadconfig(p) emu_loadconfig(p)
#define _tile_release() (emu.configured = 0)
#define _tile_loadd(i, base, stride) emu_load(i, base, stride)
#define _tile_stored(i, base, stride) emu_store(i, base, stride)
#define _tile_dpbsud(c, a, b) emu_dp(c, a, b, 1, 0)
#define _tile_dpbusd(c, a, b) emu_dp(c, a, b, 0, 1)
int rm_ie_cpu_amx(void) {
    snprintf(amx_note, sizeof amx_note, "%s", rm_ie_cpu_vnni() ? "" : "emulated AMX needs the VNNI epilogues");
    return rm_ie_cpu_vnni();
}
#else
int rm_ie_cpu_amx(void) {
    if (amx_state >= 0) return amx_state;
    unsigned a = 0, b = 0, c = 0, d = 0;
    int st = 0;
    if (!rm_ie_cpu_vnni()) {
        snprintf(amx_note, sizeof amx_note, "needs AVX-512 VNNI/VBMI as well (its epilogues), which this CPU lacks");
    } else if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1) || !((d >> 25) & 1)) {
        snprintf(amx_note, sizeof amx_note, "CPUID reports no AMX-TILE/AMX-INT8 on this CPU");
    } else {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        unsigned long perm = 0;
        if (((lo >> 17) & 3) != 3) {
            snprintf(amx_note, sizeof amx_note, "the OS has not enabled the AMX tile state (XCR0 bits 17-18)");
        } else if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0 ||
                   syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) != 0 || !((perm >> XFEATURE_XTILEDATA) & 1)) {
            snprintf(amx_note, sizeof amx_note, "Linux did not grant the AMX tile data permission (arch_prctl ARCH_REQ_XCOMP_PERM)");
        } else {
            st = 1;
            amx_note[0] = 0;
        }
    }
    amx_state = st;
    return st;
}
#endif
const char *rm_ie_amx_note(void) { rm_ie_cpu_amx(); return amx_note; }

/* tile configuration: palette 1, tiles 0-5 of 16 rows x 64 bytes (0-3 accumulators, 4 and 5 operands) */
typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } amx_cfg;

typedef struct {            /* one channel linear, repacked for the tiles */
    int OC, IC, OCp, ICp;   /* ICp multiple of 64, OCp of 16 */
    int8_t *w;              /* (OCp, ICp), zero padded */
    int32_t *cinit;         /* [OCp/16][16][16]: row r of group g = the start value of output 16g+r */
    int nk;                 /* 64-input steps with a kept input (SIMD-block pruning skips the others) */
    int16_t ks[16];         /* their first inputs */
} amx_lin;
typedef struct {
    amx_lin embed, fc1[RM_MAXL], fc2[RM_MAXL];
    int32_t *tokinit[RM_MAXL];   /* [4][16][16]: row of token block v = start values of tokens 16v..16v+15 */
    void *mem[3 * RM_MAXL + 2];
    int nmem;
} amx_pack;

static size_t up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static void *amx_alloc(amx_pack *p, size_t n) {
    void *m = aligned_alloc(64, up(n, 64));
    if (m) { memset(m, 0, up(n, 64)); p->mem[p->nmem++] = m; }
    return m;
}
static void amx_pack_free(amx_pack *p) { for (int i = 0; i < p->nmem; i++) free(p->mem[i]); p->nmem = 0; }

static int amx_lin_pack(amx_pack *p, amx_lin *a, const rm_qlin *l, const int32_t *start) {
    a->OC = l->OC; a->IC = l->IC; a->OCp = (int)up((size_t)l->OC, 16); a->ICp = (int)up((size_t)l->IC, 64);
    uint8_t *m = amx_alloc(p, (size_t)a->OCp * a->ICp + (size_t)a->OCp * 16 * 4);
    if (!m) return -1;
    a->w = (int8_t *)m;
    a->cinit = (int32_t *)(m + (size_t)a->OCp * a->ICp);
    for (int o = 0; o < a->OC; o++) memcpy(a->w + (size_t)o * a->ICp, l->w + (size_t)o * l->IC, (size_t)l->IC);
    a->nk = 0;
    for (int k = 0; k < a->ICp; k += 64) {
        int kept = 0;
        for (int i = k; i < k + 64 && i < l->IC; i++) kept |= !l->pruned || !l->pruned[i / l->simd];
        if (kept) a->ks[a->nk++] = (int16_t)k;
    }
    for (int o = 0; o < a->OC; o++)
        for (int c = 0; c < 16; c++) a->cinit[(size_t)o * 16 + c] = start[o];
    return 0;
}

static int amx_pack_new(amx_pack *p, const rm_qnet *q) {
    memset(p, 0, sizeof *p);
    const struct rm_ie_packed *pk = q->packed;
    if (amx_lin_pack(p, &p->embed, &q->embed, RQSTART(&pk->embed))) goto fail;
    for (int l = 0; l < q->L; l++) {
        const struct rm_ie_pblk *b = &pk->blk[l];
        if (amx_lin_pack(p, &p->fc1[l], &q->blk[l].fc1, RQSTART(&b->fc1)) ||
            amx_lin_pack(p, &p->fc2[l], &q->blk[l].fc2, RQSTART(&b->fc2))) goto fail;
        int32_t *t = amx_alloc(p, 4 * 256 * sizeof(int32_t));
        if (!t) goto fail;
        const int32_t *st = RQSTART(&b->tok);
        for (int v = 0; v < 4; v++)
            for (int r = 0; r < 16; r++)
                for (int c = 0; c < 16; c++) t[v * 256 + r * 16 + c] = st[16 * v + c];
        p->tokinit[l] = t;
    }
    return 0;
fail:
    amx_pack_free(p);
    return -1;
}

/* the compiler must not move stores of the operands past a tile load (the tile asm names no memory) */
#define AMX_BARRIER() __asm__ volatile("" ::: "memory")

// xq is the quad tensor (ICp/4 quads x 64 tokens, u8, zero quads beyond IC); out is [16][64] int32:
// out[o][t] = start[o0+o] + sum_i w[o0+o][i] * xq byte (i, t), outputs o0..o0+15 of a
AMX static void amx_tile_lin(int32_t *out, const amx_lin *a, int o0, const uint32_t *xq) {
    const int32_t *ci = a->cinit + (size_t)o0 * 16;
    AMX_BARRIER();
    _tile_loadd(0, ci, 64);
    _tile_loadd(1, ci, 64);
    _tile_loadd(2, ci, 64);
    _tile_loadd(3, ci, 64);
    for (int n = 0; n < a->nk; n++) {
        const int k = a->ks[n];
        const uint32_t *xk = xq + (size_t)(k / 4) * 64;
        _tile_loadd(4, a->w + (size_t)o0 * a->ICp + k, a->ICp);
        _tile_loadd(5, xk, 256);
        _tile_dpbsud(0, 4, 5);
        _tile_loadd(5, xk + 16, 256);
        _tile_dpbsud(1, 4, 5);
        _tile_loadd(5, xk + 32, 256);
        _tile_dpbsud(2, 4, 5);
        _tile_loadd(5, xk + 48, 256);
        _tile_dpbsud(3, 4, 5);
    }
    _tile_stored(0, out, 256);
    _tile_stored(1, out + 16, 256);
    _tile_stored(2, out + 32, 256);
    _tile_stored(3, out + 48, 256);
}

// A rows d0..d0+15 (u8, 64 tokens in rho order); out [16][64] int32 as v_tile_tok's rows
AMX static void amx_tile_tok(int32_t *out, const uint8_t *A, const uint8_t *tokwv, const int32_t *tokinit) {
    AMX_BARRIER();
    _tile_loadd(4, A, 64);
    _tile_loadd(0, tokinit, 64);
    _tile_loadd(5, tokwv, 256);
    _tile_dpbusd(0, 4, 5);
    _tile_loadd(1, tokinit + 256, 64);
    _tile_loadd(5, tokwv + 64, 256);
    _tile_dpbusd(1, 4, 5);
    _tile_loadd(2, tokinit + 512, 64);
    _tile_loadd(5, tokwv + 128, 256);
    _tile_dpbusd(2, 4, 5);
    _tile_loadd(3, tokinit + 768, 64);
    _tile_loadd(5, tokwv + 192, 256);
    _tile_dpbusd(3, 4, 5);
    _tile_stored(0, out, 256);
    _tile_stored(1, out + 16, 256);
    _tile_stored(2, out + 32, 256);
    _tile_stored(3, out + 48, 256);
}

AMX static void amx_begin(void) {
    amx_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 6; i++) { cfg.colsb[i] = 64; cfg.rows[i] = 16; }
    _tile_loadconfig(&cfg);
}
AMX static void amx_end(void) { _tile_release(); }

/* vnni_image with the products on tiles; T (the int32 tile, [16][64]) replaces S->tile */
AMX static void amx_image(const rm_qnet *q, const amx_pack *ap, const uint8_t *img, int8_t *logits, vscr *S, int32_t *T) {
    const struct rm_ie_packed *pk = q->packed;
    const int D = q->D, H = q->H, L = q->L;
    const uint8_t (*qidx)[2][64] = (const uint8_t (*)[2][64])S->qidx;
    const __m512i x80 = _mm512_set1_epi8((char)0x80);
    v_input(q, img, S);
    for (int g0 = 0; g0 < D; g0 += 16) {
        amx_tile_lin(T, &ap->embed, g0, S->xin);
        for (int d0 = g0; d0 < g0 + 16 && d0 < D; d0 += 4)
            for (int c = 0; c < 4; c++) {
                __m512i h0, h1;
                v_rq16(T + 64 * (d0 - g0 + c), &pk->embed, d0 + c, &h0, &h1);
                v_prologue(&pk->blk[0], S, d0 + c, v_clamp16(h0), v_clamp16(h1));
            }
    }
    for (int l = 0; l < L; l++) {
        const struct rm_ie_pblk *b = &pk->blk[l];
        for (int g0 = 0; g0 < D; g0 += 16) {
            amx_tile_tok(T, S->A + (size_t)g0 * 64, b->tokwv, ap->tokinit[l]);
            for (int d0 = g0; d0 < g0 + 16; d0 += 4) {
                __m512i y[4];
                for (int c = 0; c < 4; c++) y[c] = v_tok_row(q, b, S, l, d0 + c, T + 64 * (d0 + c - g0), x80);
                v_quads(qidx, y[0], y[1], y[2], y[3], S->X1 + (size_t)(d0 / 4) * 64);
            }
        }
        for (int g0 = 0; g0 < H; g0 += 16) {
            amx_tile_lin(T, &ap->fc1[l], g0, S->X1);
            for (int j0 = g0; j0 < g0 + 16 && j0 < H; j0 += 4) {
                __m512i y[4];
                for (int c = 0; c < 4; c++) y[c] = v_fc1_row(q, b, j0 + c, T + 64 * (j0 + c - g0), x80);
                v_quads(qidx, y[0], y[1], y[2], y[3], S->HP + (size_t)(j0 / 4) * 64);
            }
        }
        for (int g0 = 0; g0 < D; g0 += 16) {
            amx_tile_lin(T, &ap->fc2[l], g0, S->HP);
            for (int d = g0; d < g0 + 16 && d < D; d++) v_fc2_row(q, b, S, l, d, T + 64 * (d - g0), x80);
        }
    }
    rm_ie_head(q, S->sums, logits);
}

void rm_ie_run_amx(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) {
    amx_pack ap;
    if (!rm_ie_cpu_amx() || amx_pack_new(&ap, q)) { rm_ie_run_vnni(q, pixels, n, logits, dump); return; }  /* same results */
    const size_t chw = (size_t)q->img_c * q->img_h * q->img_w, dstride = (size_t)2 * q->L * q->T * q->D;
    /* quad tensors padded to whole 64-byte steps of the products (the padding stays zero) */
    const size_t nxin = up((size_t)q->P, 64) * 64, nx1 = up((size_t)q->D, 64) * 64, nhp = up((size_t)q->H, 64) * 64;
    int fail = 0;
#pragma omp parallel
    {
        vscr S;
        int ok = vscr_new(&S, q, dump != NULL) == 0;
        uint8_t *own = ok ? aligned_alloc(64, 16 * 64 * 4 + nxin + nx1 + nhp) : NULL;
        if (own) {
            memset(own, 0, 16 * 64 * 4 + nxin + nx1 + nhp);
            S.xin = (uint32_t *)(own + 16 * 64 * 4);
            S.X1 = (uint32_t *)(own + 16 * 64 * 4 + nxin);
            S.HP = (uint32_t *)(own + 16 * 64 * 4 + nxin + nx1);
            amx_begin();
        }
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < n; i++) {
            if (!own) { memset(logits + (size_t)i * q->K, 0, (size_t)q->K); continue; }
            amx_image(q, &ap, pixels + (size_t)i * chw, logits + (size_t)i * q->K, &S, (int32_t *)own);
            if (dump) vnni_dump(q, S.dm, dump + (size_t)i * dstride);
        }
        if (own) { amx_end(); free(own); }
        else {
#pragma omp atomic write
            fail = 1;
        }
        if (ok) free(S.mem);
    }
    amx_pack_free(&ap);
    /* a thread without scratch left zeros: redo the whole run on the VNNI engine (identical results) */
    if (fail) rm_ie_run_vnni(q, pixels, n, logits, dump);
}

#else /* not x86: no vector engines */
int rm_ie_cpu_vnni(void) { return 0; }
int rm_ie_cpu_amx(void) { return 0; }
const char *rm_ie_amx_note(void) { return "not an x86-64 build"; }
void rm_ie_run_amx(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) { (void)q; (void)pixels; (void)n; (void)logits; (void)dump; }
int rm_ie_cpu_avx2(void) { return 0; }
void rm_ie_run_vnni(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) { (void)q; (void)pixels; (void)n; (void)logits; (void)dump; }
void rm_ie_run_avx2(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) { (void)q; (void)pixels; (void)n; (void)logits; (void)dump; }
#endif
