/* cmd_interop.c - moving models and results to and from the paper's PyTorch code: `export` (the
 * reference state_dict, exactly its keys, as a torch.save file or safetensors; core/export.c) and
 * `predict` (logits (N,K) of an fp32 or INT8 model as a Tensor, .npy or .csv; core/predict.c). The
 * converter behind `import` is in cmd_quant.c; m:forward is in lua_model.c. */
#include "registry.h"
#include "core/export.h"
#include "core/predict.h"
#include <stdlib.h>
#include <string.h>

static int ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int rm_cmd_export(rm_call *c) {
    lmodel *lm = rm_call_model(c, NULL);
    rm_val *pv = rm_posarg(c, "path");
    if (!pv->set) rm_cmd_error(c, "missing PATH (usage: export PATH [format=pytorch|safetensors])");
    const char *fmt = rm_arg(c, "format")->s;
    int f;
    if (!strcmp(fmt, "pytorch")) f = RM_EXPORT_PYTORCH;
    else if (!strcmp(fmt, "safetensors")) f = RM_EXPORT_SAFETENSORS;
    else if (ends(pv->s, ".safetensors")) f = RM_EXPORT_SAFETENSORS;
    else if (ends(pv->s, ".pt") || ends(pv->s, ".pth") || ends(pv->s, ".bin")) f = RM_EXPORT_PYTORCH;
    else rm_cmd_error(c, "%s: say format=pytorch or format=safetensors (or name it .pt/.pth/.bin or .safetensors)", pv->s);
    if (rm_mkparent(pv->s)) rm_cmd_error(c, "cannot create the directory of %s", pv->s);
    rm_ctx ctx = {0};
    if (rm_export_reference(&ctx, lm->m, pv->s, f, 0)) rm_cmd_error(c, "%s", ctx.msg);
    if (c->line)
        printf("wrote %s (%s; the paper's state_dict keys for load_state_dict)\n", pv->s,
               f == RM_EXPORT_PYTORCH ? "torch.save zip" : "safetensors, safetensors.torch.load_file");
    lua_pushstring(c->L, pv->s);
    return 1;
}

int rm_cmd_predict(rm_call *c) {
    lua_State *L = c->L;
    rm_val *dv = rm_posarg(c, "data"), *qv = rm_arg(c, "qmodel");
    if (!dv->set || !dv->ud) rm_cmd_error(c, "no data: load it with `data cifar10 DIR` (or name a data set)");
    ldata *d = dv->ud;
    if (!d->loaded) rm_cmd_error(c, "the data set is closed");
    rm_qmodel *q = NULL;
    rm_qnet *net = NULL;
    lmodel *lm = NULL;
    if (qv->set == 1) {
        if (!qv->ud || rm_qmodel_parts(qv->ud, &q, &net)) rm_cmd_error(c, "the quantized model is closed");
    } else {
        lm = rm_call_model(c, NULL);
    }
    int path = rm_ie_path_from_name(rm_arg(c, "path")->s);
    int K = q ? net->K : lm->m->cfg.K, n = d->ds.n;
    float *z = malloc(sizeof(float) * (size_t)n * K);
    if (!z) rm_cmd_error(c, "out of memory for %d x %d logits", n, K);
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    int outer = rm_A.in_core;
    rm_A.in_core = 1;
    double t0 = rm_now();
    int r = q ? rm_predict_int8(&ctx, q, net, &d->ds, path, z) : rm_predict(&ctx, lm->m, &d->ds, (int)rm_arg(c, "batch")->i, z);
    double dt = rm_now() - t0;
    rm_A.in_core = outer;
    rm_val *ov = rm_arg(c, "logits");
    if (!r && ov->set) r = rm_write_logits(&ctx, ov->s, z, n, K);
    if (r) { free(z); rm_cmd_error(c, "%s", ctx.msg); }
    long correct = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < K; k++) if (z[(size_t)i * K + k] > z[(size_t)i * K + best]) best = k;
        correct += best == d->ds.labels[i];
    }
    if (c->line && !rm_arg(c, "quiet")->i) {
        printf("logits (%d, %d) of the %s model on %d images: accuracy %.2f%% (%.0f img/s)", n, K, q ? "INT8" : "fp32", n,
               n ? 100.0 * correct / n : 0.0, n / (dt > 0 ? dt : 1e-9));
        if (ov->set) printf(" -> %s", ov->s);
        putchar('\n');
    }
    int64_t shape[2] = {n, K};
    rm_tensor_push_owned(L, q ? "logits(int8)" : "logits", z, 2, shape);
    return 1;
}
