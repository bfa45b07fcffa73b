/* verilog.h - the LERP-PSA activation unit as synthesizable Verilog, its self-checking testbench,
 * and the open-source tools that check it here: Icarus Verilog (simulation, bit-exact against the
 * integer formula) and Yosys (synthesis to Xilinx 7-series cells or a generic 6-LUT netlist, with
 * the LUT / FF / BRAM / DSP cell counts read back).
 *
 * The unit: C channels, each with a 64-entry int8 table L[c][0..63] (every 4th entry of the INT8
 * engine's 256-entry table), one int8 element in per cycle with its channel index, int8 out two
 * cycles later (registered). The arithmetic is exactly the INT8 engine's:
 *   u = x + 128;  m = u >> 2;  l = u & 3;
 *   t = ((L[m+1] - L[m]) * l) >> 1;  y = sat8(L[m] + (t >> 1) + (t & 1))      (arithmetic shifts)
 * with the top segment m = 63 per lut_edge (lut.h): extend reads L[62] for L[m+1] and negates the
 * difference, paper_hls reads a per-channel edge entry, clamp uses m = 62.
 * The table is stored once, split into an even bank (L[2k]) and an odd bank (L[2k+1]) of 32 entries
 * per channel, so both L[m] and L[m+1] come out of single-port ROMs in the same cycle: the even bank
 * is read at (m+1)>>1, the odd bank at m>>1, and m's parity says which of the two is L[m].
 * The product d*l (l in 0..3) is two shifted adds, so no multiplier (DSP) is needed.
 *
 * Deliberately not here: the HLS C++ version of the same stage (emission), choosing the table
 * (the INT8 engine). */
#ifndef RM_HLS_VERILOG_H
#define RM_HLS_VERILOG_H
#include "ctx.h"
#include "synth.h"
#include "lut.h"
#include <stdint.h>
#include <stdio.h>

/* the formula above for one channel's 64-entry table in lut_edge mode edge, e its edge entry (the
 * C reference of the hardware: rm_lut64_eval) */
int8_t rm_hls_lerp64(const int8_t L[64], int8_t e, int edge, int8_t x);

/* Write dir/<module>.v (the unit), dir/<module>_tb.v (testbench) and dir/<module>_expected.hex
 * (C*256 expected outputs, channel-major, x = -128..127). expected: [C][256] int8, e.g. from the
 * INT8 engine; NULL means rm_hls_lerp64 on `lut`. lut: [C][64]; e: [C] edge entries (read in paper_hls
 * mode only, may be NULL otherwise); edge: RM_LUT_EDGE_* (lut.h). 1 <= C <= 4096.
 * The testbench feeds all 256 inputs of every channel (with a bubble every few cycles), compares each
 * output with the expected one, prints up to 10 "MISMATCH ch=.. x=.. got=.. expected=.." lines and
 * ends with "RESULT checked=N mismatches=M". */
int rm_hls_verilog_lerp(rm_ctx *ctx, const char *dir, const char *module, const int8_t *lut, const int8_t *e,
                        int edge, int C, const int8_t *expected);

/* iverilog + vvp in dir on the files above. RM_OK only when every one of C*256 outputs was checked
 * and matched; otherwise RM_ERR with the count of mismatches (or the tool failure) in ctx.
 * checked / mismatches may be NULL. opts: log callback, interrupt, time limit (may be NULL). */
int rm_hls_iverilog_sim(rm_ctx *ctx, const char *dir, const char *module, int C, const rm_hls_run_opts *opts,
                        long *checked, long *mismatches, rm_hls_run_result *res);
/* the same for any testbench that prints "RESULT checked=N mismatches=M": RM_OK only when want outputs
 * were checked and none mismatched */
int rm_hls_iverilog_check(rm_ctx *ctx, const char *dir, const char *module, long want, const rm_hls_run_opts *opts,
                          long *checked, long *mismatches, rm_hls_run_result *res);

/* cell counts of a Yosys netlist */
typedef struct rm_hls_cells {
    long lut;      /* LUT1..LUT6 (xc7) or $lut (generic) */
    long ff;       /* FD* (xc7) or $_DFF*_ / $_SDFF*_ / ... (generic) */
    long bram18;   /* RAMB18E1 = 1, RAMB36E1 = 2 */
    long dsp;      /* DSP48E1 */
    long lutram;   /* RAM32M, RAM64X1D, SRL16E, ... (LUTs used as memory) */
    long carry, mux, io, other, total;   /* io: IBUF/OBUF/BUFG (none with -noiopad) */
    int ncells;
    struct { char name[32]; long n; } cell[64];   /* the raw list, in the order Yosys printed it */
} rm_hls_cells;

/* Yosys in dir: read dir/<module>.v, synthesize (family "xc7": synth_xilinx -family xc7 -noiopad, i.e. out of context; NULL or
 * "generic": synth + abc -lut 6), write dir/<module>_stat.txt and parse it into cells. */
int rm_hls_yosys_synth(rm_ctx *ctx, const char *dir, const char *module, const char *family,
                       const rm_hls_run_opts *opts, rm_hls_cells *cells, rm_hls_run_result *res);
/* one Yosys run for several modules: dir/<module>.v for each and dir/<top>.v (a wrapper instantiating
 * them); each module kept as its own hierarchy level (keep_hierarchy, no flattening), so its cells are
 * counted alone, as if synthesised by itself with its ports as the boundary; cells[i] for modules[i].
 * Saves the per-run cost of loading the cell libraries (most of a small PE's synthesis time). */
int rm_hls_yosys_synth_hier(rm_ctx *ctx, const char *dir, const char *top, const char *const *modules, int n,
                            const char *family, const rm_hls_run_opts *opts, rm_hls_cells *cells, rm_hls_run_result *res);
/* parse the text of Yosys `stat` (the module `top`, or the last module printed when top is NULL) */
int rm_hls_yosys_stat_parse(rm_ctx *ctx, const char *text, const char *top, rm_hls_cells *cells);
/* "LUT 123, FF 45, BRAM_18K 1, DSP 0, LUTRAM 0, ... (cells: LUT6 40, FDRE 45, ...)"; snprintf semantics */
int rm_hls_cells_format(const rm_hls_cells *c, char *buf, size_t n);
/* shared by the generators of Verilog (verilog.c, pe.c): a Verilog/C identifier?; a file written through
 * DIR/NAME.tmp (begin: open it, the path in tmp; end: close and rename over DIR/NAME, or remove it) */
int rm_v_ident(const char *s);
FILE *rm_v_begin_file(rm_ctx *ctx, const char *dir, const char *name, char *tmp, size_t n);
int rm_v_end_file(rm_ctx *ctx, FILE *f, const char *tmp);
#endif
