/* checkpoint.c - model <-> safetensors with architecture metadata; optional optimiser state. */
#include "checkpoint.h"
#include "prune.h"
#include "safetensors.h"
#include "net.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMETA 24

static int fill_meta(const rm_model *m, char vals[NMETA][64], const char **keys) {
    const rm_model_cfg *c = &m->cfg;
    int k = 0;
#define META(key, ...) (keys[k] = key, snprintf(vals[k], 64, __VA_ARGS__), k++)
    if (m->net) {   /* the layer list itself goes under "net" (see rm_checkpoint_save) */
        META("format", "resmlp-net-1");
        META("classes", "%d", c->K);
        return k;
    }
    META("format", "resmlp-1");
    META("act", "%s", rm_act_name(c->act.kind));
    META("hidden", "%d", c->H);
    META("embed", "%d", c->D);
    META("layers", "%d", c->L);
    META("tokens", "%d", c->T);
    META("patch_dim", "%d", c->P);
    META("classes", "%d", c->K);
    META("patch", "%d", c->patch);
    META("psa_keys", "%d", c->act.E);
    META("psa_eps", "%.9g", c->act.eps);
    META("lerp_grid", "%d", c->act.G);
    META("lerp_range", "%.9g", c->act.R);
    META("spline_size", "%d", c->act.K);
    META("spline_spacing", "%.9g", c->act.spacing);
#undef META
    return k;
}

void rm_checkpoint_optim_path(const char *path, char *out, size_t n) {
    size_t len = strlen(path), sl = strlen(".safetensors");
    if (len > sl && !strcmp(path + len - sl, ".safetensors")) len -= sl;
    snprintf(out, n, "%.*s.optim.safetensors", (int)len, path);
}

/* FNV-1a 64 over the parameter and buffer bytes: ties an optimiser sibling to its weights */
static uint64_t weights_hash(const rm_model *m) {
    uint64_t h = 1469598103934665603ull;
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < (k ? m->nbuftensors : m->ntensors); t++) {
            const rm_ptensor *pt = k ? &m->buftensors[t] : &m->tensors[t];
            const unsigned char *p = (const unsigned char *)((k ? m->bmem : m->mem) + pt->off);
            for (size_t i = 0; i < pt->n * sizeof(float); i++) h = (h ^ p[i]) * 1099511628211ull;
        }
    return h;
}

/* what: 1 weights, 2 optimiser state, 3 both */
static int save_impl(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt, const rm_train_state *st, int what,
                     const char *xkey, const char *xval) {
    int with_opt = (what & 2) && opt && st, with_w = what & 1;
    int nt = (with_w ? m->ntensors + m->nbuftensors : 0) + (with_opt ? 2 * m->ntensors : 0);
    rm_st_tensor *t = calloc(nt ? nt : 1, sizeof *t);
    if (!t) return rm_err(ctx, "%s: out of memory", path);
    int k = 0;
    for (int pass = with_w ? 0 : 2; pass < (with_opt ? 4 : 2); pass++) {
        int isbuf = pass == 1;
        int cnt = isbuf ? m->nbuftensors : m->ntensors;
        const rm_ptensor *src = isbuf ? m->buftensors : m->tensors;
        const float *base = pass == 0 ? m->mem : pass == 1 ? m->bmem : pass == 2 ? opt->m : opt->v;
        for (int i = 0; i < cnt; i++, k++) {
            if (pass < 2) snprintf(t[k].name, sizeof t[k].name, "%s", src[i].name);
            else snprintf(t[k].name, sizeof t[k].name, "optim.%s.%s", pass == 2 ? "m" : "v", src[i].name);
            t[k].dtype = RM_F32;
            t[k].ndim = src[i].ndim;
            t[k].shape[0] = src[i].shape[0];
            t[k].shape[1] = src[i].shape[1];
            if (src[i].fdim) {   /* PyTorch's own shape, e.g. conv (OC,IC,k,k) */
                t[k].ndim = src[i].fdim;
                for (int d = 0; d < src[i].fdim; d++) t[k].shape[d] = src[i].fshape[d];
            }
            t[k].data = base + src[i].off;
            t[k].nbytes = src[i].n * sizeof(float);
        }
    }
    const char *keys[NMETA + 2];
    char vals[NMETA][64];
    int nm = fill_meta(m, vals, keys);
    if (with_opt) {
        keys[nm] = "train.epoch"; snprintf(vals[nm++], 64, "%d", st->epoch);
        keys[nm] = "train.total_epochs"; snprintf(vals[nm++], 64, "%d", st->total_epochs);
        keys[nm] = "train.seed"; snprintf(vals[nm++], 64, "%llu", (unsigned long long)st->seed);
        keys[nm] = "train.phase"; snprintf(vals[nm++], 64, "%s", st->phase);
        keys[nm] = "optim.step"; snprintf(vals[nm++], 64, "%ld", opt->step);
        if (!with_w) { keys[nm] = "weights.fnv1a64"; snprintf(vals[nm++], 64, "%016llx", (unsigned long long)weights_hash(m)); }
    }
    const char *vp[NMETA + 2];
    for (int i = 0; i < nm; i++) vp[i] = vals[i];
    if (xkey && xval && (what & 1)) { keys[nm] = xkey; vp[nm++] = xval; }
    char netspec[4096];
    if (m->net) {
        rm_model_describe(m, netspec, sizeof netspec);
        keys[nm] = "net";
        vp[nm++] = netspec;
    }
    char *prune = rm_prune_format(m);   /* SIMD-block pruning masks (prune.h) */
    if (prune) { keys[nm] = "prune"; vp[nm++] = prune; }
    int r = rm_st_save(ctx, path, t, nt, keys, vp, nm);
    free(t); free(prune);
    return r;
}

int rm_checkpoint_save_extra(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt,
                             const rm_train_state *st, const char *key, const char *val) {
    if (opt && st) {
        char side[1024];
        rm_checkpoint_optim_path(path, side, sizeof side);
        if (save_impl(ctx, side, m, opt, st, 2, NULL, NULL)) return RM_ERR;
    }
    return save_impl(ctx, path, m, NULL, NULL, 1, key, val);
}

int rm_checkpoint_save(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt, const rm_train_state *st) {
    return rm_checkpoint_save_extra(ctx, path, m, opt, st, NULL, NULL);
}

int rm_checkpoint_meta(rm_ctx *ctx, const char *path, const char *key, char **out) {
    *out = NULL;
    rm_st_file f = {0};
    if (rm_st_load(ctx, path, &f)) return RM_ERR;
    const char *v = rm_st_meta(&f, key);
    int r = RM_OK;
    if (v && !(*out = strdup(v))) r = rm_err(ctx, "%s: out of memory", path);
    rm_st_free(&f);
    return r;
}

int rm_checkpoint_save_with_optimizer(rm_ctx *ctx, const char *path, const rm_model *m, const rm_optim *opt,
                                      const rm_train_state *st) {
    return save_impl(ctx, path, m, opt, st, 3, NULL, NULL);
}

static int meta_int(rm_ctx *ctx, const rm_st_file *f, const char *path, const char *key, int def, int *out) {
    const char *v = rm_st_meta(f, key);
    if (!v) { *out = def; return RM_OK; }
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end || x < -1000000 || x > 1000000) return rm_err(ctx, "%s: metadata %s='%s' is not an integer", path, key, v);
    *out = (int)x;
    return RM_OK;
}
static int meta_float(rm_ctx *ctx, const rm_st_file *f, const char *path, const char *key, float def, float *out) {
    const char *v = rm_st_meta(f, key);
    if (!v) { *out = def; return RM_OK; }
    char *end;
    float x = strtof(v, &end);
    if (*v == 0 || *end) return rm_err(ctx, "%s: metadata %s='%s' is not a number", path, key, v);
    *out = x;
    return RM_OK;
}

int rm_checkpoint_load(rm_ctx *ctx, const char *path, rm_model **out) {
    *out = NULL;
    rm_st_file f = {0};
    if (rm_st_load(ctx, path, &f)) return RM_ERR;
    int st = RM_ERR;
    rm_model *m = NULL;
    const char *act = rm_st_meta(&f, "act"), *net = rm_st_meta(&f, "net");
    if (net) {
        if (rm_model_new_net(ctx, &m, net, 1)) { rm_errprefix(ctx, "%s: metadata 'net'", path); goto done; }
        goto tensors;
    }
    if (!act) { rm_err(ctx, "%s: no 'act' in __metadata__ (not a resmlp checkpoint?)", path); goto done; }
    int kind = rm_act_kind_from_name(act);
    if (kind < 0) { rm_err(ctx, "%s: unknown activation '%s' in metadata", path, act); goto done; }
    rm_model_cfg c = rm_model_default_cfg(kind, 96);
    if (meta_int(ctx, &f, path, "hidden", 0, &c.H) || meta_int(ctx, &f, path, "embed", 96, &c.D) ||
        meta_int(ctx, &f, path, "layers", 4, &c.L) || meta_int(ctx, &f, path, "tokens", 64, &c.T) ||
        meta_int(ctx, &f, path, "patch_dim", 48, &c.P) || meta_int(ctx, &f, path, "classes", 10, &c.K) ||
        meta_int(ctx, &f, path, "patch", 4, &c.patch) || meta_int(ctx, &f, path, "psa_keys", 8, &c.act.E) ||
        meta_float(ctx, &f, path, "psa_eps", 1.0f, &c.act.eps) || meta_int(ctx, &f, path, "lerp_grid", 64, &c.act.G) ||
        meta_float(ctx, &f, path, "lerp_range", 4.0f, &c.act.R) || meta_int(ctx, &f, path, "spline_size", 65, &c.act.K) ||
        meta_float(ctx, &f, path, "spline_spacing", 0.125f, &c.act.spacing))
        goto done;
    if (c.H <= 0) { rm_err(ctx, "%s: metadata has no valid 'hidden'", path); goto done; }
    if (rm_model_new(ctx, &m, &c, 1)) { rm_errprefix(ctx, "%s", path); goto done; }
tensors:
    for (int pass = 0; pass < 2; pass++) {
        int cnt = pass ? m->nbuftensors : m->ntensors;
        const rm_ptensor *src = pass ? m->buftensors : m->tensors;
        float *base = pass ? m->bmem : m->mem;
        for (int i = 0; i < cnt; i++) {
            const void *d;
            int nd = src[i].fdim ? src[i].fdim : src[i].ndim;
            const int64_t *sh = src[i].fdim ? src[i].fshape : src[i].shape;
            if (rm_st_get(ctx, &f, src[i].name, RM_F32, nd, sh, &d)) goto done;
            memcpy(base + src[i].off, d, src[i].n * sizeof(float));
        }
    }
    const char *pr = rm_st_meta(&f, "prune");
    if (pr && rm_prune_parse(ctx, m, pr)) { rm_errprefix(ctx, "%s", path); goto done; }
    rm_model_params_changed(m);
    *out = m;
    m = NULL;
    st = RM_OK;
done:
    rm_model_free(m);
    rm_st_free(&f);
    return st;
}

int rm_checkpoint_load_state(rm_ctx *ctx, const char *path, const rm_model *m, rm_optim *opt, rm_train_state *st) {
    rm_st_file f = {0};
    if (rm_st_load(ctx, path, &f)) return RM_ERR;
    int r = RM_ERR;
    char side[1024];
    const char *from = path;
    if (!rm_st_meta(&f, "train.epoch")) {   /* weights only: the state is in the sibling file */
        rm_checkpoint_optim_path(path, side, sizeof side);
        rm_st_free(&f);
        FILE *probe = fopen(side, "rb");
        if (!probe) return rm_err(ctx, "%s: no training state (no %s beside it; saved without optimiser)", path, side);
        fclose(probe);
        if (rm_st_load(ctx, side, &f)) return RM_ERR;
        from = side;
        const char *h = rm_st_meta(&f, "weights.fnv1a64");
        char mine[32];
        snprintf(mine, sizeof mine, "%016llx", (unsigned long long)weights_hash(m));
        if (!h || strcmp(h, mine)) {
            rm_err(ctx, "%s does not belong to the weights in %s (saved at another time); cannot resume", side, path);
            goto done;
        }
    }
    const char *ep = rm_st_meta(&f, "train.epoch");
    if (!ep) { rm_err(ctx, "%s: no training state in this checkpoint (saved without optimiser)", from); goto done; }
    int e = 0, tot = 0, step = 0;
    if (meta_int(ctx, &f, from, "train.epoch", 0, &e) || meta_int(ctx, &f, from, "train.total_epochs", 0, &tot) ||
        meta_int(ctx, &f, from, "optim.step", 0, &step))
        goto done;
    const char *sd = rm_st_meta(&f, "train.seed"), *ph = rm_st_meta(&f, "train.phase");
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < m->ntensors; i++) {
            char name[200];
            snprintf(name, sizeof name, "optim.%s.%s", pass ? "v" : "m", m->tensors[i].name);
            const void *d;
            const rm_ptensor *pt = &m->tensors[i];
            if (rm_st_get(ctx, &f, name, RM_F32, pt->fdim ? pt->fdim : pt->ndim, pt->fdim ? pt->fshape : pt->shape, &d)) goto done;
            memcpy((pass ? opt->v : opt->m) + m->tensors[i].off, d, m->tensors[i].n * sizeof(float));
        }
    opt->step = step;
    st->epoch = e;
    st->total_epochs = tot;
    st->seed = sd ? strtoull(sd, NULL, 10) : 2023;
    snprintf(st->phase, sizeof st->phase, "%s", ph ? ph : "");
    r = RM_OK;
done:
    rm_st_free(&f);
    return r;
}
