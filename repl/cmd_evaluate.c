/* cmd_evaluate.c - the `evaluate` command: train the current model's architecture `times` times with
 * seeds seed, seed+1, ..., each with early stopping on a stratified validation split of the training
 * data, and report every run's test accuracy with max / mean / std as a table, a CSV and a Lua table. */
#include "registry.h"
#include "core/repeat.h"
#include "core/table.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))

typedef struct { int quiet, times; } ev_state;

static int on_run(void *ud, int r, const rm_repeat_run *run) {
    ev_state *e = ud;
    if (!e->quiet) {
        char va[16] = "-";
        if (run->val_acc >= 0) snprintf(va, sizeof va, "%.2f%%", 100 * run->val_acc);
        printf("  %4d  %8llu  %6d  %5d  %8s  %8.2f%%  %7.1f s\n", r + 1, (unsigned long long)run->seed, run->epochs_run,
               run->best_epoch, va, 100 * run->test_acc, run->seconds);
        fflush(stdout);
    }
    return 0;
}

/* CSV of the runs and the summary (atomic: written to PATH.tmp, then renamed) */
static int write_csv(const char *path, const rm_repeat_run *runs, const rm_repeat_summary *s, char *err, size_t n) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { snprintf(err, n, "cannot write %s: %s", tmp, strerror(errno)); return -1; }
    fprintf(f, "run,seed,epochs,best_epoch,val_acc,test_acc,test_loss,seconds\n");
    for (int i = 0; i < s->runs; i++)
        fprintf(f, "%d,%llu,%d,%d,%.6f,%.6f,%.6f,%.3f\n", i + 1, (unsigned long long)runs[i].seed, runs[i].epochs_run,
                runs[i].best_epoch, runs[i].val_acc, runs[i].test_acc, runs[i].test_loss, runs[i].seconds);
    fprintf(f, "# max %.6f mean %.6f std %.6f min %.6f over %d runs\n", s->max, s->mean, s->std, s->min, s->runs);
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        snprintf(err, n, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

int rm_cmd_evaluate(rm_call *c) {
    lua_State *L = c->L;
    lmodel *lm = rm_call_model(c, NULL);
    rm_val *dv = rm_arg(c, "data"), *tv = rm_arg(c, "test");
    if (!dv->set || !dv->ud || !((ldata *)dv->ud)->loaded) rm_cmd_error(c, "no training data (data=; load it with `data`)");
    if (!tv->set || !tv->ud || !((ldata *)tv->ud)->loaded) rm_cmd_error(c, "no test data (test=; load it with `data`)");
    ldata *d = dv->ud, *t = tv->ud;
    if (lm->busy || d->busy || t->busy) rm_cmd_error(c, "the model or data is in use by a running command");
    rm_repeat_opts o = rm_repeat_defaults();
    o.times = (int)rm_arg(c, "times")->i;
    o.seed = (uint64_t)rm_arg(c, "seed")->i;
    o.patience = (int)rm_arg(c, "patience")->i;
    double vfrac = rm_arg(c, "val")->d;
    if (o.times < 1 || o.times > 10000) rm_cmd_error(c, "times=%d out of range 1..10000", o.times);
    if (vfrac < 0 || vfrac >= 0.9) rm_cmd_error(c, "val=%g: the validation fraction must be in [0, 0.9)", vfrac);
    if (o.patience > 0 && vfrac == 0) rm_cmd_error(c, "patience= needs a validation split (val=0.1, say)");
    o.oc.kind = strcmp(rm_arg(c, "optim")->s, "sgd") ? RM_OPT_ADAMW : RM_OPT_SGD;
    o.oc.lr = o.oc.act_lr = (float)rm_arg(c, "lr")->d;
    o.oc.lr_min = o.oc.act_lr_min = (float)rm_arg(c, "lr_min")->d;
    o.oc.wd = (float)rm_arg(c, "wd")->d;
    o.oc.cosine = !strcmp(rm_arg(c, "schedule")->s, "cosine");
    o.to.epochs = (int)rm_arg(c, "epochs")->i;
    o.to.batch = (int)rm_arg(c, "batch")->i;
    o.to.aug = RM_AUG_NONE;
    o.to.report_s = 1e9;
    ev_state es = {.quiet = (int)rm_arg(c, "quiet")->i, .times = o.times};
    o.on_run = on_run; o.ud = &es;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_dataset tr = {0}, va = {0};
    const rm_dataset *train = &d->ds, *val = NULL;
    if (vfrac > 0) {
        if (rm_split_stratified(&ctx, &d->ds, vfrac, o.seed, &tr, &va)) rm_cmd_error(c, "validation split: %s", ctx.msg);
        train = &tr; val = &va;
    }
    rm_repeat_run *runs = lua_newuserdatauv(L, sizeof(rm_repeat_run) * (size_t)o.times, 0);   /* collected */
    rm_repeat_summary s;
    char name[64];
    if (!rm_ws_name(L, lm, name, sizeof name)) snprintf(name, sizeof name, "(unnamed)");
    if (!es.quiet) {
        printf("evaluating '%s': %d runs of %d epochs on %d images of %s%s, test %s (%d)\n", name, o.times, o.to.epochs,
               train->n, d->ds.name, val ? " (stratified validation split held out)" : "", t->ds.name, t->ds.n);
        printf("  %4s  %8s  %6s  %5s  %8s  %9s  %9s\n", "run", "seed", "epochs", "best", "val acc", "test acc", "time");
        fflush(stdout);
    }
    lm->busy++; d->busy++; t->busy++;
    rm_sigint_flag = 0;
    rm_A.in_core = 1;
    int r = rm_repeat(&ctx, lm->m, train, val, &t->ds, &o, runs, &s);
    rm_A.in_core = 0;
    lm->busy--; d->busy--; t->busy--;
    rm_dataset_free(&tr); rm_dataset_free(&va);
    if (r && s.runs == 0) rm_cmd_error(c, "%s", ctx.msg);
    if (r && !es.quiet) printf("stopped: %s (%d runs finished)\n", ctx.msg, s.runs);
    if (!es.quiet && s.runs)
        printf("test accuracy over %d runs: max %.2f%%  mean %.2f%%  std %.2f  min %.2f%%\n", s.runs, 100 * s.max,
               100 * s.mean, 100 * s.std, 100 * s.min);
    rm_val *cv = rm_arg(c, "csv");
    if (cv->set && s.runs) {
        char err[1200];
        if (rm_mkparent(cv->s)) rm_cmd_error(c, "cannot create the directory of %s", cv->s);
        if (write_csv(cv->s, runs, &s, err, sizeof err)) rm_cmd_error(c, "%s", err);
        if (!es.quiet) printf("wrote %s\n", cv->s);
    }
    lua_createtable(L, 0, 6);
    lua_createtable(L, s.runs, 0);
    for (int i = 0; i < s.runs; i++) {
        lua_createtable(L, 0, 7);
        SETN("seed", (double)runs[i].seed); SETN("epochs", runs[i].epochs_run); SETN("best_epoch", runs[i].best_epoch);
        if (runs[i].val_acc >= 0) SETN("val_acc", runs[i].val_acc);
        SETN("test_acc", runs[i].test_acc); SETN("test_loss", runs[i].test_loss); SETN("seconds", runs[i].seconds);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "runs");
    SETN("max", s.max); SETN("mean", s.mean); SETN("std", s.std); SETN("min", s.min); SETN("n", s.runs);
    lua_pushboolean(L, r == RM_OK);
    lua_setfield(L, -2, "complete");
    return 1;
}
