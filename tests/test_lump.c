/* test_lump.c - neuron lumping: planted proportional (lambda > 0), negative-lambda, zero-in and zero-out
 * neurons in ReLU MLPs (with and without BN) merge or stay as the method says and the logits are unchanged
 * to float rounding; the 1/lambda merge of a published toy example is shown to change the function;
 * HardTanh merges identical neurons only; a binary-weight sign network lumps its natural duplicates; the
 * ResMLP's channel MLPs (ReLU and LERP-PSA) lump with padding to one width. */
#include "tests/tutil.h"
#include "tests/tmodels.h"
#include "core/lump.h"
#include "core/net.h"
#include <stdlib.h>
#include <string.h>

static void tab(rm_dataset *d, int n, int f, int classes, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->n = n; d->c = f; d->h = d->w = 1; d->nclass = classes;
    d->feat = malloc(sizeof(float) * n * f);
    d->labels = malloc(n);
    for (int i = 0; i < n * f; i++) d->feat[i] = rm_rng_normal(&seed);
    for (int i = 0; i < n; i++) d->labels[i] = (uint8_t)(i % classes);
}
static float *T(rm_model *m, const char *name) { return rm_model_tensor_data(m, name, NULL); }
/* row r of (rows, cols) matrix w := lam * row s; bias too */
static void plant(float *w, float *b, int cols, int r, int s, float lam) {
    for (int k = 0; k < cols; k++) w[r * cols + k] = lam * w[s * cols + k];
    if (b) b[r] = lam * b[s];
}
static double scale(rm_ctx *ctx, rm_model *m, const rm_dataset *d) {   /* max |logit| */
    rm_model *z = NULL;
    double md = 0;
    rm_model_new_like(ctx, &z, m, 1);
    for (size_t i = 0; i < z->nparams; i++) z->mem[i] = 0;
    for (size_t i = 0; i < z->nbufs; i++) z->bmem[i] = 0;
    rm_model_params_changed(z);
    rm_logit_maxdiff(ctx, m, z, d, 0, &md);
    rm_model_free(z);
    return md;
}

int main(void) {
    rm_ctx ctx = {0};
    double lam;
    float a[4] = {1, -2, 3, 0.5f}, b[4], c[4];
    for (int i = 0; i < 4; i++) { b[i] = 2.5f * a[i]; c[i] = -1.5f * a[i]; }
    CHECK(rm_lump_proportional(a, b, 4, 1e-6, &lam) && fabs(lam - 2.5) < 1e-6, "lambda 2.5 found (%g)", lam);
    CHECK(!rm_lump_proportional(a, c, 4, 1e-6, &lam), "lambda -1.5 refused");
    float z[4] = {0};
    CHECK(!rm_lump_proportional(a, z, 4, 1e-6, &lam) && !rm_lump_proportional(z, a, 4, 1e-6, &lam), "zero vectors are not proportional");
    b[2] += 0.01f;
    CHECK(!rm_lump_proportional(a, b, 4, 1e-6, &lam) && rm_lump_proportional(a, b, 4, 1e-2, &lam), "tolerance: exact refuses, 1%% accepts");

    rm_dataset d;
    tab(&d, 200, 10, 3, 4);
    /* ---- ReLU MLP with planted neurons ---- */
    rm_model *m = NULL, *o = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=10 linear(12) relu linear(8) relu linear(3)", 9), &ctx);
    float *W0 = T(m, "layers.0.weight"), *b0 = T(m, "layers.0.bias"), *W2 = T(m, "layers.2.weight"), *b2 = T(m, "layers.2.bias");
    plant(W0, b0, 10, 3, 1, 2.5f);      /* merges into 1 with lambda 2.5 */
    plant(W0, b0, 10, 7, 1, 0.4f);      /* merges into 1 with lambda 0.4 */
    plant(W0, b0, 10, 5, 2, -1.5f);     /* lambda < 0: must stay */
    for (int k = 0; k < 10; k++) W0[9 * 10 + k] = 0;
    b0[9] = 0.7f;                       /* zero incoming: constant relu(0.7) folded into layer 2's bias */
    for (int r = 0; r < 8; r++) W2[r * 12 + 10] = 0;   /* zero outgoing */
    float *W4 = T(m, "layers.4.weight");
    plant(W2, b2, 12, 4, 0, 1.0f);      /* layer 2: an identical neuron */
    (void)W4;
    rm_model_params_changed(m);
    double sc = scale(&ctx, m, &d);
    rm_lump_opts lo = {.tol = 0, .zero = 1};
    static rm_lump_report rep;
    CHECK_OK(rm_lump(&ctx, m, &o, &lo, &rep), &ctx);
    if (o) {
        CHECK(rep.n == 2, "two hidden layers reported (%d)", rep.n);
        CHECK(rep.l[0].merged == 2 && rep.l[0].zero_in == 1 && rep.l[0].zero_out == 1 && rep.l[0].after == 8,
              "layer 0: merged %d (2), zero in %d (1), zero out %d (1), kept %d (8: the lambda<0 neuron stays)",
              rep.l[0].merged, rep.l[0].zero_in, rep.l[0].zero_out, rep.l[0].after);
        CHECK(rep.l[1].merged == 1 && rep.l[1].after == 7, "layer 2: merged %d (1), kept %d (7)", rep.l[1].merged, rep.l[1].after);
        CHECK(rep.params_after == rep.params_before - 4 * (10 + 1 + 8) - 1 * (8 + 1 + 3),
              "parameters %ld -> %ld", rep.params_before, rep.params_after);
        double md;
        CHECK_OK(rm_logit_maxdiff(&ctx, m, o, &d, 0, &md), &ctx);
        CHECK(md <= 1e-5 * sc, "exact lumping keeps the logits: max diff %.3g (scale %.3g)", md, sc);
        char txt[512];
        rm_net_format(rm_net_spec_of(o), txt, sizeof txt);
        CHECK(strstr(txt, "linear(8)") && strstr(txt, "linear(7)"), "new widths in the text form: %s", txt);
    }
    rm_model_free(o); o = NULL;

    /* ---- the 1/lambda merge (a published toy example) changes the function; lambda does not ---- */
    {
        rm_model *p = NULL, *wrong = NULL, *right = NULL;
        rm_model_new_net(&ctx, &p, "input=10 linear(6) relu linear(3)", 2);
        float *w = T(p, "layers.0.weight"), *bb = T(p, "layers.0.bias");
        plant(w, bb, 10, 4, 1, 2.0f);
        rm_model_params_changed(p);
        rm_model_new_like(&ctx, &wrong, p, 1); rm_model_copy_params(&ctx, wrong, p);
        rm_model_new_like(&ctx, &right, p, 1); rm_model_copy_params(&ctx, right, p);
        float *ww = T(wrong, "layers.2.weight"), *wr = T(right, "layers.2.weight");
        for (int r = 0; r < 3; r++) {   /* neuron 4 = 2 * neuron 1: delete 4 (zero its column), fold into 1 */
            ww[r * 6 + 1] += 0.5f * ww[r * 6 + 4]; ww[r * 6 + 4] = 0;
            wr[r * 6 + 1] += 2.0f * wr[r * 6 + 4]; wr[r * 6 + 4] = 0;
        }
        rm_model_params_changed(wrong); rm_model_params_changed(right);
        double mw, mr, ml, s2 = scale(&ctx, p, &d);
        rm_logit_maxdiff(&ctx, p, wrong, &d, 0, &mw);
        rm_logit_maxdiff(&ctx, p, right, &d, 0, &mr);
        CHECK(mw > 1e-2 * s2, "1/lambda merge changes the logits (max diff %.3g of %.3g)", mw, s2);
        CHECK(mr <= 1e-5 * s2, "lambda merge keeps them (max diff %.3g)", mr);
        CHECK_OK(rm_lump(&ctx, p, &o, &lo, &rep), &ctx);
        CHECK(o && rep.l[0].merged == 1 && rm_logit_maxdiff(&ctx, p, o, &d, 0, &ml) == 0 && ml <= 1e-5 * s2,
              "rm_lump merges with lambda (diff %.3g)", ml);
        rm_model_free(o); o = NULL;
        rm_model_free(p); rm_model_free(wrong); rm_model_free(right);
    }

    /* ---- BN between linear and ReLU: effective weights (a neuron with other BN statistics) ---- */
    {
        rm_model *p = NULL;
        rm_model_new_net(&ctx, &p, "input=10 linear(12) bn relu linear(3)", 5);
        float *w = T(p, "layers.0.weight"), *bb = T(p, "layers.0.bias");
        float *g = T(p, "layers.1.weight"), *be = T(p, "layers.1.bias"), *rm = T(p, "layers.1.running_mean"), *rv = T(p, "layers.1.running_var");
        uint64_t s = 77;
        for (int k = 0; k < 12; k++) { g[k] = 0.5f + rm_rng_uniform(&s); be[k] = rm_rng_normal(&s) * 0.3f; rm[k] = rm_rng_normal(&s) * 0.2f; rv[k] = 0.5f + rm_rng_uniform(&s); }
        plant(w, bb, 10, 3, 1, 2.0f);
        g[3] = g[1]; be[3] = be[1]; rm[3] = 2 * rm[1]; rv[3] = 4 * rv[1] + 3e-5f;   /* a_3 = a_1 / 2: the same effective neuron */
        rm_model_params_changed(p);
        CHECK_OK(rm_lump(&ctx, p, &o, &lo, &rep), &ctx);
        double md, s2 = scale(&ctx, p, &d);
        CHECK(o && rep.l[0].merged == 1 && rep.l[0].after == 11, "BN-folded duplicate merged (%d)", rep.l[0].merged);
        CHECK(o && rm_logit_maxdiff(&ctx, p, o, &d, 0, &md) == 0 && md <= 1e-5 * s2, "logits kept through BN (diff %.3g)", md);
        rm_model_free(o); o = NULL;
        rm_model_free(p);
    }

    /* ---- HardTanh: only identical neurons ---- */
    {
        rm_model *p = NULL;
        rm_model_new_net(&ctx, &p, "input=10 linear(8) hardtanh linear(3)", 6);
        float *w = T(p, "layers.0.weight"), *bb = T(p, "layers.0.bias");
        plant(w, bb, 10, 3, 1, 2.0f);
        plant(w, bb, 10, 5, 1, 1.0f);
        rm_model_params_changed(p);
        CHECK_OK(rm_lump(&ctx, p, &o, &lo, &rep), &ctx);
        double md, s2 = scale(&ctx, p, &d);
        CHECK(o && rep.l[0].merged == 1 && rep.l[0].after == 7 && !rep.l[0].proportional, "hardtanh: the identical neuron merges, the 2x one stays (%d kept)", rep.l[0].after);
        CHECK(o && rm_logit_maxdiff(&ctx, p, o, &d, 0, &md) == 0 && md <= 1e-5 * s2, "hardtanh logits kept (diff %.3g)", md);
        rm_model_free(o); o = NULL;
        rm_model_free(p);
    }

    /* ---- binary weights + sign: duplicates occur naturally ---- */
    {
        rm_model *p = NULL;
        CHECK_OK(rm_model_new_net(&ctx, &p, "input=10 linear(96,w=binary,bias=off) sign linear(3)", 8), &ctx);
        rm_dataset d6;
        tab(&d6, 100, 10, 3, 9);
        CHECK_OK(rm_lump(&ctx, p, &o, &lo, &rep), &ctx);
        double md, s2 = scale(&ctx, p, &d6);
        CHECK(o && rep.l[0].merged > 0, "binary/sign: %d natural duplicates merged of 96", rep.l[0].merged);
        CHECK(o && rm_logit_maxdiff(&ctx, p, o, &d6, 0, &md) == 0 && md <= 1e-5 * s2, "binary/sign logits kept (diff %.3g)", md);
        rm_model_free(o); o = NULL;
        rm_model_free(p);
        rm_dataset_free(&d6);
    }
    rm_model_free(m);
    rm_dataset_free(&d);

    /* ---- ResMLP channel MLPs ---- */
    rm_dataset im;
    t_random_images(&im, 32);
    for (int act = 0; act < 2; act++) {
        rm_model_cfg c = t_tiny_resmlp_cfg(act);
        rm_model *r = NULL;
        CHECK_OK(rm_model_new(&ctx, &r, &c, 5), &ctx);
        if (!r) continue;
        const char *what = act ? "resmlp lerp_psa" : "resmlp relu";
        plant(r->p.mlp[0].fc1_w, r->p.mlp[0].fc1_b, 10, 2, 0, act ? 1.0f : 3.0f);
        plant(r->p.mlp[1].fc1_w, r->p.mlp[1].fc1_b, 10, 5, 1, act ? 2.0f : 0.5f);   /* lerp_psa: 2x never merges */
        plant(r->p.mlp[1].fc1_w, r->p.mlp[1].fc1_b, 10, 6, 1, 1.0f);
        for (int q = 0; q < 10; q++) r->p.mlp[1].fc2_w[q * 12 + 4] = 0;            /* zero outgoing */
        if (act) {   /* identical neurons need identical curves: copy channel 0 -> 2 (block 0), 1 -> 6 (block 1) */
            for (int k = 0; k < rm_act_ntensors(&c.act); k++) {
                const char *suf; int nd; int64_t sh[2]; size_t off;
                rm_act_tensor(&c.act, 12, k, &suf, &nd, sh, &off);
                int w = nd > 1 ? (int)sh[1] : 1;
                memcpy(r->p.mlp[0].act2 + off + 2 * w, r->p.mlp[0].act2 + off, sizeof(float) * w);
                memcpy(r->p.mlp[1].act2 + off + 6 * w, r->p.mlp[1].act2 + off + 1 * w, sizeof(float) * w);
            }
        }
        rm_model_params_changed(r);
        CHECK_OK(rm_lump(&ctx, r, &o, &lo, &rep), &ctx);
        if (!o) { rm_model_free(r); continue; }
        int want1 = act ? 10 : 9;   /* block 1: zero-out + identical (+ the 0.5x one for ReLU) */
        CHECK(rep.n == 2 && rep.l[0].after == 11 && rep.l[1].after == want1, "%s: kept %d and %d (11, %d)", what,
              rep.l[0].after, rep.l[1].after, want1);
        CHECK(o->cfg.H == 11, "%s: new hidden width %d (the largest kept count, 11)", what, o->cfg.H);
        double md, s2 = scale(&ctx, r, &im);
        CHECK_OK(rm_logit_maxdiff(&ctx, r, o, &im, 0, &md), &ctx);
        CHECK(md <= 1e-5 * s2 + 1e-6, "%s: logits kept (diff %.3g, scale %.3g)", what, md, s2);
        rm_model_free(o); o = NULL;
        rm_model_free(r);
    }
    rm_dataset_free(&im);
    TEST_END();
}
