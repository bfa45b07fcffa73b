/* net.h - the second model kind: a network described as a list of layers (MLPs and small CNNs), with
 * per-layer weight quantisers (n-bit, binary, ternary) and activation quantisers (sign with STE or ReSTE,
 * n-bit). A net lives inside an rm_model (model->net != NULL) so the trainer, optimiser, checkpoints and
 * the REPL use one path for both kinds; parameters sit in the model's single allocation.
 *
 * Text form (one line, stored in checkpoints' __metadata__ as "net"), e.g.
 *   input=6 linear(32,w=int16) bn sign(grad=reste) linear(32,w=binary) bn sign(grad=reste) linear(3,w=binary)
 *   input=1x28x28 quant(bits=8) conv(16,pad=1,w=int16) bn sign conv(32,pad=1,w=binary) maxpool(2) ...
 * Layouts: flat (B,F) rows for linear/bn1d; spatial tensors are (B,H,W,C) (NHWC) so conv is an im2col
 * product through rm_gemm and BN2d is the row BN over B*H*W rows. The input arrives as (B,C*H*W) in CHW
 * order (rm_make_batch_flat) and is transposed to NHWC when the first layer is spatial; flatten writes CHW
 * order again, so weights of a following linear match PyTorch's nn.Flatten. A linear after a spatial
 * tensor gets a flatten inserted. Tensor names follow nn.Sequential: "layers.<i>.weight". */
#ifndef RM_NET_H
#define RM_NET_H
#include "ctx.h"
#include "act.h"

enum { RM_NL_LINEAR = 0, RM_NL_CONV, RM_NL_MAXPOOL, RM_NL_FLATTEN, RM_NL_BN, RM_NL_DROPOUT, RM_NL_RELU,
       RM_NL_HARDTANH, RM_NL_SIGN, RM_NL_CURVE, RM_NL_QUANT, RM_NL_NTYPES };
enum { RM_WQ_FLOAT = 0, RM_WQ_INT, RM_WQ_BINARY, RM_WQ_TERNARY };
enum { RM_GRAD_STE = 0, RM_GRAD_RESTE };

typedef struct rm_nlayer_spec {
    int type;
    int out;            /* linear: out features; conv: out channels */
    int k, stride, pad; /* conv kernel (3), stride (1), padding (0); maxpool kernel (2), stride (= k) */
    int bias;           /* linear/conv bias (1) */
    int wq, wbits;      /* weight quantiser RM_WQ_* and bits for RM_WQ_INT */
    int stochastic;     /* stochastic rounding of n-bit weights in training */
    int grad;           /* sign: RM_GRAD_STE (|x| <= 1) or RM_GRAD_RESTE */
    float o, t;         /* ReSTE power (3) and threshold (1.5) */
    float p;            /* dropout probability */
    int bits;           /* quant: activation bits */
    float range;        /* quant: values clamp to [-range, range) (4) */
    rm_act_cfg act;     /* curve: lerp_psa / bspline configuration */
} rm_nlayer_spec;

#define RM_NET_MAXL 64
typedef struct rm_net_spec {
    int in_c, in_h, in_w;   /* input shape; tabular: features,1,1 */
    int n;
    rm_nlayer_spec l[RM_NET_MAXL];
} rm_net_spec;

const char *rm_nlayer_name(int type);   /* "linear", "conv", ... ("curve" layers print their act name) */
/* parse the text form; errors name the layer (1-based) and the bad token */
int rm_net_parse(rm_ctx *ctx, const char *text, rm_net_spec *out);
/* canonical text form (options that differ from their defaults) */
void rm_net_format(const rm_net_spec *s, char *buf, size_t n);
/* shapes: checks that every layer fits its input; fills per-layer output (c,h,w) if outs != NULL
 * (outs[i][0..2]); the classes are the features of the last layer. Errors name the layer and shapes. */
int rm_net_shapes(rm_ctx *ctx, rm_net_spec *s, int (*outs)[3]);

/* The one-line command form of common nets, composed into the text form:
 *   kind "mlp": layers "6-32-32-3" (inputs, hidden..., classes);
 *   kind "cnn": conv "16,32p2" (3x3 pad-1 convs, "pN" = maxpool N after), fc "32,32" hidden widths, then
 *               a linear to the classes; input c,h,w and classes from the caller (the data set);
 *   kind "cnv": FINN's CNV for CIFAR-10 (conv 3x3 64,64, pool, 128,128, pool, 256,256, fc 512,512,classes,
 *               no padding), bits 1|2|4|8 for weights and activations (1: binary weights, sign activations).
 * Each hidden weight layer is followed by bn (if bn) and the activation act: relu | hardtanh | sign |
 * sign_ste | sign_reste | lerp_psa | bspline | quantN (N-bit, range 1). w lists weight quantisers in layer
 * order (float, binary, ternary, intN); a short list repeats its last entry. in_bits > 0 quantises the
 * input. dropout > 0 adds dropout after each hidden activation. out_bn: a BatchNorm after the last
 * (classifier) layer: 0 auto = when that layer's weights are binary or ternary (their logits are sums of
 * +-1 products, far too large for a softmax; BinaryNet ends with a BN, FINN's CNV with a TensorNorm) and
 * always for cnv; 1 always; -1 never. */
typedef struct rm_net_form {
    const char *kind, *layers, *conv, *fc, *w, *act;
    int in_c, in_h, in_w, classes, in_bits, bn, bits, out_bn;
    float dropout;
} rm_net_form;
int rm_net_compose(rm_ctx *ctx, const rm_net_form *f, char *out, size_t n);

/* ---- quantisers and surrogates (exposed for tests) -------------------------------------------- */
/* n-bit signed fixed point with a power-of-two scale chosen from max|w| of the layer: returns the
 * number of fractional bits f; q = clamp(round(w*2^f), -2^(b-1), 2^(b-1)-1) / 2^f. u (n) uniform [0,1)
 * draws or NULL: stochastic rounding floor(w*2^f + u). */
int rm_quant_fixed(float *q, const float *w, size_t n, int bits, const float *u);
/* TWN per output row: delta = 0.75*mean|W_o|, alpha = mean(|W_o| > delta); q in {-alpha, 0, alpha} */
void rm_quant_ternary(float *q, float *alpha, const float *w, int rows, int cols);
/* ReSTE surrogate derivative at x (o, t): 0 outside [-t,t]; (1/o)|x|^(1/o-1) for 0.1 < |x| <= t;
 * 0.1^(1/o)/0.1 inside |x| <= 0.1 (the reference implementation's interval) */
float rm_reste_grad(float x, float o, float t);

/* ---- model hooks: model.c dispatches here when model->net is set (see model.h for the semantics) -- */
struct rm_model;
int rm_net_build(rm_ctx *ctx, struct rm_model *m, const rm_net_spec *spec, uint64_t seed);
void rm_net_free(struct rm_model *m);
const rm_net_spec *rm_net_spec_of(const struct rm_model *m);   /* the spec (flattens inserted); NULL for a ResMLP */
int rm_net_set_batch(rm_ctx *ctx, struct rm_model *m, int B);
// x is (B, C*H*W) in CHW order (rm_make_batch_flat); logits -> m->c.logits (B,K)
int rm_net_forward(rm_ctx *ctx, struct rm_model *m, const float *x, int B, int train);
// dlogits (B,K); gradients accumulate into m->gmem (binary weights: the STE mask |w| <= 1 applies)
void rm_net_backward(struct rm_model *m, const float *x, const float *dlogits);
void rm_net_params_changed(struct rm_model *m);   /* clips binary latent weights to [-1,1]; curve tables */
float rm_net_regular(struct rm_model *m, float lambda, int grad);
/* forward through layers [0, nlayers) only (eval or train); outputs of layer i via rm_net_output */
int rm_net_forward_upto(rm_ctx *ctx, struct rm_model *m, const float *x, int B, int train, int nlayers);
// output of layer i of the last forward: (B, c*h*w), NHWC when *spatial
const float *rm_net_output(const struct rm_model *m, int i, int *c, int *h, int *w, int *spatial);
/* after the product of a quantised weight layer: v*alpha[o] (ternary) then + b[o], one rounding each; the
 * integer engine calls this too, so its outputs match the float forward bit for bit */
static inline float rm_net_post(float v, const float *alpha, const float *b, int o) {
    if (alpha) v = v * alpha[o];
    if (b) v = v + b[o];
    return v;
}
/* ternary layers: the per-row scales alpha of the last forward (wq = alpha * codes); NULL otherwise */
const float *rm_net_weight_alpha(const struct rm_model *m, int i);
/* the weights the forward uses for layer i (quantised when the layer quantises), or NULL if the layer has
 * no weights; rows x cols = (out, fan_in). Valid after a forward. */
const float *rm_net_weights_used(const struct rm_model *m, int i, int *rows, int *cols);
#endif
