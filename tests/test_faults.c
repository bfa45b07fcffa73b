/* test_faults.c - crash consistency of checkpoints and training under bad data:
 *  - kill -9 at random points of a save (100 trials): a child process saves two different models in turn
 *    onto one path, the parent kills it after a random delay; the file must always load and hold exactly
 *    one of the two models (never a torn mix, never a missing file);
 *  - NaN / Inf injected into a batch (a feature of one sample of a real data set, UCI Vertebral, set after
 *    epoch 2 of a run that checkpoints every epoch): training stops with "NaN|infinite input at epoch 3
 *    step N (sample S of the training set, feature 2)", the weights are finite (restored to the last
 *    good step), the epoch-2 checkpoint is kept, loads, resumes (optimiser state) and evaluates. (Before
 *    the input and gradient checks in rm_train, a ReLU net trained on: ReLU maps NaN to 0, the loss
 *    stayed finite and the first layer's weights silently became NaN.)
 * ENOSPC/EIO during a save (LD_PRELOAD shim) and SIGINT during training are in tests/e2e_faults.sh. */
#include "tutil.h"
#include "core/checkpoint.h"
#include "core/net.h"
#include "core/table.h"
#include "core/train.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int same_params(const rm_model *a, const rm_model *b) {
    return a->nparams == b->nparams && !memcmp(a->mem, b->mem, sizeof(float) * a->nparams);
}

static void test_kill_during_save(const char *dir) {
    rm_ctx ctx = {0};
    rm_model *a = NULL, *b = NULL;
    rm_model_cfg c = rm_model_default_cfg(RM_ACT_LERP_PSA, 96);   /* the paper's student: ~0.5 MB file */
    CHECK_OK(rm_model_new(&ctx, &a, &c, 1), &ctx);
    CHECK_OK(rm_model_new(&ctx, &b, &c, 2), &ctx);
    if (!a || !b) return;
    char path[512];
    snprintf(path, sizeof path, "%s/kill.safetensors", dir);
    CHECK_OK(rm_checkpoint_save(&ctx, path, a, NULL, NULL), &ctx);
    uint64_t rng = 12345;
    int trials = 100, saw_a = 0, saw_b = 0, bad = 0, mid = 0;
    for (int t = 0; t < trials; t++) {
        pid_t pid = fork();
        if (pid == 0) {   /* child: save a and b in turn until killed */
            rm_ctx cc = {0};
            for (int i = 0;; i++) if (rm_checkpoint_save(&cc, path, i & 1 ? a : b, NULL, NULL)) _exit(3);
        }
        /* 0..12 ms: a save of this model takes a few ms (fsync included), so kills land everywhere */
        struct timespec ts = {0, (long)rm_rng_below(&rng, 12000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) { bad++; continue; }
        rm_model *m = NULL;
        rm_ctx lc = {0};
        if (rm_checkpoint_load(&lc, path, &m)) {
            bad++;
            fprintf(stderr, "trial %d: %s\n", t, lc.msg);
            continue;
        }
        if (same_params(m, a)) saw_a++;
        else if (same_params(m, b)) saw_b++;
        else bad++;
        rm_model_free(m);
        /* temp files of killed saves stay behind (path.tmp.PID); count and remove them */
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
        if (remove(tmp) == 0) mid++;
    }
    CHECK(bad == 0, "%d of %d kill -9 trials left an unloadable or torn checkpoint", bad, trials);
    CHECK(saw_a > 0 && saw_b > 0, "the kills landed between saves of both models (a %d, b %d)", saw_a, saw_b);
    printf("kill -9 during save: %d trials, file held model a %d times, b %d times, %d kills inside a write "
           "(temp file left), 0 torn\n", trials, saw_a, saw_b, mid);
    rm_model_free(a);
    rm_model_free(b);
    remove(path);
}

typedef struct inject { rm_dataset *ds; int at_epoch; float value; } inject;
static int inject_cb(void *ud, const rm_train_stats *s, int epoch_end) {
    inject *in = ud;
    if (epoch_end && s->epoch + 1 == in->at_epoch)
        for (int i = 0; i < in->ds->n; i += 7) in->ds->feat[(size_t)i * in->ds->c + 2] = in->value;
    return 0;
}

static void test_nonfinite_batch(const char *dir, float value, const char *want) {
    rm_ctx ctx = {0};
    rm_dataset ds;
    CHECK_OK(rm_vertebral_load(&ctx, &ds, DATA_DIR "/vertebral/column_3C.dat", NULL), &ctx);
    if (!ds.n) return;
    rm_model *m = NULL;
    CHECK_OK(rm_model_new_net(&ctx, &m, "input=6 linear(32) relu linear(32) relu linear(3)", 3), &ctx);
    if (!m) { rm_dataset_free(&ds); return; }
    char ck[512];
    snprintf(ck, sizeof ck, "%s/nan.safetensors", dir);
    rm_optim_cfg oc = rm_optim_default();
    rm_optim opt;
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    rm_train_opts o = rm_train_defaults();
    o.epochs = 5; o.batch = 16; o.aug = RM_AUG_NONE; o.ckpt_path = ck;
    inject in = {&ds, 2, value};
    o.cb = inject_cb; o.ud = &in;
    rm_train_result res;
    int r = rm_train(&ctx, m, &opt, &ds, &o, &res);
    CHECK(r == RM_ERR, "training on a %s batch fails", want);
    CHECK(strstr(ctx.msg, want) && strstr(ctx.msg, "input at epoch 3 step") && strstr(ctx.msg, "feature 2") &&
          strstr(ctx.msg, "weights restored") && !strchr(ctx.msg, '\n'),
          "one clear line naming the epoch and step: %s", ctx.msg);
    CHECK(res.epochs_done == 2, "two epochs completed (%d)", res.epochs_done);
    int finite = 1;
    for (size_t i = 0; i < m->nparams; i++) finite &= isfinite(m->mem[i]) != 0;
    CHECK(finite, "the model's weights are finite after the blow-up");
    /* the last good checkpoint: epoch 2, loads, resumes, evaluates */
    rm_model *k = NULL;
    rm_ctx lc = {0};
    CHECK_OK(rm_checkpoint_load(&lc, ck, &k), &lc);
    if (k) {
        rm_optim o2;
        rm_train_state st = {0};
        CHECK_OK(rm_optim_init(&lc, &o2, k, &oc), &lc);
        CHECK_OK(rm_checkpoint_load_state(&lc, ck, k, &o2, &st), &lc);
        CHECK(st.epoch == 2, "the checkpoint kept is the one of epoch 2 (%d)", st.epoch);
        rm_dataset clean;
        CHECK_OK(rm_vertebral_load(&lc, &clean, DATA_DIR "/vertebral/column_3C.dat", NULL), &lc);
        float acc = 0, loss = 0;
        CHECK_OK(rm_evaluate(&lc, k, &clean, 64, &acc, &loss), &lc);
        CHECK(isfinite(loss) && acc > 0.4f, "the kept checkpoint evaluates (acc %.3f loss %.3f)", acc, loss);
        rm_train_opts ro = rm_train_defaults();
        ro.epochs = 3; ro.start_epoch = st.epoch; ro.batch = 16; ro.aug = RM_AUG_NONE;
        rm_train_result rr;
        CHECK_OK(rm_train(&lc, k, &o2, &clean, &ro, &rr), &lc);
        CHECK(rr.epochs_done == 3, "training resumes from the kept checkpoint (%d)", rr.epochs_done);
        printf("%s batch: \"%s\"; kept checkpoint of epoch %d evaluates (acc %.3f) and resumes\n", want, ctx.msg,
               st.epoch, acc);
        rm_optim_free(&o2);
        rm_dataset_free(&clean);
        rm_model_free(k);
    }
    rm_optim_free(&opt);
    rm_model_free(m);
    rm_dataset_free(&ds);
    remove(ck);
}

int main(void) {
    rm_set_threads(0);
    /* in /dev/shm when there is one: a process in fsync cannot die until the disk answers, which makes
     * 100 kills take half a minute on a slow disk; the crash semantics tested here are the process's */
    struct stat sb;
    char dir[64];
    snprintf(dir, sizeof dir, "%s/rm_test_faults.XXXXXX", stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "build");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    double t0 = rm_now();
    test_kill_during_save(dir);
    double t1 = rm_now();
    test_nonfinite_batch(dir, NAN, "NaN");
    test_nonfinite_batch(dir, INFINITY, "infinite");
    printf("(kill trials %.1f s, non-finite runs %.1f s)\n", t1 - t0, rm_now() - t1);
    rmdir(dir);
    TEST_END();
}
