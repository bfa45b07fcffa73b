/* fuzz_qmodel.c - fuzz target of the integer model files that `qsave` writes and `qload`, `hls emit` and
 * `verify` read (issues 6, 11, 14): mode byte bit 0 clear: rm_qmodel_load (the INT8 ResMLP: int.* network
 * tensors, fold.* / quant.* fake-quant state, SIMD-block pruning masks checked against the codes); bit 0 set:
 * rm_bnet_load (a layer-list net's integer file, format resmlp-net-int-1: parameters, codes, thresholds,
 * directions, pruning masks; the codes must equal the ones the parameters give). A file that loads is then
 * run: the ResMLP engine (reference and auto paths must agree) on two images, the net engine on two inputs
 * (a small net on every path, with identical logits), so a header that passes the checks but disagrees with
 * its tensors shows up as an ASan report.
 * Input: byte 0 = mode, then the file. */
#include "fuzz_util.h"
#include "core/bnn.h"
#include "core/int_engine.h"
#include "core/model.h"
#include "core/quant.h"

static void run_qnet(const rm_qnet *q) {
    rm_ctx ctx = {0};
    size_t px = (size_t)q->img_c * q->img_h * q->img_w;
    if (px == 0 || px > (1u << 20) || q->K <= 0 || q->K > 4096) abort();   /* load must refuse such shapes */
    uint8_t *img = malloc(2 * px);
    int8_t *a = malloc(2 * (size_t)q->K), *b = malloc(2 * (size_t)q->K);
    for (size_t i = 0; i < 2 * px; i++) img[i] = (uint8_t)(i * 37 + 11);
    int ra = rm_ie_run(&ctx, q, RM_IE_REF, img, 2, a, NULL);
    int rb = rm_ie_run(&ctx, q, RM_IE_AUTO, img, 2, b, NULL);
    if (ra == RM_OK && rb == RM_OK && memcmp(a, b, 2 * (size_t)q->K)) { fprintf(stderr, "engine paths disagree\n"); abort(); }
    free(img); free(a); free(b);
}

/* the net engine on two inputs on its default path; a small net (input up to 4,096 values) also on the other
 * paths, whose logits must be identical (the engine is exact: every path computes the same integers) */
static void run_bnet(rm_model *m, rm_bnet *e) {
    rm_ctx ctx = {0};
    size_t in = rm_model_input_size(m);
    int K = m->cfg.K;
    if (in == 0 || in > (1u << 22) || K <= 0 || K > 4096) abort();
    float *x = malloc(sizeof(float) * 2 * in), *lg = malloc(sizeof(float) * 2 * (size_t)K);
    float *lp = malloc(sizeof(float) * 2 * (size_t)K);
    for (size_t i = 0; i < 2 * in; i++) x[i] = (float)((int)(i * 37 % 255) - 127) / 64.0f;
    int r0 = rm_bnet_forward(&ctx, e, x, 2, lg), p0 = rm_bnet_path(e);
    if (r0 != RM_OK && !ctx.msg[0]) abort();
    for (int p = RM_BNN_PORTABLE; r0 == RM_OK && in <= 4096 && p <= RM_BNN_REFERENCE; p++) {
        if (p == p0 || rm_bnet_set_path(e, p) != p) continue;
        rm_ctx c2 = {0};
        if (rm_bnet_forward(&c2, e, x, 2, lp) != RM_OK) { if (!c2.msg[0]) abort(); continue; }
        if (memcmp(lg, lp, sizeof(float) * 2 * (size_t)K)) {
            fprintf(stderr, "engine paths %s and %s disagree\n", rm_bnn_path_name(p0), rm_bnn_path_name(p));
            abort();
        }
    }
    rm_bnet_set_path(e, p0);
    free(x); free(lg); free(lp);
}

/* one thread: the engine's OpenMP regions would otherwise spin on the second core for every tiny input */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    rm_set_threads(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    unsigned mode = fz_byte(&in);
    const char *path = fz_file(0, in.p, in.n);
    rm_ctx ctx = {0};
    if (mode & 1) {
        rm_model *m = NULL;
        rm_bnet *e = NULL;
        if (rm_bnet_load(&ctx, path, &m, &e) != RM_OK) {
            if (!ctx.msg[0] || e) abort();
            return 0;
        }
        char desc[1024];
        rm_bnet_describe(e, desc, sizeof desc);
        run_bnet(m, e);
        rm_bnet_free(e);
        rm_model_free(m);
        return 0;
    }
    rm_qmodel *q = NULL;
    rm_qnet *net = NULL;
    if (rm_qmodel_load(&ctx, path, (mode & 2) ? NULL : &q, &net) != RM_OK) {
        if (!ctx.msg[0] || net) abort();
        return 0;
    }
    if (net) run_qnet(net);
    rm_qnet_free(net);
    rm_qmodel_free(q);
    return 0;
}
