/* lump.h - exact neuron lumping (Ressi et al. 2024, "Compressing Neural Networks via Formal Methods"):
 * in a hidden layer followed by ReLU, neurons j and i whose effective incoming weights and bias satisfy
 * (W_j, b_j) = lambda (W_i, b_i) with lambda > 0 give act_j = lambda act_i, so j is deleted and
 * lambda * (outgoing weights of j) is added to i's outgoing weights. (Multiplying by 1/lambda, as one
 * published toy example does, changes the function.) For other activations (GELU, HardTanh, sign, n-bit,
 * the learned curves) only identical neurons merge (lambda = 1, and the same curve parameters). Neurons with
 * all-zero outgoing weights are removed for any activation; ReLU neurons with all-zero incoming weights
 * become the constant max(b, 0), folded into the next bias.
 *
 * Hidden layers: layer-list nets linear [bn] act [dropout] linear (BN folded into the effective incoming
 * weights: a_j W_j, a_j b_j + c_j); the ResMLP's channel MLPs fc1 -> act2 -> fc2 in every block (their
 * common width becomes the largest kept count; blocks with fewer keep zero padding neurons, which add
 * nothing). The result is a new, smaller model of the same kind.
 * Exact mode (tol = 0) accepts float rounding only (relative residual <= 1e-6); approximate mode accepts
 * ||v_j - lambda v_i|| <= tol ||v_j|| (lambda the least-squares ratio), and the caller measures the
 * accuracy change. */
#ifndef RM_LUMP_H
#define RM_LUMP_H
#include "model.h"
#include "data.h"

#define RM_LUMP_EXACT_TOL 1e-6

/* v_j ~ lambda v_i (n values): lambda = <v_j,v_i>/<v_i,v_i>; returns 1 when lambda > 0 and the relative
 * residual ||v_j - lambda v_i|| / ||v_j|| <= tol (both non-zero), with *lambda set */
int rm_lump_proportional(const float *vi, const float *vj, int n, double tol, double *lambda);

typedef struct rm_lump_opts {
    double tol;       /* 0: exact (RM_LUMP_EXACT_TOL); > 0: approximate */
    int zero;         /* remove zero neurons (1) */
} rm_lump_opts;

typedef struct rm_lump_layer {
    char label[48];
    char act[16];     /* activation after the layer */
    int proportional; /* 1: ReLU, lambda > 0 merges; 0: identical neurons only */
    int before, after;        /* neurons */
    int merged, zero_in, zero_out;
    long params_before, params_after;   /* incoming + outgoing weights and biases of this hidden layer */
    char skipped[80]; /* non-empty: why this layer was left alone */
} rm_lump_layer;

typedef struct rm_lump_report {
    int n;
    rm_lump_layer l[64];
    long params_before, params_after;   /* whole model */
} rm_lump_report;

/* lump every hidden layer of src into a new model *out (src unchanged) */
int rm_lump(rm_ctx *ctx, rm_model *src, rm_model **out, const rm_lump_opts *o, rm_lump_report *rep);
/* largest |logit difference| of two models with the same inputs and classes over the first n images of ds */
int rm_logit_maxdiff(rm_ctx *ctx, rm_model *a, rm_model *b, const rm_dataset *ds, int n, double *maxdiff);
#endif
