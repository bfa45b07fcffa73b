/* lut.c - activation lookup tables: quantising a sampled fp32 curve into a 256-entry int8 table,
 * the 64-entry hardware form and its expansion back to 256 entries (see lut.h for the formulas). */
#include "lut.h"
#include <math.h>
#include <string.h>

void rm_lut_quantize(const float *y, float s_out, int8_t *l256) {
    for (int u = 0; u < RM_LUT_N; u++) {
        float q = y[u] * s_out;
        double r = isnan(q) ? 0.0 : floor((double)q + 0.5);
        l256[u] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
    }
}

void rm_lut_subsample64(const int8_t *l256, int8_t *l64) {
    for (int i = 0; i < RM_LUT64_N; i++) l64[i] = l256[4 * i];
}

static const char *edge_names[RM_LUT_EDGE_N] = {"extend", "paper_hls", "clamp"};
const char *rm_lut_edge_name(int edge) { return edge >= 0 && edge < RM_LUT_EDGE_N ? edge_names[edge] : "?"; }
int rm_lut_edge_from_name(const char *name) {
    for (int i = 0; name && i < RM_LUT_EDGE_N; i++) if (!strcmp(name, edge_names[i])) return i;
    return -1;
}

int8_t rm_lut_edge_entry(const int8_t *l256, const int8_t *l64, int edge) {
    (void)l64;
    return edge == RM_LUT_EDGE_PAPER_HLS ? l256[RM_LUT_N - 2] : 0;
}

void rm_lut64_expand(const int8_t *l64, int8_t e, int edge, int8_t *out256) {
    for (int u = 0; u < RM_LUT_N; u++) out256[u] = (int8_t)rm_lut64_eval(l64, e, edge, u - 128);
}

int rm_lut64_max_err(const int8_t *l256, int edge) {
    int8_t l64[RM_LUT64_N];
    rm_lut_subsample64(l256, l64);
    int8_t ee = rm_lut_edge_entry(l256, l64, edge);
    int e = 0;
    for (int u = 0; u < RM_LUT_N; u++) {
        int d = rm_lut64_eval(l64, ee, edge, u - 128) - l256[u];
        if (d < 0) d = -d;
        if (d > e) e = d;
    }
    return e;
}
