/* test_net.c - layer-list networks: the text form (parse, canonical format, errors naming the layer and
 * shapes), finite-difference gradient checks of every layer through rm_model_backward (linear, conv with
 * stride/padding, maxpool, flatten, BN1d/2d, dropout, ReLU, HardTanh, the learned curves, quant STE), the
 * sign STE / ReSTE surrogates, binary / ternary / n-bit weight quantisers (TWN on a hand-computed example,
 * stochastic rounding unbiased), a safetensors round trip that is bit-exact, and precision bf16 against fp32
 * (one step within bf16 tolerance, a binary forward bit-exact, a real MiniMNIST run whose loss falls). */
#include "tests/tutil.h"
#include "core/model.h"
#include "core/net.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "core/layers.h"
#include "core/gemm.h"
#include "core/train.h"
#include "core/table.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 777;
static void randn(float *x, size_t n, float s) { for (size_t i = 0; i < n; i++) x[i] = s * rm_rng_normal(&rng); }
static double dot(const float *a, const float *b, size_t n) { double s = 0; for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i]; return s; }

typedef struct { rm_model *m; const float *x; const float *r; int B; } fdctx;
static double L_net(fdctx *f) {
    rm_ctx ctx = {0};
    if (rm_model_forward(&ctx, f->m, f->x, f->B, 1, RM_FULL)) return NAN;
    return dot(f->m->c.logits, f->r, (size_t)f->B * f->m->cfg.K);
}

/* gradient check of every parameter tensor of a net (probes per tensor) against central differences;
 * returns the number of bad probes */
static int grad_check(const char *spec, int B, float xscale) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    if (rm_model_new_net(&ctx, &m, spec, 5)) { CHECK(0, "build %s: %s", spec, ctx.msg); return 1; }
    size_t in = rm_model_input_size(m);
    float *x = malloc(sizeof(float) * B * in), *r = malloc(sizeof(float) * B * m->cfg.K);
    randn(x, (size_t)B * in, xscale);
    randn(r, (size_t)B * m->cfg.K, 1);
    /* randomise BN affine and curves a little so the check is not at a symmetric point */
    for (int i = 0; i < m->ntensors; i++) {
        rm_ptensor *t = &m->tensors[i];
        if (strstr(t->name, "weight") && t->ndim == 1) for (size_t j = 0; j < t->n; j++) m->mem[t->off + j] += 0.3f * rm_rng_normal(&rng);
    }
    rm_model_params_changed(m);
    fdctx f = {m, x, r, B};
    /* finite differences first: dropout masks and stochastic draws advance with each backward pass */
    enum { PROBES = 6 };
    size_t *pj = malloc(sizeof(size_t) * m->ntensors * PROBES);
    double *fd = malloc(sizeof(double) * m->ntensors * PROBES * 3);
    for (int i = 0; i < m->ntensors; i++) {
        const rm_ptensor *t = &m->tensors[i];
        for (int k = 0; k < PROBES; k++) {
            size_t j = t->off + rm_rng_below(&rng, (uint32_t)t->n), q = (size_t)i * PROBES + k;
            float old = m->mem[j], h = 2e-3f * fmaxf(1, fabsf(old));
            pj[q] = j;
            m->mem[j] = old + h; rm_model_params_changed(m); double lp = L_net(&f);
            m->mem[j] = old - h; rm_model_params_changed(m); double lm = L_net(&f);
            m->mem[j] = old; rm_model_params_changed(m); double l0 = L_net(&f);
            fd[3 * q] = (lp - lm) / (2 * h); fd[3 * q + 1] = (lp - l0) / h; fd[3 * q + 2] = (l0 - lm) / h;
        }
    }
    CHECK_OK(rm_model_forward(&ctx, m, x, B, 1, RM_FULL), &ctx);
    rm_model_zero_grad(m);
    rm_model_backward(m, x, r, NULL, RM_FULL, -1);
    const float *ga = m->gmem;
    int bad = 0, probes = 0;
    for (int i = 0; i < m->ntensors; i++)
        for (int k = 0; k < PROBES; k++) {
            size_t q = (size_t)i * PROBES + k, j = pj[q];
            probes++;
            /* piecewise-linear layers (ReLU, maxpool, LERP tables): accept a one-sided difference */
            if (!t_close(fd[3 * q], ga[j], 2e-2, 2e-3) && !t_close(fd[3 * q + 1], ga[j], 2e-2, 4e-3) && !t_close(fd[3 * q + 2], ga[j], 2e-2, 4e-3)) {
                if (bad < 3) fprintf(stderr, "  %s %s[%zu]: analytic %.6g finite-diff %.6g\n", spec, m->tensors[i].name, j - m->tensors[i].off, ga[j], fd[3 * q]);
                bad++;
            }
        }
    free(pj); free(fd);
    CHECK(bad == 0, "grad check %s: %d of %d probes off", spec, bad, probes);
    free(x); free(r);
    rm_model_free(m);
    return bad;
}

static void test_parse(void) {
    rm_ctx ctx = {0};
    rm_net_spec s;
    const char *v = "input=6 linear(32,w=int16) bn sign(grad=reste) linear(32,w=binary) bn sign(grad=reste) linear(3,w=binary)";
    CHECK_OK(rm_net_parse(&ctx, v, &s), &ctx);
    char buf[1024], buf2[1024];
    rm_net_format(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, v), "canonical form round trip: %s", buf);
    CHECK(s.n == 7 && s.l[0].wq == RM_WQ_INT && s.l[0].wbits == 16 && s.l[3].wq == RM_WQ_BINARY && s.l[2].grad == RM_GRAD_RESTE &&
          s.l[2].o == 3 && s.l[2].t == 1.5f, "fields parsed");
    /* a CNN: a flatten is inserted before the first linear after a spatial tensor */
    CHECK_OK(rm_net_parse(&ctx, "input=1x28x28 quant(8) conv(16,pad=1,w=int16) bn sign conv(32,pad=1,w=binary) maxpool(2) bn sign "
                                 "linear(32,w=int16) bn sign linear(10,w=binary)", &s), &ctx);
    rm_net_format(&s, buf, sizeof buf);
    CHECK(strstr(buf, "maxpool(2) bn sign flatten linear(32,w=int16)") != NULL, "flatten inserted: %s", buf);
    rm_net_spec s2;
    CHECK_OK(rm_net_parse(&ctx, buf, &s2), &ctx);
    rm_net_format(&s2, buf2, sizeof buf2);
    CHECK(!strcmp(buf, buf2), "format of a parsed format is stable");
    int outs[RM_NET_MAXL][3];
    CHECK_OK(rm_net_shapes(&ctx, &s2, outs), &ctx);
    CHECK(outs[1][0] == 16 && outs[1][1] == 28 && outs[5][1] == 14 && outs[8][0] == 32 * 14 * 14, "shapes: conv keeps 28x28 with pad 1, pool halves, flatten %d", outs[8][0]);
    /* errors name the layer (numbered from 0, as `info` lists them) and the shapes */
    struct { const char *spec, *msg; } bad[] = {
        {"input=6 linear(32) conv(4) linear(3)", "layer 1 (conv) needs an image input"},
        {"input=1x4x4 conv(4,k=5) linear(3)", "layer 0 (conv k=5 pad=0) does not fit its input 1x4x4"},
        {"input=1x4x4 maxpool(8) linear(3)", "layer 0 (maxpool 8) does not fit its input 1x4x4"},
        {"input=1x8x8 conv(4)", "the last layer gives 4x6x6 (an image)"},
        {"input=6 linear(1)", "the last layer gives 1 class scores"},
        {"input=6 lineer(3)", "layer 0: unknown layer 'lineer'"},
        {"input=6 linear linear(3)", "layer 0 (linear): needs its output size"},
        {"input=6 linear(3,w=int1)", "w=int1"},
        {"input=6 linear(3,q=2)", "unknown option 'q'"},
        {"linear(3)", "no input shape"},
        {"input=6 sign(grad=magic) linear(3)", "grad=magic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rm_ctx c2 = {0};
        int r = rm_net_parse(&c2, bad[i].spec, &s);
        CHECK(r != RM_OK && strstr(c2.msg, bad[i].msg), "'%s' -> '%s' (got '%s')", bad[i].spec, bad[i].msg, c2.msg);
    }
}

static void test_grads(void) {
    grad_check("input=5 linear(7) bn relu linear(4)", 6, 1);
    grad_check("input=5 linear(6) hardtanh linear(3)", 5, 1);
    grad_check("input=5 linear(6,bias=off) dropout(0.3) linear(3)", 5, 1);
    grad_check("input=2x6x6 conv(3,pad=1) bn relu maxpool(2) conv(4,k=2) flatten linear(3)", 3, 1);
    grad_check("input=3x7x7 conv(4,k=3,stride=2,pad=1) bn linear(3)", 3, 1);
    grad_check("input=5 linear(6) lerp_psa linear(3)", 4, 1);
    grad_check("input=5 linear(6) bspline linear(3)", 4, 1);
    grad_check("input=2x4x4 conv(3,pad=1) lerp_psa linear(3)", 3, 1);
    /* quant: a straight-through estimator inside its range, so the float gradient of the weights after
     * it is exact (their forward does not move the quantised values) */
    grad_check("input=5 quant(8) linear(3)", 4, 1);
}

/* sign surrogates: STE passes |x| <= 1; ReSTE's derivative is that of the continuous surrogate
 * F(x) = sign(x) |x|^(1/o) on 0.1 < |x| <= t, the chord x * 0.1^(1/o) / 0.1 inside, constant outside */
static double reste_F(double x, double o, double t) {
    double ax = fabs(x) > t ? t : fabs(x), s = x < 0 ? -1 : 1;
    if (ax <= 0.1) return s * ax * pow(0.1, 1 / o) / 0.1;
    return s * pow(ax, 1 / o);
}
static void test_sign(void) {
    int bad = 0;
    for (int k = 0; k < 400; k++) {
        double x = -2 + 4.0 * k / 399 + 1e-3;
        if (fabs(fabs(x) - 0.1) < 2e-3 || fabs(fabs(x) - 1.5) < 2e-3) continue;
        double h = 1e-4, fd = (reste_F(x + h, 3, 1.5) - reste_F(x - h, 3, 1.5)) / (2 * h);
        if (!t_close(fd, rm_reste_grad((float)x, 3, 1.5f), 1e-3, 1e-3)) bad++;
    }
    CHECK(bad == 0, "ReSTE gradient is the derivative of its surrogate (%d off)", bad);
    CHECK(rm_reste_grad(1.6f, 3, 1.5f) == 0 && rm_reste_grad(-1.6f, 3, 1.5f) == 0, "ReSTE zero outside [-t,t]");
    CHECK(fabsf(rm_reste_grad(0.5f, 3, 1.5f) - (1.0f / 3) * powf(0.5f, -2.0f / 3)) < 1e-6f, "ReSTE o=3 at 0.5");

    /* the whole chain: input=4 linear(5) sign(...) linear(3): dW1 = sum_b (r W2)_b * g'(h_b) x_b^T */
    /* mode 0: sign (STE), 1: sign (ReSTE), 2: ternary activation (delta 0.3, STE) */
    static const char *const specs[3] = {"input=4 linear(5) sign linear(3)", "input=4 linear(5) sign(grad=reste) linear(3)",
                                         "input=4 linear(5) ternary(delta=0.3) linear(3)"};
    static const char *const mname[3] = {"STE", "ReSTE", "ternary"};
    for (int mode = 0; mode < 3; mode++) {
        rm_ctx ctx = {0};
        rm_model *m = NULL;
        CHECK_OK(rm_model_new_net(&ctx, &m, specs[mode], 9), &ctx);
        enum { B = 7 };
        float x[B * 4], r[B * 3];
        randn(x, B * 4, 1); randn(r, B * 3, 1);
        CHECK_OK(rm_model_forward(&ctx, m, x, B, 1, RM_FULL), &ctx);
        rm_model_zero_grad(m);
        rm_model_backward(m, x, r, NULL, RM_FULL, -1);
        float *W1 = rm_model_tensor_data(m, "layers.0.weight", NULL), *b1 = rm_model_tensor_data(m, "layers.0.bias", NULL);
        float *W2 = rm_model_tensor_data(m, "layers.2.weight", NULL), *b2 = rm_model_tensor_data(m, "layers.2.bias", NULL);
        const rm_ptensor *gt;
        rm_model_tensor_data(m, "layers.0.weight", &gt);
        const float *g1 = m->gmem + gt->off;
        double err = 0, ferr = 0;
        float exp_g[5 * 4] = {0};
        for (int b = 0; b < B; b++)
            for (int o = 0; o < 5; o++) {
                float h = b1[o];
                for (int i = 0; i < 4; i++) h += W1[o * 4 + i] * x[b * 4 + i];
                float ds = 0;
                for (int k = 0; k < 3; k++) ds += r[b * 3 + k] * W2[k * 5 + o];
                float g = mode == 1 ? rm_reste_grad(h, 3, 1.5f) : (fabsf(h) <= 1 ? 1.0f : 0.0f);
                for (int i = 0; i < 4; i++) exp_g[o * 4 + i] += ds * g * x[b * 4 + i];
            }
        for (int j = 0; j < 20; j++) err = fmax(err, fabs(exp_g[j] - g1[j]));
        /* forward: sign(h) >= 0 -> +1; ternary: 0 inside [-0.3, 0.3] */
        for (int b = 0; b < B; b++)
            for (int k = 0; k < 3; k++) {
                float z = b2[k];
                for (int o = 0; o < 5; o++) {
                    float h = b1[o];
                    for (int i = 0; i < 4; i++) h += W1[o * 4 + i] * x[b * 4 + i];
                    z += W2[k * 5 + o] * (mode == 2 ? (h > 0.3f ? 1 : h < -0.3f ? -1 : 0) : (h >= 0 ? 1 : -1));
                }
                ferr = fmax(ferr, fabs(z - m->c.logits[b * 3 + k]));
            }
        CHECK(err < 1e-4, "%s: first-layer gradient through the activation matches the surrogate (max err %g)", mname[mode], err);
        CHECK(ferr < 1e-4, "%s: forward (max err %g)", mname[mode], ferr);
        rm_model_free(m);
    }
}

static void test_quantisers(void) {
    /* TWN by hand: |W| = .1 .5 .9 .02, mean .38, delta .285, alpha = (.5+.9)/2 = .7 */
    float w[8] = {0.1f, -0.5f, 0.9f, -0.02f, 1, 1, 1, 1}, q[8], a[2];
    rm_quant_ternary(q, a, w, 2, 4);
    CHECK(q[0] == 0 && fabsf(q[1] + 0.7f) < 1e-6f && fabsf(q[2] - 0.7f) < 1e-6f && q[3] == 0 && fabsf(a[0] - 0.7f) < 1e-6f,
          "TWN row 0: %g %g %g %g alpha %g", q[0], q[1], q[2], q[3], a[0]);
    CHECK(a[1] == 1 && q[4] == 1 && q[7] == 1, "TWN all-equal row: all above delta 0.75, alpha 1: alpha %g q %g", a[1], q[4]);
    /* 4-bit fixed point: max .9 -> f = 3 (step 1/8), range [-1, 0.875] */
    float w4[4] = {0.3f, -0.9f, 0.9f, -0.07f} /* -0.56 rounds to -1 */, q4[4];
    int f = rm_quant_fixed(q4, w4, 4, 4, NULL);
    CHECK(f == 3 && q4[0] == 0.25f && q4[1] == -0.875f && q4[2] == 0.875f && q4[3] == -0.125f, "int4: f %d -> %g %g %g %g", f, q4[0], q4[1], q4[2], q4[3]);
    /* stochastic rounding is unbiased: 0.3 -> 2.4/8: 3/8 w.p. 0.4, 2/8 w.p. 0.6 */
    enum { NS = 200000 };
    float *wv = malloc(sizeof(float) * NS), *qv = malloc(sizeof(float) * NS), *u = malloc(sizeof(float) * NS);
    for (int i = 0; i < NS; i++) { wv[i] = i == 0 ? 0.9f : 0.3f; u[i] = rm_rng_uniform(&rng); }
    rm_quant_fixed(qv, wv, NS, 4, u);
    double mean = 0;
    int vals_ok = 1;
    for (int i = 1; i < NS; i++) { mean += qv[i]; vals_ok &= qv[i] == 0.25f || qv[i] == 0.375f; }
    mean /= NS - 1;
    CHECK(vals_ok && fabs(mean - 0.3) < 2e-3, "stochastic rounding unbiased: mean %.5f (0.3), values on the grid %d", mean, vals_ok);
    free(wv); free(qv); free(u);

    /* a net's quantised forward uses exactly these weights; binary latents are clipped to [-1,1] */
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=5 linear(4,w=int4) linear(3,w=binary,bias=off) linear(3,w=ternary)", 3), &ctx);
    float x[2 * 5];
    randn(x, 10, 1);
    float *W1 = rm_model_tensor_data(m, "layers.1.weight", NULL);
    W1[0] = 1.7f; W1[1] = -2.5f;
    rm_model_params_changed(m);
    CHECK(W1[0] == 1 && W1[1] == -1, "binary latent weights clipped to [-1,1]: %g %g", W1[0], W1[1]);
    CHECK_OK(rm_model_forward(&ctx, m, x, 2, 0, RM_FULL), &ctx);
    int rows, cols;
    const float *u0 = rm_net_weights_used(m, 0, &rows, &cols), *u1 = rm_net_weights_used(m, 1, NULL, NULL);
    const float *u2 = rm_net_weights_used(m, 2, NULL, NULL);
    float ref[20], ref2[9], al[3];
    rm_quant_fixed(ref, rm_model_tensor_data(m, "layers.0.weight", NULL), 20, 4, NULL);
    rm_quant_ternary(ref2, al, rm_model_tensor_data(m, "layers.2.weight", NULL), 3, 3);
    int ok1 = 1;
    for (int j = 0; j < 12; j++) ok1 &= u1[j] == (W1[j] >= 0 ? 1.0f : -1.0f);
    CHECK(rows == 4 && cols == 5 && !memcmp(u0, ref, sizeof ref) && ok1 && !memcmp(u2, ref2, sizeof ref2), "forward uses the quantised weights");
    /* binary weights: the latent gradient is the gradient w.r.t. the binary weights (STE) */
    float r[6];
    randn(r, 6, 1);
    rm_model_zero_grad(m);
    rm_model_backward(m, x, r, NULL, RM_FULL, -1);
    const rm_ptensor *t2;
    float *W2 = rm_model_tensor_data(m, "layers.2.weight", &t2);
    const rm_ptensor *t1;
    rm_model_tensor_data(m, "layers.1.weight", &t1);
    /* dW1[o][i] = sum_b d1[b][o] * h0[b][i], with d1 = r W2q and h0 = the first layer's output */
    float h0[2 * 4], d1[2 * 3];
    linear_forward(h0, x, u0, rm_model_tensor_data(m, "layers.0.bias", NULL), 2, 5, 4);
    for (int b = 0; b < 2; b++) for (int o = 0; o < 3; o++) { d1[b * 3 + o] = 0; for (int k = 0; k < 3; k++) d1[b * 3 + o] += r[b * 3 + k] * u2[k * 3 + o]; }
    double e = 0;
    for (int o = 0; o < 3; o++) for (int i = 0; i < 4; i++) e = fmax(e, fabs(m->gmem[t1->off + o * 4 + i] - (d1[o] * h0[i] + d1[3 + o] * h0[4 + i])));
    CHECK(e < 1e-5, "binary layer: STE gradient of the latent weights (max err %g)", e);
    (void)W2;
    rm_model_free(m);
}

static void test_roundtrip(void) {
    rm_ctx ctx = {0};
    rm_model *m = NULL, *m2 = NULL;
    const char *spec = "input=2x6x6 quant(8) conv(3,pad=1,w=int8) bn sign(grad=reste) maxpool(2) linear(8,w=binary) bn lerp_psa linear(4,w=ternary)";
    CHECK_OK(rm_model_new_net(&ctx, &m, spec, 11), &ctx);
    enum { B = 5 };
    float x[B * 72], r[B * 4];
    randn(x, B * 72, 1); randn(r, B * 4, 1);
    /* one training-mode pass so the BN running statistics are not the defaults */
    CHECK_OK(rm_model_forward(&ctx, m, x, B, 1, RM_FULL), &ctx);
    CHECK_OK(rm_model_forward(&ctx, m, x, B, 0, RM_FULL), &ctx);
    float z1[B * 4];
    memcpy(z1, m->c.logits, sizeof z1);
    char path[] = "/tmp/resmlp-net-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_OK(rm_checkpoint_save(&ctx, path, m, NULL, NULL), &ctx);
    CHECK_OK(rm_checkpoint_load(&ctx, path, &m2), &ctx);
    if (m2) {
        CHECK(m2->net && m2->nparams == m->nparams && !memcmp(m2->mem, m->mem, m->nparams * 4) && !memcmp(m2->bmem, m->bmem, m->nbufs * 4),
              "parameters and buffers round trip bit-exact");
        CHECK_OK(rm_model_forward(&ctx, m2, x, B, 0, RM_FULL), &ctx);
        CHECK(!memcmp(z1, m2->c.logits, sizeof z1), "loaded net gives bit-identical logits");
        char a[1024], b[1024];
        rm_model_describe(m, a, sizeof a); rm_model_describe(m2, b, sizeof b);
        CHECK(!strcmp(a, b), "architecture rebuilt from __metadata__: %s", b);
    }
    rm_st_file f = {0};
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    const rm_st_tensor *ct = NULL;
    for (int i = 0; i < f.n; i++) if (!strcmp(f.t[i].name, "layers.1.weight")) ct = &f.t[i];
    CHECK(ct && ct->ndim == 4 && ct->shape[0] == 3 && ct->shape[1] == 2 && ct->shape[2] == 3 && ct->shape[3] == 3, "conv weight stored as (OC,IC,k,k)");
    CHECK(rm_st_meta(&f, "net") && !strcmp(rm_st_meta(&f, "format"), "resmlp-net-1"), "net metadata");
    rm_st_free(&f);
    unlink(path);
    rm_model_free(m); rm_model_free(m2);
}

/* one training step's logits and gradients of a net (same seed, same batch) */
static void step_of(const char *spec, const float *x, const int *y, int B, float *logits, float *grads, size_t *np) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, spec, 11), &ctx);
    if (!m) return;
    CHECK_OK(rm_model_forward(&ctx, m, x, B, 1, RM_FULL), &ctx);
    memcpy(logits, m->c.logits, sizeof(float) * B * m->cfg.K);
    cross_entropy(m->c.dlogits, m->c.logits, y, B, m->cfg.K);
    rm_model_zero_grad(m);
    rm_model_backward(m, x, m->c.dlogits, NULL, RM_FULL, -1);
    memcpy(grads, m->gmem, sizeof(float) * m->nparams);
    *np = m->nparams;
    rm_model_free(m);
}

static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) { d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]); s += (double)b[i] * b[i]; }
    return sqrt(d / (s > 0 ? s : 1));
}

/* fp32 training of a CNN is deterministic for a given thread count: two runs, the same weights bit for bit */
static void test_deterministic(void) {
    rm_ctx ctx = {0};
    rm_dataset tr, te;
    CHECK_OK(rm_minimnist_load(&ctx, DATA_DIR "/mnist", 1, &tr, &te), &ctx);
    float *w[2] = {NULL, NULL};
    size_t np = 0;
    for (int run = 0; run < 2; run++) {
        rm_model *m = NULL;
        CHECK_OK(rm_model_new_net(&ctx, &m, "input=1x28x28 quant(8) conv(8,pad=1) bn sign conv(8,stride=2,w=int4) bn relu maxpool(2) "
                                            "linear(10,w=binary) bn", 4), &ctx);
        if (!m) break;
        rm_optim opt;
        rm_optim_cfg oc = rm_optim_default();
        CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
        rm_train_opts o = rm_train_defaults();
        o.batch = 64; o.aug = 0; o.limit = 512;
        rm_train_result res;
        CHECK_OK(rm_train(&ctx, m, &opt, &tr, &o, &res), &ctx);
        np = m->nparams;
        w[run] = malloc(sizeof(float) * np);
        memcpy(w[run], m->mem, sizeof(float) * np);
        rm_optim_free(&opt);
        rm_model_free(m);
    }
    CHECK(w[0] && w[1] && !memcmp(w[0], w[1], sizeof(float) * np), "fp32 CNN training is deterministic (two runs, same weights)");
    free(w[0]); free(w[1]);
    rm_dataset_free(&tr);
    rm_dataset_free(&te);
}

/* precision bf16 (fp32 master weights; conv columns, products and weight gradients in bf16): one
 * training step agrees with fp32 to bf16 tolerance; a binary CNN's forward (8-bit input codes, +-1
 * weights and activations: exact in bf16, sums exact in fp32) equals fp32 bit for bit; the loss of a
 * short real MiniMNIST run in bf16 falls and its accuracy beats chance by far. */
static void test_bf16(void) {
    char note[200] = "";
    rm_gemm_set_precision(RM_PREC_BF16, note, sizeof note);
    if (rm_gemm_precision() != RM_PREC_BF16) {
        CHECK(note[0] != 0, "falling back to fp32 gives a notice");
        printf("bf16 checks skipped: %s\n", note);
        return;
    }
    rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
    enum { B = 16 };
    static const char *specs[] = {
        "input=3x10x10 conv(8,pad=1) bn relu maxpool(2) conv(12,stride=2,pad=1) bn relu linear(16) bn relu linear(10)",
        "input=3x10x10 quant(8) conv(16,w=binary) bn sign conv(16,w=binary) bn sign linear(10,w=binary) bn",
        "input=3x10x10 quant(8) conv(16,w=int2) bn quant(2,range=1) conv(16,w=ternary) bn quant(2,range=1) linear(10,w=int2) bn"};
    float x[B * 300];
    int y[B];
    randn(x, B * 300, 1);
    for (int i = 0; i < B; i++) y[i] = i % 10;
    for (int k = 0; k < 3; k++) {
        static float l32[B * 10], l16[B * 10], g32[40000], g16[40000];
        size_t n32 = 0, n16 = 0;
        step_of(specs[k], x, y, B, l32, g32, &n32);
        rm_gemm_set_precision(RM_PREC_BF16, NULL, 0);
        step_of(specs[k], x, y, B, l16, g16, &n16);
        rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
        CHECK(n32 == n16 && n32 > 0 && n32 <= 40000, "net %d: %zu parameters", k, n32);
        double el = rel_err(l16, l32, B * 10), eg = rel_err(g16, g32, n32);
        printf("bf16 vs fp32, net %d: logits rel. err %.2e, gradients %.2e\n", k, el, eg);
        if (k == 1) CHECK(el == 0, "binary net: bf16 forward equals fp32 bit for bit (rel. err %g)", el);
        else CHECK(el < 2e-2, "net %d: bf16 logits within bf16 tolerance of fp32 (rel. err %g)", k, el);
        /* float net: inputs, weights and every dy rounded to bf16 (2^-9 relative) through four layers and
         * three BNs of a batch of 16 (their centring cancels): about 1-5 % in the norm; the quantised nets
         * round only the gradients dy: about 0.2 % */
        double tol = k == 0 ? 0.1 : 2e-2;
        CHECK(eg < tol && eg > 0, "net %d: bf16 gradients within bf16 tolerance %g of fp32, and not identical (rel. err %g)", k, tol, eg);
    }

    /* a short real run: MiniMNIST, a small binary-activation CNN, one epoch in bf16 */
    rm_ctx ctx = {0};
    rm_dataset tr, te;
    CHECK_OK(rm_minimnist_load(&ctx, DATA_DIR "/mnist", 1, &tr, &te), &ctx);
    rm_model *m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=1x28x28 quant(8) conv(16,pad=1) bn sign conv(16,pad=1,w=binary) bn sign maxpool(2) "
                                        "linear(32,w=binary) bn sign linear(10,w=binary) bn", 3), &ctx);
    if (!m) return;
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts o = rm_train_defaults();
    o.batch = 64; o.aug = 0; o.limit = 2048;
    float acc0, loss0, acc, loss;
    CHECK_OK(rm_evaluate(&ctx, m, &te, 256, &acc0, &loss0), &ctx);
    rm_gemm_set_precision(RM_PREC_BF16, NULL, 0);
    rm_train_result res;
    CHECK_OK(rm_train(&ctx, m, &opt, &tr, &o, &res), &ctx);
    rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
    CHECK_OK(rm_evaluate(&ctx, m, &te, 256, &acc, &loss), &ctx);
    printf("bf16 MiniMNIST run: test loss %.3f -> %.3f, accuracy %.3f -> %.3f (%.0f img/s)\n", loss0, loss, acc0, acc, res.imgs_per_s);
    CHECK(loss < loss0 - 0.5f, "bf16 run: test loss falls (%.3f -> %.3f)", loss0, loss);
    CHECK(acc > 0.6f, "bf16 run: accuracy %.3f far above chance", acc);
    rm_optim_free(&opt);
    rm_model_free(m);
    rm_dataset_free(&tr);
    rm_dataset_free(&te);
}

int main(void) {
    rm_set_threads(0);
    test_parse();
    test_grads();
    test_sign();
    test_quantisers();
    test_roundtrip();
    test_deterministic();
    test_bf16();
    TEST_END();
}
