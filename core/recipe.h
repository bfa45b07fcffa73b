/* recipe.h - the paper's two-phase student recipe on top of rm_train:
 *   1. knowledge transfer (KT): copy + freeze the teacher's embed_linear; for block b = 0..L-1 train
 *      block b alone so its output stream matches the teacher's (MSE), kt_epochs per block, AdamW,
 *      constant lr;
 *   2. knowledge distillation (KD): everything unfrozen, alpha*T^2*KL + (1-alpha)*CE, AdamW with cosine
 *      annealing to lr_min, kd_epochs. B-spline students add lambda*TV2 in both phases and give their
 *      coefficients their own Adam (spline_lr).
 * With ckpt_path set, every epoch saves model + optimiser + phase/epoch; resume continues from it and
 * reaches the same weights as an uninterrupted run. */
#ifndef RM_RECIPE_H
#define RM_RECIPE_H
#include "train.h"

typedef struct rm_recipe_opts {
    int kt_epochs, kd_epochs;        /* paper: 50 per block, 300 */
    float kt_lr;                     /* 1e-3, constant */
    float kd_lr, kd_lr_min;          /* 1e-3 -> 1e-5 cosine */
    float spline_lr;                 /* B-spline coefficients' own Adam lr (1e-3) */
    float wd;                        /* 0 */
    float alpha, T;                  /* 0.8, 1 */
    float tv2;                       /* 1e-5 */
    int batch, aug, limit;
    uint64_t seed;
    const rm_dataset *test;          /* evaluated after each KD epoch if set */
    rm_train_cb cb; void *ud;
    double report_s;
    const char *ckpt_path;           /* per-epoch checkpoint (resumable) or NULL */
    int resume;                      /* continue from ckpt_path's saved phase/epoch */
    int ckpt_with_optimizer;         /* optimiser state inside ckpt_path (else its .optim sibling) */
} rm_recipe_opts;

rm_recipe_opts rm_recipe_defaults(void);   /* the paper's values */

typedef struct rm_recipe_result {
    int interrupted;
    char phase[32];                  /* phase reached ("kt0".."kd", "done") */
    int epochs_done;                 /* within that phase */
} rm_recipe_result;

/* Train `student` from `teacher` (same embed width and block count). */
int rm_recipe_student(rm_ctx *ctx, rm_model *student, rm_model *teacher, const rm_dataset *train,
                      const rm_recipe_opts *o, rm_recipe_result *res);
#endif
