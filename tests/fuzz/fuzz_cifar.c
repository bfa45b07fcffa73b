/* fuzz_cifar.c - fuzz target of the CIFAR-10 binary loader (rm_cifar10_load on a single .bin file) and of
 * what the trainer does next with any loaded set: a slice and a batch with crop/flip + RandAugment.
 * Input: byte 0 = mode (bit 0: cut the file to a whole number of records so record parsing is reached;
 * bit 7: also build a batch, bits 1-2: its augmentation flags - the pixel loops are slow under coverage,
 * so only inputs that ask for them run them), then the file. */
#include "fuzz_util.h"
#include "core/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    unsigned mode = fz_byte(&in);
    size_t n = in.n;
    if ((mode & 1) && n >= 3073) n -= n % 3073;
    const char *path = fz_file(0, in.p, n);
    rm_ctx ctx = {0};
    rm_dataset ds, sl;
    if (rm_cifar10_load(&ctx, &ds, path, "train") != RM_OK) {
        if (!ctx.msg[0]) abort();   /* every failure says why */
        return 0;
    }
    if (ds.n <= 0 || ds.c != 3 || ds.h != 32 || ds.w != 32) abort();
    for (int i = 0; i < ds.n; i++) if (ds.labels[i] > 9) abort();
    if (rm_dataset_slice(&ctx, &sl, &ds, ds.n > 1 ? 1 : 0, 1) != RM_OK) abort();
    if (mode & 0x80) {
        int T = rm_data_tokens(&sl, 4), P = rm_data_patchdim(&sl, 4);
        float *x = malloc(sizeof(float) * T * P);
        int y, idx = 0;
        rm_make_batch(&sl, &idx, 1, 4, (mode >> 1) & 3, mode, x, &y);
        if (y != sl.labels[0]) abort();
        free(x);
    }
    rm_dataset_free(&sl);
    rm_dataset_free(&ds);
    return 0;
}
