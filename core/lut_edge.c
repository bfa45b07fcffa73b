/* lut_edge.c - code error of the lut_edge modes on real activations (see lut_edge.h). The inputs of
 * act1 are the token mixer's outputs m (the engine's sublayer dump); those of act2 are recomputed here
 * from them: h = rq(fc1 . lut1(m)), exactly as the engines compute it. */
#include "lut_edge.h"
#include "quant_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* per-channel histograms of one slot's inputs into the report, against the exact tables t256 (C,256) */
static void tally(const long *hist, const int8_t *t256, int C, rm_lut_edge_report *r) {
    for (int c = 0; c < C; c++) {
        const int8_t *t = t256 + (size_t)c * 256;
        int8_t l64[RM_LUT64_N];
        rm_lut_subsample64(t, l64);
        for (int e = 0; e < RM_LUT_EDGE_N; e++) {
            int8_t ee = rm_lut_edge_entry(t, l64, e);
            for (int u = 0; u < 256; u++) {
                long k = hist[(size_t)c * 256 + u];
                if (!k) continue;
                int d = rm_lut64_eval(l64, ee, e, u - 128) - t[u];
                if (d < 0) d = -d;
                r->mean[e] += (double)d * k;
                if (u >= 252) r->top_mean[e] += (double)d * k;
                if (d) r->wrong[e] += k;
                if (d > r->max[e]) r->max[e] = d;
            }
        }
        for (int u = 0; u < 256; u++) {
            r->lookups += hist[(size_t)c * 256 + u];
            if (u >= 252) r->top += hist[(size_t)c * 256 + u];
        }
    }
}

int rm_lut_edge_errors(rm_ctx *ctx, rm_qmodel *q, const rm_qnet *net, const uint8_t *pixels, int n,
                       rm_lut_edge_report *rep) {
    memset(rep, 0, sizeof *rep);
    if (!net->lut64 || n < 1) return RM_OK;
    const int L = net->L, T = net->T, D = net->D, H = net->H, K = net->K;
    const size_t chw = (size_t)net->img_c * net->img_h * net->img_w, dst = (size_t)2 * L * T * D;
    const int BB = 25;
    int C = D > H ? D : H;
    long *h1 = calloc((size_t)L * D * 256, sizeof(long)), *h2 = calloc((size_t)L * H * 256, sizeof(long));
    int8_t *dump = malloc(BB * dst), *logits = malloc((size_t)BB * K), *t256 = malloc((size_t)256 * C);
    int8_t *y1 = malloc((size_t)T * D);
    float *tq = malloc(sizeof(float) * 256 * C), *work = malloc(sizeof(float) * 2 * 256 * C);
    int st = RM_ERR;
    if (!h1 || !h2 || !dump || !logits || !t256 || !y1 || !tq || !work) { rm_err(ctx, "lut_edge: out of memory"); goto done; }
    for (int s0 = 0; s0 < n; s0 += BB) {
        if (rm_interrupted(ctx)) { rm_err(ctx, "lut_edge: interrupted"); goto done; }
        int B = n - s0 < BB ? n - s0 : BB;
        if (rm_ie_run(ctx, net, RM_IE_AUTO, pixels + (size_t)s0 * chw, B, logits, dump)) goto done;
        for (int i = 0; i < B; i++)
            for (int l = 0; l < L; l++) {
                const rm_qblock *b = &net->blk[l];
                const int8_t *m = dump + (size_t)i * dst + (size_t)(2 * l) * T * D;   /* m is (T,D) */
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < D; d++) {
                        int x = m[(size_t)t * D + d];
                        if (net->has_act1) h1[((size_t)l * D + d) * 256 + x + 128]++;
                        y1[(size_t)t * D + d] = net->has_act1 ? b->lut1[(size_t)d * 256 + x + 128] : (int8_t)x;
                    }
                if (net->relu) continue;
                for (int t = 0; t < T; t++)                         /* h = rq(fc1.w y1), fc1.w is (H,D) */
                    for (int j = 0; j < H; j++) {
                        int32_t acc = 0;
                        const int8_t *w = b->fc1.w + (size_t)j * D, *y = y1 + (size_t)t * D;
                        for (int d = 0; d < D; d++) acc += (int32_t)w[d] * y[d];
                        int hv = rm_requant(acc, b->fc1.k[j], b->fc1.b[j]);
                        h2[((size_t)l * H + j) * 256 + hv + 128]++;
                    }
            }
    }
    for (int l = 0; l < L; l++)
        for (int s = 0; s < 2; s++) {
            if (s == 0 ? !net->has_act1 : net->relu) continue;
            int Cs = s ? H : D;
            int8_t *scratch = malloc((size_t)256 * Cs);
            if (!scratch) { rm_err(ctx, "lut_edge: out of memory"); goto done; }
            rm_q_tables(q, l, s, scratch, NULL, NULL, tq, NULL, work);
            free(scratch);
            for (size_t u = 0; u < (size_t)256 * Cs; u++) {    /* the exact table, rounded as rm_lut_quantize */
                double r = isnan(tq[u]) ? 0.0 : floor((double)tq[u] + 0.5);
                t256[u] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
            }
            tally(s ? h2 + (size_t)l * H * 256 : h1 + (size_t)l * D * 256, t256, Cs, rep);
        }
    for (int e = 0; e < RM_LUT_EDGE_N; e++) {
        if (rep->lookups) rep->mean[e] /= rep->lookups;
        if (rep->top) rep->top_mean[e] /= rep->top;
    }
    rep->images = n;
    st = RM_OK;
done:
    free(h1); free(h2); free(dump); free(logits); free(t256); free(y1); free(tq); free(work);
    return st;
}
