/* quant.c - INT8 quantisation of a folded ResMLP: quant points and shift-tied weight scales, activation
 * tables, the exact fake-quant forward and its LSQ backward, QAT, percentile calibration, export to the
 * integer network. The model file, verify and curves are in quant_io.c. See quant.h for the scheme.
 *
 * Fake-quant tensors are kept as codes in float arrays (exact integers); a value is code / s. Products
 * of codes summed by sgemm are exact integers below 2^24, so the requantisation below sees exactly the
 * int32 accumulator of the integer engine. */
#include "quant.h"
#include "prune.h"
#include "quant_impl.h"
#include "layers.h"
#include "gemm.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar helpers -------------------------------------------------------------------------- */

int rm_q_code(float v, float s) {
    float q = v * s;
    if (isnan(q)) return 0;
    double r = floor((double)q + 0.5);
    return r < -128 ? -128 : r > 127 ? 127 : (int)r;
}

float rm_q_wscale(float s_x, float s_y, int k) { return ldexpf(s_y / s_x, k); }

void rm_qp_name(int L, int qp, char *buf, size_t n) {
    static const char *blk[RM_QP_PER_BLOCK] = {"tok.a", "tok.v", "mid", "mlp.p1", "mlp.h", "mlp.p2"};
    if (qp == rm_qp_input()) snprintf(buf, n, "input");
    else if (qp >= rm_qp_x(0) && qp <= rm_qp_x(L)) snprintf(buf, n, "x.%d", qp - rm_qp_x(0));
    else if (qp == rm_qp_logits(L)) snprintf(buf, n, "logits");
    else if (qp == RM_QP_POOL) snprintf(buf, n, "pool");
    else if (qp >= rm_qp_block(L, 0, 0) && qp < rm_qp_logits(L)) {
        int r = qp - rm_qp_block(L, 0, 0);
        snprintf(buf, n, "layers.%d.%s", r / RM_QP_PER_BLOCK, blk[r % RM_QP_PER_BLOCK]);
    } else snprintf(buf, n, "?");
}

/* ---- model ----------------------------------------------------------------------------------- */

static void set_layer(rm_qmodel *q, int i, const char *name, int kind, int in_qp, int out_qp, int OC, int IC,
                      float *w, float *b, int **kp, float **swp) {
    rm_qlayer *y = &q->layer[i];
    snprintf(y->name, sizeof y->name, "%s", name);
    y->kind = kind; y->in_qp = in_qp; y->out_qp = out_qp; y->OC = OC; y->IC = IC;
    y->w = w; y->b = b;
    y->gw = q->f->gmem + (w - q->f->mem);
    y->gb = q->f->gmem + (b - q->f->mem);
    y->k = *kp; y->sw = *swp;
    *kp += OC; *swp += OC;
}

int rm_qmodel_new(rm_ctx *ctx, rm_qmodel **out, rm_folded *f, int lut64, const rm_dataset *ds) {
    *out = NULL;
    const rm_model_cfg *c = &f->cfg;
    if (c->P > 1023 || c->D > 1023 || c->H > 1023 || c->T > 1023) {
        rm_folded_free(f);
        return rm_err(ctx, "quantise: fan-in above 1023 (P=%d D=%d H=%d T=%d) is not exact in the fake-quant forward",
                      c->P, c->D, c->H, c->T);
    }
    rm_qmodel *q = calloc(1, sizeof *q);
    if (!q) { rm_folded_free(f); return rm_err(ctx, "quantise: out of memory"); }
    q->f = f;
    q->lut64 = lut64 && c->act.kind != RM_ACT_RELU;
    q->nq = rm_qp_count(c->L);
    q->pool_shift = rm_pool_shift(c->T);
    const int L = c->L, D = c->D, H = c->H, T = c->T;
    size_t nk = (size_t)c->D + (size_t)c->K + (size_t)L * (5 * D + T + H + D);
    q->kmem = rm_calloc(ctx, nk * sizeof(int), "shifts");
    q->swmem = q->kmem ? rm_calloc(ctx, nk * sizeof(float), "weight scales") : NULL;
    if (!q->swmem) { rm_qmodel_free(q); return RM_ERR; }
    int *kp = q->kmem;
    float *sp = q->swmem;
    char nm[64];
    set_layer(q, rm_ql_embed(), "embed", RM_QL_LINEAR, rm_qp_input(), rm_qp_x(0), D, c->P, f->embed.w, f->embed.b, &kp, &sp);
    for (int l = 0; l < L; l++) {
        int qa = rm_qp_block(L, l, RM_QP_A), qv = rm_qp_block(L, l, RM_QP_V), qm = rm_qp_block(L, l, RM_QP_MID);
        int qp1 = rm_qp_block(L, l, RM_QP_P1), qh = rm_qp_block(L, l, RM_QP_H), qp2 = rm_qp_block(L, l, RM_QP_P2);
#define LAYER(which, suffix, kind, in, o, OC, IC, w, b) \
        (snprintf(nm, sizeof nm, "layers.%d.%s", l, suffix), set_layer(q, rm_ql_block(l, which), nm, kind, in, o, OC, IC, w, b, &kp, &sp))
        LAYER(RM_QL_TOK_A1, "tok.affine_1", RM_QL_AFFINE, rm_qp_x(l), qa, D, 1, f->tok[l].a1_w, f->tok[l].a1_b);
        LAYER(RM_QL_TOK_LIN, "tok.linear", RM_QL_TOKEN, qa, qv, T, T, f->tok[l].w, f->tok[l].b);
        LAYER(RM_QL_TOK_A2, "tok.affine_2", RM_QL_AFFINE, qv, qm, D, 1, f->tok[l].a2_w, f->tok[l].a2_b);
        LAYER(RM_QL_TOK_RES, "tok.res_affine", RM_QL_AFFINE, rm_qp_x(l), qm, D, 1, f->tok[l].res_w, f->tok[l].res_b);
        LAYER(RM_QL_MLP_RES, "mlp.res_affine", RM_QL_AFFINE, qm, rm_qp_x(l + 1), D, 1, f->mlp[l].res_w, f->mlp[l].res_b);
        LAYER(RM_QL_FC1, "mlp.linear_1", RM_QL_LINEAR, f->has_act1 ? qp1 : qm, qh, H, D, f->mlp[l].fc1_w, f->mlp[l].fc1_b);
        LAYER(RM_QL_FC2, "mlp.linear_2", RM_QL_LINEAR, f->act2_lut ? qp2 : qh, rm_qp_x(l + 1), D, H, f->mlp[l].fc2_w, f->mlp[l].fc2_b);
#undef LAYER
        q->qp_used[qa] = q->qp_used[qv] = q->qp_used[qm] = q->qp_used[qh] = 1;
        q->qp_used[qp1] = f->has_act1;
        q->qp_used[qp2] = f->act2_lut;
    }
    set_layer(q, rm_ql_cls(L), "classifier", RM_QL_LINEAR, RM_QP_POOL, rm_qp_logits(L), c->K, D, f->cls_w, f->cls_b, &kp, &sp);
    q->nl = rm_ql_cls(L) + 1;
    q->qp_used[rm_qp_input()] = q->qp_used[rm_qp_logits(L)] = 1;
    for (int l = 0; l <= L; l++) q->qp_used[rm_qp_x(l)] = 1;
    for (int i = 0; i < q->nq; i++) q->A[i] = 1.0f;
    for (size_t i = 0; i < nk; i++) { q->kmem[i] = 1; q->swmem[i] = 1.0f; }
    static const float cm[3] = {0.4914f, 0.4822f, 0.4465f}, cs[3] = {0.2470f, 0.2435f, 0.2616f};
    q->img_c = ds ? ds->c : 3; q->img_h = ds ? ds->h : 32; q->img_w = ds ? ds->w : 32;
    for (int ch = 0; ch < 4; ch++) {
        q->mean[ch] = ds && ch < ds->c ? ds->mean[ch] : ch < 3 ? cm[ch] : 0;
        q->std[ch] = ds && ch < ds->c ? ds->std[ch] : ch < 3 ? cs[ch] : 1;
    }
    if (q->img_c < 1 || q->img_c > 4 || q->img_h % c->patch || q->img_w % c->patch ||
        (q->img_h / c->patch) * (q->img_w / c->patch) != T || c->patch * c->patch * q->img_c != c->P) {
        rm_err(ctx, "quantise: images %dx%dx%d do not fit the model (%d tokens x %d features, patch %d)",
               q->img_c, q->img_h, q->img_w, T, c->P, c->patch);
        rm_qmodel_free(q);
        return RM_ERR;
    }
    *out = q;
    return RM_OK;
}

void rm_qmodel_free(rm_qmodel *q) {
    if (!q) return;
    rm_fq_free(q);
    rm_folded_free(q->f);
    free(q->kmem); free(q->swmem);
    free(q);
}

float rm_qmodel_scale(const rm_qmodel *q, int qp) {
    if (qp == RM_QP_POOL) {
        float s = rm_q_scale(q->A[rm_qp_x(q->f->cfg.L)]);
        return ldexpf(s * (float)q->f->cfg.T, -q->pool_shift);
    }
    return rm_q_scale(q->A[qp]);
}

static int clampk(double k) { return k < 1 ? 1 : k > 30 ? 30 : (int)k; }

void rm_qmodel_derive_shifts(rm_qmodel *q, int mode) {
    for (int i = 0; i < q->nl; i++) {
        rm_qlayer *y = &q->layer[i];
        float sx = rm_qmodel_scale(q, y->in_qp), sy = rm_qmodel_scale(q, y->out_qp);
        for (int o = 0; o < y->OC; o++) {
            if (mode == RM_SHIFT_INIT) {
                float mx = 0;
                for (int j = 0; j < y->IC; j++) { float a = fabsf(y->w[(size_t)o * y->IC + j]); mx = a > mx ? a : mx; }
                double r = mx > 0 ? (double)sx * (128.0 / mx) / sy : 0;
                y->k[o] = mx > 0 && isfinite(r) ? clampk(floor(log2(r))) : 1;
            } else {
                double r = (double)sx * y->sw[o] / sy;
                if (r > 0 && isfinite(r)) y->k[o] = clampk(floor(log2(r) + 0.5));
            }
            y->sw[o] = rm_q_wscale(sx, sy, y->k[o]);
        }
    }
}

/* ---- activation tables ----------------------------------------------------------------------- */

/* Tables of activation slot (0: act1 with its input affine, 1: act2) of block l for the current
 * parameters and scales: lut (C,256) the codes the network uses (the 64-entry interpolation in lut64
 * mode, top segment per q->lut_edge), l64 (C,64) and e (C) its samples and edge entries if non-NULL, tq (C,256) the unrounded output q = f*s_out if non-NULL, z (256,C)
 * the activation inputs at the 256 codes if non-NULL. work: (256*C) floats scratch x2. */
void rm_q_tables(rm_qmodel *q, int l, int slot, int8_t *lut, int8_t *l64, int8_t *e, float *tq, float *z, float *work) {
    rm_folded *f = q->f;
    const rm_model_cfg *c = &f->cfg;
    const int L = c->L, C = slot == 0 ? c->D : c->H;
    rm_folded_prepare_acts(f);
    float s_in = rm_qmodel_scale(q, slot == 0 ? rm_qp_block(L, l, RM_QP_MID) : rm_qp_block(L, l, RM_QP_H));
    float s_out = rm_qmodel_scale(q, slot == 0 ? rm_qp_block(L, l, RM_QP_P1) : rm_qp_block(L, l, RM_QP_P2));
    float *zz = work, *yy = work + (size_t)256 * C;
    for (int u = 0; u < 256; u++) {
        float x = (float)(u - 128) / s_in;
        for (int ch = 0; ch < C; ch++)
            zz[(size_t)u * C + ch] = slot == 0 ? x * f->mlp[l].in_w[ch] + f->mlp[l].in_b[ch] : x;
    }
    const float *p = slot == 0 ? f->mlp[l].act1 : f->mlp[l].act2;
    rm_act_forward(&c->act, C, p, f->actwork[l][slot], zz, yy, 256);
    if (z) memcpy(z, zz, sizeof(float) * 256 * C);
    for (int ch = 0; ch < C; ch++) {
        float y[256];
        int8_t t256[256], t64[64];
        for (int u = 0; u < 256; u++) {
            y[u] = yy[(size_t)u * C + ch];
            if (tq) tq[(size_t)ch * 256 + u] = y[u] * s_out;
        }
        rm_lut_quantize(y, s_out, t256);
        rm_lut_subsample64(t256, t64);
        int8_t ee = rm_lut_edge_entry(t256, t64, q->lut_edge);
        if (l64) memcpy(l64 + (size_t)ch * 64, t64, 64);
        if (e) e[ch] = ee;
        if (q->lut64) rm_lut64_expand(t64, ee, q->lut_edge, lut + (size_t)ch * 256);
        else memcpy(lut + (size_t)ch * 256, t256, 256);
    }
}

/* ---- fake-quant caches ----------------------------------------------------------------------- */

void rm_fq_free(rm_qmodel *q) {
    struct rm_fq_cache *k = q->fq;
    if (!k) return;
    free(k->mem);
    free(k);
    q->fq = NULL;
    q->fq_B = 0;
}

/* assign the cache arrays from base (NULL: just count); returns the floats needed */
static size_t fq_layout(rm_qmodel *q, struct rm_fq_cache *k, int B, float *base) {
    const rm_model_cfg *c = &q->f->cfg;
    const size_t L = c->L, N = (size_t)B * c->T, D = c->D, H = c->H, P = c->P, K = c->K;
    const size_t ND = N * D, NH = N * H, NM = N * (D > H ? D : H) + N * P, CM = D > H ? D : H;
    size_t off = 0;
#define TAKE(n) (off += ((n) + 15) & ~(size_t)15, base ? base + off - (((n) + 15) & ~(size_t)15) : NULL)
    k->xf = TAKE(N * P); k->xc = TAKE(N * P);
    for (size_t l = 0; l <= L; l++) { k->X[l] = TAKE(ND); k->Xq[l] = TAKE(ND); }
    for (size_t l = 0; l < L; l++) {
        struct rm_fq_blk *b = &k->b[l];
        b->Ac = TAKE(ND); b->Aq = TAKE(ND); b->At = TAKE(ND); b->Vc = TAKE(ND); b->Vq = TAKE(ND); b->Vn = TAKE(ND);
        b->Uc = TAKE(ND); b->Uq = TAKE(ND); b->Rc = TAKE(ND); b->Rq = TAKE(ND); b->Mc = TAKE(ND); b->Mq = TAKE(ND);
        b->R2c = TAKE(ND); b->R2q = TAKE(ND); b->P1c = TAKE(ND); b->Oc = TAKE(ND); b->Oq = TAKE(ND);
        b->Hc = TAKE(NH); b->Hq = TAKE(NH); b->P2c = TAKE(NH);
        for (int s = 0; s < 2; s++) {
            size_t C = s == 0 ? D : H;
            b->tq[s] = TAKE(C * 256);
            b->z[s] = TAKE(C * 256);
            b->lut[s] = (int8_t *)TAKE(C * 64);
            b->l64[s] = (int8_t *)TAKE(C * 16);
        }
    }
    k->Pc = TAKE((size_t)B * D); k->Pq = TAKE((size_t)B * D);
    k->Zc = TAKE((size_t)B * K); k->Zq = TAKE((size_t)B * K);
    for (int i = 0; i < q->nl; i++) {
        k->Wc[i] = TAKE((size_t)q->layer[i].OC * q->layer[i].IC);
        k->bc[i] = TAKE((size_t)q->layer[i].OC);
        k->swc[i] = TAKE((size_t)q->layer[i].OC);
    }
    for (int i = 0; i < 6; i++) k->g[i] = TAKE(NM);
    k->work = TAKE(4 * 256 * CM);
    k->lsum = TAKE(256 * 4 * 3);
#undef TAKE
    return off;
}

static int fq_alloc(rm_ctx *ctx, rm_qmodel *q, int B) {
    if (q->fq && q->fq_B >= B) return RM_OK;
    rm_fq_free(q);
    struct rm_fq_cache *k = calloc(1, sizeof *k);
    if (!k) return rm_err(ctx, "fake-quant cache: out of memory");
    size_t total = fq_layout(q, k, B, NULL);
    float *m = rm_malloc(ctx, total * sizeof(float), "fake-quant cache");
    if (!m) { free(k); return RM_ERR; }
    k->mem = m;
    fq_layout(q, k, B, m);
    q->fq = k;
    q->fq_B = B;
    return RM_OK;
}

/* ---- fake-quant forward ---------------------------------------------------------------------- */

/* quantise a layer's weights and bias for the current scales into the cache */
static void quant_weights(rm_qmodel *q, int li) {
    rm_qlayer *y = &q->layer[li];
    struct rm_fq_cache *k = q->fq;
    float sx = rm_qmodel_scale(q, y->in_qp), sy = rm_qmodel_scale(q, y->out_qp);
    for (int o = 0; o < y->OC; o++) {
        float sw = rm_q_wscale(sx, sy, y->k[o]);
        k->swc[li][o] = sw;
        for (int i = 0; i < y->IC; i++) k->Wc[li][(size_t)o * y->IC + i] = (float)rm_q_code(y->w[(size_t)o * y->IC + i], sw);
        k->bc[li][o] = (float)rm_q_code(y->b[o], sy);
    }
}

static inline float sat8f(float v) { return v < -128 ? -128 : v > 127 ? 127 : v; }

/* 2^-k, k = 0..31 (exact) */
static float p2neg(int k) { return 1.0f / (float)(1u << (k < 31 ? k : 31)); }

/* acc (exact integer in float) -> code (returned) and unrounded q (*qv) for shift k and bias code b */
static inline float requant_f(float acc, int k, float b, float p2, float *qv) {
    int32_t a = (int32_t)acc;
    *qv = acc * p2 + b;
    return (float)rm_requant(a, k, (int32_t)b);
}

// X codes (N,IC) -> Y codes and q (N,OC); per-row output channel o = column
static void fq_linear_fwd(rm_qmodel *q, int li, const float *X, float *Yc, float *Yq, int N) {
    rm_qlayer *y = &q->layer[li];
    struct rm_fq_cache *k = q->fq;
    quant_weights(q, li);
    const int OC = y->OC, IC = y->IC;
    rm_gemm(0, 1, N, OC, IC, 1.0f, X, IC, k->Wc[li], IC, 0.0f, Yq, OC);
    const float *bc = k->bc[li];
    const int *kk = y->k;
    float p2[RM_MAXC];
    for (int o = 0; o < OC; o++) p2[o] = p2neg(kk[o]);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int o = 0; o < OC; o++) {
            size_t i = (size_t)r * OC + o;
            Yc[i] = requant_f(Yq[i], kk[o], bc[o], p2[o], &Yq[i]);
        }
}

// per-channel affine: X codes (N,C) -> Y codes, q
static void fq_affine_fwd(rm_qmodel *q, int li, const float *X, float *Yc, float *Yq, int N) {
    rm_qlayer *y = &q->layer[li];
    struct rm_fq_cache *k = q->fq;
    quant_weights(q, li);
    const int C = y->OC;
    const float *wc = k->Wc[li], *bc = k->bc[li];
    const int *kk = y->k;
    float p2[RM_MAXC];
    for (int c = 0; c < C; c++) p2[c] = p2neg(kk[c]);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)r * C + c;
            Yc[i] = requant_f(X[i] * wc[c], kk[c], bc[c], p2[c], &Yq[i]);
        }
}

/* (B,T,D) rows <-> (T, B*D) */
static void to_tbd(float *dst, const float *src, int B, int T, int D) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B * T; r++) memcpy(dst + ((size_t)(r % T) * B + r / T) * D, src + (size_t)r * D, sizeof(float) * D);
}
static void from_tbd(float *dst, const float *src, int B, int T, int D) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B * T; r++) memcpy(dst + (size_t)r * D, src + ((size_t)(r % T) * B + r / T) * D, sizeof(float) * D);
}

/* normalised pixel value and input code tables */
static void input_tables(const rm_qmodel *q, float nf[4][256], int8_t code[4][256]) {
    float s = rm_qmodel_scale(q, rm_qp_input());
    for (int ch = 0; ch < q->img_c; ch++)
        for (int v = 0; v < 256; v++) {
            nf[ch][v] = ((float)v / 255.0f - q->mean[ch]) / q->std[ch];   /* as rm_make_batch */
            code[ch][v] = (int8_t)rm_q_code(nf[ch][v], s);
        }
}

/* patches of B images (augmented like rm_make_batch): normalised values xf and codes xc, (B,T,P) */
static void build_batch(rm_qmodel *q, const rm_dataset *ds, const int *idx, int B, int aug, uint64_t seed,
                        float *xf, float *xc, int *y) {
    float nf[4][256];
    int8_t code[4][256];
    input_tables(q, nf, code);
    const int c = ds->c, h = ds->h, w = ds->w, p = q->f->cfg.patch, gw = w / p, T = q->f->cfg.T, P = q->f->cfg.P;
    const size_t hw = (size_t)h * w, chw = (size_t)c * hw;
#pragma omp parallel
    {
        uint8_t *buf = aug ? malloc(2 * chw) : NULL;
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            const uint8_t *img = ds->pixels + (size_t)idx[b] * chw;
            if (buf) {
                uint64_t st = rm_data_stream(seed, b);
                rm_augment_image(img, buf, buf + chw, c, h, w, aug, &st);
                img = buf;
            }
            for (int t = 0; t < T; t++) {
                int py = t / gw, px = t % gw;
                for (int f = 0; f < P; f++) {
                    int ch = f % c, kk = f / c, ky = kk / p, kx = kk % p;
                    uint8_t v = img[ch * hw + (size_t)(py * p + ky) * w + px * p + kx];
                    size_t i = ((size_t)b * T + t) * P + f;
                    xf[i] = nf[ch][v];
                    xc[i] = code[ch][v];
                }
            }
            if (y) y[b] = ds->labels[idx[b]];
        }
        free(buf);
    }
}

/* activation of slot s of block l on codes X (N,C) -> Y codes via the tables in the cache */
static void fq_act_fwd(rm_qmodel *q, int l, int s, const float *X, float *Y, int N) {
    struct rm_fq_cache *k = q->fq;
    const int C = s == 0 ? q->f->cfg.D : q->f->cfg.H;
    rm_q_tables(q, l, s, k->b[l].lut[s], k->b[l].l64[s], NULL, k->b[l].tq[s], k->b[l].z[s], k->work);
    const int8_t *lut = k->b[l].lut[s];
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)r * C + c;
            Y[i] = lut[(size_t)c * 256 + (int)X[i] + 128];
        }
}

int rm_fq_forward(rm_ctx *ctx, rm_qmodel *q, const rm_dataset *ds, const int *idx, int B, int aug, uint64_t seed,
                  int train, int8_t *logit_codes, float *logit_vals, int8_t *dump, float *xf) {
    (void)train;
    rm_folded *f = q->f;
    const rm_model_cfg *c = &f->cfg;
    if (B < 1) return rm_err(ctx, "fake-quant forward: batch %d", B);
    if (ds->c != q->img_c || ds->h != q->img_h || ds->w != q->img_w)
        return rm_err(ctx, "fake-quant forward: data set %s (%dx%dx%d) does not fit the model (%dx%dx%d)", ds->name,
                      ds->c, ds->h, ds->w, q->img_c, q->img_h, q->img_w);
    if (fq_alloc(ctx, q, B)) return RM_ERR;
    struct rm_fq_cache *k = q->fq;
    k->B = B;
    const int T = c->T, D = c->D, H = c->H, L = c->L, K = c->K, N = B * T;
    const size_t ND = (size_t)N * D, NH = (size_t)N * H;
    build_batch(q, ds, idx, B, aug, seed, k->xf, k->xc, NULL);
    if (xf) memcpy(xf, k->xf, sizeof(float) * N * c->P);
    rm_folded_prepare_acts(f);
    fq_linear_fwd(q, rm_ql_embed(), k->xc, k->X[0], k->Xq[0], N);
    for (int l = 0; l < L; l++) {
        struct rm_fq_blk *b = &k->b[l];
        const float *x = k->X[l];
        fq_affine_fwd(q, rm_ql_block(l, RM_QL_TOK_A1), x, b->Ac, b->Aq, N);
        to_tbd(b->At, b->Ac, B, T, D);
        /* token linear on (T, B*D): acc = Wc (T,T) @ At, row t requantised with shift k[t] */
        int li = rm_ql_block(l, RM_QL_TOK_LIN);
        quant_weights(q, li);
        rm_gemm(0, 0, T, B * D, T, 1.0f, k->Wc[li], T, b->At, B * D, 0.0f, b->Vq, B * D);
        const int *kt = q->layer[li].k;
        const float *bt = k->bc[li];
#pragma omp parallel for schedule(static)
        for (int t = 0; t < T; t++) {
            float p2 = p2neg(kt[t]);
            for (size_t j = 0; j < (size_t)B * D; j++) {
                size_t i = (size_t)t * B * D + j;
                b->Vc[i] = requant_f(b->Vq[i], kt[t], bt[t], p2, &b->Vq[i]);
            }
        }
        from_tbd(b->Vn, b->Vc, B, T, D);
        fq_affine_fwd(q, rm_ql_block(l, RM_QL_TOK_A2), b->Vn, b->Uc, b->Uq, N);
        fq_affine_fwd(q, rm_ql_block(l, RM_QL_TOK_RES), x, b->Rc, b->Rq, N);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < ND; i++) { b->Mq[i] = b->Uc[i] + b->Rc[i]; b->Mc[i] = sat8f(b->Mq[i]); }
        fq_affine_fwd(q, rm_ql_block(l, RM_QL_MLP_RES), b->Mc, b->R2c, b->R2q, N);
        const float *a1 = b->Mc;
        if (f->has_act1) { fq_act_fwd(q, l, 0, b->Mc, b->P1c, N); a1 = b->P1c; }
        fq_linear_fwd(q, rm_ql_block(l, RM_QL_FC1), a1, b->Hc, b->Hq, N);
        if (f->act2_lut) fq_act_fwd(q, l, 1, b->Hc, b->P2c, N);
        else {
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < NH; i++) b->P2c[i] = b->Hc[i] > 0 ? b->Hc[i] : 0;
        }
        fq_linear_fwd(q, rm_ql_block(l, RM_QL_FC2), b->P2c, b->Oc, b->Oq, N);
        float *xn = k->X[l + 1], *xq = k->Xq[l + 1];
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < ND; i++) { xq[i] = b->Oc[i] + b->R2c[i]; xn[i] = sat8f(xq[i]); }
        if (dump)
#pragma omp parallel for schedule(static)
            for (int r = 0; r < N; r++) {
                int bb = r / T, t = r % T;
                int8_t *d0 = dump + (((size_t)bb * 2 * L + 2 * l) * T + t) * D, *d1 = d0 + (size_t)T * D;
                for (int d = 0; d < D; d++) { d0[d] = (int8_t)b->Mc[(size_t)r * D + d]; d1[d] = (int8_t)xn[(size_t)r * D + d]; }
            }
    }
    /* pool: codes summed over tokens, rounded shift */
    const float *xl = k->X[L];
#pragma omp parallel for schedule(static)
    for (int bb = 0; bb < B; bb++)
        for (int d = 0; d < D; d++) {
            int32_t s = 0;
            for (int t = 0; t < T; t++) s += (int32_t)xl[((size_t)bb * T + t) * D + d];
            k->Pq[(size_t)bb * D + d] = (float)s * p2neg(q->pool_shift);
            k->Pc[(size_t)bb * D + d] = (float)rm_sat8(rm_rshift_round(s, q->pool_shift));
        }
    fq_linear_fwd(q, rm_ql_cls(L), k->Pc, k->Zc, k->Zq, B);
    float sz = rm_qmodel_scale(q, rm_qp_logits(L));
    for (int i = 0; i < B * K; i++) {
        if (logit_codes) logit_codes[i] = (int8_t)k->Zc[i];
        if (logit_vals) logit_vals[i] = k->Zc[i] / sz;
    }
    return RM_OK;
}

/* ---- fake-quant backward --------------------------------------------------------------------- */

void rm_qmodel_zero_grad(rm_qmodel *q) {
    memset(q->f->gmem, 0, sizeof(float) * q->f->nparams);
    memset(q->gA, 0, sizeof q->gA);
}

/* LSQ error term of a quantiser at unrounded q with output code y */
static inline float lsq_e(float qv, float y) { return qv < -128 ? -128.0f : qv > 127 ? 127.0f : y - qv; }
static inline int in_range(float qv) { return qv >= -128 && qv <= 127; }

/* output quantiser of n values: G (value gradient) -> dpre = G*mask (may alias G); LSQ sum into A[qp] */
#define QCHUNKS 64   /* fixed reduction chunks: results do not depend on the thread count */
static void out_quant_bwd(rm_qmodel *q, int qp, const float *G, const float *Yq, const float *Yc, float *dpre, size_t n) {
    double part[QCHUNKS];
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < QCHUNKS; ch++) {
        size_t i0 = n * ch / QCHUNKS, i1 = n * (ch + 1) / QCHUNKS;
        double se = 0;
        for (size_t j0 = i0; j0 < i1; j0 += 1024) {
            size_t j1 = i1 - j0 < 1024 ? i1 : j0 + 1024;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (size_t i = j0; i < j1; i++) {
                float g = G[i], qv = Yq[i];
                float e = qv < -128 ? -128.0f : qv > 127 ? 127.0f : Yc[i] - qv;
                s += g * e;
                dpre[i] = qv >= -128 && qv <= 127 ? g : 0;
            }
            se += s;
        }
        part[ch] = se;
    }
    double se = 0;
    for (int ch = 0; ch < QCHUNKS; ch++) se += part[ch];
    if (qp >= 0) q->gA[qp] += (float)(se / sqrt((double)n * 127.0) / 128.0);
}

/* weight and bias quantisers of layer li given the value gradients dW (OC,IC) and db (OC) */
static void wb_quant_bwd(rm_qmodel *q, int li, const float *dW, const double *db) {
    rm_qlayer *y = &q->layer[li];
    struct rm_fq_cache *k = q->fq;
    const int OC = y->OC, IC = y->IC;
    int ax = y->in_qp == RM_QP_POOL ? rm_qp_x(q->f->cfg.L) : y->in_qp, ay = y->out_qp;
    double gsw = 1.0 / sqrt((double)OC * IC * 127.0), gsb = 1.0 / sqrt((double)OC * 127.0);
    float sy = rm_qmodel_scale(q, ay);
    double dAx = 0, dAy = 0;
    for (int o = 0; o < OC; o++) {
        float sw = k->swc[li][o];
        double da = 0;
        for (int i = 0; i < IC; i++) {
            size_t j = (size_t)o * IC + i;
            float qw = y->w[j] * sw, g = dW[j];
            if (in_range(qw)) y->gw[j] += g;
            da += (double)g * lsq_e(qw, k->Wc[li][j]);
        }
        double alpha = 1.0 / sw, dalpha = da * gsw;           /* alpha_w = A_y / (A_x 2^k) */
        dAy += dalpha * alpha / q->A[ay];
        dAx -= dalpha * alpha / q->A[ax];
        float qb = y->b[o] * sy;
        if (in_range(qb)) y->gb[o] += (float)db[o];
        dAy += db[o] * lsq_e(qb, k->bc[li][o]) * gsb / 128.0;
    }
    q->gA[ax] += (float)dAx;
    q->gA[ay] += (float)dAy;
}

/* linear layer backward. X codes (N,IC) were the input; G (N,OC) the value gradient of the output
 * (overwritten). Gin (N,IC) receives the input value gradient (if non-NULL). */
static void fq_linear_bwd(rm_qmodel *q, int li, const float *X, float *G, const float *Yq, const float *Yc,
                          float *Gin, int N, float *wscr, double *dscr) {
    rm_qlayer *y = &q->layer[li];
    struct rm_fq_cache *k = q->fq;
    const int OC = y->OC, IC = y->IC;
    out_quant_bwd(q, y->out_qp, G, Yq, Yc, G, (size_t)N * OC);
    float sx = rm_qmodel_scale(q, y->in_qp);
    if (Gin) {
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < IC; i++) wscr[(size_t)o * IC + i] = k->Wc[li][(size_t)o * IC + i] / k->swc[li][o];
        rm_gemm(0, 0, N, IC, OC, 1.0f, G, OC, wscr, IC, 0.0f, Gin, IC);
    }
    rm_gemm(1, 0, OC, IC, N, 1.0f / sx, G, OC, X, IC, 0.0f, wscr, IC);
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        double sum = 0;
        for (int r = 0; r < N; r++) sum += G[(size_t)r * OC + o];
        dscr[o] = sum;
    }
    wb_quant_bwd(q, li, wscr, dscr);
}

/* per-channel affine backward (same conventions, C channels) */
static void fq_affine_bwd(rm_qmodel *q, int li, const float *X, float *G, const float *Yq, const float *Yc,
                          float *Gin, int N, float *wscr, double *dscr) {
    rm_qlayer *y = &q->layer[li];
    struct rm_fq_cache *k = q->fq;
    const int C = y->OC;
    out_quant_bwd(q, y->out_qp, G, Yq, Yc, G, (size_t)N * C);
    float sx = rm_qmodel_scale(q, y->in_qp);
    float wv[RM_MAXC];
    for (int c = 0; c < C; c++) wv[c] = k->Wc[li][c] / k->swc[li][c];
    double *dw = dscr + C;
    /* column sums in blocks of 16 channels (one cache line of a row), each channel in row order */
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += 16) {
        int nc = C - c0 < 16 ? C - c0 : 16;
        double sb[16] = {0}, sw[16] = {0};
        for (int r = 0; r < N; r++) {
            const float *g = G + (size_t)r * C + c0, *x = X + (size_t)r * C + c0;
            for (int j = 0; j < nc; j++) { sb[j] += g[j]; sw[j] += (double)g[j] * x[j]; }
        }
        for (int j = 0; j < nc; j++) { dscr[c0 + j] = sb[j]; dw[c0 + j] = sw[j]; }
    }
    if (Gin)
#pragma omp parallel for schedule(static)
        for (int r = 0; r < N; r++)
            for (int c = 0; c < C; c++) Gin[(size_t)r * C + c] = G[(size_t)r * C + c] * wv[c];
    for (int c = 0; c < C; c++) wscr[c] = (float)(dw[c] / sx);
    wb_quant_bwd(q, li, wscr, dscr);
}

/* activation backward: X codes (N,C) in, G (N,C) value gradient of the output; Gin (N,C) out */
static void fq_act_bwd(rm_qmodel *q, int l, int s, const float *X, const float *G, float *Gin, int N) {
    rm_folded *f = q->f;
    const rm_model_cfg *c = &f->cfg;
    struct rm_fq_cache *k = q->fq;
    struct rm_fq_blk *b = &k->b[l];
    const int C = s == 0 ? c->D : c->H, L = c->L;
    const int qout = rm_qp_block(L, l, s == 0 ? RM_QP_P1 : RM_QP_P2);
    const float *tq = b->tq[s];
    const int8_t *lut = b->lut[s];
    float *gsum = k->work, *dz = k->work + (size_t)256 * C;   /* (256,C) each */
    memset(gsum, 0, sizeof(float) * 256 * C);
    double sec[RM_MAXC];
    /* blocks of 16 channels; each channel's 256 bins summed by one thread in row order: deterministic */
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += 16) {
        int nc = C - c0 < 16 ? C - c0 : 16;
        double se[16] = {0};
        for (int r = 0; r < N; r++) {
            const float *x = X + (size_t)r * C + c0, *g = G + (size_t)r * C + c0;
            for (int j = 0; j < nc; j++) {
                int ch = c0 + j, u = (int)x[j] + 128;
                float qv = tq[(size_t)ch * 256 + u];
                se[j] += (double)g[j] * lsq_e(qv, lut[(size_t)ch * 256 + u]);
                if (in_range(qv)) gsum[(size_t)u * C + ch] += g[j];
            }
        }
        for (int j = 0; j < nc; j++) sec[c0 + j] = se[j];
    }
    double se = 0;
    for (int ch = 0; ch < C; ch++) se += sec[ch];
    q->gA[qout] += (float)(se / sqrt((double)N * C * 127.0) / 128.0);
    float *p = s == 0 ? f->mlp[l].act1 : f->mlp[l].act2;
    float *gp = p ? f->gmem + (p - f->mem) : NULL;
    /* parameter gradients through the curve at the 256 inputs */
    rm_act_backward(&c->act, C, p, f->actwork[l][s], b->z[s], gsum, dz, gp, 256);
    float xs = 1.0f / rm_qmodel_scale(q, s == 0 ? rm_qp_block(L, l, RM_QP_MID) : rm_qp_block(L, l, RM_QP_H));
    if (s == 0) {
        float *gw = f->gmem + (f->mlp[l].in_w - f->mem), *gb = f->gmem + (f->mlp[l].in_b - f->mem);
        for (int u = 0; u < 256; u++)
            for (int ch = 0; ch < C; ch++) {
                float d = dz[(size_t)u * C + ch];
                gw[ch] += d * (float)(u - 128) * xs;
                gb[ch] += d;
            }
    }
    /* derivative table f'(z) (times the input affine's weight) */
    for (size_t i = 0; i < (size_t)256 * C; i++) gsum[i] = 1.0f;
    float *dscr = k->work + (size_t)2 * 256 * C;
    size_t np = rm_act_nparams(&c->act, C);
    float *pscr = np ? calloc(np, sizeof(float)) : NULL;
    rm_act_backward(&c->act, C, p, f->actwork[l][s], b->z[s], gsum, dscr, pscr, 256);
    free(pscr);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++)
        for (int ch = 0; ch < C; ch++) {
            size_t i = (size_t)r * C + ch;
            int u = (int)X[i] + 128;
            float qv = tq[(size_t)ch * 256 + u];
            float w = s == 0 ? f->mlp[l].in_w[ch] : 1.0f;
            Gin[i] = in_range(qv) ? G[i] * dscr[(size_t)u * C + ch] * w : 0;
        }
}

/* saturating add quantiser (point qp): G -> G*mask, LSQ for the clipped values */
static void add_quant_bwd(rm_qmodel *q, int qp, float *G, const float *Yq, const float *Yc, size_t n) {
    out_quant_bwd(q, qp, G, Yq, Yc, G, n);
}

int rm_fq_backward(rm_ctx *ctx, rm_qmodel *q, const float *dlogits) {
    struct rm_fq_cache *k = q->fq;
    if (!k || !k->B) return rm_err(ctx, "fake-quant backward without a forward");
    rm_folded *f = q->f;
    const rm_model_cfg *c = &f->cfg;
    const int B = k->B, T = c->T, D = c->D, H = c->H, L = c->L, K = c->K, N = B * T;
    const size_t ND = (size_t)N * D;
    float *gz = k->g[0], *gx = k->g[1], *g1 = k->g[2], *g2 = k->g[3], *g3 = k->g[4], *wscr = k->g[5];
    double dscr[2 * RM_MAXC];
    /* classifier and pool */
    memcpy(gz, dlogits, sizeof(float) * B * K);
    fq_linear_bwd(q, rm_ql_cls(L), k->Pc, gz, k->Zq, k->Zc, g1, B, wscr, dscr);
    {
        /* pool quantiser at s_pool = s_xL * T / 2^p: alpha_pool = 2^p A_xL / (128 T) */
        double se = 0;
        size_t n = (size_t)B * D;
        for (size_t i = 0; i < n; i++) { se += (double)g1[i] * lsq_e(k->Pq[i], k->Pc[i]); if (!in_range(k->Pq[i])) g1[i] = 0; }
        q->gA[rm_qp_x(L)] += (float)(se / sqrt((double)n * 127.0) * ldexp(1.0, q->pool_shift) / (128.0 * T));
#pragma omp parallel for schedule(static)
        for (int r = 0; r < N; r++)
            for (int d = 0; d < D; d++) gx[(size_t)r * D + d] = g1[(size_t)(r / T) * D + d] / T;
    }
    for (int l = L - 1; l >= 0; l--) {
        struct rm_fq_blk *b = &k->b[l];
        /* x_{l+1} = sat(O + R2) */
        add_quant_bwd(q, rm_qp_x(l + 1), gx, k->Xq[l + 1], k->X[l + 1], ND);
        memcpy(g3, gx, sizeof(float) * ND);                   /* dR2 */
        /* fc2 (input P2c), act2, fc1 */
        fq_linear_bwd(q, rm_ql_block(l, RM_QL_FC2), b->P2c, gx, b->Oq, b->Oc, g1, N, wscr, dscr);   /* g1: dP2 (N,H) */
        if (f->act2_lut) fq_act_bwd(q, l, 1, b->Hc, g1, g2, N);
        else {
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < (size_t)N * H; i++) g2[i] = b->Hc[i] > 0 ? g1[i] : 0;
        }
        const float *a1 = f->has_act1 ? b->P1c : b->Mc;
        fq_linear_bwd(q, rm_ql_block(l, RM_QL_FC1), a1, g2, b->Hq, b->Hc, g1, N, wscr, dscr);      /* g1: d(act1 out) (N,D) */
        if (f->has_act1) { fq_act_bwd(q, l, 0, b->Mc, g1, g2, N); memcpy(g1, g2, sizeof(float) * ND); }
        fq_affine_bwd(q, rm_ql_block(l, RM_QL_MLP_RES), b->Mc, g3, b->R2q, b->R2c, g2, N, wscr, dscr);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < ND; i++) g1[i] += g2[i];       /* dM */
        /* mid = sat(U + R) */
        add_quant_bwd(q, rm_qp_block(L, l, RM_QP_MID), g1, b->Mq, b->Mc, ND);
        memcpy(g3, g1, sizeof(float) * ND);                   /* dR */
        fq_affine_bwd(q, rm_ql_block(l, RM_QL_TOK_A2), b->Vn, g1, b->Uq, b->Uc, g2, N, wscr, dscr);  /* g2: dV (N,D) */
        /* token linear on the (T, B*D) layout */
        {
            int li = rm_ql_block(l, RM_QL_TOK_LIN);
            rm_qlayer *y = &q->layer[li];
            to_tbd(g1, g2, B, T, D);                          /* g1: dV (T,BD) */
            out_quant_bwd(q, y->out_qp, g1, b->Vq, b->Vc, g1, ND);
            for (int o = 0; o < T; o++)
                for (int i = 0; i < T; i++) wscr[(size_t)o * T + i] = k->Wc[li][(size_t)o * T + i] / k->swc[li][o];
            rm_gemm(1, 0, T, B * D, T, 1.0f, wscr, T, g1, B * D, 0.0f, g2, B * D);
            float sx = rm_qmodel_scale(q, y->in_qp);
            rm_gemm(0, 1, T, T, B * D, 1.0f / sx, g1, B * D, b->At, B * D, 0.0f, wscr, T);
#pragma omp parallel for schedule(static)
            for (int t = 0; t < T; t++) {
                double s = 0;
                for (size_t j = 0; j < (size_t)B * D; j++) s += g1[(size_t)t * B * D + j];
                dscr[t] = s;
            }
            wb_quant_bwd(q, li, wscr, dscr);
            from_tbd(g1, g2, B, T, D);                        /* g1: dA (N,D) */
        }
        fq_affine_bwd(q, rm_ql_block(l, RM_QL_TOK_A1), k->X[l], g1, b->Aq, b->Ac, g2, N, wscr, dscr);
        fq_affine_bwd(q, rm_ql_block(l, RM_QL_TOK_RES), k->X[l], g3, b->Rq, b->Rc, gx, N, wscr, dscr);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < ND; i++) gx[i] += g2[i];       /* dX_l */
    }
    /* embed and the input quantiser */
    fq_linear_bwd(q, rm_ql_embed(), k->xc, gx, k->Xq[0], k->X[0], g1, N, wscr, dscr);
    {
        float s = rm_qmodel_scale(q, rm_qp_input());
        size_t n = (size_t)N * c->P;
        double part[QCHUNKS], se = 0;
#pragma omp parallel for schedule(static)
        for (int ch = 0; ch < QCHUNKS; ch++) {
            double e = 0;
            for (size_t i = n * ch / QCHUNKS; i < n * (ch + 1) / QCHUNKS; i++) e += (double)g1[i] * lsq_e(k->xf[i] * s, k->xc[i]);
            part[ch] = e;
        }
        for (int ch = 0; ch < QCHUNKS; ch++) se += part[ch];
        q->gA[rm_qp_input()] += (float)(se / sqrt((double)n * 127.0) / 128.0);
    }
    return RM_OK;
}

/* ---- QAT ------------------------------------------------------------------------------------- */

rm_qat_opts rm_qat_defaults(void) {
    rm_qat_opts o = {.epochs = 50, .batch = 128, .lr = 1e-4f, .lr_min = 1e-5f, .wd = 0, .alpha = 0.8f, .T = 1.0f,
                     .seed = 2023, .aug = RM_AUG_CROPFLIP, .path = RM_IE_AUTO, .report_s = 1.0};
    return o;
}

/* integer-engine accuracy of q on the first n images of ds (n <= 0: all) */
static int int_accuracy(rm_ctx *ctx, rm_qmodel *q, const rm_dataset *ds, int n, int path, float *acc) {
    if (n <= 0 || n > ds->n) n = ds->n;
    rm_qnet *net = NULL;
    if (rm_quant_export(ctx, q, &net)) return RM_ERR;
    int8_t *z = malloc((size_t)n * q->f->cfg.K);
    if (!z) { rm_qnet_free(net); return rm_err(ctx, "out of memory for logits"); }
    int st = rm_ie_run(ctx, net, path, ds->pixels, n, z, NULL);
    if (st == RM_OK) {
        long correct = 0;
        for (int i = 0; i < n; i++) correct += rm_ie_argmax(z + (size_t)i * net->K, net->K) == ds->labels[i];
        *acc = (float)correct / n;
    }
    free(z);
    rm_qnet_free(net);
    return st;
}

static float cosine_lr(float base, float floor_, int e, int total) {
    if (total <= 0) return base;
    return floor_ + (base - floor_) * 0.5f * (1.0f + cosf((float)M_PI * e / total));
}

typedef struct { float *m, *v, *mA, *vA; long step; } qadam;

static void adam_step(rm_qmodel *q, qadam *a, float lr, float wd) {
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    a->step++;
    float bc1 = 1 - powf(b1, (float)a->step), bc2 = 1 - powf(b2, (float)a->step), step = lr / bc1, rb2 = 1 / sqrtf(bc2);
    rm_folded *f = q->f;
    for (int t = 0; t < f->ntensors; t++) {
        const rm_ptensor *pt = &f->tensors[t];
        float w = pt->group == RM_GROUP_ACT ? 0 : wd;
        float *p = f->mem + pt->off, *g = f->gmem + pt->off, *m = a->m + pt->off, *v = a->v + pt->off;
        for (size_t j = 0; j < pt->n; j++) {
            p[j] -= lr * w * p[j];
            m[j] = b1 * m[j] + (1 - b1) * g[j];
            v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
            p[j] -= step * m[j] / (sqrtf(v[j]) * rb2 + eps);
        }
    }
    for (int i = 0; i < q->nq; i++) {
        if (!q->qp_used[i]) continue;
        float g = q->gA[i];
        a->mA[i] = b1 * a->mA[i] + (1 - b1) * g;
        a->vA[i] = b2 * a->vA[i] + (1 - b2) * g * g;
        q->A[i] -= step * a->mA[i] / (sqrtf(a->vA[i]) * rb2 + eps);
        if (!(q->A[i] >= 1e-3f)) q->A[i] = 1e-3f;
    }
    rm_folded_params_changed(f);
}

int rm_qat(rm_ctx *ctx, rm_qmodel *q, rm_model *teacher, const rm_dataset *train, const rm_qat_opts *o,
           rm_qat_result *res) {
    memset(res, 0, sizeof *res);
    res->val_acc = -1;
    const rm_model_cfg *c = &q->f->cfg;
    const int B = o->batch, K = c->K;
    int n = o->limit > 0 && o->limit < train->n ? o->limit : train->n;
    int steps = B > 0 ? n / B : 0;
    if (steps < 1) return rm_err(ctx, "qat: %d training images are fewer than one batch of %d", n, B);
    if (teacher && (teacher->cfg.T != c->T || teacher->cfg.P != c->P || teacher->cfg.K != K))
        return rm_err(ctx, "qat: teacher shape does not match the student");
    qadam a = {0};
    a.m = calloc(q->f->nparams, sizeof(float)); a.v = calloc(q->f->nparams, sizeof(float));
    a.mA = calloc(RM_QP_MAX, sizeof(float)); a.vA = calloc(RM_QP_MAX, sizeof(float));
    int *perm = malloc(sizeof(int) * n), *y = malloc(sizeof(int) * B);
    float *zs = malloc(sizeof(float) * B * K), *dz = malloc(sizeof(float) * B * K);
    float *xf = malloc(sizeof(float) * B * c->T * c->P);
    int st = RM_ERR;
    if (!a.m || !a.v || !a.mA || !a.vA || !perm || !y || !zs || !dz || !xf) { rm_err(ctx, "qat: out of memory"); goto done; }
    if (teacher && rm_model_set_batch(ctx, teacher, B)) goto done;
    double t0 = rm_now(), last = t0;
    long images = 0;
    for (int e = 0; e < o->epochs; e++) {
        float lr = cosine_lr(o->lr, o->lr_min, e, o->epochs);
        uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + (uint64_t)e * 7919 + 1;
        for (int i = 0; i < n; i++) perm[i] = i;
        rm_shuffle(perm, n, &rng);
        double lsum = 0;
        long correct = 0, seen = 0;
        for (int s = 0; s < steps; s++) {
            if (rm_interrupted(ctx)) { res->interrupted = 1; st = RM_OK; goto done; }
            const int *idx = perm + (size_t)s * B;
            uint64_t bseed = o->seed ^ ((uint64_t)e << 32) ^ (uint64_t)s * 0x100000001B3ull;
            if (rm_fq_forward(ctx, q, train, idx, B, o->aug, bseed, 1, NULL, zs, NULL, xf)) goto done;
            for (int i = 0; i < B; i++) y[i] = train->labels[idx[i]];
            float loss;
            if (teacher) {
                if (rm_model_forward(ctx, teacher, xf, B, 0, RM_FULL)) { rm_errprefix(ctx, "qat teacher"); goto done; }
                loss = kd_loss(dz, zs, teacher->c.logits, y, B, K, o->alpha, o->T);
            } else loss = cross_entropy(dz, zs, y, B, K);
            if (!isfinite(loss)) { rm_err(ctx, "qat: loss became %s at epoch %d step %d", isnan(loss) ? "NaN" : "infinite", e + 1, s + 1); goto done; }
            rm_qmodel_zero_grad(q);
            if (rm_fq_backward(ctx, q, dz)) goto done;
            adam_step(q, &a, lr, o->wd);
            lsum += loss; images += B; seen += B;
            for (int i = 0; i < B; i++) {
                const float *z = zs + (size_t)i * K;
                int best = 0;
                for (int k = 1; k < K; k++) if (z[k] > z[best]) best = k;
                correct += best == y[i];
            }
            res->last_loss = (float)(lsum / (s + 1));
            double now = rm_now();
            if (o->cb && (now - last >= o->report_s || s == steps - 1)) {
                last = now;
                long done_steps = (long)e * steps + s + 1, total = (long)o->epochs * steps;
                rm_train_stats ts = {.epoch = e, .epochs = o->epochs, .step = s + 1, .steps = steps, .loss = res->last_loss,
                                     .train_acc = (float)correct / seen, .lr = lr, .imgs_per_s = images / (now - t0),
                                     .elapsed_s = now - t0};
                ts.eta_s = (now - t0) / done_steps * (total - done_steps);
                if (o->cb(o->ud, &ts, 0)) { res->interrupted = 1; st = RM_OK; goto done; }
            }
        }
        rm_qmodel_derive_shifts(q, RM_SHIFT_REROUND);
        res->epochs_done = e + 1;
        res->imgs_per_s = images / (rm_now() - t0);
        rm_train_stats ts = {.epoch = e, .epochs = o->epochs, .step = steps, .steps = steps, .loss = (float)(lsum / steps),
                             .train_acc = (float)correct / seen, .lr = lr, .imgs_per_s = res->imgs_per_s,
                             .elapsed_s = rm_now() - t0};
        ts.eta_s = ts.elapsed_s / (e + 1) * (o->epochs - e - 1);
        if (o->val) {
            if (int_accuracy(ctx, q, o->val, 0, o->path, &res->val_acc)) goto done;
            ts.have_test = 1;
            ts.test_acc = res->val_acc;
        }
        if (o->cb && o->cb(o->ud, &ts, 1)) { res->interrupted = 1; st = RM_OK; goto done; }
    }
    st = RM_OK;
done:
    free(a.m); free(a.v); free(a.mA); free(a.vA); free(perm); free(y); free(zs); free(dz); free(xf);
    return st;
}

/* ---- calibration ----------------------------------------------------------------------------- */

rm_calib_opts rm_calib_defaults(void) {
    rm_calib_opts o = {.obs_images = 0, .val_images = 0, .npct = 13, .path = RM_IE_AUTO,
                       .pct = {10, 20, 30, 40, 50, 60, 70, 80, 90, 92, 95, 97, 100}};
    return o;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* observation sites whose percentile abs-max are averaged into each quant point's A */
static int point_sites(const rm_qmodel *q, int qp, int *s) {
    const int L = q->f->cfg.L;
    if (qp == rm_qp_input()) { s[0] = RM_SITE_INPUT; return 1; }
    if (qp == rm_qp_x(0)) { s[0] = RM_SITE_EMBED; return 1; }
    if (qp > rm_qp_x(0) && qp <= rm_qp_x(L)) {
        int l = qp - rm_qp_x(0) - 1;
        s[0] = rm_site(l, RM_SITE_FC2); s[1] = rm_site(l, RM_SITE_XOUT);
        if (l + 1 == L) { s[2] = s[3] = RM_SITE_POOL; return 4; }
        return 2;
    }
    if (qp == rm_qp_logits(L)) { s[0] = RM_SITE_LOGITS; return 1; }
    int r = qp - rm_qp_block(L, 0, 0), l = r / RM_QP_PER_BLOCK;
    switch (r % RM_QP_PER_BLOCK) {
    case RM_QP_A: s[0] = rm_site(l, RM_SITE_TOK_A1); return 1;
    case RM_QP_V: s[0] = rm_site(l, RM_SITE_TOK_LIN); return 1;
    case RM_QP_MID: s[0] = rm_site(l, RM_SITE_TOK_A2); s[1] = rm_site(l, RM_SITE_MID); return 2;
    case RM_QP_P1: s[0] = rm_site(l, RM_SITE_ACT1); return 1;
    case RM_QP_H: s[0] = rm_site(l, RM_SITE_FC1); s[1] = rm_site(l, RM_SITE_ACT2_IN); return 2;
    case RM_QP_P2: s[0] = rm_site(l, RM_SITE_ACT2); return 1;
    }
    return 0;
}

/* abs_max of every quantisation point = the pct-th percentile of its sites' recorded per-sample abs-max
 * (obs is (sites, n), each row sorted), averaged over the sites that share the point; then shifts */
static void set_ranges_at(rm_qmodel *q, const float *obs, size_t n, float pct) {
    size_t at = (size_t)floor((double)(n - 1) * pct / 100.0);
    for (int qp = 0; qp < q->nq; qp++) {
        if (!q->qp_used[qp]) continue;
        int s[4], ns = point_sites(q, qp, s);
        double sum = 0;
        for (int j = 0; j < ns; j++) sum += obs[(size_t)s[j] * n + at];
        float A = ns ? (float)(sum / ns) : 1.0f;
        q->A[qp] = A > 1e-3f && isfinite(A) ? A : 1e-3f;
    }
    rm_qmodel_derive_shifts(q, RM_SHIFT_INIT);
}

int rm_quant_calibrate(rm_ctx *ctx, rm_qmodel *q, const rm_dataset *calib, const rm_dataset *val,
                       const rm_calib_opts *o, rm_calib_result *res) {
    rm_calib_opts def = rm_calib_defaults();
    if (!o) o = &def;
    memset(res, 0, sizeof *res);
    rm_folded *f = q->f;
    const rm_model_cfg *c = &f->cfg;
    int n = o->obs_images > 0 && o->obs_images < calib->n ? o->obs_images : calib->n;
    if (n < 1) return rm_err(ctx, "calibrate: no images in %s", calib->name);
    if (calib->c != q->img_c || calib->h != q->img_h || calib->w != q->img_w)
        return rm_err(ctx, "calibrate: data set %s does not fit the model", calib->name);
    const int nsites = RM_SITE_GLOBAL + c->L * RM_SITE_PER_BLOCK, BB = 256;
    float *obs = calloc((size_t)nsites * n, sizeof(float));
    float *x = malloc(sizeof(float) * BB * c->T * c->P);
    int *idx = malloc(sizeof(int) * BB), *yl = malloc(sizeof(int) * BB);
    float *sp[RM_NSITES_MAX];
    int st = RM_ERR;
    if (!obs || !x || !idx || !yl) { rm_err(ctx, "calibrate: out of memory"); goto done; }
    for (int s0 = 0; s0 < n; s0 += BB) {
        if (rm_interrupted(ctx)) { rm_err(ctx, "calibration interrupted"); goto done; }
        int B = n - s0 < BB ? n - s0 : BB;
        for (int i = 0; i < B; i++) idx[i] = s0 + i;
        rm_make_batch(calib, idx, B, c->patch, RM_AUG_NONE, 0, x, yl);
        for (int s = 0; s < nsites; s++) sp[s] = obs + (size_t)s * n + s0;
        if (rm_folded_forward(ctx, f, x, B, sp)) goto done;
    }
    for (int s = 0; s < nsites; s++) qsort(obs + (size_t)s * n, n, sizeof(float), cmp_float);
    int np = o->npct > 0 && o->npct <= 32 ? o->npct : 0;
    if (!np) { rm_err(ctx, "calibrate: no percentiles"); goto done; }
    float bestacc = -1;
    int best = 0;
    res->npct = np;
    for (int pi = 0; pi < np; pi++) {
        float pct = o->pct[pi] < 0 ? 0 : o->pct[pi] > 100 ? 100 : o->pct[pi];
        set_ranges_at(q, obs, n, pct);
        res->pct[pi] = pct;
        if (int_accuracy(ctx, q, val, o->val_images, o->path, &res->acc[pi])) goto done;
        if (res->acc[pi] > bestacc) { bestacc = res->acc[pi]; best = pi; }
    }
    res->best = best;
    set_ranges_at(q, obs, n, res->pct[best]);
    st = RM_OK;
done:
    free(obs); free(x); free(idx); free(yl);
    return st;
}

int rm_quant_split(rm_ctx *ctx, const rm_dataset *train, rm_dataset *part80, rm_dataset *part20) {
    int n80 = (int)((long long)train->n * 8 / 10);
    if (n80 < 1 || train->n - n80 < 1) return rm_err(ctx, "split: %d images are too few for an 80/20 split", train->n);
    if (rm_dataset_slice(ctx, part80, train, 0, n80)) return RM_ERR;
    if (rm_dataset_slice(ctx, part20, train, n80, train->n - n80)) { rm_dataset_free(part80); return RM_ERR; }
    return RM_OK;
}

int rm_quant_ptq(rm_ctx *ctx, const rm_model *m, const rm_dataset *train, int lut64, const rm_calib_opts *o,
                 rm_qmodel **out, rm_calib_result *res) {
    *out = NULL;
    rm_folded *f;
    if (rm_fold(ctx, m, &f)) return RM_ERR;
    rm_qmodel *q;
    if (rm_qmodel_new(ctx, &q, f, lut64, train)) return RM_ERR;
    if (o) q->lut_edge = o->lut_edge;
    rm_dataset a = {0}, b = {0};
    if (rm_quant_split(ctx, train, &a, &b)) { rm_qmodel_free(q); return RM_ERR; }
    int st = rm_quant_calibrate(ctx, q, &a, &b, o, res);
    rm_dataset_free(&a);
    rm_dataset_free(&b);
    if (st) { rm_qmodel_free(q); return RM_ERR; }
    *out = q;
    return RM_OK;
}

/* ---- export ---------------------------------------------------------------------------------- */

/* int8 weights, biases and shifts of layer li for the current scales (the codes the fake-quant uses) */
static void layer_codes(rm_qmodel *q, int li, rm_qlin *dst) {
    rm_qlayer *y = &q->layer[li];
    float sx = rm_qmodel_scale(q, y->in_qp), sy = rm_qmodel_scale(q, y->out_qp);
    for (int o = 0; o < y->OC; o++) {
        float sw = rm_q_wscale(sx, sy, y->k[o]);
        for (int i = 0; i < y->IC; i++) dst->w[(size_t)o * y->IC + i] = (int8_t)rm_q_code(y->w[(size_t)o * y->IC + i], sw);
        dst->b[o] = (int8_t)rm_q_code(y->b[o], sy);
        dst->k[o] = (int8_t)y->k[o];
    }
}

int rm_quant_export(rm_ctx *ctx, rm_qmodel *q, rm_qnet **out) {
    *out = NULL;
    const rm_model_cfg *c = &q->f->cfg;
    rm_qnet *n;
    if (rm_qnet_new(ctx, &n, c->T, c->P, c->D, c->H, c->L, c->K, q->img_c, q->img_h, q->img_w, c->patch, c->act.kind, q->lut64))
        return RM_ERR;
    n->lut_edge = q->lut_edge;
    float nf[4][256];
    input_tables(q, nf, n->pix_lut);
    n->pool_shift = q->pool_shift;
    layer_codes(q, rm_ql_embed(), &n->embed);
    layer_codes(q, rm_ql_cls(c->L), &n->cls);
    size_t C = c->D > c->H ? c->D : c->H;
    float *work = malloc(sizeof(float) * 2 * 256 * C);
    if (!work) { rm_qnet_free(n); return rm_err(ctx, "export: out of memory"); }
    for (int l = 0; l < c->L; l++) {
        rm_qblock *b = &n->blk[l];
        layer_codes(q, rm_ql_block(l, RM_QL_TOK_A1), &b->a1);
        layer_codes(q, rm_ql_block(l, RM_QL_TOK_LIN), &b->lin);
        layer_codes(q, rm_ql_block(l, RM_QL_TOK_A2), &b->a2);
        layer_codes(q, rm_ql_block(l, RM_QL_TOK_RES), &b->res);
        layer_codes(q, rm_ql_block(l, RM_QL_MLP_RES), &b->res2);
        layer_codes(q, rm_ql_block(l, RM_QL_FC1), &b->fc1);
        layer_codes(q, rm_ql_block(l, RM_QL_FC2), &b->fc2);
        if (n->has_act1) rm_q_tables(q, l, 0, b->lut1, b->lut1_64, b->lut1_e, NULL, NULL, work);
        if (!n->relu) rm_q_tables(q, l, 1, b->lut2, b->lut2_64, b->lut2_e, NULL, NULL, work);
    }
    free(work);
    /* SIMD-block pruning: the engines skip the pruned blocks (their codes are zero) */
    if (rm_prune_to_qnet(ctx, q->f->prune, n) || rm_qnet_prepare(ctx, n)) { rm_qnet_free(n); return RM_ERR; }
    *out = n;
    return RM_OK;
}
