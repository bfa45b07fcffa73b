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

/* save m; if opt and st are non-NULL the optimiser moments and training state are included */
int rm_checkpoint_save(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt, const rm_train_state *st);
/* load a model from path (builds a new model from the metadata) */
int rm_checkpoint_load(rm_ctx *ctx, const char *path, rm_model **out);
/* load optimiser state + training state saved with the model (opt must be initialised for m) */
int rm_checkpoint_load_state(rm_ctx *ctx, const char *path, const rm_model *m, rm_optim *opt, rm_train_state *st);
#endif
