/* augment.c - batch assembly (uint8 images -> normalised patch tensors) and training augmentation:
 * RandomCrop(pad 4, zero fill) + RandomHorizontalFlip, then torchvision's RandAugment (2 ops,
 * magnitude 9 of 31 bins, the 14 ops of the default policy). The ops follow torchvision's tensor
 * implementation (float32 arithmetic, truncation back to uint8, nearest sampling through the same
 * affine grid, fill 0); randomness comes from our own RNG, so streams are not torch's. */
#include "data.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* ---- per-image random streams ---- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t rm_data_stream(uint64_t seed, int pos) {
    return mix64(seed ^ mix64(0x9E3779B97F4A7C15ull * ((uint64_t)(uint32_t)pos + 1)));
}

/* ---- geometric ops: inverse affine matrix + nearest sampling ---- */

/* torchvision _get_inverse_affine_matrix with scale 1: maps output to input coordinates, both relative
 * to the image centre; center (cx,cy), angle and shears in degrees */
static void inverse_affine(double m[6], double cx, double cy, double angle, double tx, double ty,
                           double shx, double shy) {
    double rot = angle * PI / 180, sx = shx * PI / 180, sy = shy * PI / 180;
    double a = cos(rot - sy) / cos(sy);
    double b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    double c = sin(rot - sy) / cos(sy);
    double d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d; m[1] = -b; m[2] = 0; m[3] = -c; m[4] = a; m[5] = 0;
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
}

/* img (c,h,w) resampled in place through m as torchvision's _gen_affine_grid + grid_sample(nearest,
 * zeros, align_corners=False) in float32; tmp (c,h,w) scratch */
static void warp_nearest(uint8_t *img, uint8_t *tmp, int c, int h, int w, const double m[6]) {
    float hw = 0.5f * (float)w, hh = 0.5f * (float)h;
    float r00 = (float)m[0] / hw, r01 = (float)m[1] / hw, r02 = (float)m[2] / hw;
    float r10 = (float)m[3] / hh, r11 = (float)m[4] / hh, r12 = (float)m[5] / hh;
    size_t hwn = (size_t)h * w;
    memcpy(tmp, img, (size_t)c * hwn);
    for (int i = 0; i < h; i++) {
        float by = (float)i - hh + 0.5f;
        for (int j = 0; j < w; j++) {
            float bx = (float)j - hw + 0.5f;
            float gx = bx * r00 + by * r01 + r02, gy = bx * r10 + by * r11 + r12;
            float ix = ((gx + 1.0f) * (float)w - 1.0f) / 2.0f, iy = ((gy + 1.0f) * (float)h - 1.0f) / 2.0f;
            float xr = nearbyintf(ix), yr = nearbyintf(iy);
            int inb = xr >= 0 && xr < (float)w && yr >= 0 && yr < (float)h;
            size_t src = inb ? (size_t)yr * w + (size_t)xr : 0;
            for (int ch = 0; ch < c; ch++)
                img[ch * hwn + (size_t)i * w + j] = inb ? tmp[ch * hwn + src] : 0;
        }
    }
}

/* ---- colour ops (torchvision _blend etc.) ---- */

static uint8_t blend1(float ratio, float a, float b) {
    float v = ratio * a + (1.0f - ratio) * b;
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    return (uint8_t)v;
}

/* gray (h,w) of an RGB image: (0.2989 r + 0.587 g + 0.114 b) truncated to uint8 */
static void grayscale(const uint8_t *img, uint8_t *gray, size_t hwn) {
    for (size_t k = 0; k < hwn; k++)
        gray[k] = (uint8_t)(0.2989f * img[k] + 0.587f * img[hwn + k] + 0.114f * img[2 * hwn + k]);
}

static void op_brightness(uint8_t *img, size_t n, float f) {
    for (size_t k = 0; k < n; k++) img[k] = blend1(f, img[k], 0.0f);
}

static void op_color(uint8_t *img, uint8_t *tmp, int c, size_t hwn, float f) {
    if (c != 3) return; /* torchvision: saturation of a 1-channel image is the image */
    grayscale(img, tmp, hwn);
    for (int ch = 0; ch < 3; ch++)
        for (size_t k = 0; k < hwn; k++) img[ch * hwn + k] = blend1(f, img[ch * hwn + k], tmp[k]);
}

static void op_contrast(uint8_t *img, uint8_t *tmp, int c, size_t hwn, float f) {
    double sum = 0;
    if (c == 3) {
        grayscale(img, tmp, hwn);
        for (size_t k = 0; k < hwn; k++) sum += tmp[k];
    } else {
        for (size_t k = 0; k < (size_t)c * hwn; k++) sum += img[k];
        hwn *= (size_t)c, c = 1;
    }
    float mean = (float)(sum / (double)hwn);
    for (size_t k = 0; k < (size_t)c * hwn; k++) img[k] = blend1(f, img[k], mean);
}

/* blend with the 3x3 smoothed image (kernel [1 1 1; 1 5 1; 1 1 1]/13 on the interior, rounded) */
static void op_sharpness(uint8_t *img, uint8_t *tmp, int c, int h, int w, float f) {
    if (h <= 2 || w <= 2) return;
    size_t hwn = (size_t)h * w;
    float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    memcpy(tmp, img, (size_t)c * hwn);
    for (int ch = 0; ch < c; ch++) {
        const uint8_t *s = tmp + ch * hwn;
        uint8_t *d = img + ch * hwn;
        for (int i = 1; i < h - 1; i++)
            for (int j = 1; j < w - 1; j++) {
                float acc = 0;
                for (int di = -1; di <= 1; di++)
                    for (int dj = -1; dj <= 1; dj++)
                        acc += s[(size_t)(i + di) * w + j + dj] * (di == 0 && dj == 0 ? k5 : k1);
                float deg = nearbyintf(acc);
                d[(size_t)i * w + j] = blend1(f, s[(size_t)i * w + j], deg);
            }
    }
}

static void op_posterize(uint8_t *img, size_t n, int bits) {
    bits = bits < 0 ? 0 : bits > 8 ? 8 : bits;
    uint8_t mask = (uint8_t)(0xFFu << (8 - bits));
    for (size_t k = 0; k < n; k++) img[k] &= mask;
}

static void op_solarize(uint8_t *img, size_t n, double thr) {
    for (size_t k = 0; k < n; k++) if (img[k] >= thr) img[k] = (uint8_t)(255 - img[k]);
}

/* per channel: stretch [min,max] to [0,255]; a constant channel is left as it is */
static void op_autocontrast(uint8_t *img, int c, size_t hwn) {
    for (int ch = 0; ch < c; ch++) {
        uint8_t *p = img + ch * hwn;
        int lo = 255, hi = 0;
        for (size_t k = 0; k < hwn; k++) { if (p[k] < lo) lo = p[k]; if (p[k] > hi) hi = p[k]; }
        if (hi == lo) continue;
        float mn = (float)lo, scale = 255.0f / (float)(hi - lo);
        for (size_t k = 0; k < hwn; k++) {
            float v = ((float)p[k] - mn) * scale;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            p[k] = (uint8_t)v;
        }
    }
}

/* per channel histogram equalisation, torchvision's _scale_channel */
static void op_equalize(uint8_t *img, int c, size_t hwn) {
    for (int ch = 0; ch < c; ch++) {
        uint8_t *p = img + ch * hwn;
        long long hist[256] = {0}, lut[256];
        for (size_t k = 0; k < hwn; k++) hist[p[k]]++;
        long long nz_sum = 0, last_nz = 0;
        for (int v = 0; v < 256; v++) if (hist[v]) { nz_sum += hist[v]; last_nz = hist[v]; }
        long long step = (nz_sum - last_nz) / 255; /* all non-zero bins but the last */
        if (step == 0) continue;
        long long cum = 0;
        lut[0] = 0;
        for (int v = 0; v < 255; v++) {
            cum += hist[v];
            long long l = (cum + step / 2) / step;
            lut[v + 1] = l > 255 ? 255 : l;
        }
        for (size_t k = 0; k < hwn; k++) p[k] = (uint8_t)lut[p[k]];
    }
}

/* ---- RandAugment ---- */

static const char *const ra_names[RM_RA_NOPS] = {
    "Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
    "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"};

const char *rm_randaug_name(int op) { return op >= 0 && op < RM_RA_NOPS ? ra_names[op] : "?"; }

/* torch.linspace(start, end, steps)[i] in float32 */
static double linspace_at(double start, double end, int steps, int i) {
    float fs = (float)start, fe = (float)end;
    if (steps <= 1) return fs;
    float step = (fe - fs) / (float)(steps - 1);
    return i < steps / 2 ? fs + step * (float)i : fe - step * (float)(steps - 1 - i);
}

double rm_randaug_magnitude(int op, int bin, int nbins, int h, int w, int *signed_op) {
    int sg = 1;
    double m = 0;
    switch (op) {
    case RM_RA_SHEARX: case RM_RA_SHEARY: m = linspace_at(0, 0.3, nbins, bin); break;
    case RM_RA_TRANSLATEX: m = linspace_at(0, 150.0 / 331.0 * w, nbins, bin); break;
    case RM_RA_TRANSLATEY: m = linspace_at(0, 150.0 / 331.0 * h, nbins, bin); break;
    case RM_RA_ROTATE: m = linspace_at(0, 30, nbins, bin); break;
    case RM_RA_BRIGHTNESS: case RM_RA_COLOR: case RM_RA_CONTRAST: case RM_RA_SHARPNESS:
        m = linspace_at(0, 0.9, nbins, bin); break;
    case RM_RA_POSTERIZE: /* 8 - round(bin / ((nbins-1)/4)), round half to even */
        m = 8 - (int)nearbyintf((float)bin / (float)((nbins - 1) / 4.0)); sg = 0; break;
    case RM_RA_SOLARIZE: m = linspace_at(255, 0, nbins, bin); sg = 0; break;
    default: m = 0; sg = 0; break; /* Identity, AutoContrast, Equalize */
    }
    if (signed_op) *signed_op = sg;
    return m;
}

void rm_randaug_apply(uint8_t *img, uint8_t *tmp, int c, int h, int w, int op, double mag) {
    size_t hwn = (size_t)h * w, n = (size_t)c * hwn;
    double m[6];
    switch (op) {
    case RM_RA_SHEARX: /* center [0,0] in pixel coordinates = (-w/2,-h/2) from the centre */
        inverse_affine(m, -0.5 * w, -0.5 * h, 0, 0, 0, atan(mag) * 180 / PI, 0);
        warp_nearest(img, tmp, c, h, w, m); break;
    case RM_RA_SHEARY:
        inverse_affine(m, -0.5 * w, -0.5 * h, 0, 0, 0, 0, atan(mag) * 180 / PI);
        warp_nearest(img, tmp, c, h, w, m); break;
    case RM_RA_TRANSLATEX:
        inverse_affine(m, 0, 0, 0, (double)(int)mag, 0, 0, 0);
        warp_nearest(img, tmp, c, h, w, m); break;
    case RM_RA_TRANSLATEY:
        inverse_affine(m, 0, 0, 0, 0, (double)(int)mag, 0, 0);
        warp_nearest(img, tmp, c, h, w, m); break;
    case RM_RA_ROTATE: /* F.rotate passes -angle: positive magnitude turns counter-clockwise */
        inverse_affine(m, 0, 0, -mag, 0, 0, 0, 0);
        warp_nearest(img, tmp, c, h, w, m); break;
    case RM_RA_BRIGHTNESS: op_brightness(img, n, (float)(1.0 + mag)); break;
    case RM_RA_COLOR: op_color(img, tmp, c, hwn, (float)(1.0 + mag)); break;
    case RM_RA_CONTRAST: op_contrast(img, tmp, c, hwn, (float)(1.0 + mag)); break;
    case RM_RA_SHARPNESS: op_sharpness(img, tmp, c, h, w, (float)(1.0 + mag)); break;
    case RM_RA_POSTERIZE: op_posterize(img, n, (int)mag); break;
    case RM_RA_SOLARIZE: op_solarize(img, n, mag); break;
    case RM_RA_AUTOCONTRAST: op_autocontrast(img, c, hwn); break;
    case RM_RA_EQUALIZE: op_equalize(img, c, hwn); break;
    default: break; /* Identity */
    }
}

void rm_randaugment(uint8_t *img, uint8_t *tmp, int c, int h, int w, int num_ops, int magnitude, int nbins,
                    uint64_t *rng) {
    for (int k = 0; k < num_ops; k++) {
        int op = (int)rm_rng_below(rng, RM_RA_NOPS), sg;
        double mag = rm_randaug_magnitude(op, magnitude, nbins, h, w, &sg);
        if (sg && rm_rng_below(rng, 2)) mag = -mag;
        rm_randaug_apply(img, tmp, c, h, w, op, mag);
    }
}

/* ---- per-image pipeline and batch assembly ---- */

void rm_augment_image(const uint8_t *src, uint8_t *dst, uint8_t *tmp, int c, int h, int w, int aug,
                      uint64_t *rng) {
    size_t hwn = (size_t)h * w;
    if (aug & RM_AUG_CROPFLIP) {
        /* RandomCrop(pad 4): top-left (oy,ox) in the zero-padded image; then flip with p = 0.5 */
        const int pad = 4;
        int oy = (int)rm_rng_below(rng, 2 * pad + 1) - pad, ox = (int)rm_rng_below(rng, 2 * pad + 1) - pad;
        int flip = rm_rng_uniform(rng) < 0.5f;
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++) {
                    int sy = i + oy, sx = (flip ? w - 1 - j : j) + ox;
                    dst[ch * hwn + (size_t)i * w + j] =
                        sy >= 0 && sy < h && sx >= 0 && sx < w ? src[ch * hwn + (size_t)sy * w + sx] : 0;
                }
    } else {
        memcpy(dst, src, (size_t)c * hwn);
    }
    if (aug & RM_AUG_RANDAUG) rm_randaugment(dst, tmp, c, h, w, 2, 9, 31, rng);
}

/* lut[ch][v] = (v/255 - mean)/std in float32, as ToTensor + Normalize; ds->c is 1..3 */
static void norm_lut(const rm_dataset *ds, float lut[3][256]) {
    for (int ch = 0; ch < ds->c; ch++)
        for (int v = 0; v < 256; v++) lut[ch][v] = ((float)v / 255.0f - ds->mean[ch]) / ds->std[ch];
}

#define AUG_STACK 8192 /* per-thread image bytes kept on the stack (CIFAR-10 needs 3072) */

/* x is (B,T,P) with T = (h/p)*(w/p), P = p*p*c; y is (B). Nothing is written if p does not divide
 * h and w (check with rm_data_tokens first). */
void rm_make_batch(const rm_dataset *ds, const int *idx, int B, int patch, int aug, uint64_t seed,
                   float *x, int *y) {
    if (rm_data_tokens(ds, patch) < 0 || ds->c < 1 || ds->c > 3) return;
    const int c = ds->c, h = ds->h, w = ds->w, p = patch, gw = w / p, gh = h / p;
    const int T = gh * gw, P = p * p * c;
    const size_t hwn = (size_t)h * w, chw = (size_t)c * hwn;
    float lut[3][256];
    norm_lut(ds, lut);
    #pragma omp parallel
    {
        uint8_t stackbuf[2 * AUG_STACK], *heap = NULL, *buf = NULL, *tmp = NULL;
        if (aug) {
            if (chw <= AUG_STACK) buf = stackbuf, tmp = stackbuf + chw;
            else if ((heap = malloc(2 * chw)) != NULL) buf = heap, tmp = heap + chw;
            /* larger images with no memory left for scratch stay unaugmented */
        }
        #pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
            const uint8_t *img = ds->pixels + (size_t)idx[b] * chw;
            if (buf) {
                uint64_t st = rm_data_stream(seed, b);
                rm_augment_image(img, buf, tmp, c, h, w, aug, &st);
                img = buf;
            }
            float *xb = x + (size_t)b * T * P;
            for (int py = 0; py < gh; py++)
                for (int px = 0; px < gw; px++) {
                    float *xt = xb + (size_t)(py * gw + px) * P;
                    for (int ky = 0; ky < p; ky++)
                        for (int kx = 0; kx < p; kx++)
                            for (int ch = 0; ch < c; ch++)
                                xt[(ky * p + kx) * c + ch] = lut[ch][img[ch * hwn + (size_t)(py * p + ky) * w + px * p + kx]];
                }
            y[b] = ds->labels[idx[b]];
        }
        free(heap);
    }
}

/* x is (B, c*h*w) CHW rows, y is (B); pixel sets need 1..3 channels (nothing written otherwise) */
void rm_make_batch_flat(const rm_dataset *ds, const int *idx, int B, float *x, int *y) {
    const size_t chw = (size_t)ds->c * ds->h * ds->w, hw = (size_t)ds->h * ds->w;
    float lut[3][256];
    if (!ds->feat) {
        if (ds->c < 1 || ds->c > 3) return;
        norm_lut(ds, lut);
    }
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * chw;
        if (ds->feat) {
            memcpy(xb, ds->feat + (size_t)idx[b] * chw, chw * sizeof(float));
        } else {
            const uint8_t *px = ds->pixels + (size_t)idx[b] * chw;
            for (size_t i = 0; i < chw; i++) xb[i] = lut[i / hw][px[i]];
        }
        y[b] = ds->labels[idx[b]];
    }
}
