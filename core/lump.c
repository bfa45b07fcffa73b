/* lump.c - exact (and approximate) neuron lumping of hidden layers (see lump.h): a pass that finds
 * proportional / identical / zero neurons in one hidden layer and folds them into the outgoing weights,
 * and the rebuild of a smaller layer-list net or ResMLP with the kept neurons. */
#include "lump.h"
#include "net.h"
#include "train.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rm_lump_proportional(const float *vi, const float *vj, int n, double tol, double *lambda) {
    double ii = 0, ij = 0, jj = 0;
    for (int k = 0; k < n; k++) { ii += (double)vi[k] * vi[k]; ij += (double)vi[k] * vj[k]; jj += (double)vj[k] * vj[k]; }
    if (ii <= 0 || jj <= 0) return 0;
    double lam = ij / ii;
    if (!(lam > 0)) return 0;
    double r = 0;
    for (int k = 0; k < n; k++) { double d = vj[k] - lam * vi[k]; r += d * d; }
    if (r > tol * tol * jj) return 0;
    *lambda = lam;
    return 1;
}

/* one hidden layer: H neurons with effective incoming rows V (H, fan+1) (weights then bias), outgoing
 * Wout (O, H) and bias bout (O) (modified in place), per-channel curve rows for identity checks */
typedef struct hgroup {
    int H, fan, O;
    float *V;
    float *Wout, *bout;
    int proportional, relu;
    const float *curve[8];
    int curve_w[8], ncurve;
} hgroup;

static int same_curve(const hgroup *g, int i, int j, double tol) {
    for (int k = 0; k < g->ncurve; k++) {
        const float *a = g->curve[k] + (size_t)i * g->curve_w[k], *b = g->curve[k] + (size_t)j * g->curve_w[k];
        for (int e = 0; e < g->curve_w[k]; e++)
            if (fabs((double)a[e] - b[e]) > tol * fmax(1e-30, fmax(fabs(a[e]), fabs(b[e])))) return 0;
    }
    return 1;
}

/* keep[H] out; fills the counts of R */
static int analyse(rm_ctx *ctx, hgroup *g, const rm_lump_opts *o, int *keep, rm_lump_layer *R) {
    double tol = o->tol > 0 ? o->tol : RM_LUMP_EXACT_TOL;
    int H = g->H, n = g->fan + 1, nrep = 0;
    int *rep = malloc(sizeof(int) * (H ? H : 1));
    if (!rep) return rm_err(ctx, "lump: out of memory");
    for (int j = 0; j < H; j++) {
        keep[j] = 1;
        const float *vj = g->V + (size_t)j * n;
        if (o->zero) {
            int zo = 1, zi = 1;
            for (int r = 0; r < g->O && zo; r++) zo = g->Wout[(size_t)r * H + j] == 0;
            if (zo) { keep[j] = 0; R->zero_out++; continue; }
            for (int k = 0; k < g->fan && zi; k++) zi = vj[k] == 0;
            if (zi && g->relu && (g->bout || vj[g->fan] <= 0)) {
                double cst = vj[g->fan] > 0 ? vj[g->fan] : 0;   /* relu(b): a constant */
                if (cst > 0)
                    for (int r = 0; r < g->O; r++) g->bout[r] += (float)(cst * g->Wout[(size_t)r * H + j]);
                keep[j] = 0; R->zero_in++;
                continue;
            }
        }
        for (int t = 0; t < nrep; t++) {
            int i = rep[t];
            double lam;
            if (!rm_lump_proportional(g->V + (size_t)i * n, vj, n, tol, &lam)) continue;
            if (!g->proportional && (fabs(lam - 1) > tol || !same_curve(g, i, j, o->tol > 0 ? o->tol : 0))) continue;
            if (!g->proportional) lam = 1;   /* identical neurons: act_j = act_i */
            for (int r = 0; r < g->O; r++) g->Wout[(size_t)r * H + i] += (float)(lam * g->Wout[(size_t)r * H + j]);
            keep[j] = 0; R->merged++;
            break;
        }
        if (keep[j]) rep[nrep++] = j;
    }
    free(rep);
    R->proportional = g->proportional;
    R->before = H;
    R->after = 0;
    for (int j = 0; j < H; j++) R->after += keep[j];
    long per = (long)g->fan + 1 + g->O;   /* incoming row + bias, outgoing column */
    R->params_before = per * H + g->O;
    R->params_after = per * R->after + g->O;
    return RM_OK;
}

/* ---- layer-list nets ----------------------------------------------------------------------------- */

static int net_act_ok(int t) {
    return t == RM_NL_RELU || t == RM_NL_HARDTANH || t == RM_NL_SIGN || t == RM_NL_CURVE || t == RM_NL_QUANT || t == RM_NL_TERNARY;
}

/* copy rows of src (rows x w) kept by keep into dst */
static void copy_rows(float *dst, const float *src, int rows, size_t w, const int *keep) {
    for (int r = 0, o = 0; r < rows; r++)
        if (keep[r]) memcpy(dst + (size_t)o++ * w, src + (size_t)r * w, sizeof(float) * w);
}

/* lump hidden layer i of net m; *out = new model, or NULL when nothing was removed / skipped; returns 1
 * when layer i is not a hidden layer (the output layer, no activation after it) */
static int lump_net_layer(rm_ctx *ctx, rm_model *m, int i, const rm_lump_opts *o, rm_lump_layer *R, rm_model **out) {
    const rm_net_spec *s = rm_net_spec_of(m);
    *out = NULL;
    int k = i + 1, bn = -1, a = -1, j;
    snprintf(R->label, sizeof R->label, "linear %d", i);
    if (k < s->n && s->l[k].type == RM_NL_BN) bn = k++;
    if (k < s->n && net_act_ok(s->l[k].type)) a = k++;
    while (k < s->n && s->l[k].type == RM_NL_DROPOUT) k++;
    j = k;
    if (a < 0 || j >= s->n || s->l[j].type != RM_NL_LINEAR) return 1;   /* not a hidden layer */
    snprintf(R->act, sizeof R->act, "%s", s->l[a].type == RM_NL_CURVE ? rm_act_name(s->l[a].act.kind) : rm_nlayer_name(s->l[a].type));
    char nm[96];
    snprintf(nm, sizeof nm, "layers.%d.weight", i);
    const rm_ptensor *ti = rm_model_find(m, nm, NULL);
    snprintf(nm, sizeof nm, "layers.%d.weight", j);
    const rm_ptensor *tj = rm_model_find(m, nm, NULL);
    int H = (int)ti->shape[0], fan = (int)ti->shape[1], O = (int)tj->shape[0];
    R->before = R->after = H;
    if (s->l[i].wq == RM_WQ_INT) { snprintf(R->skipped, sizeof R->skipped, "n-bit weights (one layer-wide scale)"); return RM_OK; }
    if (s->l[j].wq != RM_WQ_FLOAT) { snprintf(R->skipped, sizeof R->skipped, "outgoing weights are quantised"); return RM_OK; }
    float *W = m->mem + ti->off, *Wn = m->mem + tj->off;
    snprintf(nm, sizeof nm, "layers.%d.bias", i);
    float *b = rm_model_tensor_data(m, nm, NULL);
    snprintf(nm, sizeof nm, "layers.%d.bias", j);
    float *bn_out = rm_model_tensor_data(m, nm, NULL);
    hgroup g = {.H = H, .fan = fan, .O = O, .proportional = s->l[a].type == RM_NL_RELU, .relu = s->l[a].type == RM_NL_RELU};
    g.V = malloc(sizeof(float) * H * (fan + 1));
    g.Wout = malloc(sizeof(float) * O * H);
    g.bout = malloc(sizeof(float) * (O + 1));
    float *qw = malloc(sizeof(float) * H * fan), *alpha = malloc(sizeof(float) * H);
    int *keep = malloc(sizeof(int) * H);
    rm_model *nm_ = NULL;
    int st = RM_ERR;
    if (!g.V || !g.Wout || !g.bout || !qw || !alpha || !keep) { rm_err(ctx, "lump: out of memory"); goto done; }
    /* the weights the forward uses */
    if (s->l[i].wq == RM_WQ_BINARY) for (size_t e = 0; e < (size_t)H * fan; e++) qw[e] = W[e] >= 0 ? 1.0f : -1.0f;
    else if (s->l[i].wq == RM_WQ_TERNARY) rm_quant_ternary(qw, alpha, W, H, fan);
    else memcpy(qw, W, sizeof(float) * H * fan);
    const float *bw = NULL, *bb = NULL, *brm = NULL, *brv = NULL;
    if (bn >= 0) {
        snprintf(nm, sizeof nm, "layers.%d.weight", bn); bw = rm_model_tensor_data(m, nm, NULL);
        snprintf(nm, sizeof nm, "layers.%d.bias", bn); bb = rm_model_tensor_data(m, nm, NULL);
        snprintf(nm, sizeof nm, "layers.%d.running_mean", bn); brm = rm_model_tensor_data(m, nm, NULL);
        snprintf(nm, sizeof nm, "layers.%d.running_var", bn); brv = rm_model_tensor_data(m, nm, NULL);
    }
    for (int r = 0; r < H; r++) {
        double A = 1, C = 0;
        if (bn >= 0) { A = bw[r] / sqrt((double)brv[r] + 1e-5); C = bb[r] - A * brm[r]; }
        float *v = g.V + (size_t)r * (fan + 1);
        for (int e = 0; e < fan; e++) v[e] = (float)(A * qw[(size_t)r * fan + e]);
        v[fan] = (float)(A * (b ? b[r] : 0) + C);
    }
    memcpy(g.Wout, Wn, sizeof(float) * O * H);
    if (bn_out) memcpy(g.bout, bn_out, sizeof(float) * O);
    else g.bout = (free(g.bout), NULL);
    if (s->l[a].type == RM_NL_CURVE)
        for (int t = 0; t < m->ntensors && g.ncurve < 8; t++)
            if (m->tensors[t].block == a) {
                g.curve[g.ncurve] = m->mem + m->tensors[t].off;
                g.curve_w[g.ncurve++] = m->tensors[t].ndim > 1 ? (int)m->tensors[t].shape[1] : 1;
            }
    if (analyse(ctx, &g, o, keep, R)) goto done;
    if (R->after == H) { st = RM_OK; goto done; }
    if (R->after == 0) { snprintf(R->skipped, sizeof R->skipped, "every neuron would go (kept one layer as is)"); R->after = H; st = RM_OK; goto done; }
    /* rebuild with H' = kept neurons */
    rm_net_spec ns = *s;
    ns.l[i].out = R->after;
    char text[4096];
    rm_net_format(&ns, text, sizeof text);
    if (rm_model_new_net(ctx, &nm_, text, 1)) goto done;
    for (int pass = 0; pass < 2; pass++) {
        int nt = pass ? nm_->nbuftensors : nm_->ntensors;
        for (int t = 0; t < nt; t++) {
            const rm_ptensor *dt = pass ? &nm_->buftensors[t] : &nm_->tensors[t];
            int isb;
            const rm_ptensor *sti = rm_model_find(m, dt->name, &isb);
            if (!sti) { rm_err(ctx, "lump: tensor %s missing", dt->name); goto done; }
            float *dst = (pass ? nm_->bmem : nm_->mem) + dt->off;
            const float *src = (pass ? m->bmem : m->mem) + sti->off;
            int blk = dt->block;
            if (blk == j && !pass && dt->ndim == 2) {            /* outgoing weights: kept columns */
                for (int r = 0; r < O; r++)
                    for (int c = 0, q = 0; c < H; c++) if (keep[c]) dst[(size_t)r * R->after + q++] = g.Wout[(size_t)r * H + c];
            } else if (blk == j && !pass && g.bout) memcpy(dst, g.bout, sizeof(float) * O);
            else if (blk == i || blk == bn || blk == a) copy_rows(dst, src, H, sti->n / H, keep);
            else memcpy(dst, src, sizeof(float) * dt->n);
        }
    }
    rm_model_params_changed(nm_);
    *out = nm_; nm_ = NULL;
    st = RM_OK;
done:
    free(g.V); free(g.Wout); free(g.bout); free(qw); free(alpha); free(keep);
    rm_model_free(nm_);
    return st;
}

static long model_params(const rm_model *m) { return (long)m->nparams; }

static int lump_net(rm_ctx *ctx, rm_model *src, rm_model **out, const rm_lump_opts *o, rm_lump_report *rep) {
    rm_model *cur = NULL;
    if (rm_model_new_like(ctx, &cur, src, 1) || rm_model_copy_params(ctx, cur, src)) { rm_model_free(cur); return RM_ERR; }
    int n = rm_net_spec_of(src)->n;
    for (int i = 0; i < n; i++) {
        if (rm_net_spec_of(cur)->l[i].type != RM_NL_LINEAR) continue;
        rm_lump_layer R = {0};
        rm_model *nx = NULL;
        int r = lump_net_layer(ctx, cur, i, o, &R, &nx);
        if (r == RM_ERR) { rm_model_free(cur); return RM_ERR; }
        if (r > 0) continue;   /* the output layer, or no activation after it */
        if (rep->n < 64) rep->l[rep->n++] = R;
        if (nx) { rm_model_free(cur); cur = nx; }
    }
    *out = cur;
    return RM_OK;
}

/* ---- ResMLP: channel MLPs ------------------------------------------------------------------------ */

static int lump_resmlp(rm_ctx *ctx, rm_model *m, rm_model **out, const rm_lump_opts *o, rm_lump_report *rep) {
    const rm_model_cfg *c = &m->cfg;
    int H = c->H, D = c->D, L = c->L, st = RM_ERR;
    int learned = rm_act_has_params(c->act.kind), nct = learned ? rm_act_ntensors(&c->act) : 0;
    int *keep = malloc(sizeof(int) * H * L);
    float *Wout = malloc(sizeof(float) * D * H * L), *bout = malloc(sizeof(float) * D * L), *V = malloc(sizeof(float) * H * (D + 1));
    rm_model *nm_ = NULL;
    if (!keep || !Wout || !bout || !V) { rm_err(ctx, "lump: out of memory"); goto done; }
    int Hn = 0;
    for (int l = 0; l < L; l++) {
        rm_lump_layer *R = &rep->l[rep->n++];
        memset(R, 0, sizeof *R);
        snprintf(R->label, sizeof R->label, "fc1 %d", l);
        snprintf(R->act, sizeof R->act, "%s", rm_act_name(c->act.kind));
        hgroup g = {.H = H, .fan = D, .O = D, .V = V, .Wout = Wout + (size_t)l * D * H, .bout = bout + (size_t)l * D,
                    .proportional = c->act.kind == RM_ACT_RELU, .relu = c->act.kind == RM_ACT_RELU};
        for (int r = 0; r < H; r++) {
            memcpy(V + (size_t)r * (D + 1), m->p.mlp[l].fc1_w + (size_t)r * D, sizeof(float) * D);
            V[(size_t)r * (D + 1) + D] = m->p.mlp[l].fc1_b[r];
        }
        memcpy(g.Wout, m->p.mlp[l].fc2_w, sizeof(float) * D * H);
        memcpy(g.bout, m->p.mlp[l].fc2_b, sizeof(float) * D);
        for (int k = 0; k < nct && k < 8; k++) {
            const char *suf; int nd; int64_t sh[2]; size_t off;
            rm_act_tensor(&c->act, H, k, &suf, &nd, sh, &off);
            g.curve[g.ncurve] = m->p.mlp[l].act2 + off;
            g.curve_w[g.ncurve++] = nd > 1 ? (int)sh[1] : 1;
        }
        if (analyse(ctx, &g, o, keep + (size_t)l * H, R)) goto done;
        if (R->after == 0) { for (int r = 0; r < H; r++) keep[(size_t)l * H + r] = 1; R->after = H;
                             snprintf(R->skipped, sizeof R->skipped, "every neuron would go (kept as is)"); }
        if (R->after > Hn) Hn = R->after;
    }
    rm_model_cfg nc = *c;
    nc.H = Hn;
    if (rm_model_new(ctx, &nm_, &nc, 1)) goto done;
    /* copy: same tensor order in both models; the channel-MLP hidden tensors are remapped */
    for (int pass = 0; pass < 2; pass++) {
        int nt = pass ? m->nbuftensors : m->ntensors;
        for (int t = 0; t < nt; t++) {
            const rm_ptensor *st_ = pass ? &m->buftensors[t] : &m->tensors[t], *dt = pass ? &nm_->buftensors[t] : &nm_->tensors[t];
            const float *src = (pass ? m->bmem : m->mem) + st_->off;
            float *dst = (pass ? nm_->bmem : nm_->mem) + dt->off;
            int done_ = 0;
            for (int l = 0; l < L && !pass && !done_; l++) {
                const int *kp = keep + (size_t)l * H;
                if (src == m->p.mlp[l].fc1_w || src == m->p.mlp[l].fc1_b || (learned && src >= m->p.mlp[l].act2 &&
                    src < m->p.mlp[l].act2 + rm_act_nparams(&c->act, H))) {
                    size_t w = st_->n / H;
                    memset(dst, 0, sizeof(float) * dt->n);
                    copy_rows(dst, src, H, w, kp);
                    if (src != m->p.mlp[l].fc1_w && src != m->p.mlp[l].fc1_b) {   /* curve: padding channels copy channel 0 */
                        int kc = 0;
                        for (int r = 0; r < H; r++) kc += kp[r];
                        for (int q = kc; q < Hn; q++) memcpy(dst + (size_t)q * w, src, sizeof(float) * w);
                    }
                    done_ = 1;
                } else if (src == m->p.mlp[l].fc2_w) {
                    const float *wo = Wout + (size_t)l * D * H;
                    memset(dst, 0, sizeof(float) * dt->n);
                    for (int r = 0; r < D; r++)
                        for (int cc = 0, q = 0; cc < H; cc++) if (kp[cc]) dst[(size_t)r * Hn + q++] = wo[(size_t)r * H + cc];
                    done_ = 1;
                } else if (src == m->p.mlp[l].fc2_b) { memcpy(dst, bout + (size_t)l * D, sizeof(float) * D); done_ = 1; }
            }
            if (!done_) {
                if (dt->n != st_->n) { rm_err(ctx, "lump: tensor %s changed size unexpectedly", st_->name); goto done; }
                memcpy(dst, src, sizeof(float) * dt->n);
            }
        }
    }
    rm_model_params_changed(nm_);
    *out = nm_; nm_ = NULL;
    st = RM_OK;
done:
    free(keep); free(Wout); free(bout); free(V);
    rm_model_free(nm_);
    return st;
}

int rm_lump(rm_ctx *ctx, rm_model *src, rm_model **out, const rm_lump_opts *o, rm_lump_report *rep) {
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    if (o->tol < 0 || o->tol >= 1) return rm_err(ctx, "lump: tolerance %g must be in [0, 1)", o->tol);
    int r = src->net ? lump_net(ctx, src, out, o, rep) : lump_resmlp(ctx, src, out, o, rep);
    if (r) return r;
    rep->params_before = model_params(src);
    rep->params_after = model_params(*out);
    return RM_OK;
}

int rm_logit_maxdiff(rm_ctx *ctx, rm_model *a, rm_model *b, const rm_dataset *ds, int n, double *maxdiff) {
    if (n <= 0 || n > ds->n) n = ds->n;
    if (a->cfg.K != b->cfg.K || rm_model_input_size(a) != rm_model_input_size(b))
        return rm_err(ctx, "compare: the models take different inputs or classes");
    int B = n < 256 ? n : 256, K = a->cfg.K;
    float *x = rm_malloc(ctx, sizeof(float) * B * rm_model_input_size(a), "compare batch");
    float *la = rm_malloc(ctx, sizeof(float) * B * K, "compare logits");
    int *y = rm_malloc(ctx, sizeof(int) * B, "compare labels"), *idx = rm_malloc(ctx, sizeof(int) * B, "compare index");
    int st = RM_ERR;
    double md = 0;
    if (!x || !la || !y || !idx) goto done;
    for (int s = 0; s < n; s += B) {
        int nb = n - s < B ? n - s : B;
        for (int i = 0; i < nb; i++) idx[i] = s + i;
        if (a->net) rm_make_batch_flat(ds, idx, nb, x, y);
        else rm_make_batch(ds, idx, nb, a->cfg.patch, RM_AUG_NONE, 0, x, y);
        if (rm_model_forward(ctx, a, x, nb, 0, RM_FULL)) goto done;
        memcpy(la, a->c.logits, sizeof(float) * nb * K);
        if (rm_model_forward(ctx, b, x, nb, 0, RM_FULL)) goto done;
        for (int i = 0; i < nb * K; i++) md = fmax(md, fabs((double)la[i] - b->c.logits[i]));
    }
    *maxdiff = md;
    st = RM_OK;
done:
    free(x); free(la); free(y); free(idx);
    return st;
}
