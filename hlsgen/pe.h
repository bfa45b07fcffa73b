/* pe.h - one processing element (one lane) of each non-matmul stage kind of the streaming design as
 * small synthesizable Verilog, with the widths the integer engine uses, for the Yosys calibration of
 * the resource model (calib.h); and a generic self-checking testbench fed with stimuli and expected
 * outputs computed in C, so Icarus checks each PE's arithmetic against the engine's primitives (lut.h).
 *
 * Every PE has the ports clk, in_valid, <its inputs>, out_valid, out_y [7:0] (int8) and is pipelined
 * at one input per cycle:
 *   pe_affine  x, w int8, k 5 bits (1..30), b int8:    y = rq(x*w, k, b) = sat8(rshift_round(x*w, k) + b)
 *              (the per-channel affine / folded BN scale; 16-bit product)
 *   pe_resadd  r (main path) int8 and x, w, k, b:       y = sat8(r + rq(x*w, k, b))
 *              (the residual add with res_affine on the skip path)
 *   pe_pool    ch (channel of this lane, C channels), first, last, x int8: per channel the sum of the
 *              T tokens in an AW = 8 + ceil(log2 T)-bit accumulator (C-entry memory); on the last token
 *              y = sat8(rshift_round(sum, S)), S = rm_pool_shift(T); one output per channel and image
 * The LUT/LERP unit is verilog.h's (rm_hls_verilog_lerp), the matmul PE calib.c's.
 *
 * Deliberately not here: the HLS C++ of these stages (emission), the cost model (estimate.c). */
#ifndef RM_HLS_PE_H
#define RM_HLS_PE_H
#include "verilog.h"

int rm_hls_pe_affine_verilog(rm_ctx *ctx, const char *dir, const char *module);
int rm_hls_pe_resadd_verilog(rm_ctx *ctx, const char *dir, const char *module);
/* C channels per lane (1..4096), T tokens (3..65536) */
int rm_hls_pe_pool_verilog(rm_ctx *ctx, const char *dir, const char *module, int C, int T);
int rm_hls_pe_pool_acc_bits(int T);   /* AW = 8 + ceil(log2 T) */

/* one input port of a PE under test */
typedef struct rm_hls_pe_port { const char *name; int width; } rm_hls_pe_port;

/* dir/<module>_tb.v, <module>_stim.hex, <module>_expected.hex: n input vectors stim[i*np + j] (port j's
 * value, its low `width` bits used), fed with in_valid and a bubble now and then; the nexp outputs of
 * the int8 port `out` (NULL: out_y; valid with out_valid), in order, compared with expected; ends with
 * "RESULT checked=N mismatches=M" (as verilog.h's). */
int rm_hls_pe_testbench(rm_ctx *ctx, const char *dir, const char *module, const rm_hls_pe_port *port, int np,
                        int n, const int32_t *stim, int nexp, const int8_t *expected, const char *out);
#endif
