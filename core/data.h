/* data.h - image data sets (CIFAR-10 binary, MNIST/Fashion-MNIST IDX) and batch assembly.
 * A data set holds raw uint8 pixels (N,C,H,W) and labels; batches are built on demand into
 * normalised patch tensors (B,T,P) with optional seeded augmentation. No model knowledge here. */
#ifndef RM_DATA_H
#define RM_DATA_H
#include "ctx.h"

typedef struct rm_dataset {
    int n;              /* number of images */
    int c, h, w;        /* image shape, CHW; CIFAR-10: 3,32,32; MNIST: 1,28,28 */
    int nclass;         /* 10 */
    uint8_t *pixels;    /* (n, c, h, w); NULL for a tabular set (then feat holds the features) */
    float *feat;        /* (n, c*h*w) float features of a tabular set (c = features, h = w = 1), else NULL */
    uint8_t *labels;    /* (n) */
    float mean[3], std[3]; /* per-channel normalisation (applied to pixel/255) */
    char name[256];     /* where it came from, for messages and `who` */
} rm_dataset;

/* Loaders and rm_dataset_slice overwrite *ds without freeing it (pass a zeroed or freed set); on error
 * *ds is left zeroed. */
/* CIFAR-10 binary. `path` is a directory in the official layout (split "train" = data_batch_1..5.bin,
 * "test" = test_batch.bin) or a single .bin file (split ignored). Any record count; file size must be a
 * multiple of 3073; label bytes must be 0..9. Errors name the file and record. */
int rm_cifar10_load(rm_ctx *ctx, rm_dataset *ds, const char *path, const char *split);
int rm_cifar10_load_files(rm_ctx *ctx, rm_dataset *ds, const char *const *files, int nfiles);
/* MNIST / Fashion-MNIST IDX files (raw or .gz). `dir` with split "train"/"test" uses the standard
 * names (train-images-idx3-ubyte[.gz], ...); or give both file paths explicitly. */
int rm_idx_load(rm_ctx *ctx, rm_dataset *ds, const char *images, const char *labels);
int rm_mnist_load(rm_ctx *ctx, rm_dataset *ds, const char *dir, const char *split);
void rm_dataset_free(rm_dataset *ds);
/* take images [start, start+count) of src into dst (a copy); for train/validation splits */
int rm_dataset_slice(rm_ctx *ctx, rm_dataset *dst, const rm_dataset *src, int start, int count);

/* patch geometry: patch size p (4) -> tokens T = (h/p)*(w/p), features P = p*p*c; -1 if p does not
 * divide h and w */
int rm_data_tokens(const rm_dataset *ds, int patch);
int rm_data_patchdim(const rm_dataset *ds, int patch);

/* augmentation flags */
enum { RM_AUG_NONE = 0, RM_AUG_CROPFLIP = 1, RM_AUG_RANDAUG = 2 };

/* Build one batch. idx (B) are image indices. x is (B,T,P) with token t = py*(w/p)+px and feature
 * f = (ky*p+kx)*c + ch (PyTorch x.unfold(2,p,p).unfold(3,p,p).permute(0,2,3,4,5,1)), normalised.
 * y is (B). With aug != 0: random crop (zero padding 4, in normalised space zero = pixel 0 BEFORE
 * normalisation as torchvision does: pad the uint8 image with 0) and horizontal flip, drawn from
 * seed (per-image streams derived from seed and position, so results do not depend on thread count;
 * vary the seed per batch). aug & RM_AUG_RANDAUG then applies RandAugment(2 ops, magnitude 9) to the
 * cropped image (torchvision order: RandomCrop, RandomHorizontalFlip, RandAugment). Both flags are
 * independent. Parallel across the batch with OpenMP. */
void rm_make_batch(const rm_dataset *ds, const int *idx, int B, int patch, int aug, uint64_t seed,
                   float *x, int *y);

/* Build one batch as flat float rows for layer-list networks: x is (B, c*h*w) in CHW order, pixels
 * normalised exactly as rm_make_batch does, or the tabular features copied as they are (a tabular
 * loader standardises them). y is (B). No augmentation. Parallel across the batch. (augment.c) */
void rm_make_batch_flat(const rm_dataset *ds, const int *idx, int B, float *x, int *y);

/* Fisher-Yates shuffle of perm[0..n) from *rng */
void rm_shuffle(int *perm, int n, uint64_t *rng);

/* ---- augmentation primitives (augment.c), used by rm_make_batch; exposed for tests and tools ----
 * All work on one uint8 image (c,h,w) in place; tmp is scratch of c*h*w bytes. */
enum { RM_RA_IDENTITY = 0, RM_RA_SHEARX, RM_RA_SHEARY, RM_RA_TRANSLATEX, RM_RA_TRANSLATEY, RM_RA_ROTATE,
       RM_RA_BRIGHTNESS, RM_RA_COLOR, RM_RA_CONTRAST, RM_RA_SHARPNESS, RM_RA_POSTERIZE, RM_RA_SOLARIZE,
       RM_RA_AUTOCONTRAST, RM_RA_EQUALIZE, RM_RA_NOPS };
const char *rm_randaug_name(int op);
/* torchvision RandAugment magnitude of op at bin of nbins (unsigned); *signed_op says whether a random
 * sign applies. Image size matters for the translations. */
double rm_randaug_magnitude(int op, int bin, int nbins, int h, int w, int *signed_op);
/* apply one op with a signed magnitude, torchvision tensor semantics (nearest, fill 0) */
void rm_randaug_apply(uint8_t *img, uint8_t *tmp, int c, int h, int w, int op, double magnitude);
/* RandAugment(num_ops, magnitude, nbins): each op drawn uniformly, sign drawn for signed ops */
void rm_randaugment(uint8_t *img, uint8_t *tmp, int c, int h, int w, int num_ops, int magnitude, int nbins,
                    uint64_t *rng);
/* the per-image pipeline of rm_make_batch: dst = crop(pad 4)+flip of src if aug & RM_AUG_CROPFLIP
 * (else a copy), then RandAugment(2, 9, 31) in place if aug & RM_AUG_RANDAUG */
void rm_augment_image(const uint8_t *src, uint8_t *dst, uint8_t *tmp, int c, int h, int w, int aug,
                      uint64_t *rng);
/* RNG state of the image at position pos of a batch built with seed */
uint64_t rm_data_stream(uint64_t seed, int pos);
#endif
