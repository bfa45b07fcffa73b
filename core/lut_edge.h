/* lut_edge.h - the code error of each lut_edge mode (lut.h) of the 64-entry tables on the activations
 * a network really produces: every table input of every channel over n images is looked up in each
 * mode and compared with the exact 256-entry table of the quantised curve. `verify` prints it. */
#ifndef RM_LUT_EDGE_H
#define RM_LUT_EDGE_H
#include "quant.h"

typedef struct rm_lut_edge_report {
    int images;
    long lookups;                         /* table reads over all slots, channels, tokens and images */
    long top;                             /* of them in the top segment u >= 252 (where the modes differ) */
    long wrong[RM_LUT_EDGE_N];            /* reads whose code differs from the 256-entry table */
    double mean[RM_LUT_EDGE_N];           /* mean |code error| over all reads */
    double top_mean[RM_LUT_EDGE_N];       /* mean |code error| over the top-segment reads */
    int max[RM_LUT_EDGE_N];               /* max |code error| over all reads */
} rm_lut_edge_report;

/* The table inputs come from the integer network net (its own tables and edge mode) on the first n
 * images of pixels; the exact tables from the quantised model q. Nets without tables give lookups 0. */
int rm_lut_edge_errors(rm_ctx *ctx, rm_qmodel *q, const rm_qnet *net, const uint8_t *pixels, int n,
                       rm_lut_edge_report *rep);
#endif
