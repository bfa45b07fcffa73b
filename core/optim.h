/* optim.h - optimisers over a model's flat parameter/gradient arrays: AdamW (decoupled weight decay)
 * and SGD with momentum, per-group learning rates (main weights vs learned activations, so B-spline
 * coefficients can use their own Adam), frozen tensors skipped, cosine annealing schedule.
 * State (m, v or momentum) mirrors the parameter allocation. */
#ifndef RM_OPTIM_H
#define RM_OPTIM_H
#include "model.h"

enum { RM_OPT_ADAMW = 0, RM_OPT_SGD = 1 };

typedef struct rm_optim_cfg {
    int kind;
    float lr, lr_min;          /* main group: base lr and cosine floor (eta_min) */
    float act_lr, act_lr_min;  /* learned-activation group */
    float wd;                  /* decoupled weight decay, main group weights only */
    float beta1, beta2, eps;   /* Adam */
    float momentum;            /* SGD */
    int cosine;                /* 1 = cosine from lr to lr_min over total epochs, 0 = constant */
} rm_optim_cfg;

typedef struct rm_optim {
    rm_optim_cfg cfg;
    size_t n;
    float *m, *v;              /* (n) each; v unused for SGD */
    long step;                 /* Adam step count (bias correction) */
    float cur_lr, cur_act_lr;
} rm_optim;

rm_optim_cfg rm_optim_default(void);   /* AdamW lr 1e-3 -> 1e-5 cosine, wd 0 (the paper) */
int rm_optim_init(rm_ctx *ctx, rm_optim *o, const rm_model *m, const rm_optim_cfg *cfg);
void rm_optim_free(rm_optim *o);
/* learning rates for epoch e of total (cosine annealing, stepped per epoch like CosineAnnealingLR) */
void rm_optim_set_epoch(rm_optim *o, int epoch, int total);
void rm_optim_step(rm_optim *o, rm_model *m);
#endif
