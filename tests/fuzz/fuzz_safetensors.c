/* fuzz_safetensors.c - fuzz target of the safetensors reader and the checkpoint loader built on it:
 * rm_st_load (header length, JSON header via cJSON, dtypes, shapes, offsets, __metadata__), every tensor
 * through rm_st_get, then rm_checkpoint_load (ResMLP metadata or a layer-list net rebuilt from its "net"
 * text) and rm_checkpoint_load_state. Mode byte bit 0 instead feeds the rest as net text to the net_spec
 * parser (parse, shapes, canonical form, re-parse: the canonical form must parse to the same form).
 * Input: byte 0 = mode, then the file (or text). */
#include "fuzz_util.h"
#include "core/checkpoint.h"
#include "core/net.h"
#include "core/safetensors.h"

static void net_text(const char *text) {
    rm_ctx ctx = {0};
    static rm_net_spec s, s2;
    static char buf[8192], buf2[8192];
    if (rm_net_parse(&ctx, text, &s) != RM_OK) {
        if (!ctx.msg[0]) abort();
        return;
    }
    rm_net_format(&s, buf, sizeof buf);
    if (rm_net_parse(&ctx, buf, &s2) != RM_OK) { fprintf(stderr, "canonical form does not parse: %s\n%s\n", buf, ctx.msg); abort(); }
    rm_net_format(&s2, buf2, sizeof buf2);
    if (strcmp(buf, buf2)) { fprintf(stderr, "canonical form not stable:\n%s\n%s\n", buf, buf2); abort(); }
    int (*outs)[3] = malloc(sizeof(int[3]) * RM_NET_MAXL);
    rm_net_shapes(&ctx, &s, outs);
    free(outs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    unsigned mode = fz_byte(&in);
    if (mode & 1) {
        char *t = fz_str(&in);
        net_text(t);
        free(t);
        return 0;
    }
    const char *path = fz_file(0, in.p, in.n);
    rm_ctx ctx = {0};
    rm_st_file f;
    if (rm_st_load(&ctx, path, &f) != RM_OK) {
        if (!ctx.msg[0]) abort();
        return 0;
    }
    volatile unsigned sum = 0;
    for (int i = 0; i < f.n; i++) {
        const void *d;
        const rm_st_tensor *t = &f.t[i];
        if (rm_st_get(&ctx, &f, t->name, t->dtype, t->ndim, t->shape, &d) == RM_OK)
            for (size_t b = 0; b < t->nbytes; b++) sum += ((const uint8_t *)d)[b];   /* every byte is in the file */
    }
    for (int i = 0; i < f.nmeta; i++) if (rm_st_meta(&f, f.meta_key[i]) == NULL) abort();
    rm_st_free(&f);
    rm_model *m = NULL;
    if (rm_checkpoint_load(&ctx, path, &m) != RM_OK) {
        if (!ctx.msg[0] || m) abort();
        return 0;
    }
    char desc[4096];
    rm_model_describe(m, desc, sizeof desc);
    rm_optim_cfg oc = rm_optim_default();
    rm_optim o;
    if (rm_optim_init(&ctx, &o, m, &oc) == RM_OK) {
        rm_train_state st;
        rm_checkpoint_load_state(&ctx, path, m, &o, &st);
        rm_optim_free(&o);
    }
    rm_model_free(m);
    return 0;
}
