/* test_checkpoint.c - model checkpoints: bit-exact round trip (with non-default LERP grid settings and
 * optimiser state), corrupt files rejected with a message naming the problem, and a simulated crash
 * during save that leaves the previous checkpoint loadable. */
#include "tests/tutil.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char *path(const char *name) { static char b[4][256]; static int k; k = (k + 1) % 4; snprintf(b[k], 256, "%s/%s", dir, name); return b[k]; }

static int write_bytes(const char *p, const void *d, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    fwrite(d, 1, n, f);
    fclose(f);
    return 0;
}
static void *read_all(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); *n = ftell(f); fseek(f, 0, SEEK_SET);
    void *d = malloc(*n);
    if (fread(d, 1, *n, f) != *n) { free(d); d = NULL; }
    fclose(f);
    return d;
}

int main(void) {
    rm_set_threads(0);
    strcpy(dir, "/tmp/resmlp-ckpt-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    rm_ctx ctx = {0};
    rm_model_cfg cfg = rm_model_default_cfg(RM_ACT_LERP_PSA, 24);
    cfg.act.G = 32; cfg.act.R = 3.0f;
    rm_model *m = NULL, *m2 = NULL;
    CHECK_OK(rm_model_new(&ctx, &m, &cfg, 5), &ctx);
    uint64_t rng = 9;
    for (size_t i = 0; i < m->nbufs; i++) m->bmem[i] = rm_rng_normal(&rng);
    rm_optim opt, opt2;
    rm_optim_cfg oc = rm_optim_default();
    CHECK_OK(rm_optim_init(&ctx, &opt, m, &oc), &ctx);
    CHECK_OK(rm_optim_init(&ctx, &opt2, m, &oc), &ctx);
    for (size_t i = 0; i < opt.n; i++) { opt.m[i] = rm_rng_normal(&rng); opt.v[i] = rm_rng_uniform(&rng); }
    opt.step = 77;
    rm_train_state st = {.epoch = 3, .total_epochs = 10, .seed = 42, .phase = "kd"}, st2;
    CHECK_OK(rm_checkpoint_save(&ctx, path("a.safetensors"), m, &opt, &st), &ctx);
    CHECK_OK(rm_checkpoint_load(&ctx, path("a.safetensors"), &m2), &ctx);
    if (m2) {
        CHECK(m2->cfg.act.kind == RM_ACT_LERP_PSA && m2->cfg.act.G == 32 && m2->cfg.act.R == 3.0f && m2->cfg.H == 24,
              "config round trip: kind %d G %d R %g H %d", m2->cfg.act.kind, m2->cfg.act.G, m2->cfg.act.R, m2->cfg.H);
        CHECK(m2->nparams == m->nparams && !memcmp(m2->mem, m->mem, m->nparams * 4), "parameters bit-exact");
        CHECK(m2->nbufs == m->nbufs && !memcmp(m2->bmem, m->bmem, m->nbufs * 4), "buffers bit-exact");
        CHECK_OK(rm_checkpoint_load_state(&ctx, path("a.safetensors"), m2, &opt2, &st2), &ctx);
        CHECK(!memcmp(opt.m, opt2.m, opt.n * 4) && !memcmp(opt.v, opt2.v, opt.n * 4) && opt2.step == 77, "optimiser state bit-exact");
        CHECK(st2.epoch == 3 && st2.total_epochs == 10 && st2.seed == 42 && !strcmp(st2.phase, "kd"), "train state");
        rm_model_free(m2); m2 = NULL;
    }
    /* the weights file holds exactly the model's tensors (a plain load_state_dict accepts it); the
     * optimiser state is in the sibling a.optim.safetensors */
    {
        rm_st_file f = {0};
        CHECK_OK(rm_st_load(&ctx, path("a.safetensors"), &f), &ctx);
        CHECK(f.n == m->ntensors + m->nbuftensors && !rm_st_find(&f, "optim.m.embed_linear.weight"),
              "weights only: %d tensors for %d", f.n, m->ntensors + m->nbuftensors);
        rm_st_free(&f);
        char side[256];
        rm_checkpoint_optim_path(path("a.safetensors"), side, sizeof side);
        CHECK(strstr(side, "a.optim.safetensors") != NULL, "sibling name %s", side);
        CHECK_OK(rm_st_load(&ctx, side, &f), &ctx);
        CHECK(f.n == 2 * m->ntensors && rm_st_find(&f, "optim.v.classifier.weight"), "sibling holds m and v (%d)", f.n);
        rm_st_free(&f);
    }
    /* --with-optimizer: one file, loads the same state */
    CHECK_OK(rm_checkpoint_save_with_optimizer(&ctx, path("w.safetensors"), m, &opt, &st), &ctx);
    memset(opt2.m, 0, opt2.n * 4);
    CHECK_OK(rm_checkpoint_load_state(&ctx, path("w.safetensors"), m, &opt2, &st2), &ctx);
    CHECK(!memcmp(opt.m, opt2.m, opt.n * 4) && opt2.step == 77 && st2.epoch == 3, "one-file optimiser state bit-exact");
    /* a sibling from another save is refused: weights rewritten without it */
    CHECK_OK(rm_checkpoint_save(&ctx, path("c.safetensors"), m, &opt, &st), &ctx);
    float keep = m->mem[0];
    m->mem[0] += 1.0f;
    CHECK_OK(rm_checkpoint_save(&ctx, path("c.safetensors"), m, NULL, NULL), &ctx);
    CHECK(rm_checkpoint_load_state(&ctx, path("c.safetensors"), m, &opt2, &st2) == RM_ERR && strstr(ctx.msg, "does not belong"),
          "stale sibling refused: %s", ctx.msg);
    m->mem[0] = keep;
    /* a checkpoint without optimiser state: load_state says so */
    CHECK_OK(rm_checkpoint_save(&ctx, path("b.safetensors"), m, NULL, NULL), &ctx);
    CHECK(rm_checkpoint_load_state(&ctx, path("b.safetensors"), m, &opt2, &st2) == RM_ERR && strstr(ctx.msg, "no training state"),
          "load_state on a plain checkpoint: %s", ctx.msg);

    /* truncated copies at several lengths are rejected with a message naming the file */
    size_t n = 0;
    unsigned char *bytes = read_all(path("b.safetensors"), &n);
    size_t cuts[] = {0, 4, 8, 100, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(path("t.safetensors"), bytes, cuts[i]);
        rm_model *x = NULL;
        int r = rm_checkpoint_load(&ctx, path("t.safetensors"), &x);
        CHECK(r == RM_ERR && x == NULL && strstr(ctx.msg, "t.safetensors"), "truncated at %zu: %s", cuts[i], ctx.msg);
    }
    /* bad JSON in the header */
    unsigned char *bad = malloc(n);
    memcpy(bad, bytes, n);
    bad[8] = '[';
    write_bytes(path("j.safetensors"), bad, n);
    CHECK(rm_checkpoint_load(&ctx, path("j.safetensors"), &m2) == RM_ERR && m2 == NULL, "bad json rejected");
    printf("bad json: %s\n", ctx.msg);
    /* wrong shape: a model saved with hidden 24 but metadata claiming 32 */
    memcpy(bad, bytes, n);
    char *h = memmem(bad, n, "\"hidden\":\"24\"", 13);
    CHECK(h != NULL, "metadata hidden present");
    if (h) {
        memcpy(h, "\"hidden\":\"32\"", 13);
        write_bytes(path("s.safetensors"), bad, n);
        CHECK(rm_checkpoint_load(&ctx, path("s.safetensors"), &m2) == RM_ERR && strstr(ctx.msg, "layers.0.layers.1.layers.1.weight"),
              "wrong shape names the tensor: %s", ctx.msg);
        printf("wrong shape: %s\n", ctx.msg);
    }
    /* not a resmlp file (no metadata) */
    rm_st_tensor t = {.name = "x", .dtype = RM_F32, .ndim = 1, .shape = {1}, .data = bytes + 64, .nbytes = 4};
    CHECK_OK(rm_st_save(&ctx, path("n.safetensors"), &t, 1, NULL, NULL, 0), &ctx);
    CHECK(rm_checkpoint_load(&ctx, path("n.safetensors"), &m2) == RM_ERR && strstr(ctx.msg, "metadata"), "no metadata: %s", ctx.msg);

    /* simulated crash during save: the previous checkpoint stays loadable and unchanged */
    rm_model *m3 = NULL;
    rm_model_cfg c3 = rm_model_default_cfg(RM_ACT_LERP_PSA, 24);
    c3.act.G = 32; c3.act.R = 3.0f;
    CHECK_OK(rm_model_new(&ctx, &m3, &c3, 99), &ctx);
    rm_st_fail_after_bytes = 1000;
    CHECK(rm_checkpoint_save(&ctx, path("a.safetensors"), m3, NULL, NULL) == RM_ERR, "simulated crash reports an error");
    rm_st_fail_after_bytes = 0;
    CHECK_OK(rm_checkpoint_load(&ctx, path("a.safetensors"), &m2), &ctx);
    if (m2) { CHECK(!memcmp(m2->mem, m->mem, m->nparams * 4), "old checkpoint intact after failed save"); rm_model_free(m2); }
    /* saving into a missing directory fails cleanly */
    CHECK(rm_checkpoint_save(&ctx, "/nonexistent-dir/x.safetensors", m, NULL, NULL) == RM_ERR, "missing dir: %s", ctx.msg);

    free(bad); free(bytes);
    rm_model_free(m3); rm_model_free(m);
    rm_optim_free(&opt); rm_optim_free(&opt2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    TEST_END();
}
