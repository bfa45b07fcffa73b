/* calib.h - where the streaming design's resource model (estimate.c) gets its numbers:
 *  - FINN-R's published cost model (M. Blott et al., "FINN-R: An End-to-End Deep-Learning Framework
 *    for Fast Exploration of Quantized Neural Networks", TRETS 2018, as FINN implements it for its
 *    MVAU): LUT = 300 + 1.1 * PE * (mult + addertree + acc) (+ distributed weight memory), with
 *    mult = SIMD * (2*ceil((W+A)/6) - 1) * (W+A) in LUTs (0 on DSPs), addertree = (W+A)(2*SIMD - 1),
 *    acc = W + A + ceil(log2 IN); DSP = PE * SIMD * ceil((W+A)/48). Printed next to the estimate of
 *    every matmul stage for comparison (not used by it).
 *  - Yosys: one processing element of a matmul (SIMD int8 x int8 products, adder tree, 32-bit
 *    accumulator, the requantisation rq) is generated as Verilog at two SIMD widths and synthesised
 *    with synth_xilinx -family xc7; the difference gives the per-MAC LUT/FF/DSP, the rest the per-lane
 *    accumulate + requantise cost. One PE of each other stage kind too (pe.h: affine, residual add,
 *    pool; verilog.h: the LERP unit), each at the integer engine's widths; its cells replace the kind's
 *    per-lane figures (and, for pool / LERP, the per-channel storage). `hls estimate calibrate=yosys`
 *    measures these and re-estimates with them (rm_hls_calibrate); the estimate marks every stage
 *    whose figures come from a PE. */
#ifndef RM_HLS_CALIB_H
#define RM_HLS_CALIB_H
#include "estimate.h"
#include "verilog.h"
#include "pe.h"

/* FINN-R's LUT and DSP estimate of a matmul stage (W = A = 8 bits), dsp: multiplies on DSPs */
long rm_hls_finnr_lut(const rm_hls_stage *s, int dsp);
long rm_hls_finnr_dsp(const rm_hls_stage *s);

/* the matmul PE as Verilog: dir/<module>.v with SIMD lanes */
int rm_hls_pe_verilog(rm_ctx *ctx, const char *dir, const char *module, int simd);

/* one stage kind's PE as synthesised: one point (a pure datapath) or two channel counts per lane (a
 * datapath with per-channel storage: the difference gives the cost per channel, the rest the lane's) */
typedef struct rm_hls_pe_meas {
    char pe[32];                  /* module name */
    char widths[200];             /* what it computes, at which widths */
    int n, size[2];               /* synthesis points; channels per lane at each */
    rm_hls_cells cells[2];
    double lut, ff, dsp, lut_ch, ff_ch;   /* per lane; per channel (two-point fits); LUT includes CARRY4 */
} rm_hls_pe_meas;

typedef struct rm_hls_calib {
    int simd_lo, simd_hi;
    rm_hls_cells lo, hi;          /* Yosys cells of the two matmul PEs */
    double lut_per_mac, ff_per_mac, dsp_per_mac, lut_lane, ff_lane;
    char family[16];
    int T;                        /* tokens the pool PE sums */
    rm_hls_pe_meas kind[5];       /* per RM_HLS_ST_*: affine, resadd, lut, pool (matmul: see above) */
} rm_hls_calib;

/* Synthesise in dir with Yosys (family, e.g. "xc7"): the matmul PE at SIMD 4 and 16 (per-MAC and per-lane
 * costs into cost's lut_per_mac, ff_per_mac, dsp_per_mac, lut_requant, ff_requant), pe_affine, pe_resadd,
 * pe_pool (T tokens; 2 and 32 channels per lane) and the LERP unit (lut_edge=extend, seeded random
 * 64-entry tables - incompressible ROM contents, the worst case; 2 and 16 channels) into cost->kind[]. */
int rm_hls_calibrate(rm_ctx *ctx, const char *dir, const char *family, int T, rm_hls_cost *cost, rm_hls_calib *out);
/* the lines `hls estimate` prints about the resource model: what is calibrated and against what (cal NULL:
 * the defaults), and FINN-R's figures for the matmul stages next to this model's; snprintf semantics */
int rm_hls_resource_note(const rm_hls_design *d, const rm_hls_calib *cal, char *buf, size_t n);
#endif
