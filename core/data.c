/* data.c - data set loaders (CIFAR-10 binary records, MNIST/Fashion-MNIST IDX via zlib), slicing,
 * patch geometry and shuffling. Loaders validate everything they read and name the file (and record)
 * in their error; they never print. Batch assembly and augmentation live in augment.c. */
#include "data.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CIFAR_REC 3073 /* 1 label byte + 3*32*32 pixel bytes */
#define CIFAR_PIX 3072

static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};

void rm_dataset_free(rm_dataset *ds) {
    if (!ds) return;
    free(ds->pixels);
    free(ds->feat);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

static void set_name(rm_dataset *ds, const char *name) {
    size_t n = strlen(name);
    if (n >= sizeof ds->name) n = sizeof ds->name - 1;
    memcpy(ds->name, name, n);
    ds->name[n] = 0;
}

/* ---- CIFAR-10 ---- */

int rm_cifar10_load_files(rm_ctx *ctx, rm_dataset *ds, const char *const *files, int nfiles) {
    memset(ds, 0, sizeof *ds);
    if (!files || nfiles <= 0) return rm_err(ctx, "CIFAR-10: no files given");
    /* pass 1: sizes -> record counts */
    long long total = 0;
    for (int i = 0; i < nfiles; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0) return rm_err(ctx, "CIFAR-10 file '%s': %s", files[i], strerror(errno));
        if (!S_ISREG(st.st_mode)) return rm_err(ctx, "CIFAR-10 file '%s': not a regular file", files[i]);
        if (st.st_size == 0) return rm_err(ctx, "CIFAR-10 file '%s': file is empty", files[i]);
        if (st.st_size % CIFAR_REC != 0)
            return rm_err(ctx, "CIFAR-10 file '%s': size %lld bytes is not a multiple of %d (1 label + %d pixel bytes per record)",
                          files[i], (long long)st.st_size, CIFAR_REC, CIFAR_PIX);
        total += st.st_size / CIFAR_REC;
        if (total > INT_MAX / 2) return rm_err(ctx, "CIFAR-10 file '%s': too many records in total", files[i]);
    }
    int n = (int)total;
    ds->pixels = rm_malloc(ctx, (size_t)n * CIFAR_PIX, "CIFAR-10 pixels");
    ds->labels = rm_malloc(ctx, (size_t)n, "CIFAR-10 labels");
    if (!ds->pixels || !ds->labels) { rm_dataset_free(ds); return RM_ERR; }
    /* pass 2: records */
    int at = 0;
    unsigned char rec[CIFAR_REC];
    for (int i = 0; i < nfiles; i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f) { rm_err(ctx, "CIFAR-10 file '%s': cannot open: %s", files[i], strerror(errno)); goto fail; }
        struct stat st;
        int cnt = fstat(fileno(f), &st) == 0 ? (int)(st.st_size / CIFAR_REC) : -1;
        for (int r = 0; r < cnt && at < n; r++, at++) {
            if (fread(rec, 1, CIFAR_REC, f) != CIFAR_REC) {
                fclose(f);
                rm_err(ctx, "CIFAR-10 file '%s': short read at record %d", files[i], r);
                goto fail;
            }
            if (rec[0] > 9) {
                fclose(f);
                rm_err(ctx, "CIFAR-10 file '%s': record %d has label %d (must be 0..9)", files[i], r, rec[0]);
                goto fail;
            }
            ds->labels[at] = rec[0];
            memcpy(ds->pixels + (size_t)at * CIFAR_PIX, rec + 1, CIFAR_PIX);
        }
        fclose(f);
    }
    if (at != n) { rm_err(ctx, "CIFAR-10 file '%s': files changed while reading", files[nfiles - 1]); goto fail; }
    ds->n = n;
    ds->c = 3; ds->h = 32; ds->w = 32;
    ds->nclass = 10;
    memcpy(ds->mean, cifar_mean, sizeof ds->mean);
    memcpy(ds->std, cifar_std, sizeof ds->std);
    set_name(ds, files[0]);
    return RM_OK;
fail:
    rm_dataset_free(ds);
    return RM_ERR;
}

int rm_cifar10_load(rm_ctx *ctx, rm_dataset *ds, const char *path, const char *split) {
    memset(ds, 0, sizeof *ds);
    if (!path) return rm_err(ctx, "CIFAR-10: no path given");
    struct stat st;
    if (stat(path, &st) != 0) return rm_err(ctx, "CIFAR-10 path '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        const char *one[1] = {path};
        return rm_cifar10_load_files(ctx, ds, one, 1);
    }
    char buf[5][4096];
    const char *files[5];
    int nf;
    const char *sp = split ? split : "train";
    if (strcmp(sp, "train") == 0) {
        nf = 5;
        for (int i = 0; i < 5; i++) snprintf(buf[i], sizeof buf[i], "%s/data_batch_%d.bin", path, i + 1);
    } else if (strcmp(sp, "test") == 0) {
        nf = 1;
        snprintf(buf[0], sizeof buf[0], "%s/test_batch.bin", path);
    } else {
        return rm_err(ctx, "CIFAR-10 path '%s': unknown split '%s' (use train or test)", path, sp);
    }
    for (int i = 0; i < nf; i++) files[i] = buf[i];
    if (rm_cifar10_load_files(ctx, ds, files, nf) != RM_OK) return RM_ERR;
    set_name(ds, path);
    return RM_OK;
}

/* ---- IDX (MNIST, Fashion-MNIST) ---- */

/* read exactly n bytes from a gz stream (raw files pass through); 0 on success */
static int gz_readall(gzFile g, void *dst, size_t n) {
    unsigned char *p = dst;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(g, p, chunk);
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* read exactly n bytes from a gz stream into a buffer grown as the data arrives (64 MB, then doubling):
 * a header may claim up to 2^40 bytes, and a 30-byte file must not make us allocate them. 0 on success,
 * -1 when the stream ends early (*out freed), -2 out of memory (*out freed). */
static int gz_read_grown(gzFile g, size_t n, uint8_t **out) {
    size_t cap = n < ((size_t)64 << 20) ? n : ((size_t)64 << 20), have = 0;
    uint8_t *b = malloc(cap ? cap : 1);
    while (b && have < n) {
        if (have == cap) {
            size_t nc = cap > n / 2 ? n : cap * 2;
            uint8_t *g2 = realloc(b, nc);
            if (!g2) break;
            b = g2;
            cap = nc;
        }
        if (gz_readall(g, b + have, cap - have) != 0) { free(b); *out = NULL; return -1; }
        have = cap;
    }
    if (have < n) { free(b); *out = NULL; return -2; }
    *out = b;
    return 0;
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static const char *gz_why(gzFile g) {
    int e;
    const char *m = gzerror(g, &e);
    return e == Z_OK || e == Z_STREAM_END || !m || !*m ? "file is truncated" : m;
}

int rm_idx_load(rm_ctx *ctx, rm_dataset *ds, const char *images, const char *labels) {
    memset(ds, 0, sizeof *ds);
    if (!images || !labels) return rm_err(ctx, "IDX: image and label file paths are required");
    unsigned char hdr[16];
    gzFile gi = NULL, gl = NULL;
    /* images: magic 0x00000803, count, rows, cols */
    errno = 0;
    gi = gzopen(images, "rb");
    if (!gi) return rm_err(ctx, "IDX image file '%s': cannot open: %s", images, errno ? strerror(errno) : "zlib error");
    if (gz_readall(gi, hdr, 16) != 0) { rm_err(ctx, "IDX image file '%s': header: %s", images, gz_why(gi)); goto fail; }
    uint32_t magic = be32(hdr), n = be32(hdr + 4), rows = be32(hdr + 8), cols = be32(hdr + 12);
    if (magic != 0x00000803u) {
        rm_err(ctx, "IDX image file '%s': bad magic 0x%08x (expected 0x00000803)", images, (unsigned)magic);
        goto fail;
    }
    if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096) {
        rm_err(ctx, "IDX image file '%s': bad image size %ux%u", images, (unsigned)rows, (unsigned)cols);
        goto fail;
    }
    if (n == 0 || n > (uint32_t)(INT_MAX / 2) || (uint64_t)n * rows * cols > ((uint64_t)1 << 40)) {
        rm_err(ctx, "IDX image file '%s': bad image count %u", images, (unsigned)n);
        goto fail;
    }
    /* labels: magic 0x00000801, count */
    errno = 0;
    gl = gzopen(labels, "rb");
    if (!gl) { rm_err(ctx, "IDX label file '%s': cannot open: %s", labels, errno ? strerror(errno) : "zlib error"); goto fail; }
    if (gz_readall(gl, hdr, 8) != 0) { rm_err(ctx, "IDX label file '%s': header: %s", labels, gz_why(gl)); goto fail; }
    uint32_t lmagic = be32(hdr), ln = be32(hdr + 4);
    if (lmagic != 0x00000801u) {
        rm_err(ctx, "IDX label file '%s': bad magic 0x%08x (expected 0x00000801)", labels, (unsigned)lmagic);
        goto fail;
    }
    if (ln != n) {
        rm_err(ctx, "IDX files '%s' and '%s': image count %u != label count %u", images, labels, (unsigned)n, (unsigned)ln);
        goto fail;
    }
    size_t npix = (size_t)n * rows * cols;
    int r = gz_read_grown(gi, npix, &ds->pixels);
    if (r) {
        if (r == -2) rm_err(ctx, "IDX image file '%s': out of memory for %zu pixel bytes", images, npix);
        else rm_err(ctx, "IDX image file '%s': expected %zu pixel bytes: %s", images, npix, gz_why(gi));
        goto fail;
    }
    if ((r = gz_read_grown(gl, n, &ds->labels))) {
        if (r == -2) rm_err(ctx, "IDX label file '%s': out of memory for %u labels", labels, (unsigned)n);
        else rm_err(ctx, "IDX label file '%s': expected %u labels: %s", labels, (unsigned)n, gz_why(gl));
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++)
        if (ds->labels[i] > 9) {
            rm_err(ctx, "IDX label file '%s': label %d at index %u (must be 0..9)", labels, ds->labels[i], (unsigned)i);
            goto fail;
        }
    gzclose(gi);
    gzclose(gl);
    ds->n = (int)n;
    ds->c = 1; ds->h = (int)rows; ds->w = (int)cols;
    ds->nclass = 10;
    int fashion = strcasestr(images, "fashion") != NULL;
    ds->mean[0] = ds->mean[1] = ds->mean[2] = fashion ? 0.2860f : 0.1307f;
    ds->std[0] = ds->std[1] = ds->std[2] = fashion ? 0.3530f : 0.3081f;
    set_name(ds, images);
    return RM_OK;
fail:
    if (gi) gzclose(gi);
    if (gl) gzclose(gl);
    rm_dataset_free(ds);
    return RM_ERR;
}

/* dir/base.gz if it exists, else dir/base if it exists; -1 with a message if neither */
static int find_idx(rm_ctx *ctx, char *out, size_t cap, const char *dir, const char *base) {
    struct stat st;
    snprintf(out, cap, "%s/%s.gz", dir, base);
    if (stat(out, &st) == 0) return 0;
    snprintf(out, cap, "%s/%s", dir, base);
    if (stat(out, &st) == 0) return 0;
    return rm_err(ctx, "MNIST directory '%s': neither %s.gz nor %s found", dir, base, base);
}

int rm_mnist_load(rm_ctx *ctx, rm_dataset *ds, const char *dir, const char *split) {
    memset(ds, 0, sizeof *ds);
    if (!dir) return rm_err(ctx, "MNIST: no directory given");
    struct stat st;
    if (stat(dir, &st) != 0) return rm_err(ctx, "MNIST directory '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return rm_err(ctx, "MNIST directory '%s': not a directory", dir);
    const char *sp = split ? split : "train", *pre;
    if (strcmp(sp, "train") == 0) pre = "train";
    else if (strcmp(sp, "test") == 0) pre = "t10k";
    else return rm_err(ctx, "MNIST directory '%s': unknown split '%s' (use train or test)", dir, sp);
    char base[64], img[4096], lab[4096];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", pre);
    if (find_idx(ctx, img, sizeof img, dir, base) != 0) return RM_ERR;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", pre);
    if (find_idx(ctx, lab, sizeof lab, dir, base) != 0) return RM_ERR;
    if (rm_idx_load(ctx, ds, img, lab) != RM_OK) return RM_ERR;
    set_name(ds, dir);
    return RM_OK;
}

/* ---- slicing, geometry, shuffling ---- */

int rm_dataset_slice(rm_ctx *ctx, rm_dataset *dst, const rm_dataset *src, int start, int count) {
    memset(dst, 0, sizeof *dst);
    if (!src || (!src->pixels && !src->feat)) return rm_err(ctx, "dataset slice: source is empty");
    if (start < 0 || count < 0 || start > src->n || count > src->n - start)
        return rm_err(ctx, "dataset slice of '%s': range [%d, %d) outside 0..%d", src->name, start, start + count, src->n);
    /* pixels (uint8) or tabular features (float): same layout, another element size */
    const size_t es = src->pixels ? 1 : sizeof(float), row = (size_t)src->c * src->h * src->w * es;
    const char *from = src->pixels ? (const char *)src->pixels : (const char *)src->feat;
    /* + 1: an empty slice still gets a (non-NULL) allocation */
    void *vals = rm_malloc(ctx, (size_t)count * row + 1, "dataset slice values");
    if (src->pixels) dst->pixels = vals; else dst->feat = vals;
    dst->labels = rm_malloc(ctx, (size_t)count + 1, "dataset slice labels");
    if (!vals || !dst->labels) { rm_dataset_free(dst); return RM_ERR; }
    memcpy(vals, from + (size_t)start * row, (size_t)count * row);
    memcpy(dst->labels, src->labels + start, (size_t)count);
    dst->n = count;
    dst->c = src->c; dst->h = src->h; dst->w = src->w;
    dst->nclass = src->nclass;
    memcpy(dst->mean, src->mean, sizeof dst->mean);
    memcpy(dst->std, src->std, sizeof dst->std);
    char suffix[48];
    int sl = snprintf(suffix, sizeof suffix, "[%d:%d]", start, start + count);
    int keep = (int)strlen(src->name);
    if (keep > (int)sizeof dst->name - 1 - sl) keep = (int)sizeof dst->name - 1 - sl;
    memcpy(dst->name, src->name, (size_t)keep);
    memcpy(dst->name + keep, suffix, (size_t)sl + 1);
    return RM_OK;
}

int rm_data_tokens(const rm_dataset *ds, int patch) {
    if (!ds || patch <= 0 || ds->h % patch || ds->w % patch) return -1;
    return (ds->h / patch) * (ds->w / patch);
}

int rm_data_patchdim(const rm_dataset *ds, int patch) {
    if (!ds || patch <= 0 || ds->h % patch || ds->w % patch) return -1;
    return patch * patch * ds->c;
}

void rm_shuffle(int *perm, int n, uint64_t *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rm_rng_below(rng, (uint32_t)i + 1);
        int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
}
