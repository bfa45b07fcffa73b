/* repeat.c - N seeded training runs of one architecture with early stopping, and their summary. */
#include "repeat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

rm_repeat_opts rm_repeat_defaults(void) {
    rm_repeat_opts o = {.times = 10, .seed = 1, .patience = 0, .oc = rm_optim_default(), .to = rm_train_defaults()};
    return o;
}

typedef struct {
    rm_model *m;
    float *best;            /* parameters + buffers of the best validation epoch */
    float best_acc;
    int best_epoch, since, patience, stopped;
} es_state;

/* epoch end: keep the best weights, count epochs without improvement */
static int es_cb(void *ud, const rm_train_stats *s, int end) {
    es_state *e = ud;
    if (!end || !s->have_test) return 0;
    if (s->test_acc > e->best_acc) {
        e->best_acc = s->test_acc;
        e->best_epoch = s->epoch + 1;
        e->since = 0;
        memcpy(e->best, e->m->mem, sizeof(float) * e->m->nparams);
        memcpy(e->best + e->m->nparams, e->m->bmem, sizeof(float) * e->m->nbufs);
    } else if (++e->since >= e->patience && e->patience > 0) {
        e->stopped = 1;
        return 1;
    }
    return 0;
}

void rm_repeat_summarise(const rm_repeat_run *runs, int n, rm_repeat_summary *sum) {
    memset(sum, 0, sizeof *sum);
    sum->runs = n;
    if (n < 1) return;
    double s = 0, ss = 0;
    sum->max = -1; sum->min = 2;
    for (int i = 0; i < n; i++) {
        float a = runs[i].test_acc;
        s += a;
        if (a > sum->max) sum->max = a;
        if (a < sum->min) sum->min = a;
    }
    double mean = s / n;
    for (int i = 0; i < n; i++) ss += (runs[i].test_acc - mean) * (runs[i].test_acc - mean);
    sum->mean = (float)mean;
    sum->std = (float)sqrt(ss / n);
}

int rm_repeat(rm_ctx *ctx, const rm_model *tmpl, const rm_dataset *train, const rm_dataset *val,
              const rm_dataset *test, const rm_repeat_opts *o, rm_repeat_run *runs, rm_repeat_summary *sum) {
    memset(sum, 0, sizeof *sum);
    if (o->times < 1) return rm_err(ctx, "times=%d must be >= 1", o->times);
    int done = 0, st = RM_ERR;
    float *best = rm_malloc(ctx, sizeof(float) * (tmpl->nparams + tmpl->nbufs + 1), "best weights");
    if (!best) return RM_ERR;
    for (int r = 0; r < o->times; r++) {
        rm_model *m = NULL;
        rm_optim opt = {0};
        rm_repeat_run *run = &runs[r];
        memset(run, 0, sizeof *run);
        run->seed = o->seed + (uint64_t)r;
        double t0 = rm_now();
        if (rm_model_new_like(ctx, &m, tmpl, run->seed)) goto fail;
        if (rm_optim_init(ctx, &opt, m, &o->oc)) { rm_model_free(m); goto fail; }
        es_state es = {.m = m, .best = best, .best_acc = -1, .patience = val ? o->patience : 0};
        rm_train_opts to = o->to;
        to.seed = run->seed;
        to.test = val;
        to.cb = es_cb; to.ud = &es;
        to.start_epoch = 0;
        rm_train_result tr;
        int rc = rm_train(ctx, m, &opt, train, &to, &tr);
        if (rc == RM_OK && tr.interrupted && !es.stopped) rc = rm_err(ctx, "interrupted in run %d of %d", r + 1, o->times);
        if (rc) { rm_errprefix(ctx, "run %d (seed %llu)", r + 1, (unsigned long long)run->seed); rm_optim_free(&opt); rm_model_free(m); goto fail; }
        run->epochs_run = tr.epochs_done;
        if (val && es.best_epoch > 0) {
            memcpy(m->mem, best, sizeof(float) * m->nparams);
            memcpy(m->bmem, best + m->nparams, sizeof(float) * m->nbufs);
            rm_model_params_changed(m);
            run->best_epoch = es.best_epoch;
            run->val_acc = es.best_acc;
        } else {
            run->best_epoch = tr.epochs_done;
            run->val_acc = -1;
        }
        rc = rm_evaluate(ctx, m, test, 256, &run->test_acc, &run->test_loss);
        rm_optim_free(&opt);
        rm_model_free(m);
        if (rc) goto fail;
        run->seconds = rm_now() - t0;
        done = r + 1;
        if (o->on_run && o->on_run(o->ud, r, run)) break;
    }
    st = RM_OK;
fail:
    rm_repeat_summarise(runs, done, sum);
    free(best);
    return st;
}
