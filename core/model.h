/* model.h - the paper's ResMLP: patch embedding, L blocks of (token mixing, channel MLP) sublayers
 * each x + affine_2(F(affine_1(x))), and a BatchNorm + mean-pool + linear head.
 * All parameters live in one allocation with a struct of pointers into it (grads mirror it); BN running
 * statistics live in a second one. Parameter tensors carry the reference PyTorch state_dict names.
 * Activation caches are allocated once per batch size (rm_model_set_batch); the step loop allocates nothing. */
#ifndef RM_MODEL_H
#define RM_MODEL_H
#include "ctx.h"
#include "act.h"

#define RM_MAXL 16

typedef struct rm_model_cfg {
    int T;          /* tokens (64) */
    int P;          /* patch features (48) */
    int D;          /* embedding width (96) */
    int H;          /* channel-MLP hidden width h */
    int L;          /* blocks (4) */
    int K;          /* classes (10) */
    int patch;      /* patch size (4), for data */
    rm_act_cfg act; /* activation of the channel MLP */
} rm_model_cfg;

rm_model_cfg rm_model_default_cfg(int act_kind, int hidden);

typedef struct rm_params {
    float *embed_w, *embed_b;                           /* (D,P), (D) */
    struct { float *bn_w, *bn_b, *w, *b, *ls_w, *ls_b; } tok[RM_MAXL];   /* bn (D); w (T,T), b (T); ls (D) */
    struct { float *bn_w, *bn_b, *act1, *fc1_w, *fc1_b, *act2, *fc2_w, *fc2_b, *ls_w, *ls_b; } mlp[RM_MAXL];
    float *head_bn_w, *head_bn_b, *cls_w, *cls_b;       /* (D), (D), (K,D), (K) */
} rm_params;

typedef struct rm_bufs {
    float *tok_rm[RM_MAXL], *tok_rv[RM_MAXL], *mlp_rm[RM_MAXL], *mlp_rv[RM_MAXL], *head_rm, *head_rv;
} rm_bufs;

enum { RM_GROUP_MAIN = 0, RM_GROUP_ACT = 1 }; /* optimiser groups: weights/biases; learned activations */

typedef struct rm_ptensor {
    char name[96];
    int ndim;
    int64_t shape[2];
    size_t off, n;   /* offset and size in floats inside the params (or buffers) allocation */
    int group;       /* RM_GROUP_* */
    int block;       /* -1 embed, 0..L-1 blocks, L head */
    int frozen;      /* excluded from the optimiser */
    int fdim;        /* > 0: the file (PyTorch) shape differs from the 2-D view, e.g. conv (OC,IC,k,k) */
    int64_t fshape[4];
} rm_ptensor;

/* pre-activation input statistics, recorded during eval when model->record_stats is set */
#define RM_HIST_BINS 64
typedef struct rm_act_stats {
    double count, sum, sumsq;
    float min, max;
    float hist_lo, hist_hi;                /* histogram range (fixed: [-2R,2R] or [-8,8]) */
    double hist[RM_HIST_BINS];
} rm_act_stats;

typedef struct rm_cache {        /* per batch size activations (all (N,.) with N = B*T) */
    float *xs[2 * RM_MAXL + 1];   /* residual stream states (N,D) */
    struct { float *ut, *vt, *mean, *rstd; } tok[RM_MAXL];
    struct { float *u, *a1, *hpre, *hact, *o, *mean, *rstd; } mlp[RM_MAXL];
    float *hu, *pooled, *logits, *hmean, *hrstd;
    float *d0, *d1, *d2, *dh0, *dh1, *dpooled, *dlogits, *dstream; /* backward scratch */
} rm_cache;

struct rm_net;

typedef struct rm_model {
    rm_model_cfg cfg;            /* ResMLP: the architecture; layer-list nets: K (classes), P (inputs), T = 1 */
    struct rm_net *net;          /* NULL for the ResMLP, else the layer-list network (net.h) */
    struct rm_prune *prune;      /* SIMD-block pruning masks (prune.h), or NULL */
    size_t nparams, nbufs;
    float *mem, *gmem, *bmem;           /* params, grads, BN buffers */
    rm_params p, g;
    rm_bufs buf;
    int ntensors, nbuftensors;
    rm_ptensor *tensors, *buftensors;
    float *actwork[RM_MAXL][2];         /* activation work areas (LERP tables...) */
    int act_ready;                      /* tables built for current params (eval cache) */
    int B, Bcap;                        /* current batch size, capacity the cache is built for */
    float *cmem;
    rm_cache c;
    double *scratch;
    int record_stats;
    rm_act_stats stats[RM_MAXL][2];     /* inputs of act1 (mlp.0) and act2 (mlp.2) per block */
} rm_model;

int rm_model_new(rm_ctx *ctx, rm_model **out, const rm_model_cfg *cfg, uint64_t seed);
/* a layer-list network from its text form (net.h); same model interface as the ResMLP */
int rm_model_new_net(rm_ctx *ctx, rm_model **out, const char *spec, uint64_t seed);
/* a fresh model of tmpl's architecture (either kind), initialised from seed */
int rm_model_new_like(rm_ctx *ctx, rm_model **out, const rm_model *tmpl, uint64_t seed);
/* floats per sample of the forward input: T*P for the ResMLP, C*H*W for a net */
size_t rm_model_input_size(const rm_model *m);
/* one-line description of the architecture ("ResMLP act=relu h=96 ..." or the net's text form) */
void rm_model_describe(const rm_model *m, char *buf, size_t n);
void rm_model_free(rm_model *m);
int rm_model_copy_params(rm_ctx *ctx, rm_model *dst, const rm_model *src); /* same cfg required */
size_t rm_model_trainable_count(const rm_model *m);
const rm_ptensor *rm_model_find(const rm_model *m, const char *name, int *is_buffer);
/* float pointer of a parameter/buffer tensor (NULL if unknown) */
float *rm_model_tensor_data(rm_model *m, const char *name, const rm_ptensor **info);
int rm_model_set_batch(rm_ctx *ctx, rm_model *m, int B);
void rm_model_zero_grad(rm_model *m);
/* call after parameters change (optimiser step, load): activation tables are rebuilt lazily */
void rm_model_params_changed(rm_model *m);

#define RM_FULL (-1)   /* `upto` value: all blocks and the head */
/* Forward x (B,T,P) through `upto` blocks (0..L, no head), or RM_FULL: all blocks + head -> c.logits (B,K).
 * Stream after block b is c.xs[2*(b+1)]. train: BN batch stats + running-stat update. */
int rm_model_forward(rm_ctx *ctx, rm_model *m, const float *x, int B, int train, int upto);
/* Backward after a train forward with the same upto. dlogits (B,K) when upto == RM_FULL, else dstream (N,D)
 * is the gradient w.r.t. the stream after block upto-1. Gradients accumulate into m->g for every
 * tensor of blocks >= from_block (from_block = -1 includes the embedding). */
void rm_model_backward(rm_model *m, const float *x, const float *dlogits, const float *dstream, int upto, int from_block);
/* freeze/unfreeze: blocks < from_block (and embed if freeze_embed) are frozen, blocks >= from, head open */
void rm_model_set_frozen(rm_model *m, int freeze_embed, int frozen_below_block, int freeze_after_block);
/* sum of regularisers (B-spline TV2) times lambda; adds gradient when grad != 0 */
float rm_model_regular(rm_model *m, float lambda, int grad);
void rm_model_reset_stats(rm_model *m);
/* name of an activation slot, e.g. "layers.2.layers.1.layers.0" */
void rm_model_act_name(const rm_model *m, int block, int slot, char *buf, size_t n);
#endif
