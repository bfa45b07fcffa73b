/* emit_net.h - an integer layer-list net (the engine of core/bnn.h) as a streaming HLS C++ project, C
 * simulated with the host compiler by `hls csim` (rm_hls_csim in emit.h: it builds resmlp.cpp +
 * resmlp_tb.cpp and reads the testbench's RESULT line, as for the ResMLP).
 *
 * `rm_hls_net_emit` writes into DIR:
 *   net_params.h    per weight stage s<i>: binary layers as bit-packed 64-bit words s<i>_w[ROWS][WORDS] (bit = 1
 *                   for +1, XNOR-popcount), ternary / n-bit layers as int8/int16 codes s<i>_w[ROWS][FAN],
 *                   the integer-input first layer as int16 codes; hidden stages' integer thresholds
 *                   s<i>_thr[ROWS] and directions s<i>_dir[ROWS] (scale + bias + BN + sign folded, FINN
 *                   style: 1 fires when acc >= thr, -1 when acc <= thr, 2 always, -2 never); a stage
 *                   followed by an n-bit activation quant(bits): multi-thresholds s<i>_thr[ROWS][2^bits-1]
 *                   (code = qlo + thresholds passed, FINN's MultiThreshold), its next layer's weights as
 *                   codes multiplied by the activation codes; every array with a comment giving its layer,
 *                   shape and the model it came from
 *   net_stream.h    header-only host stand-in for hls::stream (when hls_stream.h is absent)
 *   resmlp.h        dimensions, stream word types and the stage prototypes
 *   resmlp.cpp      the design: one dataflow process per engine stage (conv, linear, maxpool as OR,
 *                   flatten), connected by streams of 64-bit activation words (pixel-major, channel bits
 *                   inside) after sign stages and of int16 codes (NHWC) after n-bit activations (maxpool of
 *                   codes as max), the input as a stream of int16 codes (NHWC), the output as the last layer's
 *                   int32 accumulators; top function resmlp_net
 *   resmlp_tb.cpp   testbench: reads net_samples.bin; every sample through each stage alone (fed the
 *                   engine's input of that stage, every output word compared) and through the top
 *                   function (accumulators compared); prints mismatches and "RESULT samples=N checked=C
 *                   mismatches=M"; exit status 1 on any mismatch
 *   net_samples.bin the first n images of the data set through the integer engine: input codes, every
 *                   stage's output words, final accumulators, labels (little-endian; layout in resmlp.h)
 *   build.tcl       for Vitis HLS (tcl.h)
 *   README.md
 * Only all-integer nets: an input quantiser first (in_bits=N / quant(bits=N)) and a quantised first layer. */
#ifndef RM_HLS_EMIT_NET_H
#define RM_HLS_EMIT_NET_H
#include "ctx.h"
#include "core/bnn.h"
#include "core/data.h"

typedef struct rm_hls_net_info {
    int samples, stages, nfiles;
    char files[12][32];
    long weight_bits;            /* bits of weight storage in net_params.h */
} rm_hls_net_info;

/* write the project for engine e into dir (created if missing): the first n images of ds (n >= 1) become
 * the testbench's samples; part/clock for build.tcl (NULL / <= 0: defaults); model_file for comments */
int rm_hls_net_emit(rm_ctx *ctx, const char *dir, rm_bnet *e, const rm_dataset *ds, int n, const char *part,
                    double clock_ns, const char *model_file, rm_hls_net_info *info);
#endif
