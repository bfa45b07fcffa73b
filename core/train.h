/* train.h - training and evaluation loops: cross-entropy, knowledge distillation (KD) from a teacher,
 * knowledge transfer (KT: one block matches the teacher's stream by MSE), optional TV2 regulariser.
 * The host gets progress through a callback (the core never prints); Ctrl-C is a flag in the ctx
 * checked between batches; a non-finite loss stops before the bad step is applied. */
#ifndef RM_TRAIN_H
#define RM_TRAIN_H
#include "model.h"
#include "optim.h"
#include "data.h"
#include "checkpoint.h"

typedef struct rm_train_stats {
    int phase;              /* 0 = CE or KD training, 1 = KT */
    int kt_block;
    int epoch, epochs;      /* 0-based epoch, total */
    int step, steps;        /* within the epoch */
    float loss;             /* running mean loss of this epoch so far */
    float train_acc;        /* running accuracy this epoch (CE/KD phases) */
    float lr;
    double imgs_per_s, elapsed_s, eta_s;
    int have_test;
    float test_acc, test_loss;  /* filled at epoch end when a test set is given */
} rm_train_stats;

/* return non-zero to stop training at this safe point */
typedef int (*rm_train_cb)(void *ud, const rm_train_stats *s, int epoch_end);

typedef struct rm_train_opts {
    int epochs;             /* total epochs of the schedule */
    int start_epoch;        /* resume from here (0 = fresh) */
    int batch;              /* 128 */
    uint64_t seed;          /* 2023 */
    int aug;                /* RM_AUG_* flags */
    int limit;              /* use only the first `limit` training images (0 = all) */
    rm_model *teacher;      /* KD / KT teacher (eval mode) or NULL */
    float alpha, T;         /* KD: 0.8, 1 */
    int kt_block;           /* >= 0: knowledge transfer for this block; -1 = normal training */
    float tv2;              /* B-spline TV2 lambda (1e-5) */
    const rm_dataset *test; /* evaluated at each epoch end when non-NULL */
    rm_train_cb cb; void *ud;
    double report_s;        /* callback period for progress (seconds); 0 = every step */
    const char *ckpt_path;  /* if set: after every epoch save the model here and optimiser + state in its
                             * .optim sibling (atomic; see checkpoint.h) */
    int ckpt_with_optimizer; /* 1: the optimiser state inside ckpt_path instead (--with-optimizer) */
    const char *phase;      /* phase name stored with that checkpoint ("train", "kt0".."kt3", "kd") */
} rm_train_opts;

rm_train_opts rm_train_defaults(void);

typedef struct rm_train_result {
    int epochs_done;        /* completed epochs (absolute index of the next epoch to run) */
    int interrupted;        /* stopped by Ctrl-C flag or callback */
    int steps_done;         /* steps finished in the epoch that was running when stopped (0: at an epoch end) */
    int steps_per_epoch;
    long images;            /* images trained on in this call */
    float last_loss;
    double imgs_per_s;
} rm_train_result;

/* "after 2 epochs and 37/390 steps of epoch 3 (19,456 images)" into buf: where a stopped run stood */
void rm_train_stopped_at(const rm_train_result *r, char *buf, size_t n);

/* Train for epochs [start_epoch, epochs). The optimiser is owned by the caller (so it can be saved). */
int rm_train(rm_ctx *ctx, rm_model *m, rm_optim *opt, const rm_dataset *ds, const rm_train_opts *o,
             rm_train_result *res);
/* Top-1 accuracy and mean CE loss (eval mode). Records activation input statistics if m->record_stats. */
int rm_evaluate(rm_ctx *ctx, rm_model *m, const rm_dataset *ds, int batch, float *acc, float *loss);
#endif
