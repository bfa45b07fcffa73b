/* rtl.h - RTL for users (`hls rtl DIR`, `hls yosys DIR`): the learned activations of a quantized
 * network as Verilog units - one per activation layer (block i, act1 before linear_1 / act2 after it),
 * each holding its layer's per-channel 64-entry curves and the interpolation (verilog.h), with a
 * self-checking testbench whose expected outputs are the integer engine's own tables on all 256
 * inputs of every channel - simulated with Icarus Verilog or Verilator, and synthesised with Yosys
 * (xc7, synth_xilinx) for a LUT / FF / BRAM / DSP count per unit.
 * DIR/rtl_units.txt lists the units ("name block slot channels lut_edge") for `hls yosys DIR`. */
#ifndef RM_HLS_RTL_H
#define RM_HLS_RTL_H
#include "verilog.h"
#include "core/int_engine.h"

#define RM_RTL_MAXU (2 * RM_MAXL)

typedef struct rm_rtl_unit {
    char name[48];          /* psa_b<i>_<0|1> */
    int block, slot, C, edge;
    long checked, mismatches;
    rm_hls_cells cells;
} rm_rtl_unit;

enum { RM_RTL_SIM_NONE = 0, RM_RTL_SIM_ICARUS, RM_RTL_SIM_VERILATOR };

/* write the units of q into dir (created if missing) and the manifest; q must use 64-entry tables */
int rm_hls_rtl_write(rm_ctx *ctx, const char *dir, const rm_qnet *q, rm_rtl_unit *u, int *nu);
/* the manifest of dir */
int rm_hls_rtl_load(rm_ctx *ctx, const char *dir, rm_rtl_unit *u, int *nu);
/* Verilator (--binary --timing) on dir/<module>.v + <module>_tb.v, the same contract as
 * rm_hls_iverilog_sim: RM_OK only when all C*256 outputs were checked and matched */
int rm_hls_verilator_sim(rm_ctx *ctx, const char *dir, const char *module, int C, const rm_hls_run_opts *opts,
                         long *checked, long *mismatches, rm_hls_run_result *res);
/* simulate one unit with the simulator sim (RM_RTL_SIM_*); fills u->checked / u->mismatches */
int rm_hls_rtl_sim(rm_ctx *ctx, const char *dir, rm_rtl_unit *u, int sim, const rm_hls_run_opts *opts,
                   rm_hls_run_result *res);
/* the simulator to use for "auto" (Icarus, else Verilator, else none), or by name; -1 if unknown */
int rm_hls_rtl_sim_pick(const char *name);
const char *rm_hls_rtl_sim_name(int sim);
#endif
