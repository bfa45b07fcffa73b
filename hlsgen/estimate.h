/* estimate.h - analytic cycles and resources of the streaming ResMLP design, and the folding search
 * that picks each layer's parallelism for a resource budget (FINN-style).
 *
 * The streaming design is one dataflow stage per layer, connected by streams:
 *   embed_linear
 *   per block i: token_mixer_affine_1, token_mixer_linear (across tokens, after a transpose),
 *                token_mixer_affine_2, token_mixer_res (transpose back, res_affine on the skip path,
 *                residual add), [mlp_psa_0 LUT], mlp_linear_1 (+ReLU), [mlp_psa_1 LUT], mlp_linear_2,
 *                mlp_res (res_affine on the skip path, residual add)
 *   pool (sum of 64 tokens, rounded shift), classifier_linear (final BN folded in)
 * Each stage runs an outer loop over V vectors (tokens, or channels for the token mixer) and an inner
 * loop pipelined at II=1; a matmul stage has PE output lanes and SIMD input lanes (the dot product of
 * one output is split into IN/SIMD pieces). The model needs only the dimensions (rm_hls_dims), not
 * the INT8 weights, so it runs before (or without) a quantized model. Formulas: see estimate.c.
 *
 * Paper design point (rm_hls_design_init): every matmul SIMD = IN, PE = 1; every other stage PE = 1.
 * Its interval is 6,240 cycles for h = 96 (32,051 images/s at 200 MHz) and 12,352 for h = 192.
 *
 * Deliberately not here: the HLS C++ that realises these stages (emission), calibration against a
 * real report (the cost constants are in rm_hls_cost for that). */
#ifndef RM_HLS_ESTIMATE_H
#define RM_HLS_ESTIMATE_H
#include "ctx.h"

enum { RM_HLS_ACT_RELU = 0, RM_HLS_ACT_LERP = 1 };

typedef struct rm_hls_dims {
    int D;        /* embedding channels (96) */
    int T;        /* tokens (64) */
    int P;        /* patch features (48) */
    int h;        /* channel-MLP hidden width */
    int L;        /* blocks (4) */
    int classes;  /* 10 */
    int act;      /* RM_HLS_ACT_RELU or RM_HLS_ACT_LERP */
} rm_hls_dims;
/* the paper's ResMLP: D 96, T 64, P 48, L 4, 10 classes, with the given activation and h */
rm_hls_dims rm_hls_dims_paper(int act, int h);

enum { RM_HLS_ST_MATMUL = 0, RM_HLS_ST_AFFINE, RM_HLS_ST_RESADD, RM_HLS_ST_LUT, RM_HLS_ST_POOL };
const char *rm_hls_stage_kind_name(int kind);   /* "matmul", "affine", "resadd", "lut", "pool" */

typedef struct rm_hls_stage {
    char name[48];     /* layer name as in the emitted headers: "blocks_0_mlp_linear_1" */
    int kind;          /* RM_HLS_ST_* */
    int vectors;       /* V: outer loop trip count */
    int in, out;       /* matmul: IN, OUT; other kinds: in = out = channels per vector */
    int relu;          /* matmul: ReLU fused at the output */
    int pe, simd;      /* parallelism: divisors of out and in; simd is 1 outside matmuls */
    long buf_bytes;    /* on-chip buffer the stage owns (transpose, skip FIFO), bytes */
    int pruned_in;     /* matmul: inputs in pruned SIMD blocks (core/prune.h), never read: IN - pruned_in count */
    /* filled by rm_hls_estimate */
    long cycles, lut, ff, dsp, bram18;
    char src[32];      /* the Yosys-calibrated PE its lane figures come from, "" = analytic */
} rm_hls_stage;

#define RM_HLS_MAX_STAGES 128

typedef struct rm_hls_design {
    rm_hls_dims dims;
    double clock_ns;   /* 5.0 = 200 MHz */
    int nstages;
    rm_hls_stage st[RM_HLS_MAX_STAGES];
    /* filled by rm_hls_estimate */
    long ii;           /* cycles between images = the slowest stage */
    long latency;      /* cycles for one image = sum of stage cycles (bound for ping-pong channels) */
    int slowest;       /* index of the slowest stage (the first one on ties) */
    double fps;        /* images per second at clock_ns */
    long lut, ff, dsp, bram18;
} rm_hls_design;

/* Resource cost constants (first-order, UltraScale+/7-series ballpark; calibrate against a csynth
 * report). Per lane means per PE (output) lane; per MAC means per PE*SIMD multiplier. */
typedef struct rm_hls_cost {
    double dsp_per_mac;        /* 1: one int8 multiply per DSP; 0.5: two packed; 0: in LUTs */
    double lut_per_mac;        /* adder tree share and operand muxing */
    double ff_per_mac;         /* pipeline registers */
    double lut_fabric_mul;     /* an 8x8 multiply in LUTs (used when dsp_per_mac == 0) */
    double lut_requant, ff_requant;   /* per lane: shift, round, bias, clamp */
    double lut_lerp, ff_lerp;  /* per lane: the 2-bit interpolation datapath */
    double lut_relu;           /* per lane */
    double lut_stage, ff_stage;       /* per stage: loop control, handshakes */
    double lut_stream, ff_stream;     /* per stage: the output FIFO's control (pointers, full/empty) */
    double fifo_lut_per_bit, fifo_ff_per_bit;   /* the output FIFO's storage per bit of its width (8 x the
                                                 * vector length: the streams carry whole vectors), depth 2 */
    int lutmem_max_depth;      /* memory banks up to this depth go to LUTs, deeper ones to BRAM */
    /* per stage kind (RM_HLS_ST_*): a PE synthesised with Yosys (calib.h); pe[0] == 0 means the kind's
     * figures come from the analytic formulas above. For the matmul the measured values are already in
     * the per-MAC / per-lane fields (lut_per_mac .. ff_requant) and only pe names the source. */
    struct rm_hls_kind_cal {
        char pe[32];           /* "pe_affine", .. as synthesised; shown per stage by rm_hls_estimate_format */
        double lut, ff, dsp;   /* per lane (LUT includes CARRY4) */
        double lut_ch, ff_ch;  /* per channel a lane holds (pool accumulator, LERP table); used with has_ch
                                * instead of the memory-bank model while the storage stays in LUTs */
        int has_ch;
    } kind[5];
} rm_hls_cost;
rm_hls_cost rm_hls_cost_default(void);

/* the stage list of `dims` at the paper's design point; clock_ns <= 0 means 5.0 */
int rm_hls_design_init(rm_ctx *ctx, rm_hls_design *d, const rm_hls_dims *dims, double clock_ns);
/* set one stage's parallelism (pe must divide out; simd must divide in, and be 1 outside matmuls) */
int rm_hls_set_par(rm_ctx *ctx, rm_hls_design *d, const char *stage, int pe, int simd);
int rm_hls_find_stage(const rm_hls_design *d, const char *name);   /* index or -1 */
/* fill cycles and resources of every stage and the totals; cost NULL = rm_hls_cost_default() */
void rm_hls_estimate(rm_hls_design *d, const rm_hls_cost *cost);
/* mark pruned inputs of a matmul stage (a multiple of its SIMD... or of the pruning SIMD); re-estimate after */
int rm_hls_set_pruned(rm_ctx *ctx, rm_hls_design *d, const char *stage, int pruned_in);
/* the pruned inputs of every Linear of a ResMLP with SIMD-block masks (prune.h) onto its stages
 * (hlsgen/prune_est.c); a model without masks changes nothing */
struct rm_model;
int rm_hls_apply_prune(rm_ctx *ctx, rm_hls_design *d, const struct rm_model *m);
/* the same from an integer network's kept-block lists (rm_qnet_set_pruned), re-estimated */
struct rm_qnet;
int rm_hls_apply_prune_qnet(rm_ctx *ctx, rm_hls_design *d, const struct rm_qnet *q);
/* the matmuls of an integer ResMLP in stage order (embed, each block's lin / fc1 / fc2, cls) into
 * ls (room for 3 + 3 * RM_MAXL rm_qlin pointers, passed as void); returns their number */
int rm_hls_qnet_linears(const struct rm_qnet *q, const void **ls);
/* the stage name of the integer network's matmul l (embed, blk[i].lin/fc1/fc2, cls), NULL if not one */
const char *rm_hls_qlin_stage(const struct rm_qnet *q, const void *l, char *buf, size_t n);
/* table of stages and totals; snprintf semantics */
int rm_hls_estimate_format(const rm_hls_design *d, char *buf, size_t n);

/* ---- folding ---- */
typedef struct rm_hls_budget { long lut, ff, dsp, bram18; } rm_hls_budget;   /* < 0: no limit */
/* "lut:N,dsp:M[,ff:K][,bram:B]" with optional k/M suffixes ("lut:200k"); RM_ERR on anything else */
int rm_hls_budget_parse(rm_ctx *ctx, const char *s, rm_hls_budget *b);

typedef struct rm_hls_fold_info {
    int met_target;    /* target_fps given and reached */
    int steps;         /* parallelism increases applied */
    char limit[200];   /* what stopped the search, one line */
} rm_hls_fold_info;

/* Choose each stage's parallelism: start from PE = SIMD = 1 everywhere; repeatedly take the slowest
 * stage and move it to its next divisor (SIMD first, then PE, as FINN does), keeping the step only if
 * the whole design stays within the budget; stop when the slowest stage cannot be relieved within
 * the budget, is at full parallelism, or target_fps (> 0) is reached. Then every stage is trimmed back
 * to the fewest lanes that still keep up with the final interval. RM_ERR if even the smallest design
 * does not fit. On RM_OK d holds the chosen parallelism, estimated with `cost`. */
int rm_hls_fold(rm_ctx *ctx, rm_hls_design *d, const rm_hls_cost *cost, const rm_hls_budget *budget,
                double target_fps, rm_hls_fold_info *info);

/* ---- parallelism in the emitted project ---- */
/* a C header with `#define <NAME>_PE n` and `#define <NAME>_SIMD n` per stage (NAME upper-cased);
 * snprintf semantics */
int rm_hls_par_format(const rm_hls_design *d, char *buf, size_t n);
/* read such a header back into d (stages not named keep their values; unknown names are an error) */
int rm_hls_par_load(rm_ctx *ctx, rm_hls_design *d, const char *path);
#endif
