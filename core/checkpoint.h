/* checkpoint.h - models (and optionally optimiser state for resuming) as safetensors files.
 * Tensor names are the reference PyTorch state_dict keys; `__metadata__` describes the architecture
 * (format, act, hidden, embed, layers, tokens, patch_dim, classes, patch and the activation settings)
 * so loading rebuilds the model. Writes are atomic (see safetensors.h). */
#ifndef RM_CHECKPOINT_H
#define RM_CHECKPOINT_H
#include "model.h"
#include "optim.h"

typedef struct rm_train_state {   /* optional, for resumable runs */
    int epoch;                    /* next epoch to run */
    int total_epochs;
    uint64_t seed;
    char phase[32];               /* e.g. "kd", "kt2", "train" */
} rm_train_state;

/* save m's weights (parameters and BatchNorm statistics, reference names: nothing a plain
 * load_state_dict rejects). If opt and st are non-NULL the optimiser moments and training state go to
 * the sibling file rm_checkpoint_optim_path(path) (written first; it records a hash of the weights so a
 * stale sibling is refused on resume). */
int rm_checkpoint_save(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt, const rm_train_state *st);
/* one file with weights AND optimiser state (tensors optim.m.NAME / optim.v.NAME): `--with-optimizer` */
int rm_checkpoint_save_with_optimizer(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt,
                                      const rm_train_state *st);
/* rm_checkpoint_save plus one more metadata pair (e.g. "train.history"; key NULL: none) */
int rm_checkpoint_save_extra(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt,
                             const rm_train_state *st, const char *key, const char *val);
/* a copy (malloc) of metadata `key` of the checkpoint at path in *out, NULL when absent */
int rm_checkpoint_meta(rm_ctx *ctx, const char *path, const char *key, char **out);
/* PATH.safetensors -> PATH.optim.safetensors (any other name: NAME.optim.safetensors) */
void rm_checkpoint_optim_path(const char *path, char *out, size_t n);
/* load a model from path (builds a new model from the metadata) */
int rm_checkpoint_load(rm_ctx *ctx, const char *path, rm_model **out);
/* load optimiser state + training state saved with the model (opt must be initialised for m): from the
 * file itself when it holds them (--with-optimizer), else from its sibling, which must match m's
 * weights (m as loaded from path) */
int rm_checkpoint_load_state(rm_ctx *ctx, const char *path, const rm_model *m, rm_optim *opt, rm_train_state *st);
#endif
