/* simd.h - the paper's second architecture, the fixed SIMD design: one 16x16 MAC tile shared by every
 * layer (time-multiplexed), activations in on-chip buffers; its latency model (`hls estimate
 * design=simd`) and its emission (`hls emit design=simd`, emit_simd.c).
 *
 * Latency model. Each layer is one call of the shared processor: Y (N x O) = X (N x K) . W^T, the tile
 * consuming one K-slice of a 16-row x 16-column output tile per cycle, so a call takes
 *     K * ceil(N/16) * ceil(O/16)        MAC cycles (the paper's n_vecs without its skew)
 *   + 4 * 16                             skew: read/transpose, LERP lookup, requantise, write-back stages
 *                                        each run one 16-vector tile behind the previous (the paper's
 *                                        processor adds exactly 4 * TILE_SIZE to its loop count)
 *   + fill                               pipeline fill/drain of the processor loop: 129 cycles, the one
 *                                        calibrated constant (ReLU h=96, 29,215 cycles); the loop body does
 *                                        several run-time 32-bit divisions/modulos, each a pipelined
 *                                        divider of ~35 stages, so a depth of this order is expected
 *   + 16 per call with learned activations (the LUT read + interpolation stages; (29,441 - 29,215)/14)
 * Calls: embed (K=P, N=T, O=D), per block the token mixer (K=T, N=D, O=T, transposed), linear_1 (K=D,
 * N=T, O=h), linear_2 (K=h, N=T, O=D), and the classifier (K=D, N=1, O=16: padded to a tile).
 * Plus, once per image: the input copy (T*P/16 16-byte beats) in parallel with the first weight load
 * ((D*P + 2D)/16 beats; later loads overlap the previous layer's call), the token pool (T*D/16 cycles)
 * and writing the logits (1 beat).
 * SIMD-block pruning (core/prune.h): a call reads only its kept inputs (the kslice loop runs over the kept
 * input list), so its MAC cycles are kept * ceil(N/16) * ceil(O/16), kept = K - the pruned inputs; the
 * estimate reports the dense figures beside. */
#ifndef RM_HLS_SIMD_H
#define RM_HLS_SIMD_H
#include "estimate.h"
#include "model.h"
#include <stddef.h>

#define RM_SIMD_TILE 16
#define RM_SIMD_FILL 129        /* calibrated: see above */
#define RM_SIMD_LUT_FILL 16     /* calibrated: see above */

typedef struct rm_simd_call {
    char name[48];
    int K, N, O;
    int kept;                              /* inputs read (K minus the SIMD-block pruned ones) */
    long mac, skew, fill, total;
} rm_simd_call;

typedef struct rm_simd_est {
    rm_hls_dims dims;
    int ncalls;
    rm_simd_call call[2 + 3 * RM_MAXL];
    long in_copy, first_load, pool, out_write;
    long mac, skew, fill, total;           /* sums over the calls; total = the image latency in cycles */
    long mac_dense, total_dense;           /* the same without pruning (equal when nothing is pruned) */
    double clock_ns, fps;
    long macs;                             /* the tile: 16 x 16 multipliers */
} rm_simd_est;

/* the model above for dims at clock_ns (<= 0: 5 ns) */
int rm_hls_simd_estimate(rm_ctx *ctx, const rm_hls_dims *dims, double clock_ns, rm_simd_est *e);
/* the same with pruned[i] pruned inputs of call i (call order: embed, per block token mixer, linear_1,
 * linear_2, classifier; NULL: none) */
int rm_hls_simd_estimate_pruned(rm_ctx *ctx, const rm_hls_dims *dims, double clock_ns, const int *pruned, rm_simd_est *e);
/* the pruned inputs per call from the matmul stages of a design (rm_hls_set_pruned: `hls estimate` on a
 * pruned model or an emitted project) or of an integer network's masks; pruned has 2 + 3L entries */
void rm_hls_simd_pruned_of_design(const rm_hls_design *d, int *pruned);
struct rm_qnet;
void rm_hls_simd_pruned_of_qnet(const struct rm_qnet *q, int *pruned);
/* the terms, one line per call, and the total; snprintf semantics */
int rm_hls_simd_format(const rm_simd_est *e, char *buf, size_t n);
#endif
