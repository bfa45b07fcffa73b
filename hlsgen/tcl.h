/* tcl.h - the build.tcl of an emitted HLS project: open project, top, files, solution, part, clock,
 * then the selected steps (csim, csynth, cosim, export). The same script runs under
 * `vitis_hls -f build.tcl`, `vitis-run --mode hls --tcl build.tcl` and `vivado_hls -f build.tcl`.
 *
 * Steps are chosen at run time, not at generation: the script reads $RESMLP_HLS_STEPS (a space
 * separated subset of "csim csynth cosim export"; default "csim csynth"), which rm_hls_synth sets from
 * its `steps` option. cosim and export need csynth and run it first. An unknown step stops the
 * script with an ERROR line and exit status 1.
 *
 * Deliberately not here: the C++ sources and headers the script names (emission), running it. */
#ifndef RM_HLS_TCL_H
#define RM_HLS_TCL_H
#include "ctx.h"

typedef struct rm_hls_tcl_opts {
    const char *project;        /* HLS project directory name; NULL: "<top>_prj" */
    const char *solution;       /* NULL: "solution1" */
    const char *top;            /* top function (required) */
    const char *part;           /* NULL: "xcu50-fsvh2104-2-e" (the paper's Alveo U50) */
    double clock_ns;            /* <= 0: 5.0 (200 MHz) */
    const char *const *src;     /* kernel sources, NULL-terminated (required, at least one) */
    const char *const *tb;      /* testbench sources, NULL-terminated (may be NULL) */
    const char *cflags;         /* for every file; NULL: "-std=c++14" */
    const char *tb_argv;        /* arguments for csim/cosim (-argv); NULL: none */
} rm_hls_tcl_opts;

#define RM_HLS_DEFAULT_PART "xcu50-fsvh2104-2-e"

/* The script as text; snprintf semantics (returns the length needed, or RM_ERR with a message for
 * missing or unsafe arguments: names with spaces, quotes, braces, brackets, $ or backslashes). */
int rm_hls_tcl_format(rm_ctx *ctx, const rm_hls_tcl_opts *o, char *buf, size_t n);
/* write it to path (through a temporary file and rename) */
int rm_hls_tcl_write(rm_ctx *ctx, const rm_hls_tcl_opts *o, const char *path);
#endif
