/* cli.c - `resmlp train`, `resmlp eval`, `resmlp info`: option tables, parsing with one-line errors
 * (exit status 2), progress printing (or the full-screen live view with --live on a terminal, where q
 * stops), Ctrl-C handling (stop after the current batch, then save). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "core/checkpoint.h"
#include "core/bnn.h"
#include "core/train.h"
#include "core/recipe.h"
#include "core/gemm.h"
#include "core/import.h"
#include "core/predict.h"
#include "core/safetensors.h"
#include "plots/live.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* rm_sigint_flag and rm_install_sigint live in term.c (shared with the prompt) */

/* ---- option tables --------------------------------------------------------------------------- */

enum { O_INT, O_FLOAT, O_STR, O_FLAG };
typedef struct { const char *name; int type; const char *def; const char *help; char val[512]; int set; } opt;
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static opt train_opts[] = {
    {"data", O_STR, "../shared/data/cifar-10-batches-bin", "CIFAR-10 directory (or MNIST directory with --dataset mnist)"},
    {"dataset", O_STR, "cifar10", "cifar10 | mnist | fashion"},
    {"act", O_STR, "relu", "activation: relu | gelu | lerp_psa | bspline"},
    {"hidden", O_INT, "96", "channel-MLP hidden width h (teacher 384)"},
    {"epochs", O_INT, "10", "epochs"},
    {"batch", O_INT, "128", "batch size"},
    {"lr", O_FLOAT, "1e-3", "learning rate"},
    {"lr-min", O_FLOAT, "1e-5", "cosine annealing floor"},
    {"wd", O_FLOAT, "0", "decoupled weight decay"},
    {"optim", O_STR, "adamw", "adamw | sgd"},
    {"momentum", O_FLOAT, "0.9", "SGD momentum"},
    {"seed", O_INT, "2023", "random seed"},
    {"limit", O_INT, "0", "use only the first N training images (0 = all)"},
    {"aug", O_STR, "cropflip", "augmentation: none | cropflip | randaug"},
    {"teacher", O_STR, "", "teacher checkpoint for knowledge distillation"},
    {"alpha", O_FLOAT, "0.8", "KD weight of the teacher term"},
    {"temp", O_FLOAT, "1", "KD temperature"},
    {"out", O_STR, "runs/model.safetensors", "checkpoint to write after each epoch and on Ctrl-C (weights; optimiser state beside it)"},
    {"resume", O_FLAG, "", "continue the run saved in --out (same options) from its last epoch"},
    {"with-optimizer", O_FLAG, "", "keep the optimiser state inside --out (default: weights only in --out, the state in OUT.optim.safetensors)"},
    {"kt-epochs", O_INT, "0", "paper recipe (needs --teacher): knowledge-transfer epochs per block (paper 50)"},
    {"kd-epochs", O_INT, "0", "paper recipe: knowledge-distillation epochs after KT (paper 300)"},
    {"spline-lr", O_FLOAT, "1e-3", "paper recipe: B-spline coefficients' own Adam learning rate"},
    {"tv2", O_FLOAT, "1e-5", "B-spline TV2 regulariser weight"},
    {"eval-each", O_FLAG, "", "evaluate on the test split after each epoch"},
    {"live", O_FLAG, "", "full-screen live view on a terminal (q stops and saves); else plain progress"},
    {"threads", O_INT, "0", "threads for OpenMP, oneDNN and OpenBLAS (0 = RESMLP_THREADS or all cores)"},
    {"precision", O_STR, "fp32", "matmul inputs: fp32 | bf16 (fp32 master weights; falls back to fp32 without bf16 units)"},
    {NULL}};
static opt eval_opts[] = {
    {"data", O_STR, "../shared/data/cifar-10-batches-bin", "data directory"},
    {"dataset", O_STR, "cifar10", "cifar10 | mnist | fashion"},
    {"split", O_STR, "test", "train | test"},
    {"batch", O_INT, "256", "batch size"},
    {"threads", O_INT, "0", "threads"},
    {"precision", O_STR, "fp32", "matmul inputs: fp32 | bf16"},
    {NULL}};
static opt info_opts[] = {{NULL}};
static opt predict_opts[] = {
    {"logits", O_STR, "", "write the logits (N,classes) here: .npy (float32, np.load) or .csv"},
    {"dataset", O_STR, "cifar10", "cifar10 | mnist | fashion"},
    {"split", O_STR, "test", "train | test (DATA a directory)"},
    {"batch", O_INT, "256", "batch size (fp32)"},
    {"path", O_STR, "auto", "INT8 models: integer engine auto | reference | portable | avx2 | vnni"},
    {"threads", O_INT, "0", "threads"},
    {NULL}};
static opt import_opts[] = {
    {"out", O_STR, "", "resmlp checkpoint to write (-o) [FILE with .safetensors]"},
    {"act", O_STR, "auto", "activation: auto (from the tensors) | relu | gelu | lerp_psa | bspline"},
    {"pythonpath", O_STR, "", "whole pickled models: directories of the paper's source tree (added to PYTHONPATH)"},
    {"lerp-grid", O_INT, "", "LERP grid points when the file has no psa.grid (else 64, with a notice)"},
    {"lerp-range", O_FLOAT, "", "LERP grid range R when the file has no psa.grid (else 4, with a notice)"},
    {"psa-eps", O_FLOAT, "", "PSA epsilon when the file has no psa.epsilon (else 1, with a notice)"},
    {"spline-range", O_FLOAT, "", "B-spline range (DeepSplines' range_, spacing 2R/(K-1)) [4]"},
    {"quiet", O_FLAG, "", "print only errors"},
    {NULL}};

static opt *find_opt(opt *t, const char *name) {
    for (; t->name; t++) if (!strcmp(t->name, name)) return t;
    return NULL;
}
static const char *sval(opt *t, const char *n) { opt *o = find_opt(t, n); return o->set ? o->val : o->def; }
static long ival(opt *t, const char *n) { return strtol(sval(t, n), NULL, 10); }
static double fval(opt *t, const char *n) { return strtod(sval(t, n), NULL); }
static int flag(opt *t, const char *n) { return find_opt(t, n)->set; }

static void usage(const char *cmd, const char *pos, const char *what, opt *t) {
    printf("usage: resmlp %s %s[options]\n%s\n\noptions:\n", cmd, pos, what);
    for (; t->name; t++)
        printf("  --%-12s %-6s %s%s%s%s\n", t->name, t->type == O_INT ? "INT" : t->type == O_FLOAT ? "NUM" : t->type == O_STR ? "STR" : "",
               t->help, t->def[0] ? " [" : "", t->def, t->def[0] ? "]" : "");
}

/* parse argv into the table and up to npos positionals; returns 0, 1 (help shown) or 2 (error) */
static int parse(const char *cmd, int argc, char **argv, opt *t, const char **pos, int npos, const char *posname,
                 const char *what) {
    int np = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(cmd, posname, what, t); return 1; }
        if (strncmp(a, "--", 2) != 0) {
            if (np >= npos) { fprintf(stderr, "resmlp %s: unexpected argument '%s'\n", cmd, a); return 2; }
            pos[np++] = a;
            continue;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(name, sizeof name, "%.*s", (int)len, a + 2);
        opt *o = find_opt(t, name);
        if (!o) { fprintf(stderr, "resmlp %s: unknown option '--%s' (see resmlp %s --help)\n", cmd, name, cmd); return 2; }
        const char *v = NULL;
        if (o->type != O_FLAG) {
            if (eq) v = eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else { fprintf(stderr, "resmlp %s: option '--%s' needs a value\n", cmd, name); return 2; }
            char *end;
            errno = 0;
            if (o->type == O_INT) {
                long x = strtol(v, &end, 10);
                if (!*v || *end || errno || x < 0 || x > 100000000) {
                    fprintf(stderr, "resmlp %s: bad value '%s' for --%s (expected a non-negative integer)\n", cmd, v, name);
                    return 2;
                }
            } else if (o->type == O_FLOAT) {
                double x = strtod(v, &end);
                if (!*v || *end || errno || !isfinite(x) || x < 0) {
                    fprintf(stderr, "resmlp %s: bad value '%s' for --%s (expected a non-negative number)\n", cmd, v, name);
                    return 2;
                }
            }
            snprintf(o->val, sizeof o->val, "%s", v);
        }
        o->set = 1;
    }
    if (np < npos && posname[0]) { fprintf(stderr, "resmlp %s: missing %s (see resmlp %s --help)\n", cmd, posname, cmd); return 2; }
    return 0;
}

static int load_data(rm_ctx *ctx, rm_dataset *ds, const char *kind, const char *path, const char *split) {
    if (!strcmp(kind, "cifar10")) return rm_cifar10_load(ctx, ds, path, split);
    if (!strcmp(kind, "mnist") || !strcmp(kind, "fashion")) return rm_mnist_load(ctx, ds, path, split);
    return rm_err(ctx, "unknown dataset '%s' (cifar10, mnist, fashion)", kind);
}

/* --precision: fp32 | bf16; a lower CPU path falls back to fp32 with a one-line notice on stderr */
static int set_precision(const char *cmd, const char *p) {
    int pr = rm_precision_parse(p);
    if (pr < 0) { fprintf(stderr, "resmlp %s: unknown precision '%s' (fp32, bf16)\n", cmd, p); return 2; }
    char note[200] = "";
    rm_gemm_set_precision((rm_precision)pr, note, sizeof note);
    if (note[0]) fprintf(stderr, "resmlp %s: %s\n", cmd, note);
    return 0;
}

/* make the parent directory of path (one level) so `--out runs/x` works */
static void ensure_parent(const char *path) {
    char d[512];
    snprintf(d, sizeof d, "%s", path);
    char *s = strrchr(d, '/');
    if (s && s != d) { *s = 0; mkdir(d, 0777); }
}

/* ---- progress -------------------------------------------------------------------------------- */

static void fmt_time(char *b, size_t n, double s) {
    if (s < 0 || !isfinite(s)) s = 0;
    snprintf(b, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
}

typedef struct live_cb {
    rm_live *lv;
    int qstop;                    /* q pressed */
    char *log;                    /* epoch lines printed once the view is closed */
    size_t len, cap;
} live_cb;

static void log_printf(live_cb *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_printf(live_cb *l, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->len + n + 1) * 2;
        char *p = realloc(l->log, cap);
        if (!p) return;
        l->log = p;
        l->cap = cap;
    }
    memcpy(l->log + l->len, line, n + 1);
    l->len += n;
}

static int progress(void *ud, const rm_train_stats *s, int epoch_end) {
    live_cb *l = ud;
    int tty = isatty(1);
    char eta[32];
    fmt_time(eta, sizeof eta, s->eta_s);
    const char *ph = s->phase ? "kt" : "train";
    if (l->lv) {
        if (rm_live_update(l->lv, s, epoch_end)) l->qstop = 1;
        if (epoch_end) {
            log_printf(l, "%s epoch %d/%d  loss %.4f  train acc %.2f%%  %.0f img/s  lr %.2e", ph, s->epoch + 1, s->epochs,
                       s->loss, 100 * s->train_acc, s->imgs_per_s, s->lr);
            if (s->have_test) log_printf(l, "  test acc %.2f%% loss %.4f", 100 * s->test_acc, s->test_loss);
            log_printf(l, "  eta %s\n", eta);
        }
        return l->qstop;
    }
    if (epoch_end) {
        printf("%s%s epoch %d/%d  loss %.4f  train acc %.2f%%  %.0f img/s  lr %.2e",
               tty ? "\r\033[K" : "", ph, s->epoch + 1, s->epochs, s->loss, 100 * s->train_acc, s->imgs_per_s, s->lr);
        if (s->have_test) printf("  test acc %.2f%% loss %.4f", 100 * s->test_acc, s->test_loss);
        printf("  eta %s\n", eta);
    } else {
        printf("%s%s epoch %d/%d step %d/%d  loss %.4f  %.0f img/s  eta %s%s", tty ? "\r\033[K" : "", ph, s->epoch + 1,
               s->epochs, s->step, s->steps, s->loss, s->imgs_per_s, eta, tty ? "" : "\n");
    }
    fflush(stdout);
    return 0;
}

/* ---- commands -------------------------------------------------------------------------------- */

static int cmd_train(int argc, char **argv) {
    int r = parse("train", argc, argv, train_opts, NULL, 0, "", "Train a ResMLP on CIFAR-10 (or MNIST) and save it.");
    if (r) return r == 1 ? 0 : 2;
    rm_set_threads((int)ival(train_opts, "threads"));
    if (set_precision("train", sval(train_opts, "precision"))) return 2;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    int kind = rm_act_kind_from_name(sval(train_opts, "act"));
    if (kind < 0 || kind == RM_ACT_PSA) { fprintf(stderr, "resmlp train: unknown activation '%s' (relu, gelu, lerp_psa, bspline)\n", sval(train_opts, "act")); return 2; }
    const char *optim = sval(train_opts, "optim"), *aug = sval(train_opts, "aug");
    if (strcmp(optim, "adamw") && strcmp(optim, "sgd")) { fprintf(stderr, "resmlp train: unknown optimiser '%s' (adamw, sgd)\n", optim); return 2; }
    int augf = !strcmp(aug, "none") ? RM_AUG_NONE : !strcmp(aug, "cropflip") ? RM_AUG_CROPFLIP
             : !strcmp(aug, "randaug") ? RM_AUG_CROPFLIP | RM_AUG_RANDAUG : -1;
    if (augf < 0) { fprintf(stderr, "resmlp train: unknown augmentation '%s' (none, cropflip, randaug)\n", aug); return 2; }
    rm_dataset train = {0}, test = {0};
    rm_model *m = NULL, *teacher = NULL;
    rm_optim opt = {0};
    int status = 1;
    const char *dk = sval(train_opts, "dataset"), *dp = sval(train_opts, "data");
    if (load_data(&ctx, &train, dk, dp, "train")) goto fail;
    if (flag(train_opts, "eval-each") && load_data(&ctx, &test, dk, dp, "test")) goto fail;
    rm_model_cfg cfg = rm_model_default_cfg(kind, (int)ival(train_opts, "hidden"));
    cfg.T = rm_data_tokens(&train, cfg.patch);
    cfg.P = rm_data_patchdim(&train, cfg.patch);
    if (rm_model_new(&ctx, &m, &cfg, (uint64_t)ival(train_opts, "seed"))) goto fail;
    const char *tp = sval(train_opts, "teacher");
    if (tp[0] && rm_checkpoint_load(&ctx, tp, &teacher)) goto fail;
    rm_optim_cfg oc = rm_optim_default();
    oc.kind = strcmp(optim, "sgd") ? RM_OPT_ADAMW : RM_OPT_SGD;
    oc.lr = oc.act_lr = (float)fval(train_opts, "lr");
    oc.lr_min = oc.act_lr_min = (float)fval(train_opts, "lr-min");
    oc.wd = (float)fval(train_opts, "wd");
    oc.momentum = (float)fval(train_opts, "momentum");
    if (rm_optim_init(&ctx, &opt, m, &oc)) goto fail;
    rm_train_opts to = rm_train_defaults();
    to.epochs = (int)ival(train_opts, "epochs");
    to.batch = (int)ival(train_opts, "batch");
    to.seed = (uint64_t)ival(train_opts, "seed");
    to.aug = augf;
    to.limit = (int)ival(train_opts, "limit");
    to.teacher = teacher;
    to.alpha = (float)fval(train_opts, "alpha");
    to.T = (float)fval(train_opts, "temp");
    to.test = test.n ? &test : NULL;
    to.cb = progress;
    live_cb lcb = {0};
    to.ud = &lcb;
    const char *out = sval(train_opts, "out");
    ensure_parent(out);
    printf("training %s h=%d (%zu parameters) on %d images of %s, %d epochs, batch %d, %d threads\n",
           rm_act_name(kind), cfg.H, rm_model_trainable_count(m), to.limit > 0 && to.limit < train.n ? to.limit : train.n,
           train.name, to.epochs, to.batch, rm_get_threads());
    char gd[300];
    rm_gemm_describe(gd, sizeof gd);
    printf("%s\n", gd);
    rm_install_sigint();   /* before the live view: curses then leaves SIGINT to us */
    const char *term = getenv("TERM");
    if (flag(train_opts, "live") && isatty(0) && isatty(1) && term && term[0] && strcmp(term, "dumb")) {
        char title[96];
        rm_ctx lctx = {.interrupt = &rm_sigint_flag};
        snprintf(title, sizeof title, "%s h=%d -> %.60s", rm_act_name(kind), cfg.H, out);
        fflush(stdout);
        lcb.lv = rm_live_open(&lctx, m, title);
        if (!lcb.lv) printf("(no live view: %s)\n", lctx.msg);
        else to.report_s = 0.1;
    }
    rm_train_result res = {0};
    int tr, recipe = ival(train_opts, "kt-epochs") > 0 || ival(train_opts, "kd-epochs") > 0;
    to.tv2 = (float)fval(train_opts, "tv2");
    to.ckpt_path = out;
    to.ckpt_with_optimizer = flag(train_opts, "with-optimizer");
    to.phase = "train";
    rm_recipe_result rr = {0};
    if (recipe) {
        /* the paper's student recipe: KT per block, then KD; per-epoch checkpoints in --out */
        if (!teacher) { rm_err(&ctx, "--kt-epochs/--kd-epochs need --teacher"); tr = RM_ERR; goto trained; }
        rm_recipe_opts ro = rm_recipe_defaults();
        ro.kt_epochs = (int)ival(train_opts, "kt-epochs"); ro.kd_epochs = (int)ival(train_opts, "kd-epochs");
        ro.kt_lr = ro.kd_lr = oc.lr; ro.kd_lr_min = oc.lr_min; ro.wd = oc.wd;
        ro.spline_lr = (float)fval(train_opts, "spline-lr"); ro.tv2 = to.tv2;
        ro.alpha = to.alpha; ro.T = to.T; ro.batch = to.batch; ro.aug = to.aug; ro.limit = to.limit; ro.seed = to.seed;
        ro.test = to.test; ro.cb = to.cb; ro.ud = to.ud; ro.report_s = to.report_s;
        ro.ckpt_path = out; ro.resume = flag(train_opts, "resume");
        ro.ckpt_with_optimizer = flag(train_opts, "with-optimizer");
        tr = rm_recipe_student(&ctx, m, teacher, &train, &ro, &rr);
        res.interrupted = rr.interrupted;
        res.epochs_done = rr.epochs_done;
    } else {
        if (flag(train_opts, "resume")) {
            rm_model *saved = NULL;
            rm_train_state st = {0};
            if (rm_checkpoint_load(&ctx, out, &saved) || rm_model_copy_params(&ctx, m, saved) ||
                rm_checkpoint_load_state(&ctx, out, m, &opt, &st)) {
                rm_model_free(saved);
                rm_errprefix(&ctx, "resume");
                tr = RM_ERR;
                goto trained;
            }
            rm_model_free(saved);
            to.start_epoch = st.epoch;
            printf("resuming %s at epoch %d of %d\n", out, st.epoch + 1, to.epochs);
        }
        tr = rm_train(&ctx, m, &opt, &train, &to, &res);
    }
trained:
    if (lcb.lv) {   /* restore the terminal before anything else is printed */
        rm_live_close(lcb.lv);
        lcb.lv = NULL;
        if (lcb.log) fputs(lcb.log, stdout);
        fflush(stdout);
    }
    free(lcb.log);
    if (tr) fprintf(stderr, "resmlp train: %s\n", ctx.msg);
    rm_ctx sctx = {0};
    if (recipe) {
        /* the per-epoch checkpoint in --out is the resume point; keep it. A stop mid-epoch also keeps
         * the current weights beside it. */
        char side[600];
        snprintf(side, sizeof side, "%.*s.interrupted.safetensors", (int)(strlen(out) > 12 && !strcmp(out + strlen(out) - 12, ".safetensors") ? strlen(out) - 12 : strlen(out)), out);
        if (res.interrupted || tr) {
            if (rm_checkpoint_save(&sctx, side, m, NULL, NULL)) { fprintf(stderr, "resmlp train: %s\n", sctx.msg); goto fail_quiet; }
            printf("\nstopped in phase %s; resume with --resume (checkpoint %s); current weights in %s\n", rr.phase, out, side);
        } else {
            if (rm_checkpoint_save(&sctx, out, m, NULL, NULL)) { fprintf(stderr, "resmlp train: %s\n", sctx.msg); goto fail_quiet; }
            printf("saved %s (KT %d epochs/block + KD %d epochs)\n", out, (int)ival(train_opts, "kt-epochs"), (int)ival(train_opts, "kd-epochs"));
        }
        status = tr ? 1 : 0;
        goto end;
    }
    rm_train_state ts = {.epoch = res.epochs_done, .total_epochs = to.epochs, .seed = to.seed};
    snprintf(ts.phase, sizeof ts.phase, "train");
    if ((to.ckpt_with_optimizer ? rm_checkpoint_save_with_optimizer : rm_checkpoint_save)(&sctx, out, m, &opt, &ts)) { fprintf(stderr, "resmlp train: %s\n", sctx.msg); goto fail_quiet; }
    char at[160];
    rm_train_stopped_at(&res, at, sizeof at);
    if (lcb.qstop) printf("stopped (q) %s; model saved to %s\n", at, out);
    else if (res.interrupted) printf("\ninterrupted %s; model saved to %s\n", at, out);
    else printf("saved %s (%.0f img/s)\n", out, res.imgs_per_s);
    status = tr ? 1 : 0;
    goto end;
fail:
    fprintf(stderr, "resmlp train: %s\n", ctx.msg);
fail_quiet:
    status = 1;
end:
    rm_optim_free(&opt);
    rm_model_free(m); rm_model_free(teacher);
    rm_dataset_free(&train); rm_dataset_free(&test);
    return status;
}

static int cmd_eval(int argc, char **argv) {
    const char *pos[1];
    int r = parse("eval", argc, argv, eval_opts, pos, 1, "MODEL ", "Evaluate a checkpoint: top-1 accuracy and mean loss.");
    if (r) return r == 1 ? 0 : 2;
    rm_set_threads((int)ival(eval_opts, "threads"));
    if (set_precision("eval", sval(eval_opts, "precision"))) return 2;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_install_sigint();
    rm_dataset ds = {0};
    rm_model *m = NULL;
    int status = 1;
    float acc, loss;
    if (rm_checkpoint_load(&ctx, pos[0], &m)) goto done;
    if (load_data(&ctx, &ds, sval(eval_opts, "dataset"), sval(eval_opts, "data"), sval(eval_opts, "split"))) goto done;
    double t0 = rm_now();
    if (rm_evaluate(&ctx, m, &ds, (int)ival(eval_opts, "batch"), &acc, &loss)) goto done;
    double dt = rm_now() - t0;
    printf("%s on %s (%d images): accuracy %.2f%%  loss %.4f  (%.0f img/s)\n", pos[0], ds.name, ds.n, 100 * acc, loss, ds.n / dt);
    status = 0;
done:
    if (status) fprintf(stderr, "resmlp eval: %s\n", ctx.msg);
    rm_model_free(m);
    rm_dataset_free(&ds);
    return status;
}

static int cmd_info(int argc, char **argv) {
    const char *pos[1];
    int r = parse("info", argc, argv, info_opts, pos, 1, "MODEL ", "Show a checkpoint's architecture and tensors.");
    if (r) return r == 1 ? 0 : 2;
    rm_ctx ctx = {0};
    rm_model *m = NULL;
    if (rm_checkpoint_load(&ctx, pos[0], &m)) { fprintf(stderr, "resmlp info: %s\n", ctx.msg); return 1; }
    const rm_model_cfg *c = &m->cfg;
    if (m->net) {   /* a layer-list net (an integer net model file holds one too, plus its integer tensors) */
        char d[4096];
        rm_model_describe(m, d, sizeof d);
        printf("%s: %snet %s, %d classes\n", pos[0], rm_bnet_file_is_int(pos[0]) ? "integer model of the " : "", d, c->K);
    } else
    printf("%s: ResMLP act=%s hidden=%d embed=%d layers=%d tokens=%d patch_dim=%d classes=%d\n", pos[0],
           rm_act_name(c->act.kind), c->H, c->D, c->L, c->T, c->P, c->K);
    if (c->act.kind == RM_ACT_LERP_PSA) printf("  lerp_psa: keys E=%d eps=%g grid G=%d range R=%g\n", c->act.E, c->act.eps, c->act.G, c->act.R);
    if (c->act.kind == RM_ACT_BSPLINE) printf("  bspline: size %d spacing %g\n", c->act.K, c->act.spacing);
    printf("  trainable parameters: %zu\n", rm_model_trainable_count(m));
    char gd[300];
    rm_gemm_describe(gd, sizeof gd);
    printf("  %s\n", gd);
    for (int i = 0; i < m->ntensors; i++) {
        const rm_ptensor *t = &m->tensors[i];
        printf("  %-48s", t->name);
        if (t->fdim == 4)   /* conv weights as stored: (OC, IC, k, k) */
            printf(" (%lld, %lld, %lld, %lld)\n", (long long)t->fshape[0], (long long)t->fshape[1], (long long)t->fshape[2], (long long)t->fshape[3]);
        else
        printf(t->ndim == 2 ? " (%lld, %lld)\n" : " (%lld)\n", (long long)t->shape[0], (long long)t->shape[1]);
    }
    rm_model_free(m);
    return 0;
}

/* resmlp predict MODEL DATA --logits OUT: fp32 checkpoints and quantized models (qsave files) */
static int cmd_predict(int argc, char **argv) {
    const char *pos[2];
    int r = parse("predict", argc, argv, predict_opts, pos, 2, "MODEL DATA ",
                  "Run a model (a checkpoint, or an INT8 model from qsave) on a data set (a CIFAR-10 .bin file or\n"
                  "directory, or an MNIST directory) and write its logits, (N, classes) float32: --logits out.npy\n"
                  "(np.load) or out.csv. Prints the accuracy.");
    if (r) return r == 1 ? 0 : 2;
    const char *out = sval(predict_opts, "logits");
    size_t ol = strlen(out);
    if (!out[0] || !(ol > 4 && (!strcmp(out + ol - 4, ".npy") || !strcmp(out + ol - 4, ".csv")))) {
        fprintf(stderr, "resmlp predict: give --logits FILE.npy or FILE.csv\n");
        return 2;
    }
    int path = rm_ie_path_from_name(sval(predict_opts, "path"));
    if (path < 0) { fprintf(stderr, "resmlp predict: unknown engine path '%s'\n", sval(predict_opts, "path")); return 2; }
    rm_set_threads((int)ival(predict_opts, "threads"));
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_install_sigint();
    rm_dataset ds = {0};
    rm_model *m = NULL;
    rm_qmodel *q = NULL;
    rm_qnet *net = NULL;
    float *z = NULL;
    int status = 1, K;
    rm_st_file f = {0};
    if (rm_st_load(&ctx, pos[0], &f)) goto done;
    const char *fmt = rm_st_meta(&f, "format");
    int int8 = fmt && !strcmp(fmt, "resmlp-int8-1");
    rm_st_free(&f);
    if (int8 ? rm_qmodel_load(&ctx, pos[0], &q, &net) : rm_checkpoint_load(&ctx, pos[0], &m)) goto done;
    if (load_data(&ctx, &ds, sval(predict_opts, "dataset"), pos[1], sval(predict_opts, "split"))) goto done;
    K = int8 ? net->K : m->cfg.K;
    z = malloc(sizeof(float) * (size_t)ds.n * K);
    if (!z) { rm_err(&ctx, "out of memory for %d x %d logits", ds.n, K); goto done; }
    double t0 = rm_now();
    if (int8 ? rm_predict_int8(&ctx, q, net, &ds, path, z) : rm_predict(&ctx, m, &ds, (int)ival(predict_opts, "batch"), z))
        goto done;
    double dt = rm_now() - t0;
    long correct = 0;
    for (int i = 0; i < ds.n; i++) {
        int best = 0;
        for (int k = 1; k < K; k++) if (z[(size_t)i * K + k] > z[(size_t)i * K + best]) best = k;
        correct += best == ds.labels[i];
    }
    ensure_parent(out);
    if (rm_write_logits(&ctx, out, z, ds.n, K)) goto done;
    printf("%s (%s) on %s: %d images, accuracy %.2f%% (%.0f img/s); logits (%d, %d) float32 -> %s\n", pos[0],
           int8 ? "INT8 integer engine" : "fp32", ds.name, ds.n, 100.0 * correct / ds.n, ds.n / dt, ds.n, K, out);
    status = 0;
done:
    if (status) fprintf(stderr, "resmlp predict: %s\n", ctx.msg);
    free(z);
    rm_model_free(m);
    rm_qnet_free(net);
    rm_qmodel_free(q);
    rm_dataset_free(&ds);
    return status;
}

/* resmlp import FILE -o OUT: tools/import_torch.py through rm_import_torch (as the prompt's `import`) */
static int cmd_import(int argc, char **argv) {
    for (int i = 0; i < argc; i++) if (!strcmp(argv[i], "-o")) argv[i] = "--out";
    const char *pos[1];
    int r = parse("import", argc, argv, import_opts, pos, 1, "FILE ",
                  "Convert a checkpoint of the paper's PyTorch code (torch.save .bin/.pt/.pth, or a .safetensors\n"
                  "state_dict) into a resmlp checkpoint. Zip-format torch.save files need only numpy; legacy files and\n"
                  "whole pickled models need torch, and whole models the paper's source tree on PYTHONPATH.");
    if (r) return r == 1 ? 0 : 2;
    char out[1024];
    const char *o = sval(import_opts, "out");
    if (o[0]) snprintf(out, sizeof out, "%s", o);
    else {
        snprintf(out, sizeof out, "%s", pos[0]);
        char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
        if (dot && (!slash || dot > slash)) *dot = 0;
        snprintf(out + strlen(out), sizeof out - strlen(out), ".safetensors");
    }
    if (!strcmp(out, pos[0])) { fprintf(stderr, "resmlp import: the output is the input file (give -o OUT)\n"); return 2; }
    const char *act = sval(import_opts, "act");
    if (strcmp(act, "auto") && rm_act_kind_from_name(act) < 0) {
        fprintf(stderr, "resmlp import: unknown activation '%s' (auto, relu, gelu, lerp_psa, bspline)\n", act);
        return 2;
    }
    const char *args[20];
    int na = 0;
    static const char *const pass[][2] = {{"act", "--act"}, {"pythonpath", "--pythonpath"}, {"lerp-grid", "--lerp-grid"},
                                          {"lerp-range", "--lerp-range"}, {"psa-eps", "--psa-eps"},
                                          {"spline-range", "--spline-range"}};
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
        if (find_opt(import_opts, pass[i][0])->set) { args[na++] = pass[i][1]; args[na++] = sval(import_opts, pass[i][0]); }
    args[na] = NULL;
    ensure_parent(out);
    char log[16384] = "";
    rm_ctx ctx = {0};
    if (rm_import_torch(&ctx, NULL, NULL, pos[0], out, args, log, sizeof log)) {
        for (char *p = ctx.msg; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
        fprintf(stderr, "resmlp %s\n", ctx.msg);
        return 1;
    }
    if (!flag(import_opts, "quiet")) {
        fputs(log, stdout);
        if (log[0] && log[strlen(log) - 1] != '\n') putchar('\n');
        printf("wrote %s\n", out);
    }
    return 0;
}

int cli_main(int argc, char **argv) {
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "import")) return cmd_import(argc - 2, argv + 2);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 2, argv + 2);
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        printf("usage: resmlp COMMAND [options]\n\ncommands:\n"
               "  train   train a ResMLP (ReLU/GELU/LERP-PSA/B-spline) on CIFAR-10 or MNIST\n"
               "  eval    evaluate a checkpoint\n"
               "  info    show a checkpoint's architecture and tensors\n"
               "  import  convert a checkpoint of the paper's PyTorch code (resmlp import FILE -o OUT)\n"
               "  predict write a model's logits on a data set (resmlp predict MODEL DATA --logits out.npy)\n\n"
               "`resmlp COMMAND --help` lists the options of a command.\n");
        return 0;
    }
    fprintf(stderr, "resmlp: unknown command '%s' (train, eval, info, import, predict; see resmlp --help)\n", cmd);
    return 2;
}
