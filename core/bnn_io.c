/* bnn_io.c - the integer model file of a layer-list net: the net's parameters and BN statistics (float, the
 * checkpoint names, so rm_checkpoint_load reads them too) plus, per weight stage of the integer engine, the
 * integer weight codes, thresholds (rows, or rows x 2^bits-1 for an n-bit activation) and directions, and metadata format=resmlp-net-int-1 with the net's text
 * form. Loading rebuilds the model and the engine and checks every code and threshold against the file: a
 * file whose integer tensors do not match its parameters is refused. Writes are atomic (safetensors.c).
 * SIMD-block pruning masks (prune.h) travel as int.layers.<i>.prune {SIMD, blocks} and .pruned_blocks (the
 * pruned block list) per pruned weight layer; load checks them (SIMD divides the inputs, block count, block
 * list, zero weights in every pruned block) and puts them on the model before the engine is built, so the
 * loaded engine skips exactly the blocks the saved one skipped. */
#include "bnn_impl.h"
#include "checkpoint.h"
#include "prune.h"
#include "wlayers.h"
#include "safetensors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_FORMAT "resmlp-net-int-1"

int rm_bnet_save(rm_ctx *ctx, const char *path, const rm_bnet *e) {
    const rm_model *m = e->m;
    const rm_prune *pr = m->prune;
    int nt = m->ntensors + m->nbuftensors + 3 * e->ns + 2 * (pr ? pr->n : 0);
    size_t pcap = 1;
    for (int i = 0; pr && i < pr->n; i++) pcap += 2 + (size_t)pr->l[i].nblocks;
    rm_st_tensor *t = calloc(nt, sizeof *t);
    int32_t *pbuf = malloc(sizeof(int32_t) * pcap);
    if (!t || !pbuf) { free(t); free(pbuf); return rm_err(ctx, "%s: out of memory", path); }
    int k = 0;
    for (int i = 0, off = 0; pr && i < pr->n; i++) {   /* pruning masks: {SIMD, blocks}, the pruned blocks */
        const rm_prune_layer *L = &pr->l[i];
        int np = rm_prune_st_fill(L->simd, L->nblocks, L->mask, pbuf + off);
        if (!np) continue;
        snprintf(t[k].name, sizeof t[k].name, "int.layers.%d.prune", L->index);
        t[k].dtype = RM_I32; t[k].ndim = 1; t[k].shape[0] = 2;
        t[k].data = pbuf + off; t[k].nbytes = 2 * sizeof(int32_t);
        k++;
        snprintf(t[k].name, sizeof t[k].name, "int.layers.%d.pruned_blocks", L->index);
        t[k].dtype = RM_I32; t[k].ndim = 1; t[k].shape[0] = np;
        t[k].data = pbuf + off + 2; t[k].nbytes = (size_t)np * sizeof(int32_t);
        k++;
        off += 2 + L->nblocks;
    }
    for (int pass = 0; pass < 2; pass++) {
        int cnt = pass ? m->nbuftensors : m->ntensors;
        const rm_ptensor *src = pass ? m->buftensors : m->tensors;
        const float *base = pass ? m->bmem : m->mem;
        for (int i = 0; i < cnt; i++, k++) {
            snprintf(t[k].name, sizeof t[k].name, "%s", src[i].name);
            t[k].dtype = RM_F32;
            t[k].ndim = src[i].fdim ? src[i].fdim : src[i].ndim;
            for (int d = 0; d < t[k].ndim; d++) t[k].shape[d] = src[i].fdim ? src[i].fshape[d] : src[i].shape[d];
            t[k].data = base + src[i].off;
            t[k].nbytes = src[i].n * sizeof(float);
        }
    }
    for (int i = 0; i < e->ns; i++) {
        const bstage *s = &e->st[i];
        if (!s->kc) continue;
        snprintf(t[k].name, sizeof t[k].name, "int.layers.%d.codes", s->layer);
        t[k].dtype = RM_I32; t[k].ndim = 2; t[k].shape[0] = s->rows; t[k].shape[1] = s->fan;
        t[k].data = s->kc; t[k].nbytes = sizeof(int32_t) * (size_t)s->rows * s->fan;
        k++;
        if (!s->thr) continue;
        snprintf(t[k].name, sizeof t[k].name, "int.layers.%d.thresholds", s->layer);
        t[k].dtype = RM_I32; t[k].ndim = s->out_codes ? 2 : 1; t[k].shape[0] = s->rows; t[k].shape[1] = s->nthr;
        t[k].data = s->thr; t[k].nbytes = sizeof(int32_t) * s->rows * (s->out_codes ? s->nthr : 1);
        k++;
        snprintf(t[k].name, sizeof t[k].name, "int.layers.%d.directions", s->layer);
        t[k].dtype = RM_I8; t[k].ndim = 1; t[k].shape[0] = s->rows;
        t[k].data = s->dir; t[k].nbytes = s->rows;
        k++;
    }
    char net[4096], classes[16], desc[512];
    rm_model_describe(m, net, sizeof net);
    snprintf(classes, sizeof classes, "%d", m->cfg.K);
    rm_bnet_describe(e, desc, sizeof desc);
    const char *keys[] = {"format", "classes", "net", "engine"}, *vals[] = {INT_FORMAT, classes, net, desc};
    int r = rm_st_save(ctx, path, t, k, keys, vals, 4);
    free(t); free(pbuf);
    return r;
}

/* the file's pruning masks (if any) onto m, after checking them against m's weights */
static int load_masks(rm_ctx *ctx, const char *path, const rm_st_file *f, rm_model *m) {
    rm_wlayer wl[RM_MAX_WLAYERS];
    int n = rm_wlayers(m, wl, RM_MAX_WLAYERS), st = RM_ERR;
    size_t cap = 1, len = 0;
    for (int i = 0; i < n; i++) cap += strlen(wl[i].name) + 16 + (size_t)wl[i].cols / 4 + 2;
    char *text = malloc(cap);
    if (!text) return rm_err(ctx, "%s: out of memory", path);
    text[0] = 0;
    for (int i = 0; i < n; i++) {
        char prefix[64], label[96], lb[48];
        int simd;
        uint8_t *mask;
        snprintf(prefix, sizeof prefix, "int.layers.%d", wl[i].index);
        snprintf(label, sizeof label, "layer %d (%s)", wl[i].index, rm_wlayer_label(m, &wl[i], lb, sizeof lb));
        if (rm_prune_st_read(ctx, f, prefix, label, wl[i].cols, &simd, &mask)) { rm_errprefix(ctx, "%s", path); goto done; }
        if (!mask) continue;
        const float *w = rm_wlayer_w(m, &wl[i]);
        for (int b = 0; w && b < wl[i].cols / simd; b++)
            for (int r = 0; mask[b] && r < wl[i].rows; r++)
                for (int c = b * simd; c < (b + 1) * simd; c++)
                    if (w[(size_t)r * wl[i].cols + c] != 0) {
                        rm_err(ctx, "%s: %s: pruned block %d (SIMD %d) holds weight (%d, %d) = %g, not 0", path, label, b, simd, r, c, w[(size_t)r * wl[i].cols + c]);
                        free(mask);
                        goto done;
                    }
        len += (size_t)sprintf(text + len, "%s%s:%d:", len ? ";" : "", wl[i].name, simd);
        for (int b = 0; b < wl[i].cols / simd; b += 4) {
            int v = 0;
            for (int j = 0; j < 4 && b + j < wl[i].cols / simd; j++) v |= mask[b + j] << j;
            text[len++] = "0123456789abcdef"[v];
        }
        text[len] = 0;
        free(mask);
    }
    st = len && rm_prune_parse(ctx, m, text) ? rm_errprefix(ctx, "%s", path) : RM_OK;
done:
    free(text);
    return st;
}

int rm_bnet_load(rm_ctx *ctx, const char *path, rm_model **mout, rm_bnet **eout) {
    *mout = NULL; *eout = NULL;
    rm_st_file f = {0};
    if (rm_st_load(ctx, path, &f)) return RM_ERR;
    const char *fmt = rm_st_meta(&f, "format");
    if (!fmt || strcmp(fmt, INT_FORMAT)) {
        rm_err(ctx, "%s: not an integer net model (format %s; `quantize` a net and `qsave` it)", path, fmt ? fmt : "missing");
        rm_st_free(&f);
        return RM_ERR;
    }
    rm_model *m = NULL;
    rm_bnet *e = NULL;
    int st = RM_ERR;
    if (rm_checkpoint_load(ctx, path, &m) || load_masks(ctx, path, &f, m) || rm_bnet_build(ctx, m, &e)) goto done;
    for (int i = 0; i < e->ns; i++) {
        const bstage *s = &e->st[i];
        if (!s->kc) continue;
        char nm[96];
        const void *d;
        snprintf(nm, sizeof nm, "int.layers.%d.codes", s->layer);
        if (rm_st_get(ctx, &f, nm, RM_I32, 2, (int64_t[]){s->rows, s->fan}, &d)) goto done;
        if (memcmp(d, s->kc, sizeof(int32_t) * (size_t)s->rows * s->fan)) {
            rm_err(ctx, "%s: %s differ from the codes of the file's weights", path, nm);
            goto done;
        }
        if (!s->thr) continue;
        snprintf(nm, sizeof nm, "int.layers.%d.thresholds", s->layer);
        if (rm_st_get(ctx, &f, nm, RM_I32, s->out_codes ? 2 : 1, (int64_t[]){s->rows, s->nthr}, &d)) goto done;
        const int32_t *thr = d;
        snprintf(nm, sizeof nm, "int.layers.%d.directions", s->layer);
        if (rm_st_get(ctx, &f, nm, RM_I8, 1, (int64_t[]){s->rows}, &d)) goto done;
        const int8_t *dir = d;
        if (s->out_codes) {   /* multi-thresholds: every one */
            for (int o = 0; o < s->rows; o++)
                for (int t = 0; t < s->nthr; t++)
                    if (dir[o] != s->dir[o] || thr[(size_t)o * s->nthr + t] != s->thr[(size_t)o * s->nthr + t]) {
                        rm_err(ctx, "%s: layer %d channel %d: threshold %d of %d is %d (direction %d) in the file, %d (%d) folded from its parameters",
                               path, s->layer, o, t, s->nthr, thr[(size_t)o * s->nthr + t], dir[o], s->thr[(size_t)o * s->nthr + t], s->dir[o]);
                        goto done;
                    }
            continue;
        }
        for (int o = 0; o < s->rows; o++)
            if (dir[o] != s->dir[o] || ((dir[o] == 1 || dir[o] == -1) && thr[o] != s->thr[o])) {
                rm_err(ctx, "%s: layer %d channel %d: threshold %d (direction %d) in the file, %d (%d) folded from its parameters",
                       path, s->layer, o, thr[o], dir[o], s->thr[o], s->dir[o]);
                goto done;
            }
    }
    *mout = m; *eout = e;
    m = NULL; e = NULL;
    st = RM_OK;
done:
    rm_bnet_free(e);
    rm_model_free(m);
    rm_st_free(&f);
    return st;
}

int rm_bnet_file_is_int(const char *path) {
    rm_ctx ctx = {0};
    rm_st_file f = {0};
    if (rm_st_load(&ctx, path, &f)) return 0;
    const char *fmt = rm_st_meta(&f, "format");
    int r = fmt && !strcmp(fmt, INT_FORMAT);
    rm_st_free(&f);
    return r;
}
