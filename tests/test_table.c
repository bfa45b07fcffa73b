/* test_table.c - tabular data: UCI Vertebral (3C and 2C) loads with the file's class counts and
 * standardised features, stratified splits (62 test samples of 310, proportions kept, seeded), k-fold
 * folds disjoint and covering, MiniMNIST 3,200/800, a CSV with a header and a named label column, and
 * bad tables refused with the row and column named. */
#include "tests/tutil.h"
#include "core/table.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/resmlp-table-XXXXXX";
static const char *write_tmp(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}
static void counts(const rm_dataset *d, int *c) { memset(c, 0, sizeof(int) * 8); for (int i = 0; i < d->n; i++) c[d->labels[i]]++; }

int main(void) {
    rm_ctx ctx = {0};
    if (!mkdtemp(dir)) { printf("no temp dir\n"); return 1; }
    rm_dataset v = {0}, tr = {0}, te = {0};
    rm_table_info info;
    CHECK_OK(rm_vertebral_load(&ctx, &v, DATA_DIR "/vertebral/column_3C.dat", &info), &ctx);
    int c[8];
    counts(&v, c);
    CHECK(v.n == 310 && v.c == 6 && v.nclass == 3 && c[0] == 60 && c[1] == 150 && c[2] == 100,
          "Vertebral 3C: %d rows, %d features, %d classes, DH %d SL %d NO %d", v.n, v.c, v.nclass, c[0], c[1], c[2]);
    CHECK(!strcmp(info.names[0], "DH") && !strcmp(info.names[1], "SL") && !strcmp(info.names[2], "NO"), "class names in order");
    CHECK(fabsf(info.mean[0] - 60.5f) < 0.1f, "raw mean of the first feature %.3f (pelvic incidence ~60.50)", info.mean[0]);
    int ok = 1;
    for (int j = 0; j < 6; j++) {
        double s = 0, ss = 0;
        for (int i = 0; i < v.n; i++) s += v.feat[i * 6 + j];
        for (int i = 0; i < v.n; i++) ss += (v.feat[i * 6 + j] - s / v.n) * (v.feat[i * 6 + j] - s / v.n);
        ok &= fabs(s / v.n) < 1e-5 && fabs(sqrt(ss / v.n) - 1) < 1e-4;
    }
    CHECK(ok, "standardised: every feature has mean 0 and std 1");
    rm_dataset v2 = {0};
    CHECK_OK(rm_vertebral_load(&ctx, &v2, DATA_DIR "/vertebral/column_2C.dat", NULL), &ctx);
    counts(&v2, c);
    CHECK(v2.n == 310 && v2.nclass == 2 && c[0] == 210 && c[1] == 100, "Vertebral 2C: AB %d NO %d", c[0], c[1]);
    rm_dataset_free(&v2);

    /* stratified split: 62 of 310, proportions within one sample, deterministic per seed */
    CHECK_OK(rm_split_stratified(&ctx, &v, 0.2, 7, &tr, &te), &ctx);
    int ct[8], cr[8];
    counts(&te, ct); counts(&tr, cr);
    CHECK(te.n == 62 && tr.n == 248, "split sizes %d / %d", tr.n, te.n);
    CHECK(abs(ct[0] - 12) <= 1 && abs(ct[1] - 30) <= 1 && abs(ct[2] - 20) <= 1, "test per class %d %d %d (12 30 20)", ct[0], ct[1], ct[2]);
    CHECK(cr[0] + ct[0] == 60 && cr[1] + ct[1] == 150 && cr[2] + ct[2] == 100, "every sample in exactly one part");
    rm_dataset tr2 = {0}, te2 = {0}, tr3 = {0}, te3 = {0};
    CHECK_OK(rm_split_stratified(&ctx, &v, 0.2, 7, &tr2, &te2), &ctx);
    CHECK_OK(rm_split_stratified(&ctx, &v, 0.2, 8, &tr3, &te3), &ctx);
    CHECK(!memcmp(te.feat, te2.feat, sizeof(float) * 6 * 62), "same seed, same split");
    CHECK(memcmp(te.feat, te3.feat, sizeof(float) * 6 * 62) != 0, "another seed, another split");
    rm_dataset_free(&tr2); rm_dataset_free(&te2); rm_dataset_free(&tr3); rm_dataset_free(&te3);

    /* 5-fold: disjoint, covering, stratified sizes */
    int seen = 0, dup = 0;
    char *hit = calloc(v.n, 1);
    for (int f = 0; f < 5; f++) {
        rm_dataset a = {0}, b = {0};
        CHECK_OK(rm_kfold(&ctx, &v, 5, f, 3, 1, &a, &b), &ctx);
        seen += b.n;
        CHECK(a.n + b.n == 310 && b.n == 62, "fold %d: %d + %d", f, a.n, b.n);
        /* identify samples by their first two features (distinct in this file) */
        for (int i = 0; i < b.n; i++)
            for (int j = 0; j < v.n; j++)
                if (v.feat[j * 6] == b.feat[i * 6] && v.feat[j * 6 + 1] == b.feat[i * 6 + 1]) { dup += hit[j]; hit[j] = 1; }
        rm_dataset_free(&a); rm_dataset_free(&b);
    }
    int covered = 0;
    for (int j = 0; j < v.n; j++) covered += hit[j];
    CHECK(seen == 310 && dup == 0 && covered == 310, "5 folds disjoint and covering: %d seen, %d duplicates, %d covered", seen, dup, covered);
    free(hit);
    rm_dataset_free(&tr); rm_dataset_free(&te); rm_dataset_free(&v);

    /* MiniMNIST */
    rm_dataset mtr = {0}, mte = {0};
    if (!access(DATA_DIR "/mnist", R_OK)) {
        CHECK_OK(rm_minimnist_load(&ctx, DATA_DIR "/mnist", 1, &mtr, &mte), &ctx);
        CHECK(mtr.n == 3200 && mte.n == 800 && mtr.c == 1 && mtr.h == 28 && mtr.pixels, "MiniMNIST %d / %d", mtr.n, mte.n);
        rm_dataset_free(&mtr); rm_dataset_free(&mte);
    } else printf("skip MiniMNIST: no %s/mnist\n", DATA_DIR);

    /* a CSV with a header and a named label column in the middle */
    rm_dataset t = {0};
    rm_table_opts o = rm_table_defaults();
    o.label = "kind";
    o.standardise = 0;
    CHECK_OK(rm_table_load(&ctx, &t, write_tmp("a.csv", "x,kind,y\n1.5,cat,2\n-3,dog,4e1\n0,cat,1\n"), &o, &info), &ctx);
    CHECK(t.n == 3 && t.c == 2 && t.nclass == 2 && t.feat[0] == 1.5f && t.feat[1] == 2 && t.feat[3] == 40 && t.labels[1] == 1 &&
          !strcmp(info.names[1], "dog"), "CSV with a header and a named label column");
    rm_dataset_free(&t);
    o = rm_table_defaults();
    o.label = "0";
    CHECK_OK(rm_table_load(&ctx, &t, write_tmp("b.csv", "2;0.5;1\n0;1.5;2\n1;2.5;3\n2;3;3\n"), &o, NULL), &ctx);
    CHECK(t.n == 4 && t.c == 2 && t.nclass == 3 && t.labels[0] == 2 && t.labels[1] == 0, "numeric labels in column 0, ';' separated, no header");
    rm_dataset_free(&t);

    struct { const char *name, *text, *label, *msg; } bad[] = {
        {"missing.csv", "1,2,a\n3,,b\n", NULL, "missing.csv:2: column 2: missing value"},
        {"text.csv", "1,2,a\n3,x4,b\n", NULL, "text.csv:2: column 2: 'x4' is not a number"},
        {"ragged.csv", "1,2,a\n3,4,5,b\n", NULL, "ragged.csv:2: 4 columns, expected 3"},
        {"one.csv", "1,2,a\n3,4,a\n", NULL, "only one class"},
        {"nolabel.csv", "p,q,r\n1,2,a\n", "kind", "no label column named 'kind' (columns: p, q, r)"},
        {"index.csv", "1,2,a\n", "7", "label column 7 does not exist (the file has 3 columns)"},
        {"empty.csv", "", NULL, "no data rows"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rm_ctx c2 = {0};
        o = rm_table_defaults();
        o.label = bad[i].label;
        int r = rm_table_load(&c2, &t, write_tmp(bad[i].name, bad[i].text), &o, NULL);
        CHECK(r != RM_OK && strstr(c2.msg, bad[i].msg) && t.n == 0, "%s refused: '%s'", bad[i].name, c2.msg);
    }
    rm_ctx c3 = {0};
    CHECK(rm_table_load(&c3, &t, "/nonexistent/t.csv", NULL, NULL) != RM_OK && strstr(c3.msg, "/nonexistent/t.csv"), "missing file named");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    TEST_END();
}
