/* fuzz_idx.c - fuzz target of the MNIST / Fashion-MNIST IDX loader (rm_idx_load: raw or gzip, read
 * through zlib). Input: 2 bytes = length of the image file (mod the rest), the image file, then the label
 * file. A loaded set is checked and sliced. */
#include "fuzz_util.h"
#include "core/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    size_t k = fz_u16(&in), ni, nl;
    if (in.n) k %= in.n + 1;
    const uint8_t *img = fz_take(&in, k, &ni), *lab = fz_take(&in, in.n, &nl);
    const char *pi = fz_file(0, img, ni), *pl = fz_file(1, lab, nl);
    rm_ctx ctx = {0};
    rm_dataset ds, sl;
    if (rm_idx_load(&ctx, &ds, pi, pl) != RM_OK) {
        if (!ctx.msg[0]) abort();
        return 0;
    }
    if (ds.n <= 0 || ds.c != 1 || ds.h <= 0 || ds.w <= 0) abort();
    for (int i = 0; i < ds.n; i++) if (ds.labels[i] > 9) abort();
    if (rm_dataset_slice(&ctx, &sl, &ds, ds.n - 1, 1) != RM_OK) abort();
    rm_dataset_free(&sl);
    rm_dataset_free(&ds);
    return 0;
}
