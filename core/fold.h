/* fold.h - the deployment form of a trained ResMLP, before quantisation (the paper's INT8 section):
 *  - every BatchNorm (eval statistics) becomes a per-channel affine w = gamma/sqrt(var+eps),
 *    b = beta - mean*w;
 *  - the head BN is folded into the classifier (it commutes with the token mean);
 *  - the channel-MLP BN is folded into fc1 (ReLU/GELU models) or becomes the input affine of the first
 *    learned activation (LERP-PSA, B-spline: the lookup table absorbs it);
 *  - the channel-MLP LayerScale is folded into fc2;
 *  - each sublayer gets a per-channel `res_affine` (init 1, 0) on its skip path, so both branches can be
 *    brought to one scale before the integer add;
 *  - the token mixer keeps its BN (`affine_1`) and LayerScale (`affine_2`) as per-channel affines
 *    around the 64x64 token linear.
 * Folded network, per block (x is (B,T,D) row-major, affines per channel d):
 *    x_mid  = (a2_w * (W_tok @ (a1_w*x + a1_b) over tokens + b_tok) + a2_b) + (res_w*x + res_b)
 *    x_next = fc2(act2(fc1(act1(in_w*x_mid + in_b)))) + (res2_w*x_mid + res2_b)   (act1 only if learned)
 *    logits = cls(mean_t x_L)
 * The folded parameters live in one allocation with a tensor table (names below), gradients mirror it,
 * so the quantiser can train them (QAT). This file only folds and runs the fp32 forward; it does not
 * quantise (quant.h) and does not train. */
#ifndef RM_FOLD_H
#define RM_FOLD_H
#include "model.h"

/* observation sites for range calibration: per-sample abs-max of a tensor of the fp32 forward */
enum { RM_SITE_INPUT = 0, RM_SITE_EMBED, RM_SITE_POOL, RM_SITE_LOGITS, RM_SITE_GLOBAL };
enum { RM_SITE_TOK_A1 = 0, RM_SITE_TOK_LIN, RM_SITE_TOK_A2, RM_SITE_MID, RM_SITE_ACT1, RM_SITE_FC1,
       RM_SITE_ACT2_IN, RM_SITE_ACT2, RM_SITE_FC2, RM_SITE_XOUT, RM_SITE_PER_BLOCK };
static inline int rm_site(int block, int s) { return RM_SITE_GLOBAL + block * RM_SITE_PER_BLOCK + s; }
#define RM_NSITES_MAX (RM_SITE_GLOBAL + RM_MAXL * RM_SITE_PER_BLOCK)

typedef struct rm_folded {
    rm_model_cfg cfg;
    int has_act1;          /* learned activation before fc1 (lerp_psa, bspline) */
    int act2_lut;          /* activation after fc1 becomes a table (everything but ReLU) */
    size_t nparams;
    float *mem, *gmem;     /* parameters, gradients (same layout) */
    int ntensors;
    rm_ptensor *tensors;   /* names: see rm_fold_new */
    struct { float *w, *b; } embed;                                        /* (D,P), (D) */
    struct { float *a1_w, *a1_b, *w, *b, *a2_w, *a2_b, *res_w, *res_b; } tok[RM_MAXL]; /* w (T,T), b (T) */
    struct { float *res_w, *res_b, *in_w, *in_b, *act1, *fc1_w, *fc1_b, *act2, *fc2_w, *fc2_b; } mlp[RM_MAXL];
    float *cls_w, *cls_b;                                                  /* (K,D), (K) */
    float *actwork[RM_MAXL][2];  /* activation work areas (LERP tables) */
    struct rm_prune *prune;      /* owned copy of the model's SIMD-block pruning masks (prune.h) or NULL:
                                  * rm_folded_params_changed zeroes the pruned weights (QAT keeps them 0) */
    int act_ready;
    /* fp32 forward cache (rm_folded_forward) */
    int Bcap;
    float *cmem;
    float *xs[2 * RM_MAXL + 1];  /* stream after embed and after every sublayer, (B,T,D) */
    float *logits;               /* (B,K) */
    float *t0, *t1, *t2, *h0, *h1, *pooled;
} rm_folded;

/* an empty folded model for cfg (parameters zero, res_affine 1/0); tensor names:
 *   embed.weight/.bias, layers.<l>.tok.affine_1.*, layers.<l>.tok.linear.*, layers.<l>.tok.affine_2.*,
 *   layers.<l>.tok.res_affine.*, layers.<l>.mlp.res_affine.*, layers.<l>.mlp.in_affine.* (act1 only),
 *   layers.<l>.mlp.act_1.<psa.v_weight...> (act1 only), layers.<l>.mlp.linear_1.*,
 *   layers.<l>.mlp.act_2.<...> (learned act only), layers.<l>.mlp.linear_2.*, classifier.* */
int rm_fold_new(rm_ctx *ctx, rm_folded **out, const rm_model_cfg *cfg);
/* fold a trained model (BN running statistics, eps 1e-5) */
int rm_fold(rm_ctx *ctx, const rm_model *m, rm_folded **out);
void rm_folded_free(rm_folded *f);
int rm_folded_copy(rm_ctx *ctx, rm_folded *dst, const rm_folded *src);
/* call after parameters change (activation tables are rebuilt lazily) */
void rm_folded_params_changed(rm_folded *f);
/* prepare the activation work areas (LERP tables) for the current parameters */
void rm_folded_prepare_acts(rm_folded *f);

/* fp32 forward (eval) of x (B,T,P) -> f->logits (B,K); stream states in f->xs. If site_max is non-NULL,
 * site_max[s] (when non-NULL) receives the per-sample abs-max (B floats) of site s. */
int rm_folded_forward(rm_ctx *ctx, rm_folded *f, const float *x, int B, float *const *site_max);
#endif
