/* repeat.h - the evaluator of the low-bit network papers: train one configuration N times with different
 * seeds, each with early stopping on a validation split (patience, best weights restored), and report the
 * test accuracy of every run and its max / mean / std (population std, numpy's default). */
#ifndef RM_REPEAT_H
#define RM_REPEAT_H
#include "train.h"

struct rm_repeat_run;

typedef struct rm_repeat_opts {
    int times;              /* runs (10) */
    uint64_t seed;          /* run i uses seed + i for initialisation, shuffling and dropout */
    int patience;           /* stop after this many epochs without a better validation accuracy (0 = never) */
    rm_optim_cfg oc;        /* optimiser of every run */
    rm_train_opts to;       /* epochs, batch, aug, limit...; cb/ud/test/seed are set per run */
    /* progress: called after each run with its index (0-based); return non-zero to stop */
    int (*on_run)(void *ud, int run, const struct rm_repeat_run *r);
    void *ud;
} rm_repeat_opts;

typedef struct rm_repeat_run {
    uint64_t seed;
    int epochs_run;         /* epochs trained before early stopping */
    int best_epoch;         /* 1-based epoch whose weights were kept (the last one without a validation set) */
    float val_acc;          /* best validation accuracy (-1 without a validation set) */
    float test_acc, test_loss;
    double seconds;
} rm_repeat_run;

typedef struct rm_repeat_summary { int runs; float max, mean, std, min; } rm_repeat_summary;

rm_repeat_opts rm_repeat_defaults(void);
/* tmpl gives the architecture (rm_model_new_like); val may be NULL (no early stopping). runs has room for
 * o->times entries. Ctrl-C (ctx->interrupt) stops after the current run's step; finished runs stay. */
int rm_repeat(rm_ctx *ctx, const rm_model *tmpl, const rm_dataset *train, const rm_dataset *val,
              const rm_dataset *test, const rm_repeat_opts *o, rm_repeat_run *runs, rm_repeat_summary *sum);
void rm_repeat_summarise(const rm_repeat_run *runs, int n, rm_repeat_summary *sum);
#endif
