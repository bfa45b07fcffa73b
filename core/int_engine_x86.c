/* int_engine_x86.c - the vector integer engines: AVX-512 VNNI (+VBMI) and AVX2. Both run one image per
 * thread at a time in the channel-major packed layouts of int_engine_impl.h, fusing every
 * requantisation, affine, residual add and activation table into the epilogue of the matrix product
 * that produces it (one pass over each weight matrix per image, activations stay in L1).
 * Per block: token mixing (tile: 4 channels x 64 tokens, weights as the vector operand), then fc1 and
 * fc2 (tile: 4 output channels x 64 tokens, weights broadcast 4 at a time).
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
    size_t n = P * 64 + D * 64 * 3 + D * 64 + H * 64 + (dump ? 2 * (size_t)q->L * D * 64 : 0) + 4 * D + 4 * 256 + 512 + 128 + 3072 + 64 * 16;
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
    s->sums = (int32_t *)m; m += 4 * D;
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
                                                                 int IC, int o0, const int32_t *corr) {
    const int8_t *w0p = w + (size_t)o0 * IC, *w1p = w0p + IC, *w2p = w1p + IC, *w3p = w2p + IC;
    __m512i a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;
    a0 = a1 = a2 = a3 = _mm512_set1_epi32(corr[o0]);
    b0 = b1 = b2 = b3 = _mm512_set1_epi32(corr[o0 + 1]);
    c0 = c1 = c2 = c3 = _mm512_set1_epi32(corr[o0 + 2]);
    d0 = d1 = d2 = d3 = _mm512_set1_epi32(corr[o0 + 3]);
    for (int g = 0; g < IC / 4; g++) {
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
                                                                 const int32_t *corr) {
    const uint8_t *r0 = A, *r1 = A + 64, *r2 = A + 128, *r3 = A + 192;
    __m512i a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;
    a0 = b0 = c0 = d0 = _mm512_load_si512(corr);
    a1 = b1 = c1 = d1 = _mm512_load_si512(corr + 16);
    a2 = b2 = c2 = d2 = _mm512_load_si512(corr + 32);
    a3 = b3 = c3 = d3 = _mm512_load_si512(corr + 48);
    for (int g = 0; g < 16; g++) {
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

VNNI static void vnni_image(const rm_qnet *q, const uint8_t *img, int8_t *logits, vscr *S) {
    const struct rm_ie_packed *pk = q->packed;
    const int D = q->D, H = q->H, P = q->P, L = q->L;
    const uint8_t (*qidx)[2][64] = (const uint8_t (*)[2][64])S->qidx;
    const __m512i x80 = _mm512_set1_epi8((char)0x80);
    if (q->img_c == 3 && q->patch == 4 && q->img_h == 32 && q->img_w == 32)
        v_build_input(pk, img, (uint8_t *)S->xin, S->itmp, (const uint8_t (*)[64])S->iidx);
    else build_input(pk, q, img, (uint8_t *)S->xin, 1);
    /* embed, then block 0's affine_1 / res_affine */
    for (int d0 = 0; d0 < D; d0 += 4) {
        v_tile_lin(S->tile, S->xin, q->embed.w, P, d0, RQSTART(&pk->embed));
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
            v_tile_tok(S->tile, S->A + (size_t)d0 * 64, b->tokwv, RQSTART(&b->tok));
            __m512i y[4];
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                int d = d0 + c;
                __m512i h0, h1, m0, m1;
                v_rqv16(S->tile + 64 * c, &b->tok, &h0, &h1);
                h0 = v_clamp16(h0); h1 = v_clamp16(h1);
                __m512i u = v_pack8(v_aff16(h0, &b->a2, d), v_aff16(h1, &b->a2, d));
                __m512i m = _mm512_adds_epi8(u, _mm512_load_si512(S->RT + (size_t)d * 64));
                if (S->dm) _mm512_store_si512(S->dm + ((size_t)(2 * l) * D + d) * 64, m);
                v_unpack8(m, &m0, &m1);
                _mm512_store_si512(S->RM + (size_t)d * 64, v_pack8(v_aff16(m0, &b->res2, d), v_aff16(m1, &b->res2, d)));
                y[c] = q->has_act1 ? v_lut(b->lut1v + (size_t)d * 256, m) : _mm512_xor_si512(m, x80);
            }
            v_quads(qidx, y[0], y[1], y[2], y[3], S->X1 + (size_t)(d0 / 4) * 64);
        }
        /* fc1 + ReLU or act2 table -> HP */
        for (int j0 = 0; j0 < H; j0 += 4) {
            v_tile_lin(S->tile, S->X1, qb->fc1.w, D, j0, RQSTART(&b->fc1));
            __m512i y[4];
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                int j = j0 + c;
                __m512i h0, h1;
                v_rq16(S->tile + 64 * c, &b->fc1, j, &h0, &h1);
                __m512i h = v_pack8(h0, h1);
                y[c] = q->relu ? _mm512_xor_si512(_mm512_max_epi8(h, _mm512_setzero_si512()), x80)
                               : v_lut(b->lut2v + (size_t)j * 256, h);
            }
            v_quads(qidx, y[0], y[1], y[2], y[3], S->HP + (size_t)(j0 / 4) * 64);
        }
        /* fc2 + res2 -> stream; next block's affine_1 / res_affine, or the pooled sums */
        for (int d0 = 0; d0 < D; d0 += 4) {
            v_tile_lin(S->tile, S->HP, qb->fc2.w, H, d0, RQSTART(&b->fc2));
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                int d = d0 + c;
                __m512i h0, h1;
                v_rq16(S->tile + 64 * c, &b->fc2, d, &h0, &h1);
                __m512i x = _mm512_adds_epi8(v_pack8(h0, h1), _mm512_load_si512(S->RM + (size_t)d * 64));
                if (S->dm) _mm512_store_si512(S->dm + ((size_t)(2 * l + 1) * D + d) * 64, x);
                if (l + 1 < L) {
                    v_unpack8(x, &h0, &h1);
                    v_prologue(&pk->blk[l + 1], S, d, h0, h1);
                } else {
                    __m512i sad = _mm512_sad_epu8(_mm512_xor_si512(x, x80), _mm512_setzero_si512());
                    S->sums[d] = (int32_t)_mm512_reduce_add_epi64(sad) - 64 * 128;
                }
            }
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
                                   const int32_t *corr0) {
    (void)corr0;
    for (int c = 0; c < 4; c++) acc[c][0] = acc[c][1] = _mm256_setzero_si256();
    for (int g = 0; g < IC / 4; g++) {
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
            a_lin_tile(acc, q->embed.w, P, d0, S->xin, t0, NULL);
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
                for (int g = 0; g < 16; g++) {
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
                a_lin_tile(acc, qb->fc1.w, D, j0, S->X1, t0, NULL);
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
                a_lin_tile(acc, qb->fc2.w, H, d0, S->HP, t0, NULL);
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

#else /* not x86: no vector engines */
int rm_ie_cpu_vnni(void) { return 0; }
int rm_ie_cpu_avx2(void) { return 0; }
void rm_ie_run_vnni(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) { (void)q; (void)pixels; (void)n; (void)logits; (void)dump; }
void rm_ie_run_avx2(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump) { (void)q; (void)pixels; (void)n; (void)logits; (void)dump; }
#endif
