/* wlayers.c - one list of the weight layers of a ResMLP or a layer-list net, and the input matrix of each
 * for a batch (see wlayers.h). */
#include "wlayers.h"
#include "net.h"
#include "data.h"
#include <stdio.h>
#include <string.h>

static int learned(const rm_model *m) { return rm_act_has_params(m->cfg.act.kind); }

static void add(rm_wlayer *out, int *n, int max, const char *name, int kind, int rows, int cols, int index, int wq) {
    if (*n >= max) return;
    rm_wlayer *L = &out[(*n)++];
    snprintf(L->name, sizeof L->name, "%s", name);
    L->kind = kind; L->rows = rows; L->cols = cols; L->index = index; L->wq = wq;
}

int rm_wlayers(const rm_model *m, rm_wlayer *out, int max) {
    int n = 0;
    char nm[96];
    if (m->net) {
        const rm_net_spec *s = rm_net_spec_of(m);
        for (int i = 0; i < s->n; i++) {
            int t = s->l[i].type;
            if (t != RM_NL_LINEAR && t != RM_NL_CONV) continue;
            snprintf(nm, sizeof nm, "layers.%d.weight", i);
            const rm_ptensor *pt = rm_model_find(m, nm, NULL);
            if (!pt) continue;
            add(out, &n, max, nm, t == RM_NL_LINEAR ? RM_WL_NET_LINEAR : RM_WL_NET_CONV, (int)pt->shape[0],
                (int)pt->shape[1], i, s->l[i].wq);
        }
        return n;
    }
    const rm_model_cfg *c = &m->cfg;
    add(out, &n, max, "embed_linear.weight", RM_WL_EMBED, c->D, c->P, -1, RM_WQ_FLOAT);
    for (int l = 0; l < c->L; l++) {
        snprintf(nm, sizeof nm, "layers.%d.layers.0.layers.weight", l);
        add(out, &n, max, nm, RM_WL_TOK, c->T, c->T, l, RM_WQ_FLOAT);
        snprintf(nm, sizeof nm, "layers.%d.layers.1.layers.%d.weight", l, learned(m) ? 1 : 0);
        add(out, &n, max, nm, RM_WL_FC1, c->H, c->D, l, RM_WQ_FLOAT);
        snprintf(nm, sizeof nm, "layers.%d.layers.1.layers.%d.weight", l, learned(m) ? 3 : 2);
        add(out, &n, max, nm, RM_WL_FC2, c->D, c->H, l, RM_WQ_FLOAT);
    }
    add(out, &n, max, "classifier.weight", RM_WL_CLS, c->K, c->D, c->L, RM_WQ_FLOAT);
    return n;
}

float *rm_wlayer_w(rm_model *m, const rm_wlayer *L) { return rm_model_tensor_data(m, L->name, NULL); }

float *rm_wlayer_b(rm_model *m, const rm_wlayer *L) {
    char nm[96];
    size_t k = strlen(L->name);
    if (k < 6 || strcmp(L->name + k - 6, "weight")) return NULL;
    snprintf(nm, sizeof nm, "%.*sbias", (int)(k - 6), L->name);
    return rm_model_tensor_data(m, nm, NULL);
}

const char *rm_wlayer_label(const rm_model *m, const rm_wlayer *L, char *buf, size_t n) {
    switch (L->kind) {
    case RM_WL_NET_LINEAR: snprintf(buf, n, "linear %d", L->index); break;
    case RM_WL_NET_CONV: snprintf(buf, n, "conv %d", L->index); break;
    case RM_WL_EMBED: snprintf(buf, n, "embed"); break;
    case RM_WL_TOK: snprintf(buf, n, "token %d", L->index); break;
    case RM_WL_FC1: snprintf(buf, n, "fc1 %d", L->index); break;
    case RM_WL_FC2: snprintf(buf, n, "fc2 %d", L->index); break;
    default: snprintf(buf, n, "classifier"); break;
    }
    return buf;
}

int rm_wlayer_input(rm_ctx *ctx, rm_model *m, const rm_wlayer *L, const float *x, int B, const float **X,
                    int *nrows, int *trans) {
    *trans = 0;
    if (L->kind == RM_WL_NET_CONV) return rm_err(ctx, "%s: conv layers are not supported here (linear only)", L->name);
    if (L->kind == RM_WL_NET_LINEAR) {
        if (L->index == 0) {
            if (rm_net_set_batch(ctx, m, B)) return RM_ERR;
            *X = x;
        } else {
            if (rm_net_forward_upto(ctx, m, x, B, 0, L->index)) return RM_ERR;
            *X = rm_net_output(m, L->index - 1, NULL, NULL, NULL, NULL);
        }
        *nrows = B;
        return RM_OK;
    }
    const rm_model_cfg *c = &m->cfg;
    int N = B * c->T;
    switch (L->kind) {
    case RM_WL_EMBED:
        if (rm_model_set_batch(ctx, m, B)) return RM_ERR;
        *X = x; *nrows = N;
        return RM_OK;
    case RM_WL_CLS:
        if (rm_model_forward(ctx, m, x, B, 0, RM_FULL)) return RM_ERR;
        *X = m->c.pooled; *nrows = B;
        return RM_OK;
    default: break;
    }
    if (rm_model_forward(ctx, m, x, B, 0, L->index + 1)) return RM_ERR;
    int l = L->index;
    if (L->kind == RM_WL_TOK) { *X = m->c.tok[l].ut; *nrows = B * c->D; *trans = 1; }
    else if (L->kind == RM_WL_FC1) { *X = learned(m) ? m->c.mlp[l].a1 : m->c.mlp[l].u; *nrows = N; }
    else { *X = m->c.mlp[l].hact; *nrows = N; }
    return RM_OK;
}

int rm_wlayer_conv_input(rm_ctx *ctx, rm_model *m, const rm_wlayer *L, const float *x, int B, const float **map,
                         int *C, int *H, int *W, int *nhwc) {
    if (L->kind != RM_WL_NET_CONV || !m->net) return rm_err(ctx, "%s: not a conv layer", L->name);
    if (L->index == 0) {
        const rm_net_spec *s = rm_net_spec_of(m);
        if (rm_net_set_batch(ctx, m, B)) return RM_ERR;
        *map = x; *C = s->in_c; *H = s->in_h; *W = s->in_w; *nhwc = 0;
        return RM_OK;
    }
    if (rm_net_forward_upto(ctx, m, x, B, 0, L->index)) return RM_ERR;
    *map = rm_net_output(m, L->index - 1, C, H, W, nhwc);
    return *map ? RM_OK : rm_err(ctx, "%s: no input map", L->name);
}

void rm_wlayer_batch(const rm_model *m, const rm_dataset *ds, const int *idx, int B, float *x, int *y) {
    if (m->net) rm_make_batch_flat(ds, idx, B, x, y);
    else rm_make_batch(ds, idx, B, m->cfg.patch, RM_AUG_NONE, 0, x, y);
}
