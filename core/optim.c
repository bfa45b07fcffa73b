/* optim.c - AdamW / SGD-momentum steps over flat arrays, tensor by tensor (frozen ones skipped). */
#include "optim.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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

/* AdamW on parameters [j0, j1), scalar; the AVX-512 version below does the same IEEE operations in the
 * same order on 16 lanes (separate multiply and add, correctly rounded sqrt and divide), so its results
 * are identical. gcc does not vectorise the scalar loop itself (sqrtf may set errno). */
static void adamw_range(float *restrict p, const float *restrict g, float *restrict mm, float *restrict vv, size_t j0,
                        size_t j1, float lr, float wd, float b1, float b2, float eps, float step, float rb2) {
    for (size_t j = j0; j < j1; j++) {
        p[j] -= lr * wd * p[j];
        mm[j] = b1 * mm[j] + (1 - b1) * g[j];
        vv[j] = b2 * vv[j] + (1 - b2) * g[j] * g[j];
        p[j] -= step * mm[j] / (sqrtf(vv[j]) * rb2 + eps);
    }
}

#ifdef __x86_64__
#include <immintrin.h>
__attribute__((target("avx512f"))) static void adamw_range512(float *restrict p, const float *restrict g, float *restrict mm,
                                                              float *restrict vv, size_t j0, size_t j1, float lr, float wd,
                                                              float b1, float b2, float eps, float step, float rb2) {
    __m512 lw = _mm512_set1_ps(lr * wd), vb1 = _mm512_set1_ps(b1), cb1 = _mm512_set1_ps(1 - b1), vb2 = _mm512_set1_ps(b2),
           cb2 = _mm512_set1_ps(1 - b2), veps = _mm512_set1_ps(eps), vst = _mm512_set1_ps(step), vrb = _mm512_set1_ps(rb2);
    size_t j = j0;
    for (; j + 16 <= j1; j += 16) {
        __m512 pj = _mm512_loadu_ps(p + j), gj = _mm512_loadu_ps(g + j);
        pj = _mm512_sub_ps(pj, _mm512_mul_ps(lw, pj));
        __m512 mj = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(mm + j)), _mm512_mul_ps(cb1, gj));
        __m512 vj = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(vv + j)), _mm512_mul_ps(_mm512_mul_ps(cb2, gj), gj));
        __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vj), vrb), veps);
        pj = _mm512_sub_ps(pj, _mm512_div_ps(_mm512_mul_ps(vst, mj), den));
        _mm512_storeu_ps(mm + j, mj);
        _mm512_storeu_ps(vv + j, vj);
        _mm512_storeu_ps(p + j, pj);
    }
    adamw_range(p, g, mm, vv, j, j1, lr, wd, b1, b2, eps, step, rb2);
}
#endif

static void adamw(float *p, const float *g, float *mm, float *vv, size_t n, float lr, float wd, float b1, float b2,
                  float eps, float step, float rb2) {
#pragma omp parallel if (n > 65536)
    {
        size_t t = 0, nt = 1;
#ifdef _OPENMP
        t = (size_t)omp_get_thread_num(); nt = (size_t)omp_get_num_threads();
#endif
        size_t j0 = n * t / nt, j1 = n * (t + 1) / nt;
#ifdef __x86_64__
        if (__builtin_cpu_supports("avx512f")) adamw_range512(p, g, mm, vv, j0, j1, lr, wd, b1, b2, eps, step, rb2);
        else
#endif
            adamw_range(p, g, mm, vv, j0, j1, lr, wd, b1, b2, eps, step, rb2);
    }
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
            adamw(p, g, mm, vv, n, lr, wd, c->beta1, c->beta2, c->eps, lr / bc1, 1 / sqrtf(bc2));
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
