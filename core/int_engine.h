/* int_engine.h - the quantised ResMLP as an integer-only network (int8 storage, int32 accumulation),
 * as the paper's hardware computes it, and the engines that run it.
 *
 * Integer network (every tensor an int8 code; x, w, b int8; k a per-output shift >= 1; rq = rm_requant):
 *   input   x[t][f]   = pix_lut[ch][pixel]                    (patch t = py*(w/p)+px, f = (ky*p+kx)*c+ch)
 *   embed   x0[t][d]  = rq(sum_f W[d][f] x[t][f], k[d], b[d])
 *   block   a  = rq(x*a1.w[d], a1.k[d], a1.b[d])            per channel (affine: IC = 1)
 *           v[t][d] = rq(sum_t' lin.w[t][t'] a[t'][d], lin.k[t], lin.b[t])
 *           m  = sat8(rq(v*a2.w[d], ..) + rq(x*res.w[d], ..))
 *           y1 = lut1[d][m+128]   (tables only when has_act1; else y1 = m)
 *           h  = rq(sum_d fc1.w[j][d] y1[t][d], ..);  y2 = relu ? max(h,0) : lut2[j][h+128]
 *           x' = sat8(rq(sum_j fc2.w[d][j] y2[t][j], ..) + rq(m*res2.w[d], ..))
 *   head    p[d] = sat8(rm_rshift_round(sum_t x_L[t][d], pool_shift));  logits = rq(cls.w p, ..)
 * In lut64 mode the activation tables are the 64-entry hardware form (lut1_64/lut2_64, read with the
 * interpolation of lut.h, top segment per lut_edge with the edge entries lut1_e/lut2_e); lut1/lut2 then
 * hold the same function expanded to 256 entries.
 *
 * Engines (bit-identical results, selectable per call or process-wide for tests):
 *   reference - slow, per element, int64 sums checked against the int32 range, reads the 64-entry
 *               tables through the interpolation formula; the obviously-correct version.
 *   portable  - plain C, int32, natural layout.
 *   avx2      - AVX2 vpmaddubsw (|a| x sign(w,a) trick; weights of -128 corrected separately).
 *   vnni      - AVX-512 VNNI vpdpbusd (activations offset to u8, offset removed by a per-output
 *               constant) + AVX-512 VBMI byte permutes for the tables.
 *   amx       - the vnni engine with its matrix products on AMX-INT8 tiles (TDPBSUD / TDPBUSD), chosen
 *               first by auto where CPUID has AMX-INT8 and Linux grants the tile permission; needs
 *               embed a multiple of 16 too.
 * The vector engines need tokens = 64 and embed, hidden, patch_dim multiples of 4 (CIFAR-10 ResMLP);
 * other shapes run on the portable engine. All engines parallelise over images with OpenMP.
 * SIMD-block pruning (rm_qnet_set_pruned): every engine skips the pruned input blocks of a layer, at its
 * own granularity (reference and portable: the kept blocks; AVX2/VNNI: the input quads holding a kept
 * input; AMX: the 64-input tile steps holding one), with the same results as the dense computation.
 * No floating point anywhere in the engine sources (checked by tests/e2e_nofloat.sh). */
#ifndef RM_INT_ENGINE_H
#define RM_INT_ENGINE_H
#include "ctx.h"
#include "model.h"
#include "lut.h"

typedef struct rm_qlin {   /* int8 linear (OC,IC) or per-channel affine (IC = 1) with per-output shifts */
    int OC, IC;
    int8_t *w;             /* (OC,IC) row-major */
    int8_t *b;             /* (OC) on the output scale */
    int8_t *k;             /* (OC) shifts 1..30 */
    /* SIMD-block pruning (core/prune.h), rm_qnet_set_pruned: 0 / NULL = dense. Inputs [b*simd, (b+1)*simd)
     * of every output are zero for each pruned block b, and every engine visits only the kept blocks */
    int simd, nkeep;
    int16_t *keep;         /* (nkeep) kept block indices, ascending */
    uint8_t *pruned;       /* (IC/simd) 1 = pruned block */
} rm_qlin;

typedef struct rm_qblock {
    rm_qlin a1, lin, a2, res;      /* token mixer: affine_1 (D), token linear (T,T), affine_2 (D), res_affine (D) */
    rm_qlin res2, fc1, fc2;        /* channel MLP: res_affine (D), linear_1 (H,D), linear_2 (D,H) */
    int8_t *lut1, *lut2;           /* (D,256) [has_act1], (H,256) [!relu]: index code+128 */
    int8_t *lut1_64, *lut2_64;     /* (D,64), (H,64) in lut64 mode, else NULL */
    int8_t *lut1_e, *lut2_e;       /* (D), (H) edge entries of the 64-entry form (lut.h) in lut64 mode */
} rm_qblock;

typedef struct rm_qnet {
    int T, P, D, H, L, K;
    int img_c, img_h, img_w, patch;
    int act;                       /* RM_ACT_* of the float model (for reports) */
    int relu;                      /* integer ReLU between fc1 and fc2 */
    int has_act1;                  /* table before fc1 */
    int lut64;                     /* tables are the 64-entry hardware form */
    int lut_edge;                  /* RM_LUT_EDGE_* of the 64-entry form (default extend) */
    int pool_shift;                /* round(log2 T) */
    int8_t pix_lut[4][256];        /* pixel value -> input code, per image channel */
    rm_qlin embed, cls;            /* (D,P), (K,D) */
    rm_qblock blk[RM_MAXL];
    void *mem;                     /* the arrays above, one allocation */
    struct rm_ie_packed *packed;   /* vector-engine data (rm_qnet_prepare), NULL until prepared */
} rm_qnet;

/* allocate a zeroed network of these dimensions (shifts set to 1) */
int rm_qnet_new(rm_ctx *ctx, rm_qnet **out, int T, int P, int D, int H, int L, int K, int img_c, int img_h,
                int img_w, int patch, int act, int lut64);
void rm_qnet_free(rm_qnet *q);
/* mark SIMD-block pruning on a weight layer of q (one of embed, cls, blk[l].lin/fc1/fc2): mask[b] = 1 for
 * each pruned block of simd consecutive inputs (simd divides IC). The masked weights must be zero (an
 * error otherwise: skipping them must not change a result); mask NULL clears. Call rm_qnet_prepare after. */
int rm_qnet_set_pruned(rm_ctx *ctx, rm_qnet *q, rm_qlin *l, int simd, const uint8_t *mask);
/* check shifts (1..30), dimensions and tables; rebuild the 256-entry tables from the 64-entry ones in
 * lut64 mode; build the packed data of the vector engines. Call after filling or changing the tensors. */
int rm_qnet_prepare(rm_ctx *ctx, rm_qnet *q);

enum { RM_IE_AUTO = 0, RM_IE_REF, RM_IE_PORTABLE, RM_IE_AVX2, RM_IE_VNNI, RM_IE_AMX, RM_IE_NPATHS };
const char *rm_ie_path_name(int path);          /* "auto", "reference", "portable", "avx2", "vnni", "amx" */
int rm_ie_path_from_name(const char *name);     /* -1 if unknown */
/* compiled in and supported by this CPU (and by q's shape if q != NULL) */
int rm_ie_path_available(int path, const rm_qnet *q);
/* why a path is not available on this CPU ("" when it is; shapes aside) */
const char *rm_ie_path_note(int path);
/* process-wide override of RM_IE_AUTO (0 = none); the environment variable RESMLP_INT_PATH=<name>
 * sets it too. For tests and benchmarks. */
void rm_ie_force_path(int path);
/* the engine RM_IE_AUTO resolves to for q */
int rm_ie_resolve(const rm_qnet *q, int path);

/* Run n images: pixels (n, img_c, img_h, img_w) uint8 -> logits (n,K) int8. If dump != NULL it receives
 * the int8 stream after every sublayer, (n, 2L, T, D): [2l] after block l's token mixer, [2l+1] after
 * its channel MLP. OpenMP over images. */
int rm_ie_run(rm_ctx *ctx, const rm_qnet *q, int path, const uint8_t *pixels, int n, int8_t *logits, int8_t *dump);
/* index of the first largest logit (the prediction) */
int rm_ie_argmax(const int8_t *logits, int K);

/* per-layer integer statistics from the reference engine */
typedef struct rm_ie_stat {
    char name[48];
    int64_t n;                  /* outputs produced */
    int64_t acc_min, acc_max;   /* accumulator range (before the shift) */
    int64_t acc_bound;          /* worst case |accumulator| for any int8 input (static) */
    int64_t out_min, out_max;   /* int8 output range */
    int64_t sat_lo, sat_hi;     /* outputs clamped to -128 / 127 */
    int64_t overflow;           /* accumulators outside the int32 range (must be 0) */
} rm_ie_stat;
#define RM_IE_MAXSTAT (3 + 10 * RM_MAXL)
/* stats of the n images into st (capacity RM_IE_MAXSTAT); *nst receives the count. Single-threaded
 * per image order, so the counts are exact. */
int rm_ie_stats(rm_ctx *ctx, const rm_qnet *q, const uint8_t *pixels, int n, rm_ie_stat *st, int *nst);
#endif
