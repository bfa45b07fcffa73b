/* bnn_impl.h - the stages of the integer engine of layer-list nets (bnn.c), shared with the HLS emitter
 * (hlsgen/emit_net.c), which writes the same stages as headers and streaming HLS C++. */
#ifndef RM_BNN_IMPL_H
#define RM_BNN_IMPL_H
#include "bnn.h"
#include "net.h"
#include <stdint.h>

enum { S_LINEAR = 0, S_CONV, S_POOL, S_FLATTEN };
/* how a weight stage multiplies: XNOR-popcount of sign bits (binary weights on +-1 inputs); bit planes of
 * ternary / n-bit codes on +-1 inputs (AND-popcount per plane); integer input codes times integer weight
 * codes (the first layer after an input quantiser, and every layer after an n-bit activation quant(bits)) */
enum { W_BIN = 0, W_PLANES, W_INT };
#define RM_BNN_MAXPLANES 17

typedef struct bstage {
    int type, wk, layer, sign_layer, bn_layer;   /* net layer indices (-1 when absent) */
    int final;                               /* the last weight layer: logits, no threshold */
    int ih, iw, ic, iwpp, oh, ow, oc, owpp;  /* spatial geometry; wpp = 64-bit words per pixel */
    int F, fwords;                           /* linear: input features and words */
    int k, s, pad;
    int rows, kw, fan;                       /* output channels/features; weight words per row; inputs per output */
    int wbits;                               /* code bits: 1 binary, 2 ternary, n for intN */
    int32_t *kc;                             /* (rows, fan) integer weight codes in the engine's input order:
                                              * conv (ky,kx,c); linear after a flatten of a map (h,w,c) */
    uint64_t *w;                             /* W_BIN (rows,kw) sign bits; W_PLANES (np,rows,kw) plane bits */
    int np, coef[RM_BNN_MAXPLANES];          /* W_PLANES: code = sum_p coef[p] * bit_p */
    int32_t *pcm;                            /* W_PLANES (np,rows,k*k): ones of each plane per kernel pixel */
    float unit;                              /* float value of one accumulator step (a power of two) */
    float *alpha, *bias;                     /* own copies: ternary scales, bias (NULL when absent) */
    int in_codes, out_codes;                 /* input / output are int32 codes (not +-1 bits) */
    int in_n, out_n;                         /* codes per sample of a code input / output */
    /* an n-bit activation quant(bits) after the layer (FINN's MultiThreshold): code = qlo + the number of the
     * row's nthr = 2^bits - 1 thresholds passed (dir 1: acc >= thr[t]; dir -1: acc <= thr[t]); thresholds
     * outside [-bound, bound] mean never / always. Sign stages: nthr = 1, dir as below. */
    int act_bits, act_fbits, qlo, nthr;
    int32_t *thr;                            /* (rows, nthr) hidden stages */
    int8_t *dir;                             /* sign: 1: acc >= thr; -1: acc <= thr; 2: always +1; -2: always -1 */
    int32_t *thrT;                           /* quant stages (nthr, R8): dir * thr, so code = qlo + #(dir*acc >= thrT) */
    int32_t *sgn;                            /* quant stages (R8): dir */
    int64_t *tlo, *thi;                      /* the same as a range: +1 when tlo <= acc <= thi (padded to 8 rows) */
    int64_t bound;                           /* largest |accumulator| of any row */
    int R8;                                  /* rows rounded up to 8: the transposed copies the fast kernels use */
    int nd;                                  /* words of a densely packed conv patch (k*k*ic bits); linear: kw */
    uint64_t *wT;                            /* (np,nd,R8): weight words, all rows side by side (conv: dense patch order) */
    uint64_t *wR;                            /* binary conv, ic < 64, k*ic <= 64: (k,R8), word ky holds kernel row ky's bits
                                              * (kx*ic + c), so a full window is k words each built from one map row */
    int32_t *pcmT;                           /* W_PLANES (np,k*k,R8) */
    int32_t *kT;                             /* W_INT (fan,R8) */
    int16_t *kT16;                           /* W_INT, codes fit int16: (fan2,R16,2) input pairs per row (AVX-512 VNNI) */
    int16_t *kc16;                           /* W_INT, codes fit int16: kc as int16 (rows, fan), the portable dot products */
    int fan2, R16;
    int in_cbits;                            /* W_INT: bits of the input codes */
    int8_t *kT8;                             /* W_INT, 8-bit weight and input codes: (fan4,R16,4) input quads per row
                                              * (VPDPBUSD on input codes + 128: acc = dot - 128 * wsum) */
    int32_t *wsum;                           /* (R16) sum of each row's weight codes */
    int fan4;
    size_t in_words, out_words;              /* per sample (W_INT input: int32 codes per sample) */
    /* SIMD-block pruning (prune.h) of a ternary / n-bit layer (code 0 is exact; a binary weight is never
     * 0, so binary layers are not skipped): the fast kernels read only the kept inputs */
    int pruned_in;                           /* pruned inputs (0: dense, no lists) */
    /* W_PLANES: the kept inputs packed densely. Units u are the patch's kernel pixels (conv, ic <= 64 bits
     * each) or the input words (linear); kmask[u] marks the unit's kept bits, koff[u] where they start in
     * the compact patch of ndk words; wTk (np,ndk,R8) are wT's words in that order. Pruned bits are never
     * read: the popcounts run over ndk words instead of nd. NULL: dense. */
    int nu, ndk;
    uint64_t *kmask, *wTk;
    int32_t *koff;
    int32_t *kco, *kch;                      /* W_INT: kernel pixel p's kept channels kch[kco[p] .. kco[p+1]) */
} bstage;

struct rm_bnet {
    rm_model *m;
    int front;                  /* layers [0, front) run before the first stage: float (model) or the input quantiser */
    int int_front;              /* 1: layer 0 is quant(bits) and the engine quantises the input itself */
    int in_bits, in_fbits;      /* input codes: bits and fractional bits (value = code * 2^-in_fbits) */
    int in_c, in_h, in_w, in_sp;/* input shape; in_sp: codes are NHWC */
    int fr_sp, fr_c, fr_h, fr_w;
    int fr_codes, fr_fbits;     /* a float front ending in quant(bits): its output packed as codes (value * 2^fr_fbits) */
    int ns;
    bstage st[RM_NET_MAXL];
    int path;
    int inexact_rows;           /* rows whose bound reaches 2^24 (the float product may round) */
    size_t maxwords;
    int B;                      /* capacity of the work buffers */
    uint64_t *buf0, *buf1;
    int32_t *codes;             /* (B, in) input codes of an integer front */
    float *bnm, *bny;           /* final BN scratch */
    int K;
    double *prof;               /* NULL, or (ns + 1) seconds: each stage's time added per forward, [ns] the input */
};
/* every hidden stage's output words (words per sample, B samples) of a forward, then the final
 * accumulators (B,K) into acc: what the HLS testbench compares stage by stage */
typedef void (*rm_bnn_tap)(void *ud, int stage, const uint64_t *words, size_t per_sample, int B);
int rm_bnet_trace(rm_ctx *ctx, rm_bnet *e, const float *x, int B, int64_t *acc, rm_bnn_tap tap, void *ud);
/* hidden stage i, every row at accumulator acc: the activations the thresholds give, eng (rows), and the ones
 * the model's float kernels give, flt (rows) (scale, bias, BN, then sign or the quantiser); sign: 0/1 for
 * -1/+1, quant: the code. For tests; returns -1 when out of memory. */
int rm_bnet_stage_acts(const rm_bnet *e, int i, int64_t acc, int32_t *eng, int32_t *flt);
int rm_bnet_vnni(void);
/* per-stage timing for benchmarks: t (ns + 1 doubles, zeroed by the caller) gets each stage's wall time added
 * on every forward, t[ns] the input codes / front; NULL turns it off */
void rm_bnet_profile(rm_bnet *e, double *t);   /* the CPU has AVX-512 VNNI (the fast W_INT kernel of the VPOPCNT path) */
#endif
