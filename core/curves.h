/* curves.h - inspection API for the learned activations of a model: which activation layers exist
 * (block, slot, reference name, channels), sampling y = f(x) per channel on a requested range, the raw
 * LERP table / B-spline coefficients, per-channel TV2, and the pre-activation input statistics recorded
 * during the last evaluation (min, max, mean, std, percentiles from the histogram). */
#ifndef RM_CURVES_H
#define RM_CURVES_H
#include "model.h"

typedef struct rm_act_layer {
    int block, slot;         /* slot 0 = input activation of the channel MLP (mlp.0, learned kinds only),
                                slot 1 = hidden activation (mlp.2 for learned kinds, mlp.1 for ReLU/GELU) */
    int C;                   /* channels */
    char name[64];           /* reference prefix, e.g. "layers.2.layers.1.layers.2" */
    char short_name[16];     /* "mlp.0", "mlp.1" or "mlp.2" */
    const rm_act_cfg *cfg;
    const float *p;          /* the layer's parameter block (NULL for ReLU/GELU) */
    const rm_act_stats *stats;
} rm_act_layer;

/* number of activation layers (2 per block for learned kinds, 1 for ReLU/GELU) and the i-th one */
int rm_curve_nlayers(const rm_model *m);
int rm_curve_layer_at(const rm_model *m, int i, rm_act_layer *out);
/* find by block and short name ("mlp.0", "mlp.2", "mlp.1", or "0"/"1" slots) */
int rm_curve_layer(rm_ctx *ctx, const rm_model *m, int block, const char *layer, rm_act_layer *out);

/* sample n points evenly on [lo, hi] for channel ch: x (n), y (n). which: 0 = the function the model
 * uses, 1 = the smooth ResPSA (LERP-PSA only; others the same as 0). */
int rm_curve_sample(rm_ctx *ctx, const rm_act_layer *a, int ch, float lo, float hi, int n, int which, float *x, float *y);
/* table (LERP T[ch] of G values, or B-spline coefficients: vals and gx need G or K floats); returns the
 * count, 0 if none; the grid x positions go to gx if non-NULL */
int rm_curve_table(const rm_act_layer *a, int ch, float *vals, float *gx);
/* per-channel TV2 of a B-spline layer (sum_k |c_k - 2c_{k+1} + c_{k+2}| / spacing); 0 for other kinds */
float rm_curve_tv2(const rm_act_layer *a, int ch);
/* q-th percentile (0..100) of the recorded inputs, interpolated in the histogram; NaN without data */
float rm_curve_percentile(const rm_act_stats *s, float q);
/* default x range for plotting: the recorded 1st..99th percentile widened a little (for LERP-PSA at
 * least the grid range [-R, R] too), else [-R, R] or [-4, 4] */
void rm_curve_default_range(const rm_act_layer *a, float *lo, float *hi);
#endif
