/* tmodels.h - small fixtures shared by the compression tests (test_gpfq, test_lump): a seeded data set of
 * random 1x8x8 images and the tiny ResMLP (4 tokens of 16 features, width 10, 2 blocks, 4 classes) that
 * takes them. The caller frees the data set with rm_dataset_free. */
#ifndef RM_TMODELS_H
#define RM_TMODELS_H
#include "core/data.h"
#include "core/model.h"
#include <stdlib.h>

// n random 1x8x8 images (seed 3), labels i % 4, normalised by mean 0.5, std 0.25
static inline void t_random_images(rm_dataset *im, int n) {
    *im = (rm_dataset){0};
    im->n = n; im->c = 1; im->h = im->w = 8; im->nclass = 4;
    im->pixels = malloc((size_t)n * 64); im->labels = malloc((size_t)n);
    uint64_t s = 3;
    for (int i = 0; i < n * 64; i++) im->pixels[i] = (uint8_t)rm_rng_below(&s, 256);
    for (int i = 0; i < n; i++) im->labels[i] = (uint8_t)(i % 4);
    im->mean[0] = 0.5f; im->std[0] = 0.25f;
}

// the ResMLP for t_random_images: ReLU or LERP-PSA, hidden 12
static inline rm_model_cfg t_tiny_resmlp_cfg(int lerp) {
    rm_model_cfg c = rm_model_default_cfg(lerp ? RM_ACT_LERP_PSA : RM_ACT_RELU, 12);
    c.T = 4; c.P = 16; c.D = 10; c.L = 2; c.K = 4; c.patch = 4;
    return c;
}
#endif
