/* test_model.c - the C ResMLP against PyTorch golden fixtures (tests/fixtures/make_fixtures.py):
 * train-mode logits, loss, every parameter gradient, BN running stats after the step, eval-mode logits,
 * KD loss and its gradient, B-spline TV2 - for ReLU h=24, LERP-PSA h=16 and B-spline h=16 models.
 * Also parameter counts of the paper's configurations. */
#include "tests/tutil.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "core/layers.h"
#include <string.h>
#include <stdlib.h>

/* max |a-b| relative to max |ref| of the tensor (with a floor for near-zero tensors) */
static double cmp(const float *a, const float *ref, size_t n, double floor_) {
    double mref = floor_, md = 0;
    for (size_t i = 0; i < n; i++) { if (fabs(ref[i]) > mref) mref = fabs(ref[i]); }
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - ref[i]); if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d; }
    return md / mref;
}

static const float *get(rm_ctx *ctx, rm_st_file *f, const char *name, size_t n) {
    const rm_st_tensor *t = rm_st_find(f, name);
    if (!t || t->dtype != RM_F32 || t->nbytes != n * 4) { CHECK(0, "fixture tensor %s missing or wrong size", name); return NULL; }
    return t->data;
}

static void golden(const char *path, float tol) {
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    CHECK_OK(rm_checkpoint_load(&ctx, path, &m), &ctx);
    if (!m) return;
    rm_st_file f = {0};
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    const rm_model_cfg *c = &m->cfg;
    int B = 4, K = c->K;
    const float *x = get(&ctx, &f, "input", (size_t)B * c->T * c->P);
    const rm_st_tensor *lt = rm_st_find(&f, "labels");
    int y[4];
    memcpy(y, lt->data, sizeof y);
    /* keep the stored running stats for the eval check */
    float *bsave = malloc(m->nbufs * sizeof(float));
    memcpy(bsave, m->bmem, m->nbufs * sizeof(float));
    CHECK_OK(rm_model_forward(&ctx, m, x, B, 1, RM_FULL), &ctx);
    double e = cmp(m->c.logits, get(&ctx, &f, "logits", B * K), B * K, 1e-6);
    CHECK(e < tol, "%s: train logits rel err %.3g", path, e);
    float dz[40];
    float loss = cross_entropy(dz, m->c.logits, y, B, K);
    const float *rl = get(&ctx, &f, "loss", 1);
    CHECK(t_close(loss, rl[0], tol, 0), "%s: loss %.7g vs torch %.7g", path, loss, rl[0]);
    rm_model_zero_grad(m);
    if (c->act.kind == RM_ACT_BSPLINE) {
        /* TV2 value and gradient (lambda 1), then clear */
        float tv = rm_model_regular(m, 1.0f, 1);
        const float *rtv = get(&ctx, &f, "tv2", 1);
        CHECK(t_close(tv, rtv[0], 1e-4, 0), "%s: tv2 %.7g vs %.7g", path, tv, rtv[0]);
        for (int i = 0; i < m->ntensors; i++) {
            char nm[200];
            if (!strstr(m->tensors[i].name, "coefficients")) continue;
            snprintf(nm, sizeof nm, "grad_tv2.%s", m->tensors[i].name);
            const float *g = get(&ctx, &f, nm, m->tensors[i].n);
            if (g) { double ee = cmp(m->gmem + m->tensors[i].off, g, m->tensors[i].n, 1e-6); CHECK(ee < 1e-4, "%s: %s rel err %.3g", path, nm, ee); }
        }
        rm_model_zero_grad(m);
    }
    rm_model_backward(m, x, dz, NULL, RM_FULL, -1);
    /* gradient scale for structural zeros */
    double gmax = 0;
    for (int i = 0; i < m->ntensors; i++) {
        char nm[200];
        snprintf(nm, sizeof nm, "grad.%s", m->tensors[i].name);
        const float *g = get(&ctx, &f, nm, m->tensors[i].n);
        for (size_t j = 0; g && j < m->tensors[i].n; j++) if (fabs(g[j]) > gmax) gmax = fabs(g[j]);
    }
    int bad = 0;
    for (int i = 0; i < m->ntensors; i++) {
        char nm[200];
        snprintf(nm, sizeof nm, "grad.%s", m->tensors[i].name);
        const float *g = get(&ctx, &f, nm, m->tensors[i].n);
        if (!g) continue;
        double ee = cmp(m->gmem + m->tensors[i].off, g, m->tensors[i].n, 1e-2 * gmax);
        if (ee >= tol) { bad++; fprintf(stderr, "  %s: %s rel err %.3g\n", path, nm, ee); }
    }
    CHECK(bad == 0, "%s: %d gradient tensors differ from torch", path, bad);
    for (int i = 0; i < m->nbuftensors; i++) {
        char nm[200];
        snprintf(nm, sizeof nm, "running_after.%s", m->buftensors[i].name);
        const float *g = get(&ctx, &f, nm, m->buftensors[i].n);
        if (!g) continue;
        double ee = cmp(m->bmem + m->buftensors[i].off, g, m->buftensors[i].n, 1e-6);
        CHECK(ee < tol, "%s: %s rel err %.3g", path, nm, ee);
    }
    memcpy(m->bmem, bsave, m->nbufs * sizeof(float));
    CHECK_OK(rm_model_forward(&ctx, m, x, B, 0, RM_FULL), &ctx);
    e = cmp(m->c.logits, get(&ctx, &f, "logits_eval", B * K), B * K, 1e-6);
    CHECK(e < tol, "%s: eval logits rel err %.3g", path, e);
    /* KD loss and gradient on the stored logits */
    const float *zs = get(&ctx, &f, "logits", B * K), *zt = get(&ctx, &f, "kd.teacher_logits", B * K);
    float kl = kd_loss(dz, zs, zt, y, B, K, 0.8f, 1.0f);
    const float *rk = get(&ctx, &f, "kd.loss", 1);
    CHECK(t_close(kl, rk[0], 1e-5, 0), "%s: kd loss %.7g vs %.7g", path, kl, rk[0]);
    e = cmp(dz, get(&ctx, &f, "kd.grad_logits", B * K), B * K, 1e-6);
    CHECK(e < 1e-5, "%s: kd grad rel err %.3g", path, e);
    free(bsave);
    rm_st_free(&f);
    rm_model_free(m);
}

static void counts(void) {
    rm_ctx ctx = {0};
    struct { int kind, h; size_t n; } cases[] = {
        {RM_ACT_RELU, 96, 100074}, {RM_ACT_RELU, 384, 322410}, {RM_ACT_RELU, 192, 174186},
        {RM_ACT_LERP_PSA, 96, 120042}, {RM_ACT_BSPLINE, 96, 149994}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rm_model *m = NULL;
        rm_model_cfg c = rm_model_default_cfg(cases[i].kind, cases[i].h);
        CHECK_OK(rm_model_new(&ctx, &m, &c, 1), &ctx);
        if (!m) continue;
        CHECK(rm_model_trainable_count(m) == cases[i].n, "%s h=%d: %zu parameters, expected %zu",
              rm_act_name(cases[i].kind), cases[i].h, rm_model_trainable_count(m), cases[i].n);
        rm_model_free(m);
    }
    for (int h = 24; h <= 384; h *= 2) {
        rm_model *m = NULL;
        rm_model_cfg c = rm_model_default_cfg(RM_ACT_RELU, h);
        if (rm_model_new(&ctx, &m, &c, 1) == 0) {
            CHECK(rm_model_trainable_count(m) == 25962 + 772 * (size_t)h, "relu h=%d count", h);
            rm_model_free(m);
        }
    }
}

int main(void) {
    rm_set_threads(0);
    counts();
    golden("tests/fixtures/resmlp_relu_h24.safetensors", 1e-4f);
    golden("tests/fixtures/resmlp_lerp_h16.safetensors", 1e-4f);
    golden("tests/fixtures/resmlp_bspline_h16.safetensors", 1e-4f);
    TEST_END();
}
