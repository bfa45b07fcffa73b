/* int_engine_impl.h - internal interface between the engine dispatcher (int_engine.c: reference and
 * portable engines, packing) and the x86 vector engines (int_engine_x86.c). Integer only.
 *
 * Packed layouts of the vector engines (T = 64 tokens, one image at a time, channel-major):
 *  - a "row" tensor is [C][64] bytes (channel c, token t);
 *  - a "quad" tensor is [C/4][64][4] bytes: for each group of 4 channels and token t, the 4 channel
 *    bytes in one 32-bit word, so vpdpbusd/vpmaddubsw reduce 4 channels per lane;
 *  - requantisation constants per output: sh = k-1 and b2 = 2*b+1, since
 *        rq(acc) = sat8(((acc >> (k-1)) + 2b + 1) >> 1)        (== rm_requant);
 *  - VNNI: activations fed to vpdpbusd are stored as u8 = code+128; corr[o] = -128*sum_i w[o][i] is the
 *    accumulator's start value, which removes the offset exactly (int32 arithmetic is exact here:
 *    |acc| < 2^31 for IC <= 1023).
 *  - AVX2: activations stay signed; |a| * sign(w, a) goes through vpmaddubsw without saturation
 *    unless w = -128, so those weights are listed in `fix` and corrected after the tile. */
#ifndef RM_INT_ENGINE_IMPL_H
#define RM_INT_ENGINE_IMPL_H
#include "int_engine.h"

typedef struct rm_ie_fix { int n; int32_t *o, *i; } rm_ie_fix;   /* weights equal to -128 at (o, i) */
/* the input quads (groups of 4 inputs of a quad tensor) a pruned layer still reads: quad g is listed when
 * any of its inputs lies in a kept SIMD block (the others are all zero weights); dense: every quad */
typedef struct rm_ie_glist { int n; int16_t *g; } rm_ie_glist;

/* per channel affine constants (C). mh[c] != 0: w << (15-k) fits int16, so the VNNI engine computes
 * rm_rshift_round(x*w, k) exactly as vpmulhrsw(x, mh) = (x*mh + 2^14) >> 15, then adds b */
typedef struct rm_ie_aff { int32_t *w, *sh, *b2, *mh, *b; } rm_ie_aff;
/* per output requant constants; when every shift is <= 22 (fold), corrb = corr + (2b+1) << (k-1) lets
 * the VNNI engine requantise with one shift: rq(acc) = sat8((acc + (2b+1)*2^(k-1)) >> k) */
typedef struct rm_ie_rq { int32_t *corr, *sh, *b2, *corrb; int fold; } rm_ie_rq;

struct rm_ie_packed {
    int vec_ok;                     /* shape supported by the vector engines */
    uint16_t *in_off;               /* (P/4)*64*4: pixel offset of byte j of the quad input tensor */
    uint8_t *in_ch;                 /* same: image channel */
    uint8_t pixu[4][256];           /* pixel -> code+128 */
    rm_ie_rq embed, cls;
    rm_ie_fix fix_embed;
    rm_ie_glist gl_embed;           /* quads of the input tensor the embedding reads */
    struct rm_ie_pblk {
        uint8_t *tokw;              /* AVX2 [16][64][4]: tokw[g][t][i] = lin.w[t][4g+i] */
        uint8_t *tokwv;             /* VNNI, A read in rho order: tokwv[g][t][i] = lin.w[t][rho(4g+i)] */
        rm_ie_rq tok;               /* per token t */
        rm_ie_aff a1, a2, res, res2;
        rm_ie_rq fc1, fc2;
        uint8_t *lut1v, *lut2v;     /* VNNI: [C][256], entry at (uint8)code holds table+128 */
        int8_t *lut1g, *lut2g;      /* AVX2 gathers: [C][256] + 4 pad bytes, index code+128 */
        rm_ie_fix fix_tok, fix_fc1, fix_fc2;
        rm_ie_glist gl_tok, gl_tokv; /* token quads of tokw (natural order) and tokwv (rho order) */
        rm_ie_glist gl_fc1, gl_fc2;
    } blk[RM_MAXL];
    void *mem;
    /* portable engine: a SIMD-block pruned embed / fc1 / fc2 compacted to its kept inputs (ki, nk of them)
     * and their weights wk (OC, nkp), nkp = nk rounded up to 32 with zero weights (the dense dot's vector
     * steps, no scalar remainder), so a row's dot runs densely over the kept inputs (one gather per row);
     * wk NULL: dense */
    struct rm_ie_compact { int nk, nkp; int16_t *ki; int8_t *wk; } cp_embed, cp_fc1[RM_MAXL], cp_fc2[RM_MAXL];
    void *cmem;
};

/* the VNNI engine's byte order of 64 tokens (see int_engine_x86.c): an involution */
static inline int rm_ie_rho(int b) { return 16 * ((b >> 2) & 3) + 4 * (b >> 4) + (b & 3); }

/* x86 engines (int_engine_x86.c); each runs images [0, n) with OpenMP */
int rm_ie_cpu_vnni(void);
int rm_ie_cpu_avx2(void);
/* AMX-INT8: CPUID, OS tile state and the Linux permission (requested on the first call); why not */
int rm_ie_cpu_amx(void);
const char *rm_ie_amx_note(void);
void rm_ie_run_amx(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump);
void rm_ie_run_vnni(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump);
void rm_ie_run_avx2(const rm_qnet *q, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump);

/* shared tail of the vector engines: pooled sums (D, int32) -> logits (K) */
void rm_ie_head(const rm_qnet *q, const int32_t *sums, int8_t *logits);
/* channel-major dump scratch [2L][D][64] -> (2L, T, D) */
void rm_ie_dump_transpose(const rm_qnet *q, const int8_t *cm, int8_t *dump);
#endif
