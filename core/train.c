/* train.c - the epoch/step loops for CE, KD and KT training, and evaluation. Buffers are allocated
 * once before the loop; the step itself allocates nothing. */
#include "train.h"
#include "prof.h"
#include "layers.h"
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

rm_train_opts rm_train_defaults(void) {
    rm_train_opts o = {.epochs = 1, .batch = 128, .seed = 2023, .aug = RM_AUG_CROPFLIP, .alpha = 0.8f, .T = 1.0f,
                       .kt_block = -1, .tv2 = 1e-5f, .report_s = 1.0};
    return o;
}

static int check_data(rm_ctx *ctx, const rm_model *m, const rm_dataset *ds) {
    const rm_model_cfg *c = &m->cfg;
    if (ds->n < 1) return rm_err(ctx, "data set %s is empty", ds->name);
    if (m->net) {
        long f = (long)ds->c * ds->h * ds->w;
        if (f != c->P) return rm_err(ctx, "data set %s (%dx%dx%d = %ld inputs) does not fit the network's input of %d",
                                     ds->name, ds->c, ds->h, ds->w, f, c->P);
    } else if (!ds->pixels || ds->h % c->patch || ds->w % c->patch || rm_data_tokens(ds, c->patch) != c->T ||
        rm_data_patchdim(ds, c->patch) != c->P)
        return rm_err(ctx, "data set %s (%dx%dx%d) does not fit the model (%d tokens x %d features)", ds->name,
                      ds->c, ds->h, ds->w, c->T, c->P);
    if (ds->nclass > c->K) return rm_err(ctx, "data set %s has %d classes, model %d", ds->name, ds->nclass, c->K);
    return RM_OK;
}

/* one batch in the layout the model kind reads: patches (B,T,P) for the ResMLP, flat CHW rows for a net */
/* index of the first NaN/Inf of x[0..n), or -1: a non-finite input or gradient can leave the loss finite
 * (ReLU maps NaN to 0 downstream) while it poisons the weights, so the loss check alone is not enough */
static long first_nonfinite(const float *x, size_t n) {
    /* blocks of 4096 in one vector pass each: x*0 is 0 for a finite x and NaN for NaN or Inf, so the
     * block's sum is NaN exactly when the block holds one; only then the exact scan */
    for (size_t b = 0; b < n; b += 4096) {
        size_t e = n - b < 4096 ? n : b + 4096;
        float acc = 0;
#pragma omp simd reduction(+ : acc)
        for (size_t i = b; i < e; i++) acc += x[i] * 0.0f;
        if (acc == acc) continue;
        for (size_t i = b; i < e; i++) if (!isfinite(x[i])) return (long)i;
    }
    return -1;
}

static void make_batch(const rm_model *m, const rm_dataset *ds, const int *idx, int B, int aug, uint64_t seed, float *x, int *y) {
    if (m->net) rm_make_batch_flat(ds, idx, B, x, y);
    else rm_make_batch(ds, idx, B, m->cfg.patch, aug, seed, x, y);
}

int rm_evaluate(rm_ctx *ctx, rm_model *m, const rm_dataset *ds, int batch, float *acc, float *loss) {
    if (check_data(ctx, m, ds)) return RM_ERR;
    const rm_model_cfg *c = &m->cfg;
    if (batch < 1) batch = 256;
    if (batch > ds->n) batch = ds->n;
    float *x = rm_malloc(ctx, sizeof(float) * batch * rm_model_input_size(m), "eval batch");
    int *y = rm_malloc(ctx, sizeof(int) * batch, "eval labels"), *idx = rm_malloc(ctx, sizeof(int) * batch, "eval index");
    int st = RM_ERR;
    if (!x || !y || !idx) goto done;
    if (rm_model_set_batch(ctx, m, batch)) goto done;
    long correct = 0;
    double lsum = 0;
    for (int s = 0; s < ds->n; s += batch) {
        if (rm_interrupted(ctx)) { rm_err(ctx, "evaluation interrupted"); goto done; }
        int B = ds->n - s < batch ? ds->n - s : batch;
        for (int i = 0; i < B; i++) idx[i] = s + i;
        make_batch(m, ds, idx, B, RM_AUG_NONE, 0, x, y);
        if (rm_model_forward(ctx, m, x, B, 0, RM_FULL)) goto done;
        lsum += (double)cross_entropy(NULL, m->c.logits, y, B, c->K) * B;
        for (int i = 0; i < B; i++) {
            const float *z = m->c.logits + (size_t)i * c->K;
            int best = 0;
            for (int k = 1; k < c->K; k++) if (z[k] > z[best]) best = k;
            correct += best == y[i];
        }
    }
    if (acc) *acc = (float)correct / ds->n;
    if (loss) *loss = (float)(lsum / ds->n);
    st = RM_OK;
done:
    free(x); free(y); free(idx);
    return st;
}

int rm_train(rm_ctx *ctx, rm_model *m, rm_optim *opt, const rm_dataset *ds, const rm_train_opts *o,
             rm_train_result *res) {
    memset(res, 0, sizeof *res);
    res->epochs_done = o->start_epoch;
    if (check_data(ctx, m, ds)) return RM_ERR;
    const rm_model_cfg *c = &m->cfg;
    int kt = o->kt_block >= 0;
    if (kt && o->kt_block >= c->L) return rm_err(ctx, "kt block %d out of range 0..%d", o->kt_block, c->L - 1);
    if (kt && !o->teacher) return rm_err(ctx, "knowledge transfer needs a teacher");
    if (kt && m->net) return rm_err(ctx, "knowledge transfer per block is for ResMLP students; use KD for layer-list networks");
    if (o->teacher && !o->teacher->net != !m->net)
        return rm_err(ctx, "teacher and student must be the same model kind (both ResMLP or both layer-list networks)");
    if (o->teacher && m->net && o->teacher->cfg.P != c->P)
        return rm_err(ctx, "teacher takes %d inputs, the student %d", o->teacher->cfg.P, c->P);
    if (o->teacher && !m->net) {
        const rm_model_cfg *tc = &o->teacher->cfg;
        if (tc->T != c->T || tc->P != c->P || tc->K != c->K || (kt && (tc->D != c->D || tc->L != c->L)))
            return rm_err(ctx, "teacher (embed %d, %d blocks, %d classes) does not match the student (embed %d, %d blocks, %d classes)",
                          tc->D, tc->L, tc->K, c->D, c->L, c->K);
    }
    int n = o->limit > 0 && o->limit < ds->n ? o->limit : ds->n;
    int B = o->batch;
    if (B < 1) return rm_err(ctx, "batch size %d must be >= 1", B);
    int steps = n / B;
    if (steps < 1) return rm_err(ctx, "training set of %d images is smaller than one batch of %d", n, B);
    int upto = kt ? o->kt_block + 1 : RM_FULL;
    size_t nd = (size_t)B * c->T * c->D;
    size_t insize = (size_t)rm_model_input_size(m);
    float *x = rm_malloc(ctx, sizeof(float) * B * insize, "train batch");
    int *y = rm_malloc(ctx, sizeof(int) * B, "train labels");
    int *perm = rm_malloc(ctx, sizeof(int) * n, "permutation");
    float *dkt = kt ? rm_malloc(ctx, sizeof(float) * nd, "kt gradient") : NULL;
    /* last parameters and BN statistics that gave a finite loss, restored if training blows up */
    float *good = rm_malloc(ctx, sizeof(float) * (m->nparams + m->nbufs), "parameter backup");
    int have_good = 0;
    int st = RM_ERR;
    if (!x || !y || !perm || (kt && !dkt) || !good) goto done;
    if (rm_model_set_batch(ctx, m, B) || (o->teacher && rm_model_set_batch(ctx, o->teacher, B))) goto done;
    if (kt) rm_model_set_frozen(m, 1, o->kt_block, o->kt_block);
    double t0 = rm_now(), last_report = t0;
    long images = 0;
    long total_steps = (long)(o->epochs - o->start_epoch) * steps;
    res->steps_per_epoch = steps;
    for (int e = o->start_epoch; e < o->epochs; e++) {
        uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + (uint64_t)e * 7919 + 1;
        for (int i = 0; i < n; i++) perm[i] = i;
        rm_shuffle(perm, n, &rng);
        rm_optim_set_epoch(opt, e, o->epochs);
        double lsum = 0;
        long correct = 0, seen = 0;
        for (int s = 0; s < steps; s++) {
            if (rm_interrupted(ctx)) { res->interrupted = 1; st = RM_OK; goto done; }
            RM_PROF(RM_PROF_DATA, make_batch(m, ds, perm + (size_t)s * B, B, o->aug, o->seed ^ ((uint64_t)e << 32) ^ (uint64_t)s * 0x100000001B3ull, x, y));
            long bad;
            RM_PROF(RM_PROF_CHECK, bad = first_nonfinite(x, (size_t)B * insize));
            if (bad >= 0) {
                rm_err(ctx, "%s input at epoch %d step %d (sample %d of the training set, feature %ld)",
                       isnan(x[bad]) ? "NaN" : "infinite", e + 1, s + 1, perm[(size_t)s * B + bad / insize], bad % insize);
                goto blowup;
            }
            if (rm_model_forward(ctx, m, x, B, 1, upto)) { rm_errprefix(ctx, "epoch %d step %d", e + 1, s + 1); goto blowup; }
            if (o->teacher && rm_model_forward(ctx, o->teacher, x, B, 0, upto)) { rm_errprefix(ctx, "teacher"); goto done; }
            float loss;
            float *dz = m->c.dlogits;
            double tl = rm_prof_begin();
            if (kt) loss = mse_loss(dkt, m->c.xs[2 * upto], o->teacher->c.xs[2 * upto], nd);
            else if (o->teacher) loss = kd_loss(dz, m->c.logits, o->teacher->c.logits, y, B, c->K, o->alpha, o->T);
            else loss = cross_entropy(dz, m->c.logits, y, B, c->K);
            rm_prof_end(RM_PROF_LOSS, tl);
            RM_PROF(RM_PROF_OPT, rm_model_zero_grad(m));
            loss += rm_model_regular(m, o->tv2, 1);
            if (!isfinite(loss)) {
                rm_err(ctx, "loss became %s at epoch %d step %d", isnan(loss) ? "NaN" : "infinite", e + 1, s + 1);
                goto blowup;
            }
            rm_model_backward(m, x, kt ? NULL : dz, dkt, upto, kt ? o->kt_block : -1);
            RM_PROF(RM_PROF_CHECK, bad = first_nonfinite(m->gmem, m->nparams));
            if (bad >= 0) {
                rm_err(ctx, "gradients became %s at epoch %d step %d (loss %g)", isnan(m->gmem[bad]) ? "NaN" : "infinite",
                       e + 1, s + 1, loss);
                goto blowup;
            }
            double to_ = rm_prof_begin();
            memcpy(good, m->mem, sizeof(float) * m->nparams);
            memcpy(good + m->nparams, m->bmem, sizeof(float) * m->nbufs);
            have_good = 1;
            rm_prof_end(RM_PROF_CHECK, to_);
            to_ = rm_prof_begin();
            rm_optim_step(opt, m);
            rm_prof_end(RM_PROF_OPT, to_);
            lsum += loss; images += B; seen += B;
            res->steps_done = s + 1;
            res->images = images;
            if (!kt)
                for (int i = 0; i < B; i++) {
                    const float *z = m->c.logits + (size_t)i * c->K;
                    int best = 0;
                    for (int k = 1; k < c->K; k++) if (z[k] > z[best]) best = k;
                    correct += best == y[i];
                }
            double now = rm_now();
            res->last_loss = (float)(lsum / (s + 1));
            if (o->cb && (now - last_report >= o->report_s || s == steps - 1)) {
                last_report = now;
                long done_steps = (long)(e - o->start_epoch) * steps + s + 1;
                rm_train_stats ts = {.phase = kt, .kt_block = o->kt_block, .epoch = e, .epochs = o->epochs,
                                     .step = s + 1, .steps = steps, .loss = res->last_loss,
                                     .train_acc = seen ? (float)correct / seen : 0, .lr = opt->cur_lr,
                                     .imgs_per_s = images / (now - t0), .elapsed_s = now - t0};
                ts.eta_s = (now - t0) / done_steps * (total_steps - done_steps);
                if (o->cb(o->ud, &ts, 0)) { res->interrupted = 1; st = RM_OK; goto done; }
            }
        }
        res->epochs_done = e + 1;
        res->steps_done = 0;
        res->imgs_per_s = images / (rm_now() - t0);
        if (o->ckpt_path) {
            rm_train_state ts = {.epoch = e + 1, .total_epochs = o->epochs, .seed = o->seed};
            snprintf(ts.phase, sizeof ts.phase, "%s", o->phase ? o->phase : "train");
            if ((o->ckpt_with_optimizer ? rm_checkpoint_save_with_optimizer : rm_checkpoint_save)(ctx, o->ckpt_path, m, opt, &ts))
                goto done;
        }
        if (o->cb) {
            double now = rm_now();
            rm_train_stats ts = {.phase = kt, .kt_block = o->kt_block, .epoch = e, .epochs = o->epochs, .step = steps,
                                 .steps = steps, .loss = (float)(lsum / steps), .train_acc = seen ? (float)correct / seen : 0,
                                 .lr = opt->cur_lr, .imgs_per_s = res->imgs_per_s, .elapsed_s = now - t0};
            ts.eta_s = (now - t0) / ((e - o->start_epoch + 1)) * (o->epochs - e - 1);
            if (o->test) {
                int rs = m->record_stats;
                m->record_stats = 0;
                if (rm_evaluate(ctx, m, o->test, 256, &ts.test_acc, &ts.test_loss)) { m->record_stats = rs; goto done; }
                m->record_stats = rs;
                ts.have_test = 1;
            }
            if (o->cb(o->ud, &ts, 1)) { res->interrupted = 1; st = RM_OK; goto done; }
        }
    }
    st = RM_OK;
    goto done;
blowup:
    if (have_good) {
        memcpy(m->mem, good, sizeof(float) * m->nparams);
        memcpy(m->bmem, good + m->nparams, sizeof(float) * m->nbufs);
        rm_model_params_changed(m);
        rm_errprefix(ctx, "training stopped, weights restored to the last step with a finite loss");
    } else {
        rm_errprefix(ctx, "training stopped");
    }
done:
    if (kt) rm_model_set_frozen(m, 0, 0, c->L);
    free(x); free(y); free(perm); free(dkt); free(good);
    return st;
}

void rm_train_stopped_at(const rm_train_result *r, char *buf, size_t n) {
    int k = snprintf(buf, n, "after %d epoch%s", r->epochs_done, r->epochs_done == 1 ? "" : "s");
    if (r->steps_done > 0 && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - k, " and %d/%d steps of epoch %d", r->steps_done, r->steps_per_epoch, r->epochs_done + 1);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - k, " (%ld images trained on)", r->images);
}
