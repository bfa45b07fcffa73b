/* test_train.c - short real runs on CIFAR-10: a ReLU h=24 model trained on 2,000 images for 3 epochs
 * must lower its loss; a NaN-producing learning rate stops with a message and keeps finite weights;
 * the interrupt flag stops at a safe point; evaluation counts and KD training with a teacher. */
#include "tests/tutil.h"
#include "core/train.h"
#include "core/gemm.h"
#include <stdlib.h>
#include <string.h>

typedef struct { float first, last; int epochs; } rec;
static int cb(void *ud, const rm_train_stats *s, int end) {
    rec *r = ud;
    if (end) { if (r->epochs++ == 0) r->first = s->loss; r->last = s->loss; }
    return 0;
}
static volatile int flag = 0;
static int stop_cb(void *ud, const rm_train_stats *s, int end) { if (s->step >= 3) flag = 1; return 0; }

int main(void) {
    rm_set_threads(0);
    rm_ctx ctx = {0};
    rm_dataset train = {0}, test = {0};
    CHECK_OK(rm_cifar10_load(&ctx, &train, DATA_DIR "/cifar-10-batches-bin/data_batch_1.bin", NULL), &ctx);
    CHECK_OK(rm_cifar10_load(&ctx, &test, DATA_DIR "/cifar-10-batches-bin", "test"), &ctx);
    if (train.n == 0) TEST_END();
    rm_model_cfg cfg = rm_model_default_cfg(RM_ACT_RELU, 24);
    rm_model *m = NULL;
    CHECK_OK(rm_model_new(&ctx, &m, &cfg, 1), &ctx);
    rm_optim opt;
    rm_optim_cfg oc = rm_optim_default();
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 3; o.limit = 2000; o.batch = 64; o.aug = RM_AUG_NONE;
    rec r = {0};
    o.cb = cb; o.ud = &r;
    rm_train_result res;
    CHECK_OK(rm_train(&ctx, m, &opt, &train, &o, &res), &ctx);
    printf("loss %.4f -> %.4f over %d epochs (%.0f img/s)\n", r.first, r.last, r.epochs, res.imgs_per_s);
    CHECK(r.epochs == 3 && res.epochs_done == 3, "epochs run %d", r.epochs);
    CHECK(r.last < r.first - 0.05f, "loss falls: %.4f -> %.4f", r.first, r.last);
    float acc, loss;
    CHECK_OK(rm_evaluate(&ctx, m, &test, 256, &acc, &loss), &ctx);
    printf("test acc %.3f loss %.4f\n", acc, loss);
    CHECK(acc > 0.15f && isfinite(loss), "better than chance after a short run: %.3f", acc);

    /* the same run with bf16 matmul inputs (fp32 master weights): the loss falls as far, the weights
     * differ from the fp32 run (so the bf16 path ran), and the model evaluates in fp32 */
    {
        char note[200] = "";
        rm_gemm_set_precision(RM_PREC_BF16, note, sizeof note);
        if (rm_gemm_precision() != RM_PREC_BF16) {
            CHECK(note[0] != 0, "falling back to fp32 gives a notice");
            printf("bf16 run skipped: %s\n", note);
        } else {
            rm_model *mb = NULL;
            CHECK_OK(rm_model_new(&ctx, &mb, &cfg, 1), &ctx);
            rm_optim ob;
            CHECK_OK(rm_optim_init(&ctx, &ob, mb, &oc), &ctx);
            rec rb = {0};
            o.ud = &rb;
            CHECK_OK(rm_train(&ctx, mb, &ob, &train, &o, &res), &ctx);
            rm_gemm_set_precision(RM_PREC_FP32, NULL, 0);
            printf("bf16: loss %.4f -> %.4f (fp32 run %.4f -> %.4f, %.0f img/s)\n", rb.first, rb.last, r.first, r.last, res.imgs_per_s);
            CHECK(rb.last < rb.first - 0.05f, "bf16 loss falls: %.4f -> %.4f", rb.first, rb.last);
            CHECK(fabsf(rb.last - r.last) < 0.1f, "bf16 final loss %.4f near fp32 %.4f", rb.last, r.last);
            CHECK(memcmp(mb->mem, m->mem, m->nparams * sizeof(float)) != 0, "bf16 run differs from fp32");
            float ab, lb;
            CHECK_OK(rm_evaluate(&ctx, mb, &test, 256, &ab, &lb), &ctx);
            CHECK(ab > 0.15f && fabsf(ab - acc) < 0.06f, "bf16-trained model in fp32: acc %.3f (fp32-trained %.3f)", ab, acc);
            rm_optim_free(&ob);
            rm_model_free(mb);
            o.ud = &r;
        }
    }

    /* KD from the model just trained (as teacher) into a fresh student */
    rm_model *s = NULL;
    CHECK_OK(rm_model_new(&ctx, &s, &cfg, 2), &ctx);
    rm_optim so;
    CHECK_OK(rm_optim_init(&ctx, &so, s, &oc), &ctx);
    o.teacher = m; o.epochs = 2;
    r = (rec){0};
    CHECK_OK(rm_train(&ctx, s, &so, &train, &o, &res), &ctx);
    CHECK(r.last < r.first, "KD loss falls: %.4f -> %.4f", r.first, r.last);
    /* KT of block 1 against the teacher's stream */
    o.kt_block = 1; o.epochs = 2;
    float before[24];
    memcpy(before, s->p.tok[0].w, sizeof before);
    r = (rec){0};
    CHECK_OK(rm_train(&ctx, s, &so, &train, &o, &res), &ctx);
    CHECK(r.last < r.first, "KT loss falls: %.4f -> %.4f", r.first, r.last);
    CHECK(!memcmp(before, s->p.tok[0].w, sizeof before), "KT of block 1 leaves block 0 untouched");
    o.kt_block = -1; o.teacher = NULL;

    /* a huge learning rate: the loss blows up, training stops with a message, weights stay finite */
    rm_optim_free(&opt);
    oc.lr = 1e30f; oc.lr_min = 1e30f;
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    o.epochs = 2; o.cb = NULL;
    int st = rm_train(&ctx, m, &opt, &train, &o, &res);
    CHECK(st == RM_ERR && (strstr(ctx.msg, "NaN") || strstr(ctx.msg, "infinite") || strstr(ctx.msg, "non-finite")), "blow-up reported: %s", ctx.msg);
    printf("blow-up: %s\n", ctx.msg);
    int finite = 1;
    for (size_t i = 0; i < m->nparams; i++) if (!isfinite(m->mem[i])) { finite = 0; break; }
    CHECK(finite && strstr(ctx.msg, "restored"), "weights finite after a stopped blow-up");
    CHECK_OK(rm_evaluate(&ctx, m, &test, 256, &acc, &loss), &ctx);
    CHECK(isfinite(loss), "restored model evaluates: loss %g", loss);

    /* interrupt flag: stops after the current batch */
    rm_optim_free(&opt);
    oc = rm_optim_default();
    CHECK_OK(rm_optim_init(&ctx, &opt, s, &oc), &ctx);
    ctx.interrupt = &flag;
    o.cb = stop_cb; o.epochs = 5; o.report_s = 0;
    CHECK_OK(rm_train(&ctx, s, &opt, &train, &o, &res), &ctx);
    CHECK(res.interrupted && res.epochs_done == 0, "interrupted in the first epoch (%d, %d)", res.interrupted, res.epochs_done);
    {   /* the stop is reported in steps and images, not as "after 0 epochs" */
        char at[160];
        rm_train_stopped_at(&res, at, sizeof at);
        printf("stopped %s\n", at);
        CHECK(res.steps_done == 3 && res.images == 3L * o.batch && res.steps_per_epoch > 3, "steps %d images %ld of %d",
              res.steps_done, res.images, res.steps_per_epoch);
        char want[96];
        snprintf(want, sizeof want, "after 0 epochs and 3/%d steps of epoch 1 (%d images", res.steps_per_epoch, 3 * o.batch);
        CHECK(strstr(at, want) != NULL, "stop message: %s", at);
    }
    CHECK_OK(rm_evaluate(&(rm_ctx){0}, s, &test, 256, &acc, &loss), &ctx);
    CHECK(isfinite(loss), "model still evaluates after the interrupt");

    rm_optim_free(&opt); rm_optim_free(&so);
    rm_model_free(m); rm_model_free(s);
    rm_dataset_free(&train); rm_dataset_free(&test);
    TEST_END();
}
