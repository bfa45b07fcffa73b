/* test_import.c - tools/import_torch.py on checkpoints written by torch.save (tests/import_fixture.py):
 * reference key names, wrappers ({'model': ...}, 'module.' prefixes), the reference PSA buffers
 * (grid size/range and eps read from them), flat B-spline coefficients; each converted file loads in C
 * and reproduces PyTorch's eval-mode logits; a checkpoint missing a tensor is refused with its name.
 * Skips (passing) with a message when /usr/bin/python3 has no torch: the suite never needs torch. */
#include "tests/tutil.h"
#include "core/checkpoint.h"
#include "core/import.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *d = malloc(n * sizeof(float));
    if (d && fread(d, sizeof(float), n, f) != n) { free(d); d = NULL; }
    fclose(f);
    return d;
}

int main(void) {
    rm_set_threads(0);
    if (system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        printf("skip: /usr/bin/python3 has no torch (Debian python3-torch); the importer is not tested here\n");
        TEST_END();
    }
    char dir[] = "/tmp/resmlp_importXXXXXX", cmd[512], path[512];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/import_fixture.py %s", dir);
    int rc = system(cmd);
    CHECK(rc == 0, "fixture script and conversions (exit %d)", rc);
    const char *cases[3] = {"relu_h24", "lerp_h16", "bspline_h16"};
    for (int c = 0; c < 3; c++) {
        rm_ctx ctx = {0};
        rm_model *m = NULL;
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, cases[c]);
        CHECK_OK(rm_checkpoint_load(&ctx, path, &m), &ctx);
        if (!m) continue;
        snprintf(path, sizeof path, "%s/%s.x.f32", dir, cases[c]);
        float *x = read_f32(path, 3 * 64 * 48);
        snprintf(path, sizeof path, "%s/%s.logits.f32", dir, cases[c]);
        float *z = read_f32(path, 30);
        CHECK(x && z, "fixture data for %s", cases[c]);
        if (x && z) {
            CHECK_OK(rm_model_forward(&ctx, m, x, 3, 0, RM_FULL), &ctx);
            double worst = 0;
            for (int i = 0; i < 30; i++) {
                double d = fabs((double)m->c.logits[i] - z[i]) / fmax(1.0, fabs(z[i]));
                worst = d > worst ? d : worst;
            }
            printf("%-12s act %-8s hidden %3d grid %d range %g: max rel logit diff vs PyTorch %.2e\n", cases[c],
                   rm_act_name(m->cfg.act.kind), m->cfg.H, m->cfg.act.G, m->cfg.act.R, worst);
            CHECK(worst < 1e-4, "%s: logits differ from PyTorch by %.3g", cases[c], worst);
            if (c == 1) CHECK(m->cfg.act.G == 33 && m->cfg.act.R == 3.0f, "LERP grid read from psa.grid: %d, %g", m->cfg.act.G, m->cfg.act.R);
        }
        free(x); free(z);
        rm_model_free(m);
    }
    snprintf(path, sizeof path, "%s/broken.safetensors", dir);
    CHECK(access(path, F_OK) != 0, "no output for a broken checkpoint");
    /* the C entry point behind `import` */
    {
        rm_ctx ctx = {0};
        char src[512], dst[512], out[2048];
        snprintf(src, sizeof src, "%s/lerp_h16.bin", dir);
        snprintf(dst, sizeof dst, "%s/again.safetensors", dir);
        CHECK_OK(rm_import_torch(&ctx, NULL, NULL, src, dst, NULL, out, sizeof out), &ctx);
        CHECK(strstr(out, "lerp_psa") && access(dst, F_OK) == 0, "rm_import_torch output: %s", out);
        snprintf(src, sizeof src, "%s/broken.bin", dir);
        CHECK(rm_import_torch(&ctx, NULL, NULL, src, dst, NULL, NULL, 0) == RM_ERR && strstr(ctx.msg, "missing tensor"),
              "rm_import_torch reports the converter's error: %s", ctx.msg);
        const char *bad[] = {"--act", "bspline", NULL};
        snprintf(src, sizeof src, "%s/relu_h24.bin", dir);
        CHECK(rm_import_torch(&ctx, NULL, NULL, src, dst, bad, NULL, 0) == RM_ERR, "wrong --act refused: %s", ctx.msg);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    TEST_END();
}
