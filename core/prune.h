/* prune.h - SIMD-block structured pruning (FINN-folding aware). Each weight layer's input dimension is cut
 * into blocks of SIMD consecutive inputs; a block is the (rows x SIMD) column slab of the weight matrix,
 * i.e. SIMD inputs for every output, which is what one folded MVAU step reads. Pruning zeroes whole blocks
 * (smallest L1 or L2 norm first), so the pruned input count is always a multiple of SIMD and the folding
 * stays valid: a pruned block is a fold the hardware never runs. Sparsity rises step by step; blocks
 * pruned once stay pruned.
 *
 * The masks live on the model (rm_model.prune) and are honoured everywhere weights change:
 * rm_model_params_changed zeroes masked weights (so after every optimiser step and every load they are
 * zero again), checkpoints carry them in __metadata__ "prune", GPFQ sees zeros, the folded model keeps them
 * through QAT, the integer engines (ResMLP: rm_prune_to_qnet; nets: bnn.c) skip the pruned blocks, `hls emit`
 * writes loops over the kept blocks only, and `hls estimate` drops pruned blocks from each matmul's input
 * count. Conv layers prune (OC, IC*k*k) columns
 * the same way. */
#ifndef RM_PRUNE_H
#define RM_PRUNE_H
#include "model.h"
#include "wlayers.h"

typedef struct rm_prune_layer {
    char name[96];          /* weight tensor */
    int rows, cols, simd;   /* simd divides cols */
    int kind, index;        /* the weight layer's RM_WL_* and index (wlayers.h) */
    int nblocks, npruned;
    uint8_t *mask;          /* (nblocks) 1 = pruned */
} rm_prune_layer;

typedef struct rm_prune {
    int n;
    rm_prune_layer l[RM_MAX_WLAYERS];
} rm_prune;

enum { RM_PRUNE_L1 = 1, RM_PRUNE_L2 = 2 };

/* the largest divisor of cols that is <= 16 (FINN's usual SIMD range) */
int rm_prune_auto_simd(int cols);
/* SIMD per weight layer from "9,16,16,12,8,6" (a short list repeats its last entry; "auto" or NULL: the
 * auto choice per layer); errors name the layer whose input count a SIMD does not divide */
int rm_prune_simd_list(rm_ctx *ctx, const rm_model *m, const char *list, int *simd, int max);
/* raise every layer to `sparsity` (fraction of its blocks, rounded down): the unpruned blocks with the
 * smallest norm are added to the mask, then weights are zeroed. The first call creates the masks with simd
 * (per weight layer, rm_wlayers order; NULL: the auto choice); later calls must keep the same SIMD. */
int rm_prune_step(rm_ctx *ctx, rm_model *m, const int *simd, double sparsity, int norm);
/* zero the masked weights (rm_model_params_changed calls this) */
void rm_prune_apply(rm_model *m);
void rm_prune_free(rm_model *m);
int rm_prune_copy(rm_ctx *ctx, rm_model *dst, const rm_model *src);   /* dst gets src's masks (or none) */
/* pruned input count of the layer with this weight name (0 if none) */
int rm_prune_pruned_inputs(const rm_model *m, const char *name);
/* fraction of the model's prunable weights that are masked */
double rm_prune_sparsity(const rm_model *m);
/* a deep copy of masks (NULL in, NULL out; NULL when out of memory too: check p != NULL) and its release */
rm_prune *rm_prune_dup(const rm_prune *p);
void rm_prune_release(rm_prune *p);
/* a ResMLP's masks (NULL: nothing) onto its integer network (rm_qnet_set_pruned per weight layer, so the
 * integer engines skip the pruned blocks). Call before rm_qnet_prepare. */
struct rm_qnet;
int rm_prune_to_qnet(rm_ctx *ctx, const rm_prune *p, struct rm_qnet *q);
/* The integer model files' form of one layer's mask (quant_io.c, bnn_io.c): tensor "<prefix>.prune" I32 (2) =
 * {SIMD, block count} and "<prefix>.pruned_blocks" I32 (npruned), the pruned block indices ascending.
 * rm_prune_st_fill writes {simd, nblocks, pruned blocks...} into out (2 + nblocks entries at most) and returns
 * npruned. rm_prune_st_read reads them back for a layer of `cols` inputs: *mask NULL when the file has none
 * (dense), else a malloc'd (cols / *simd) mask; a SIMD that does not divide cols, a block count other than
 * cols / SIMD, a block index out of range or repeated: one error naming `label`. (Whether the pruned blocks
 * hold zero weights is the caller's check.) */
struct rm_st_file;
int rm_prune_st_fill(int simd, int nblocks, const uint8_t *mask, int32_t *out);
int rm_prune_st_read(rm_ctx *ctx, const struct rm_st_file *f, const char *prefix, const char *label, int cols,
                     int *simd, uint8_t **mask);
/* "name:simd:hex;..." for checkpoints (malloc'd, NULL when the model has no masks) and back */
char *rm_prune_format(const rm_model *m);
int rm_prune_parse(rm_ctx *ctx, rm_model *m, const char *text);
#endif
