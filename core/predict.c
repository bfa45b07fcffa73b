/* predict.c - logits of fp32 and INT8 models, .npy and CSV writers (see predict.h). */
#include "predict.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rm_write_atomic(rm_ctx *ctx, const char *path, const void *data, size_t n) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return rm_err(ctx, "cannot write %s: %s", path, strerror(errno));
    int ok = fwrite(data, 1, n, f) == n;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return rm_err(ctx, "cannot write %s: %s", path, strerror(e ? e : EIO));
    }
    return RM_OK;
}

int rm_write_npy_f32(rm_ctx *ctx, const char *path, const float *data, int rows, int cols) {
    char dict[128];
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols);
    size_t hl = (size_t)dl + 1;                  /* + '\n' */
    size_t pad = (64 - (10 + hl) % 64) % 64;     /* magic(6) version(2) len(2) header, total % 64 == 0 */
    size_t head = 10 + hl + pad, body = (size_t)rows * cols * sizeof(float);
    unsigned char *b = malloc(head + body);
    if (!b) return rm_err(ctx, "%s: out of memory", path);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((hl + pad) & 255);
    b[9] = (unsigned char)((hl + pad) >> 8);
    memcpy(b + 10, dict, (size_t)dl);
    memset(b + 10 + dl, ' ', pad);
    b[head - 1] = '\n';
    memcpy(b + head, data, body);               /* x86-64: float32 is little-endian */
    int r = rm_write_atomic(ctx, path, b, head + body);
    free(b);
    return r;
}

int rm_write_csv_f32(rm_ctx *ctx, const char *path, const float *data, int rows, int cols) {
    size_t cap = 64 + (size_t)cols * 12 + (size_t)rows * cols * 18, n = 0;
    char *b = malloc(cap);
    if (!b) return rm_err(ctx, "%s: out of memory", path);
    for (int j = 0; j < cols; j++) n += (size_t)snprintf(b + n, cap - n, "%slogit_%d", j ? "," : "", j);
    b[n++] = '\n';
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) n += (size_t)snprintf(b + n, cap - n, "%s%.9g", j ? "," : "", data[(size_t)i * cols + j]);
        b[n++] = '\n';
    }
    int r = rm_write_atomic(ctx, path, b, n);
    free(b);
    return r;
}

static int ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int rm_write_logits(rm_ctx *ctx, const char *path, const float *data, int rows, int cols) {
    if (ends(path, ".npy")) return rm_write_npy_f32(ctx, path, data, rows, cols);
    if (ends(path, ".csv")) return rm_write_csv_f32(ctx, path, data, rows, cols);
    return rm_err(ctx, "%s: logits are written as .npy or .csv (name the file so)", path);
}

int rm_predict_inputs(rm_ctx *ctx, rm_model *m, const float *x, int B, float *logits) {
    const int K = m->cfg.K, chunk = 256;
    size_t in = rm_model_input_size(m);
    for (int s = 0; s < B; s += chunk) {
        if (rm_interrupted(ctx)) return rm_err(ctx, "prediction interrupted");
        int b = B - s < chunk ? B - s : chunk;
        if (rm_model_set_batch(ctx, m, b) || rm_model_forward(ctx, m, x + (size_t)s * in, b, 0, RM_FULL)) return RM_ERR;
        memcpy(logits + (size_t)s * K, m->c.logits, sizeof(float) * b * K);
    }
    return RM_OK;
}

int rm_predict(rm_ctx *ctx, rm_model *m, const rm_dataset *ds, int batch, float *logits) {
    const rm_model_cfg *c = &m->cfg;
    if (m->net ? (long)ds->c * ds->h * ds->w != c->P
               : (!ds->pixels || ds->h % c->patch || ds->w % c->patch || rm_data_tokens(ds, c->patch) != c->T ||
                  rm_data_patchdim(ds, c->patch) != c->P))
        return rm_err(ctx, "data set %s (%dx%dx%d) does not fit the model's input", ds->name, ds->c, ds->h, ds->w);
    if (batch <= 0) batch = 256;
    if (batch > ds->n) batch = ds->n;
    size_t in = rm_model_input_size(m);
    float *x = rm_malloc(ctx, sizeof(float) * batch * in, "predict batch");
    int *y = rm_malloc(ctx, sizeof(int) * batch, "predict labels"), *idx = rm_malloc(ctx, sizeof(int) * batch, "predict index");
    int st = RM_ERR;
    if (!x || !y || !idx) goto done;
    for (int s = 0; s < ds->n; s += batch) {
        int B = ds->n - s < batch ? ds->n - s : batch;
        for (int i = 0; i < B; i++) idx[i] = s + i;
        if (m->net) rm_make_batch_flat(ds, idx, B, x, y);
        else rm_make_batch(ds, idx, B, c->patch, RM_AUG_NONE, 0, x, y);
        if (rm_predict_inputs(ctx, m, x, B, logits + (size_t)s * c->K)) goto done;
    }
    st = RM_OK;
done:
    free(x); free(y); free(idx);
    return st;
}

int rm_predict_int8(rm_ctx *ctx, const rm_qmodel *q, const rm_qnet *net, const rm_dataset *ds, int path, float *logits) {
    if (!ds->pixels || ds->c != net->img_c || ds->h != net->img_h || ds->w != net->img_w)
        return rm_err(ctx, "data set %s (%dx%dx%d) does not fit the quantized network (%dx%dx%d)", ds->name, ds->c, ds->h,
                      ds->w, net->img_c, net->img_h, net->img_w);
    const int K = net->K, chunk = 1024;
    const size_t chw = (size_t)ds->c * ds->h * ds->w;
    float sz = rm_qmodel_scale(q, rm_qp_logits(net->L));
    int8_t *z = rm_malloc(ctx, (size_t)chunk * K, "int8 logits");
    if (!z) return RM_ERR;
    int st = RM_ERR;
    for (int s = 0; s < ds->n; s += chunk) {
        if (rm_interrupted(ctx)) { rm_err(ctx, "prediction interrupted"); goto done; }
        int B = ds->n - s < chunk ? ds->n - s : chunk;
        if (rm_ie_run(ctx, net, path, ds->pixels + (size_t)s * chw, B, z, NULL)) goto done;
        for (size_t i = 0; i < (size_t)B * K; i++) logits[(size_t)s * K + i] = z[i] / sz;
    }
    st = RM_OK;
done:
    free(z);
    return st;
}
