/* net_est.h - the folding cycle model of a layer-list net (linear and conv layers) as FINN's MVAU computes
 * it, with SIMD-block pruning (core/prune.h). Each weight layer is one matrix-vector unit with PE output
 * lanes and SIMD input lanes; per output position (a conv's oh*ow, a linear's 1) it takes
 *     NF * SF cycles,  NF = OC / PE neuron folds,  SF = IC / SIMD synapse folds
 * (IC = a conv's cin*k*k, in the weight's column order (c, ky, kx), the order pruning blocks follow).
 * A synapse fold whose SIMD inputs all lie in pruned blocks reads only zero weights and is skipped, so a
 * pruned layer takes NF * (SF - skipped) cycles per position. When the hardware SIMD equals the pruning
 * SIMD every pruned block is one skipped fold; a smaller SIMD dividing it skips pruning_SIMD / SIMD folds
 * per block; a larger one skips a fold only when all its blocks are pruned. Binary layers skip nothing:
 * a pruned binary weight is still +-1 in the integer engine (bnn_impl.h), so its folds must run.
 * Totals: the sum over layers (one image through the layers in turn) and the largest layer (the
 * initiation interval of a dataflow pipeline with one unit per layer, FINN's throughput bound). */
#ifndef RM_HLS_NET_EST_H
#define RM_HLS_NET_EST_H
#include "ctx.h"
#include "core/model.h"
#include "core/wlayers.h"

typedef struct rm_net_est_layer {
    char name[48];            /* "conv 0", "linear 4" (the net layer index) */
    int layer, conv, binary;  /* net layer index; a conv; binary weights (pruned folds not skipped) */
    int oc, ic, pix;          /* outputs, inputs per output, output positions */
    int pe, simd;             /* lanes */
    int nf, sf;               /* neuron and synapse folds */
    int psimd, pblocks, npruned;   /* the pruning mask: SIMD, blocks, pruned blocks (0 0 0: none) */
    int skipped;              /* synapse folds skipped (all their inputs pruned; 0 for binary layers) */
    long cycles_dense, cycles;
} rm_net_est_layer;

typedef struct rm_net_est {
    int n;
    rm_net_est_layer l[RM_MAX_WLAYERS];
    long total_dense, total;  /* sum over the layers */
    long ii_dense, ii;        /* the slowest layer */
    double clock_ns;
} rm_net_est;

/* the model above for net m (its masks, if any); pe / simd: per weight layer lists as `prune simd=` takes
 * them ("4,8,2"; a short list repeats its last entry); NULL: PE 1 and SIMD = the layer's pruning SIMD (the
 * auto choice, prune.h, without masks). PE must divide OC and SIMD IC: errors name the layer. */
int rm_hls_net_estimate(rm_ctx *ctx, const rm_model *m, const char *pe, const char *simd, double clock_ns, rm_net_est *e);
/* a table (per layer: shape, PE, SIMD, folds, pruned blocks, skipped folds, cycles dense and pruned) and
 * the totals; snprintf semantics */
int rm_hls_net_estimate_format(const rm_net_est *e, char *buf, size_t n);
#endif
