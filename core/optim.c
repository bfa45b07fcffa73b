/* optim.c - AdamW / SGD-momentum steps over flat arrays, tensor by tensor (frozen ones skipped). */
#include "optim.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

rm_optim_cfg rm_optim_default(void) {
    rm_optim_cfg c = {.kind = RM_OPT_ADAMW, .lr = 1e-3f, .lr_min = 1e-5f, .act_lr = 1e-3f, .act_lr_min = 1e-5f,
                      .wd = 0, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .momentum = 0.9f, .cosine = 1};
    return c;
}

int rm_optim_init(rm_ctx *ctx, rm_optim *o, const rm_model *m, const rm_optim_cfg *cfg) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = m->nparams;
    o->m = rm_calloc(ctx, o->n * sizeof(float), "optimiser state");
    o->v = o->m ? rm_calloc(ctx, o->n * sizeof(float), "optimiser state") : NULL;
    if (!o->v) { rm_optim_free(o); return RM_ERR; }
    o->cur_lr = cfg->lr; o->cur_act_lr = cfg->act_lr;
    return RM_OK;
}

void rm_optim_free(rm_optim *o) { free(o->m); free(o->v); o->m = o->v = NULL; }

static float cosine(float base, float floor_, int e, int total) {
    if (total <= 0) return base;
    return floor_ + (base - floor_) * 0.5f * (1.0f + cosf((float)M_PI * e / total));
}

void rm_optim_set_epoch(rm_optim *o, int epoch, int total) {
    if (!o->cfg.cosine) { o->cur_lr = o->cfg.lr; o->cur_act_lr = o->cfg.act_lr; return; }
    o->cur_lr = cosine(o->cfg.lr, o->cfg.lr_min, epoch, total);
    o->cur_act_lr = cosine(o->cfg.act_lr, o->cfg.act_lr_min, epoch, total);
}

void rm_optim_step(rm_optim *o, rm_model *m) {
    const rm_optim_cfg *c = &o->cfg;
    o->step++;
    float bc1 = 1 - powf(c->beta1, (float)o->step), bc2 = 1 - powf(c->beta2, (float)o->step);
    for (int i = 0; i < m->ntensors; i++) {
        const rm_ptensor *t = &m->tensors[i];
        if (t->frozen) continue;
        float lr = t->group == RM_GROUP_ACT ? o->cur_act_lr : o->cur_lr;
        float wd = t->group == RM_GROUP_ACT ? 0 : c->wd;
        float *p = m->mem + t->off, *g = m->gmem + t->off, *mm = o->m + t->off, *vv = o->v + t->off;
        size_t n = t->n;
        if (c->kind == RM_OPT_ADAMW) {
            float b1 = c->beta1, b2 = c->beta2, eps = c->eps, step = lr / bc1, rb2 = 1 / sqrtf(bc2);
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (size_t j = 0; j < n; j++) {
                p[j] -= lr * wd * p[j];
                mm[j] = b1 * mm[j] + (1 - b1) * g[j];
                vv[j] = b2 * vv[j] + (1 - b2) * g[j] * g[j];
                p[j] -= step * mm[j] / (sqrtf(vv[j]) * rb2 + eps);
            }
        } else {
            for (size_t j = 0; j < n; j++) {
                float gj = g[j] + wd * p[j];
                mm[j] = c->momentum * mm[j] + gj;
                p[j] -= lr * mm[j];
            }
        }
    }
    rm_model_params_changed(m);
}
