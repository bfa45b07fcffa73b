/* test_recipe.c - the paper's student recipe on real CIFAR-10 images: KT then KD for a LERP-PSA h=24
 * student lowers the loss in each phase; a run stopped mid-KD and resumed from its per-epoch checkpoint
 * ends with bit-identical weights to an uninterrupted run; B-spline students train with TV2. */
#include "tests/tutil.h"
#include "core/recipe.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { float first[8], last[8]; int n[8]; int stop_kd_epoch; } rec;
static int cb(void *ud, const rm_train_stats *s, int end) {
    rec *r = ud;
    if (!end) return 0;
    int ph = s->phase ? s->kt_block : 7;
    if (r->n[ph]++ == 0) r->first[ph] = s->loss;
    r->last[ph] = s->loss;
    return ph == 7 && r->stop_kd_epoch && s->epoch + 1 == r->stop_kd_epoch;
}

int main(void) {
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset train = {0};
    CHECK_OK(rm_cifar10_load(&ctx, &train, DATA_DIR "/cifar-10-batches-bin/data_batch_1.bin", NULL), &ctx);
    if (!train.n) TEST_END();
    rm_model *t = NULL, *s = NULL, *s2 = NULL;
    rm_model_cfg tc = rm_model_default_cfg(RM_ACT_RELU, 48), sc = rm_model_default_cfg(RM_ACT_LERP_PSA, 24);
    CHECK_OK(rm_model_new(&ctx, &t, &tc, 1), &ctx);
    /* a quickly trained teacher */
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    rm_optim_init(&ctx, &opt, t, &oc);
    rm_train_opts to = rm_train_defaults();
    to.epochs = 2; to.limit = 1024; to.batch = 64;
    rm_train_result tr;
    CHECK_OK(rm_train(&ctx, t, &opt, &train, &to, &tr), &ctx);
    rm_optim_free(&opt);

    /* KT then KD: loss falls in each phase */
    CHECK_OK(rm_model_new(&ctx, &s, &sc, 2), &ctx);
    rm_recipe_opts ro = rm_recipe_defaults();
    ro.kt_epochs = 2; ro.kd_epochs = 2; ro.limit = 1024; ro.batch = 64;
    rec r = {0};
    ro.cb = cb; ro.ud = &r;
    rm_recipe_result rr;
    CHECK_OK(rm_recipe_student(&ctx, s, t, &train, &ro, &rr), &ctx);
    CHECK(!strcmp(rr.phase, "done"), "recipe finished: %s", rr.phase);
    CHECK(memcmp(s->p.embed_w, t->p.embed_w, sizeof(float) * 96 * 48) != 0, "KD trains the embedding too");
    for (int ph = 0; ph < 4; ph++) {
        printf("kt block %d: mse %.5f -> %.5f\n", ph, r.first[ph], r.last[ph]);
        CHECK(r.n[ph] == 2 && r.last[ph] < r.first[ph], "KT block %d loss falls %.5f -> %.5f", ph, r.first[ph], r.last[ph]);
    }
    printf("kd: loss %.4f -> %.4f\n", r.first[7], r.last[7]);
    CHECK(r.n[7] == 2 && r.last[7] < r.first[7], "KD loss falls %.4f -> %.4f", r.first[7], r.last[7]);

    /* KT alone: the embedding is the teacher's and stays frozen */
    {
        rm_model *k = NULL;
        CHECK_OK(rm_model_new(&ctx, &k, &sc, 5), &ctx);
        rm_recipe_opts ko = ro;
        ko.kt_epochs = 1; ko.kd_epochs = 0; ko.limit = 256; ko.cb = NULL;
        CHECK_OK(rm_recipe_student(&ctx, k, t, &train, &ko, &rr), &ctx);
        CHECK(!memcmp(k->p.embed_w, t->p.embed_w, sizeof(float) * 96 * 48) && !memcmp(k->p.embed_b, t->p.embed_b, sizeof(float) * 96),
              "embedding copied from the teacher and frozen during KT");
        rm_model_free(k);
    }
    /* resume: uninterrupted A vs stopped after KD epoch 1 then resumed B (fresh model object) */
    char dir[] = "/tmp/resmlp-recipe-XXXXXX", ck[128];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(ck, sizeof ck, "%s/s.safetensors", dir);
    rm_model_free(s); s = NULL;
    ro.kt_epochs = 1; ro.kd_epochs = 2; ro.limit = 512; ro.cb = NULL;
    CHECK_OK(rm_model_new(&ctx, &s, &sc, 3), &ctx);
    CHECK_OK(rm_recipe_student(&ctx, s, t, &train, &ro, &rr), &ctx);
    CHECK_OK(rm_model_new(&ctx, &s2, &sc, 3), &ctx);
    rec r2 = {.stop_kd_epoch = 1};
    ro.cb = cb; ro.ud = &r2; ro.ckpt_path = ck;
    CHECK_OK(rm_recipe_student(&ctx, s2, t, &train, &ro, &rr), &ctx);
    CHECK(rr.interrupted && !strcmp(rr.phase, "kd"), "stopped in kd (%d, %s)", rr.interrupted, rr.phase);
    rm_model_free(s2); s2 = NULL;
    CHECK_OK(rm_model_new(&ctx, &s2, &sc, 99), &ctx);   /* different init: everything must come from the file */
    ro.cb = NULL; ro.resume = 1;
    CHECK_OK(rm_recipe_student(&ctx, s2, t, &train, &ro, &rr), &ctx);
    CHECK(!strcmp(rr.phase, "done"), "resumed run finished: %s", rr.phase);
    CHECK(s2->nparams == s->nparams && !memcmp(s->mem, s2->mem, s->nparams * 4), "resumed weights bit-identical");
    CHECK(!memcmp(s->bmem, s2->bmem, s->nbufs * 4), "resumed BN statistics bit-identical");
    /* resume from the phase boundary: stop right after KT (checkpoint says kd epoch 0) */
    rm_model_free(s2); s2 = NULL;

    /* B-spline student: TV2 term included, loss finite and falling in KD */
    rm_model *b = NULL;
    rm_model_cfg bc = rm_model_default_cfg(RM_ACT_BSPLINE, 24);
    CHECK_OK(rm_model_new(&ctx, &b, &bc, 4), &ctx);
    memset(&r, 0, sizeof r);
    ro.resume = 0; ro.ckpt_path = NULL; ro.cb = cb; ro.ud = &r; ro.kt_epochs = 1; ro.kd_epochs = 2;
    CHECK_OK(rm_recipe_student(&ctx, b, t, &train, &ro, &rr), &ctx);
    CHECK(r.last[7] < r.first[7], "B-spline KD loss falls %.4f -> %.4f", r.first[7], r.last[7]);
    rm_model_free(b);

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    rm_model_free(s); rm_model_free(t);
    rm_dataset_free(&train);
    TEST_END();
}
