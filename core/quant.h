/* quant.h - INT8 quantisation of a folded ResMLP (the paper's deployment path): symmetric signed 8-bit
 * everywhere, shift-only requantisation, range calibration by percentiles, LSQ fake-quantisation with
 * quantisation-aware training (QAT) under knowledge distillation, activation curves turned into lookup
 * tables, export to the integer network of int_engine.h, the quantised model file and `verify`.
 *
 * Scheme
 *  - Scale of a tensor s = 2^(b-1)/A = 128/A, A its (learnable) abs-max; code = clamp(round(v*s), -128, 127)
 *    with round half up. Activations are per tensor; adjacent layers share one scale (a "quant point").
 *  - Weights per output channel o: the step is tied to the point scales by a shift k[o] >= 1 so that
 *    s_x * s_w[o] / s_y = 2^k[o] exactly: s_w[o] = 2^k[o] * s_y / s_x. Biases are 8-bit on s_y.
 *    acc = sum x*w (int32); y = sat8(rm_rshift_round(acc, k) + b)  (lut.h).
 *  - Quant points (abs-max parameters): input, x.0..x.L (stream into each block and the final stream),
 *    per block: tok.a (affine_1 out), tok.v (token linear out), mid (stream after the token mixer =
 *    affine_2 out = res_affine out), mlp.p1 (act1 out), mlp.h (fc1 out), mlp.p2 (act2 out), and logits.
 *    The pooled stream uses the derived scale s_pool = s_xL * T / 2^pool_shift (pool = rounded shift).
 *  - Activations: the fp32 curve of act1 (with the folded BN) / act2 is evaluated on the 256 input codes
 *    and quantised with the output scale (lut.h). In lut64 mode (default) the network uses the 64-entry
 *    hardware form with its interpolation, in the fake-quant forward as in the integer engine.
 *
 * Fake-quant forward. Values are code/s; the forward computes the codes exactly (products of int8 codes
 * summed in float are exact below 2^24, so fan-in <= 1023), so it is bit-identical to the integer engine
 * by construction and the gradients see the real quantised network. Backward: straight-through for
 * values inside the clamp range, LSQ step gradients (grad scale 1/sqrt(numel*127)) for every quantiser,
 * including weight and bias quantisers (their steps are functions of the point scales).
 * Core rules apply: no printing, errors in ctx. */
#ifndef RM_QUANT_H
#define RM_QUANT_H
#include "fold.h"
#include "data.h"
#include "train.h"
#include "int_engine.h"

/* ---- quant points and layers ----------------------------------------------------------------- */

enum { RM_QP_A = 0, RM_QP_V, RM_QP_MID, RM_QP_P1, RM_QP_H, RM_QP_P2, RM_QP_PER_BLOCK };
static inline int rm_qp_input(void) { return 0; }
static inline int rm_qp_x(int l) { return 1 + l; }                                   /* l = 0..L */
static inline int rm_qp_block(int L, int l, int which) { return 2 + L + l * RM_QP_PER_BLOCK + which; }
static inline int rm_qp_logits(int L) { return 2 + L + L * RM_QP_PER_BLOCK; }
static inline int rm_qp_count(int L) { return 3 + L + L * RM_QP_PER_BLOCK; }
#define RM_QP_MAX (3 + RM_MAXL + RM_MAXL * RM_QP_PER_BLOCK)
#define RM_QP_POOL (-1)   /* layer input "point" of the classifier: the pooled stream */

enum { RM_QL_LINEAR = 0, RM_QL_AFFINE, RM_QL_TOKEN };
enum { RM_QL_TOK_A1 = 0, RM_QL_TOK_LIN, RM_QL_TOK_A2, RM_QL_TOK_RES, RM_QL_MLP_RES, RM_QL_FC1, RM_QL_FC2, RM_QL_PER_BLOCK };
static inline int rm_ql_embed(void) { return 0; }
static inline int rm_ql_block(int l, int which) { return 1 + l * RM_QL_PER_BLOCK + which; }
static inline int rm_ql_cls(int L) { return 1 + L * RM_QL_PER_BLOCK; }
#define RM_QL_MAX (2 + RM_MAXL * RM_QL_PER_BLOCK)

typedef struct rm_qlayer {
    char name[64];        /* e.g. "layers.0.tok.linear" (folded tensor prefix) */
    int kind;             /* RM_QL_* : LINEAR (OC,IC), AFFINE (per channel), TOKEN (T,T across tokens) */
    int in_qp, out_qp;    /* quant points (in_qp RM_QP_POOL for the classifier) */
    int OC, IC;           /* AFFINE: IC = 1 */
    float *w, *b;         /* folded parameters (w (OC,IC) or (OC)), b (OC) */
    float *gw, *gb;       /* their gradients */
    int *k;               /* (OC) shifts, 1..30 */
    float *sw;            /* (OC) weight scale at the last shift derivation (QAT re-derivation) */
} rm_qlayer;

struct rm_fq_cache;

typedef struct rm_qmodel {
    rm_folded *f;                 /* owned: the float parameters QAT trains */
    int lut64;                    /* 1: 64-entry hardware tables (default), 0: 256-entry */
    int lut_edge;                 /* RM_LUT_EDGE_* top segment of the 64-entry form (lut.h; default extend) */
    int nq;
    float A[RM_QP_MAX];           /* abs-max per quant point (learnable) */
    float gA[RM_QP_MAX];
    int qp_used[RM_QP_MAX];
    int nl;
    rm_qlayer layer[RM_QL_MAX];
    int pool_shift;
    float mean[4], std[4];        /* input normalisation (from the data set used for calibration) */
    int img_c, img_h, img_w;
    int *kmem;
    float *swmem;
    struct rm_fq_cache *fq;       /* fake-quant caches (opaque) */
    int fq_B;                     /* batch the caches were built for */
} rm_qmodel;

/* ---- scalar helpers (shared with tests and the HLS emitter) ---------------------------------- */

static inline float rm_q_scale(float absmax) { return 128.0f / absmax; }
/* code of v at scale s: clamp(round_half_up(v*s), -128, 127); NaN -> 0 */
int rm_q_code(float v, float s);
/* weight scale tied to the point scales by the shift k: 2^k * s_y / s_x */
float rm_q_wscale(float s_x, float s_y, int k);
/* a quant point's name ("input", "x.2", "layers.1.mid", "logits", ...) */
void rm_qp_name(int L, int qp, char *buf, size_t n);

/* ---- model ------------------------------------------------------------------------------------ */

/* wrap a folded model (ownership moves to the quantised model, also on failure); A = 1 everywhere,
 * shifts 1, normalisation from ds (CIFAR-10 defaults if NULL) */
int rm_qmodel_new(rm_ctx *ctx, rm_qmodel **out, rm_folded *f, int lut64, const rm_dataset *ds);
void rm_qmodel_free(rm_qmodel *q);
/* scale of a quant point (RM_QP_POOL: the derived pooled scale) */
float rm_qmodel_scale(const rm_qmodel *q, int qp);
/* derive every layer's shifts from the current scales:
 *  init: k = clamp(floor(log2(s_x * s_wnat / s_y)), 1, 30) with s_wnat = 128/max|w_row| (no weight clips);
 *  reround (QAT, after each epoch): k = clamp(round(log2(s_x * sw / s_y)), 1, 30), sw the stored scale. */
enum { RM_SHIFT_INIT = 0, RM_SHIFT_REROUND = 1 };
void rm_qmodel_derive_shifts(rm_qmodel *q, int mode);

/* ---- calibration ------------------------------------------------------------------------------ */

typedef struct rm_calib_opts {
    int obs_images;          /* images of the calibration set observed (0 = all) */
    int val_images;          /* validation images per percentile (0 = all) */
    int npct;                /* percentiles to try (default the paper's 13: 10,20,..,90,92,95,97,100) */
    float pct[32];
    int path;                /* engine for the validation runs (RM_IE_AUTO) */
    int lut_edge;            /* RM_LUT_EDGE_* of the 64-entry tables (default extend) */
} rm_calib_opts;
rm_calib_opts rm_calib_defaults(void);

typedef struct rm_calib_result {
    int npct;
    float pct[32], acc[32];  /* validation accuracy (integer engine) per percentile */
    int best;                /* index of the chosen percentile */
} rm_calib_result;

/* Record per-sample abs-max at every point over calib (fp32 folded forward, no augmentation), then for
 * each percentile set A (mean of the candidates sharing a point), derive shifts (init) and measure the
 * integer accuracy on val; keep the best. */
int rm_quant_calibrate(rm_ctx *ctx, rm_qmodel *q, const rm_dataset *calib, const rm_dataset *val,
                       const rm_calib_opts *o, rm_calib_result *res);

/* 80/20 split of a training set (first 80% / last 20%), copies */
int rm_quant_split(rm_ctx *ctx, const rm_dataset *train, rm_dataset *part80, rm_dataset *part20);

/* post-training quantisation: fold m, split train 80/20, calibrate. *out is a new quantised model. */
int rm_quant_ptq(rm_ctx *ctx, const rm_model *m, const rm_dataset *train, int lut64, const rm_calib_opts *o,
                 rm_qmodel **out, rm_calib_result *res);

/* ---- fake-quant forward / backward ------------------------------------------------------------ */

/* Forward of B images (indices idx into ds, augmented with aug/seed like rm_make_batch). Writes logits
 * codes (B,K) and, if non-NULL, values (codes / s_logits) and the int8 stream after every sublayer
 * (B, 2L, T, D) as the integer engine dumps it. There is no train/eval difference (no BatchNorm left):
 * the caches for rm_fq_backward are always kept; `train` is reserved. If xf != NULL it receives the
 * normalised fp32 input (B,T,P) of the same images (for a teacher). */
int rm_fq_forward(rm_ctx *ctx, rm_qmodel *q, const rm_dataset *ds, const int *idx, int B, int aug, uint64_t seed,
                  int train, int8_t *logit_codes, float *logit_vals, int8_t *dump, float *xf);
/* Backward of the last train forward for dlogits (B,K) (gradient w.r.t. the logit values):
 * ACCUMULATES into q->f->gmem and q->gA. */
int rm_fq_backward(rm_ctx *ctx, rm_qmodel *q, const float *dlogits);
void rm_qmodel_zero_grad(rm_qmodel *q);

/* ---- QAT -------------------------------------------------------------------------------------- */

typedef struct rm_qat_opts {
    int epochs;              /* 50 */
    int batch;               /* 128 */
    float lr, lr_min;        /* AdamW 1e-4 cosine to 1e-5, wd 0 */
    float wd;
    float alpha, T;          /* KD: 0.8, 1 */
    uint64_t seed;           /* 2023 */
    int aug;                 /* RM_AUG_CROPFLIP */
    int limit;               /* only the first `limit` training images (0 = all) */
    int path;                /* engine for the per-epoch validation */
    const rm_dataset *val;   /* evaluated (integer engine) after each epoch when non-NULL */
    rm_train_cb cb; void *ud;/* progress (test_acc = integer accuracy on val) */
    double report_s;
} rm_qat_opts;
rm_qat_opts rm_qat_defaults(void);

typedef struct rm_qat_result {
    int epochs_done, interrupted;
    float last_loss;
    float val_acc;           /* integer accuracy on val after the last epoch (-1 if no val) */
    double imgs_per_s;
} rm_qat_result;

/* QAT of q on train (the 80% part of rm_quant_split; o->val the 20% part) with KD from teacher (an fp32
 * model in eval mode: the model q was folded from, or the recipe's teacher; NULL = plain cross-entropy).
 * Trains the folded parameters, the activation curves and every abs-max; shifts are re-derived
 * (reround) after each epoch. Deterministic for a given seed, independent of the thread count. */
int rm_qat(rm_ctx *ctx, rm_qmodel *q, rm_model *teacher, const rm_dataset *train, const rm_qat_opts *o,
           rm_qat_result *res);

/* ---- export, file, verify --------------------------------------------------------------------- */

/* the integer network of q (tables, quantised weights, shifts, pixel table), prepared for the engines */
int rm_quant_export(rm_ctx *ctx, rm_qmodel *q, rm_qnet **out);

/* Quantised model file (safetensors): metadata format "resmlp-int8-1" plus the architecture; int8
 * tensors "int.*" (the integer network: weights, biases, shifts, tables, pixel table) that an integer
 * implementation needs, and the float state "fold.*" (folded parameters) and "quant.<point>.abs_max",
 * "quant.<layer>.sw" (F32) that the fake-quant model (verify, further QAT) needs. SIMD-block pruning masks
 * (prune.h) of the embed / token / channel / classifier linears go in as "int.<layer>.prune" {SIMD, blocks}
 * and "int.<layer>.pruned_blocks" (I32); load checks them (SIMD divides the inputs, the block count, the
 * block list, zero codes in the pruned blocks: one error naming the layer) and sets them on the network
 * (rm_qnet_set_pruned) and on the float state (QAT keeps the pruned weights zero). */
int rm_qmodel_save(rm_ctx *ctx, const char *path, rm_qmodel *q, const rm_qnet *net);
/* load; either output may be NULL. qout needs the float state in the file. */
int rm_qmodel_load(rm_ctx *ctx, const char *path, rm_qmodel **qout, rm_qnet **netout);

typedef struct rm_verify_report {
    int n;                       /* images */
    int int_correct, fq_correct, fp_correct;   /* integer engine, fake-quant, fp32 folded */
    int logit_mismatch_images;   /* images whose int8 logits differ (integer vs fake-quant) */
    long block_mismatch;         /* int8 stream values that differ, over all sublayer outputs */
    int first_mismatch;          /* first image with any difference, -1 if none */
    double err_mean, err_std, err_max;         /* |logit error| integer vs fake-quant (float units) */
    double fp_err_mean, fp_err_std, fp_err_max;/* |logit error| fake-quant vs fp32 */
    int path;                    /* engine used */
    double int_imgs_per_s;
    int nstat;                   /* per-layer integer statistics (reference engine, stat_images) */
    int stat_images;
    rm_ie_stat stat[RM_IE_MAXSTAT];
    int lut_err_max;             /* max |64-entry - 256-entry| table difference over all channels */
    int lut_edge;                /* the network's RM_LUT_EDGE_* */
    int edge_images;             /* images of the lut_edge comparison (the stats images, at least 1) */
    long edge_lookups, edge_top; /* table reads, of them in the top segment u >= 252 */
    long edge_wrong[RM_LUT_EDGE_N];
    double edge_mean[RM_LUT_EDGE_N], edge_top_mean[RM_LUT_EDGE_N];
    int edge_max[RM_LUT_EDGE_N]; /* code error of each lut_edge mode on these images (lut_edge.h) */
} rm_verify_report;

/* integer engine vs fake-quant (every sublayer output compared) vs fp32 on ds (first `limit` images,
 * 0 = all), plus per-layer statistics on the first stat_images images */
int rm_quant_verify(rm_ctx *ctx, rm_qmodel *q, const rm_qnet *net, const rm_dataset *ds, int limit, int path,
                    int stat_images, rm_verify_report *rep);

/* the report as text (multi-line, for the host to print); returns the length written (truncated to cap) */
int rm_quant_verify_text(const rm_verify_report *r, char *buf, size_t cap);

/* ---- activation curves (plots and reports) --------------------------------------------------- */

/* For activation slot (0 = act1, 1 = act2) of block l, channel ch: the 256 input values x (dequantised
 * codes), the fp32 curve y_fp, the 256-entry table and the 64-entry interpolation, dequantised. Any
 * output may be NULL. Returns the 64-entry form's max error in output codes, or -1 if no table. */
int rm_quant_curve(rm_qmodel *q, int l, int slot, int ch, float *x, float *y_fp, float *y256, float *y64);
/* per-channel max error (codes) of the 64-entry form for slot of block l into err (C); returns C or -1 */
int rm_quant_lut_errors(rm_qmodel *q, int l, int slot, int *err);
#endif
