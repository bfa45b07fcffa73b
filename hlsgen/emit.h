/* emit.h - a quantized ResMLP (the integer network of core/int_engine.h) as a Vitis HLS project, and
 * its C simulation with the host compiler.
 *
 * `rm_hls_emit` writes into DIR (in the spirit of hls4ml's writer: fixed templates with marker lines
 * that the writer fills, one header per tensor family, every array with a comment giving its shape,
 * min, max, zero count and the model file):
 *   quant_params.h      per layer <layer>_w [OUT][IN] (or [C] for a per-channel affine) int8,
 *                       <layer>_b [OUT] int8, <layer>_s [OUT] uint8 shifts; the pixel table
 *   lerp_psa_params.h   per learned activation blocks_<i>_mlp_psa_<j>_lerp_lut [C][64] (256-entry
 *                       networks: _lut [C][256]); only when the network has tables
 *   quant_samples.h     N test images as samples_input [N][T][P] int8 codes, the int8 stream after the
 *                       embedding (samples_inter_0), after block i's token mixer (samples_mix_<i>) and
 *                       after block i (samples_inter_<i+1>), each [N][T][D], and samples_output [N][K]
 *                       (logits), all from the integer engine (reference path)
 *   hls_parallelism.h   PE / SIMD per stage (estimate.h); `hls fold` rewrites it
 *   rm_stream.h         header-only host stand-in for hls::stream (used when hls_stream.h is absent)
 *   resmlp.h            types, dimensions and the stage prototypes
 *   resmlp.cpp          the streaming design: one dataflow process per layer (names as estimate.h's
 *                       stages), connected by streams of whole token (or channel) vectors; matmuls
 *                       with a pipelined II=1 inner loop of PE x SIMD MACs; LUT stages at II=1 per
 *                       element; the transposes of the token mixer as ping-pong arrays
 *   resmlp_tb.cpp       testbench: every sample through the stages one by one (every intermediate
 *                       compared) and through the top function (logits compared); prints mismatches
 *                       and "RESULT samples=N checked=C mismatches=M"; exit status 1 on any mismatch
 *   build.tcl           tcl.h (csim, csynth, cosim, export selectable by RESMLP_HLS_STEPS)
 *   resmlp_project.txt  what `hls estimate/fold`, `synth` and `report` need to know (dimensions, top,
 *                       part, clock, model file)
 *   README.md           how to run it
 * The arithmetic is the integer engine's, operation for operation (int8 storage, int32 sums):
 *   rq(acc, k, b): acc >>= k-1; acc = (acc >> 1) + (acc & 1); acc += b; clamp to [-128, 127]
 *   residual adds saturate; pool = rq(sum over T tokens, pool_shift, 0); the 64-entry LUT with the
 *   clamp of m to 62 (lut.h).
 *
 * Deliberately not here: the `simd` design (one MAC tile, parameters from memory) - RM_ERR for now;
 * running the vendor tool (synth.h); reading its reports (report.h). */
#ifndef RM_HLS_EMIT_H
#define RM_HLS_EMIT_H
#include "ctx.h"
#include "estimate.h"
#include "synth.h"
#include "core/int_engine.h"

#define RM_HLS_TOP "resmlp"
#define RM_HLS_PROJECT_FILE "resmlp_project.txt"
#define RM_HLS_PAR_FILE "hls_parallelism.h"

typedef struct rm_hls_emit_opts {
    const char *design;          /* "stream" (NULL means it); "simd" is not implemented (RM_ERR) */
    const char *part;            /* NULL: RM_HLS_DEFAULT_PART */
    double clock_ns;             /* <= 0: 5.0 */
    const char *model_file;      /* where the network came from, for the comments (NULL: "(unknown)") */
    const rm_hls_design *par;    /* per-stage parallelism (dimensions must match q); NULL: the paper's point */
    const char *interface;       /* top for synthesis: "axis" (NULL: AXI-Stream + ap_ctrl_chain, resmlp) or
                                  * "m_axi" (the paper's: m_axi data, s_axilite control, resmlp_mm) */
    /* FIFO depths for hls_fifo.h by stream name (e.g. measured by the concurrent csim, `fifo=auto`);
     * streams not listed keep the emitter's depth */
    int nfifo;
    struct { char name[48]; int depth; } fifo[128];
} rm_hls_emit_opts;

typedef struct rm_hls_emit_info {
    int samples;                 /* images written to quant_samples.h */
    int nfiles;
    char files[20][32];          /* names written in DIR */
    rm_hls_design design;        /* the parallelism written, with its estimate */
} rm_hls_emit_info;

/* the estimate.h dimensions of q (LERP-PSA / B-spline / GELU networks use the LERP stage list) */
rm_hls_dims rm_hls_dims_of_qnet(const rm_qnet *q);

/* Write the project for q into dir (created if missing). pixels: n images (n >= 1, img_c x img_h x
 * img_w uint8 each) run through the integer engine for quant_samples.h; labels (n) may be NULL.
 * q must be prepared (rm_qnet_prepare). info may be NULL. */
int rm_hls_emit(rm_ctx *ctx, const char *dir, const rm_qnet *q, const uint8_t *pixels, const uint8_t *labels, int n,
                const rm_hls_emit_opts *o, rm_hls_emit_info *info);

/* ---- an emitted project ---- */
typedef struct rm_hls_project {
    char design[16], top[64], part[64], act[16];
    char model[512];
    double clock_ns;
    int samples;
    rm_hls_dims dims;
    int npruned;                       /* SIMD-block pruned matmul stages ("pruned STAGE N" lines) */
    struct { char stage[64]; int in; } pruned[5 * RM_MAXL + 2];
} rm_hls_project;

/* read dir/resmlp_project.txt */
int rm_hls_project_load(rm_ctx *ctx, const char *dir, rm_hls_project *p);
/* the project's design: its dimensions and clock, with dir/hls_parallelism.h applied and estimated;
 * p may be NULL */
int rm_hls_project_design(rm_ctx *ctx, const char *dir, rm_hls_design *d, rm_hls_project *p);
/* (re)write dir/hls_parallelism.h from d (atomically) */
int rm_hls_project_write_par(rm_ctx *ctx, const char *dir, const rm_hls_design *d);

/* ---- C simulation ---- */
typedef struct rm_hls_csim_result {
    int samples;                 /* from the RESULT line */
    long checked, mismatches;
    int result_seen;
    /* the concurrent run (every process a thread on bounded FIFOs): per stream its depth and the most it held */
    int nfifo;
    struct { char name[48]; long depth, max; } fifo[128];
    int deadlock;                /* the run stopped: every thread blocked */
    char deadlock_msg[400];      /* a blocked process, its stream and depth (a writer on a full FIFO if any) */
    int deadlock_writer, deadlock_cause;
    double compile_s, run_s;
    rm_hls_run_result run;       /* the last step run (compile or testbench): status, log tail */
} rm_hls_csim_result;

/* Compile resmlp.cpp + resmlp_tb.cpp in dir with the host C++ compiler ($CXX, else g++, else c++;
 * -O2 -std=c++14, plus $RESMLP_CSIM_FLAGS when set) into dir/csim_tb and run it there. RM_OK only
 * when the testbench exits 0 and its RESULT line reports no mismatch; otherwise RM_ERR with one line
 * in ctx (compile failure, mismatches, crash) and the log tail in r->run. opts: log callback (every
 * compiler and testbench line), interrupt, time limit; may be NULL. */
int rm_hls_csim(rm_ctx *ctx, const char *dir, const rm_hls_run_opts *opts, rm_hls_csim_result *r);
#endif
