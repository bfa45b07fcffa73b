/* emit_simd.h - `hls emit design=simd`: the fixed SIMD design's HLS C++ (resmlp.h, resmlp.cpp), its
 * testbench (resmlp_tb.cpp) and README; the headers with the weights, tables and samples are the
 * streaming design's (emit.c writes them first). See emit_simd.c. */
#ifndef RM_HLS_EMIT_SIMD_H
#define RM_HLS_EMIT_SIMD_H
#include "emit.h"

/* write the SIMD kernel, testbench and README for q into dir; the names written are appended to
 * files (at most maxfiles in all) */
int rm_hls_emit_simd(rm_ctx *ctx, const char *dir, const rm_qnet *q, const char *model, const char *part, double clk,
                     int n, char files[][32], int *nfiles, int maxfiles);
#endif
