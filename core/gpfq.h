/* gpfq.h - post-training weight quantisation to a small alphabet: GPFQ (greedy path-following
 * quantisation, Lybrand & Saab) and MSQ (memoryless scalar quantisation: plain rounding), layer by layer
 * over every Linear of a ResMLP (embedding, token mixing, channel MLP, classifier) or of a layer-list net,
 * and every Conv2d of a net as a Linear over its im2col patches (X: rows = (sample, output position),
 * columns = the C*k*k patch in the weight's order; streamed a few samples at a time into the Grams).
 *
 * For a neuron with weights w (N inputs), X = the layer's inputs from the fp32 network and X~ = those from
 * the network whose earlier layers are already quantised, on m calibration samples (columns X_t in R^m):
 *   u_0 = 0;  q_t = Q(<X~_t, u_{t-1} + w_t X_t> / ||X~_t||^2);  u_t = u_{t-1} + w_t X_t - q_t X~_t
 * (Q(w_t) when ||X~_t|| = 0). Q rounds to the alphabet rad * linspace(-1, 1, levels), rad = scalar *
 * median|W_layer|, levels = 2^bits; levels = 3 is the ternary alphabet {-rad, 0, rad}.
 *
 * Streaming: <X~_t, u_{t-1}> = sum_{s<t} w_s <X~_t, X_s> - q_s <X~_t, X~_s>, so the walk needs only the
 * Gram matrices G1 = X~^T X and G2 = X~^T X~ (N x N, accumulated in double over chunks of calibration
 * samples through rm_gemm). Memory is O(N^2) per layer whatever m is; no activation matrix of all m samples
 * is ever held. Every neuron then walks independently (OpenMP over blocks of 8 neurons). The direct walk
 * over u (rm_gpfq_neuron_naive) stays as the reference the Gram walk is tested against. */
#ifndef RM_GPFQ_H
#define RM_GPFQ_H
#include "model.h"
#include "data.h"
#include "wlayers.h"

enum { RM_QM_GPFQ = 0, RM_QM_MSQ = 1 };

/* levels points rad * (-1 + 2 i / (levels - 1)), i = 0..levels-1 (levels >= 2); 3 gives {-rad, 0, rad} */
void rm_alphabet(float *a, int levels, float rad);
/* the alphabet element nearest to v (exactly one of rm_alphabet's values; ties go up) */
float rm_alphabet_round(double v, int levels, float rad);
/* median of |w| over n values (mean of the middle two for even n), as numpy's median */
float rm_median_abs(const float *w, size_t n);
/* levels for a bits string: "ternary" (or "1.58") -> 3, "N" -> 2^N (N = 1..8); -1 when bad */
int rm_levels_parse(const char *s);
/* "ternary" or "N" for levels */
const char *rm_levels_name(int levels, char *buf, size_t n);

// reference walk of one neuron: X, Xq are (m, N) row-major, w (N); q (N) out; u is m doubles of scratch
void rm_gpfq_neuron_naive(float *q, const float *w, const float *X, const float *Xq, int m, int N, int levels,
                          float rad, double *u);
// Gram walk of all neurons: W, Q are (rows, N); G1[t*N+s] = <X~_t, X_s>, G2[t*N+s] = <X~_t, X~_s> (N,N)
int rm_gpfq_gram(rm_ctx *ctx, float *Q, const float *W, int rows, int N, const double *G1, const double *G2,
                 int levels, float rad);
// MSQ: Q = round-to-alphabet(W), n values
void rm_msq(float *Q, const float *W, size_t n, int levels, float rad);
// per-row calibration error e2[r] = ||X w_r - X~ q_r||^2 and ref2[r] = ||X w_r||^2 from G0 = X^T X, G1, G2
// (three products through rm_gemm in fp32, row dots in double)
int rm_gpfq_err(rm_ctx *ctx, double *e2, double *ref2, const float *W, const float *Q, int rows, int N, const double *G0,
                 const double *G1, const double *G2);

typedef struct rm_gpfq_opts {
    int method;       /* RM_QM_GPFQ | RM_QM_MSQ */
    int levels;       /* alphabet size: 3 ternary, 2^bits */
    float scalar;     /* rad = scalar * median|W_layer| */
    int samples;      /* calibration samples m (a seeded random subset of the calibration set; <= 0: all) */
    int chunk;        /* samples per streamed chunk (256) */
    uint64_t seed;
} rm_gpfq_opts;

rm_gpfq_opts rm_gpfq_defaults(void);

typedef struct rm_gpfq_layer {
    char label[48];
    int rows, cols;
    float rad;
    int skipped;      /* 1: net layer with its own weight quantiser (left as it is) */
    double err, err_msq;   /* GPFQ: relative calibration error ||Xw - X~q|| / ||Xw|| of the result and of MSQ
                              on the same inputs; MSQ mode: -1 (no calibration pass) */
    double seconds;
} rm_gpfq_layer;

typedef struct rm_gpfq_report {
    int n, samples;
    rm_gpfq_layer l[RM_MAX_WLAYERS];
    double seconds;   /* whole quantisation (calibration forwards, Grams, walks), wall clock */
    double cpu_seconds;   /* the same in process CPU time (all threads): the work, whatever the machine's load */
} rm_gpfq_report;

/* Quantise q in place: q gets fp's parameters, then each weight layer in forward order is replaced by its
 * GPFQ (or MSQ) quantisation, the inputs X~ coming from q with the earlier layers already quantised.
 * Biases, norms and activations stay float. calib is used for GPFQ only (may be NULL for MSQ). */
int rm_gpfq_quantize(rm_ctx *ctx, rm_model *q, rm_model *fp, const rm_dataset *calib, const rm_gpfq_opts *o,
                     rm_gpfq_report *rep);
#endif
