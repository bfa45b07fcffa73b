/* bnn.h - the integer engine of low-bit layer-list nets: binary layers as bit-packed weights with
 * XNOR-popcount arithmetic, ternary and n-bit layers as bit planes of their codes (AND-popcount per plane),
 * (scale +) bias + BatchNorm + sign folded into per-channel integer thresholds (FINN style), maxpool of
 * binary maps as OR. An n-bit activation quant(bits) after a layer (+ BN) folds into 2^bits-1 thresholds per
 * channel (FINN's MultiThreshold): the activation is an int32 code (value code * 2^-fbits), maxpool of codes is
 * their max, and the next layer multiplies codes by weight codes in int32 (AVX-512 VNNI on the fast path:
 * VPDPBUSD on code + 128 for 8-bit codes, VPDPWSSD for up to 16 bits); at most 8-bit activations.
 * With an input quantiser first (quant(bits), in_bits=N) and a quantised first layer the
 * whole net is integer: input codes times weight codes, thresholds. Otherwise the front (the layers up to
 * the first sign or n-bit activation, e.g. a 16-bit first layer on real-valued inputs) runs in float through the model's own
 * kernels. The last layer gives logits post(acc * unit) (and its BN, if any). Thresholds come from the
 * model's own scale, bias and BN kernels (a bisection over the accumulator), and the float forward of a
 * quantised layer sums exact multiples of a power of two (net.c), so the engine's bits equal the float
 * forward's on every input while accumulators stay below 2^24: `verify` on real data checks it.
 * Paths: AVX-512 VPOPCNTDQ (and VNNI for code x code layers) where the CPU has it (chosen at run time), a
 * portable one otherwise;
 * RESMLP_BNN_PATH=portable or rm_bnn_set_path forces one. */
#ifndef RM_BNN_H
#define RM_BNN_H
#include "model.h"

typedef struct rm_bnet rm_bnet;
/* paths: AUTO picks VPOPCNT where the CPU has it, else PORTABLE (both: all output rows of a position at once
 * from transposed weights); REFERENCE: one row at a time, the plain loops the fast ones are checked against */
enum { RM_BNN_AUTO = 0, RM_BNN_PORTABLE, RM_BNN_VPOPCNT, RM_BNN_REFERENCE };

/* build from a net model (eval-mode BN statistics). The model must outlive the engine (its front runs in
 * it). Errors name the first layer that does not fit the binary pattern. */
int rm_bnet_build(rm_ctx *ctx, rm_model *m, rm_bnet **out);
void rm_bnet_free(rm_bnet *e);
// x (B, C*H*W) CHW as rm_make_batch_flat gives; logits (B,K)
int rm_bnet_forward(rm_ctx *ctx, rm_bnet *e, const float *x, int B, float *logits);
/* the final layer's integer accumulators (B,K) (what the HLS design outputs) */
int rm_bnet_forward_acc(rm_ctx *ctx, rm_bnet *e, const float *x, int B, int64_t *acc);
/* integer front only: the input codes the first stage reads, (B, C*H*W), NHWC for images */
void rm_bnet_input_codes(const rm_bnet *e, const float *x, int B, int32_t *codes);
int rm_bnet_set_path(rm_bnet *e, int path);     /* returns the path in effect (VPOPCNT falls back) */
int rm_bnet_path(const rm_bnet *e);
const char *rm_bnn_path_name(int path);
/* one-line summary: front layers, binary layers, packed weight bytes */
void rm_bnet_describe(const rm_bnet *e, char *buf, size_t n);
/* accuracy of the engine on ds and agreement with the float forward: predictions equal and the activations
 * (sign bits, n-bit codes) of every integer layer equal to the float forward's (mismatches counted) */
typedef struct rm_bnn_check {
    int n, correct, float_correct, agree;   /* images, engine / float correct, equal predictions */
    int logit_mismatch, first_mismatch;      /* images whose logits differ in any bit; the first (-1: none) */
    long bits, bit_mismatch;                 /* hidden activations (bits or codes) compared, differing */
    float max_logit_err;
} rm_bnn_check;
struct rm_dataset;
int rm_bnet_verify(rm_ctx *ctx, rm_bnet *e, const struct rm_dataset *ds, int batch, rm_bnn_check *out);
/* the integer model file (bnn_io.c): parameters + codes, thresholds, directions; format resmlp-net-int-1.
 * Load rebuilds the model (*m, owned by the caller, freed after the engine) and the engine, and refuses a
 * file whose codes or thresholds differ from the ones its parameters give. SIMD-block pruning masks travel
 * with the file (int.layers.<i>.prune / .pruned_blocks) and are checked against the weights on load, so the
 * loaded engine skips the same inputs. */
int rm_bnet_save(rm_ctx *ctx, const char *path, const rm_bnet *e);
int rm_bnet_load(rm_ctx *ctx, const char *path, rm_model **m, rm_bnet **e);
int rm_bnet_file_is_int(const char *path);   /* 1 if path is such a file */
rm_model *rm_bnet_model(const rm_bnet *e);
#endif
