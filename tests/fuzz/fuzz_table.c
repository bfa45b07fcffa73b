/* fuzz_table.c - fuzz target of the tabular loaders: rm_table_load (CSV / whitespace tables with every
 * option: header auto/no/yes, separator, label by name or index, class names) and rm_vertebral_load (UCI
 * Vertebral 3C/2C), then what evaluation does with a loaded table: a stratified split and a k-fold.
 * Input: byte 0 picks header/separator/loader, byte 1 the label and class options, then the file. */
#include "fuzz_util.h"
#include "core/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *labels[] = {NULL, "-1", "0", "1", "class", "label", "99", "-7", "1.5", ""};
    static const char *classes[] = {NULL, "DH,SL,NO", "AB,NO", "a", ",,,", ""};
    static const char seps[] = {0, ',', ';', '\t', ' '};
    fz_in in = {data, size};
    unsigned b0 = fz_byte(&in), b1 = fz_byte(&in);
    const char *path = fz_file(0, in.p, in.n);
    rm_ctx ctx = {0};
    rm_dataset ds;
    static rm_table_info info;
    int r;
    if (b0 & 0x80) {
        r = rm_vertebral_load(&ctx, &ds, path, (b0 & 0x40) ? &info : NULL);
    } else {
        rm_table_opts o = rm_table_defaults();
        o.header = (int)(b0 % 3) - 1;
        o.sep = seps[(b0 / 3) % 5];
        o.standardise = (b0 >> 5) & 1;
        o.label = labels[b1 % 10];
        o.classes = classes[(b1 / 10) % 6];
        r = rm_table_load(&ctx, &ds, path, &o, (b0 & 0x40) ? &info : NULL);
    }
    if (r != RM_OK) {
        if (!ctx.msg[0]) abort();
        return 0;
    }
    if (ds.n <= 0 || !ds.feat || ds.c <= 0 || ds.nclass <= 0) abort();
    for (int i = 0; i < ds.n; i++) if (ds.labels[i] >= ds.nclass) abort();
    rm_dataset tr, te;
    if (rm_split_stratified(&ctx, &ds, 0.25, b1, &tr, &te) == RM_OK) { rm_dataset_free(&tr); rm_dataset_free(&te); }
    int k = 2 + b1 % 4;
    if (rm_kfold(&ctx, &ds, k, (int)(b0 % k), b1, b1 & 1, &tr, &te) == RM_OK) { rm_dataset_free(&tr); rm_dataset_free(&te); }
    rm_dataset_free(&ds);
    return 0;
}
