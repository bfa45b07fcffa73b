/* safetensors.c - load and save the HuggingFace safetensors format: u64 little-endian header
 * length N, N bytes of JSON (cJSON), then raw little-endian tensor data.
 * Saving is atomic: "<path>.tmp.<pid>" is written, fsync'd, renamed over path, and the directory
 * fsync'd. Loading reads the whole file into one buffer and validates every header field; tensor
 * data points into that buffer. Not done: byte swapping (host is little-endian), mmap, bf16/f16.
 * The loaded buffer is placed so the data section starts 64-byte aligned; a tensor is aligned for
 * its dtype when its offset is (rm_st_get checks). The path is kept after the file bytes so
 * messages after loading can name the file (rm_st_path). */
#include "safetensors.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

long rm_st_fail_after_bytes = 0;

#define ST_MAX_HEADER 100000000ull /* same limit as the reference implementation */
#define ST_ALIGN 64

static const char *const g_dtype_name[] = { "F32", "I32", "I8", "U8", "I64", "F64" };
static const int g_dtype_size[] = { 4, 4, 1, 1, 8, 8 };
#define ST_NDTYPE ((int)(sizeof g_dtype_size / sizeof g_dtype_size[0]))

int rm_dtype_size(int dtype) { return dtype >= 0 && dtype < ST_NDTYPE ? g_dtype_size[dtype] : 0; }
const char *rm_dtype_name(int dtype) { return dtype >= 0 && dtype < ST_NDTYPE ? g_dtype_name[dtype] : "?"; }

static int dtype_from_name(const char *s) {
    for (int i = 0; i < ST_NDTYPE; i++) if (strcmp(s, g_dtype_name[i]) == 0) return i;
    return -1;
}

/* "[10,96]" into buf; -1 entries (wildcards) print as "*" */
static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) {
        if (shape[i] < 0) k += (size_t)snprintf(buf + k, cap - k, "%s*", i ? "," : "");
        else k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* product(shape) * dtype size into *out; 0 on overflow or negative dims */
static int shape_bytes(int dtype, int ndim, const int64_t *shape, uint64_t *out) {
    uint64_t n = (uint64_t)rm_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || __builtin_mul_overflow(n, (uint64_t)shape[i], &n)) return 0;
    }
    *out = n;
    return 1;
}

/* ---------------------------------------------------------------- save */

static int check_save_args(rm_ctx *ctx, const char *path, const rm_st_tensor *t, int n,
                           const char *const *mk, const char *const *mv, int nmeta) {
    if (n < 0 || nmeta < 0 || (n > 0 && !t) || (nmeta > 0 && (!mk || !mv)))
        return rm_err(ctx, "%s: bad arguments to rm_st_save (n=%d, nmeta=%d)", path, n, nmeta);
    for (int i = 0; i < n; i++) {
        const rm_st_tensor *x = &t[i];
        char sh[200];
        if (!memchr(x->name, 0, sizeof x->name) || !x->name[0] || strcmp(x->name, "__metadata__") == 0)
            return rm_err(ctx, "%s: tensor %d has an empty, unterminated or reserved name", path, i);
        if (rm_dtype_size(x->dtype) == 0)
            return rm_err(ctx, "%s: tensor '%s': unknown dtype %d", path, x->name, x->dtype);
        if (x->ndim < 0 || x->ndim > RM_ST_MAXDIM)
            return rm_err(ctx, "%s: tensor '%s': ndim %d outside 0..%d", path, x->name, x->ndim, RM_ST_MAXDIM);
        uint64_t need;
        if (!shape_bytes(x->dtype, x->ndim, x->shape, &need))
            return rm_err(ctx, "%s: tensor '%s': bad shape %s", path, x->name,
                          fmt_shape(sh, sizeof sh, x->ndim, x->shape));
        if (need != (uint64_t)x->nbytes)
            return rm_err(ctx, "%s: tensor '%s': nbytes %zu but shape %s %s needs %llu", path, x->name,
                          x->nbytes, fmt_shape(sh, sizeof sh, x->ndim, x->shape), rm_dtype_name(x->dtype),
                          (unsigned long long)need);
        if (x->nbytes > 0 && !x->data)
            return rm_err(ctx, "%s: tensor '%s': data is NULL", path, x->name);
        for (int j = 0; j < i; j++)
            if (strcmp(t[j].name, x->name) == 0)
                return rm_err(ctx, "%s: duplicate tensor name '%s'", path, x->name);
    }
    for (int i = 0; i < nmeta; i++) {
        if (!mk[i] || !mv[i]) return rm_err(ctx, "%s: metadata entry %d is NULL", path, i);
        for (int j = 0; j < i; j++)
            if (strcmp(mk[j], mk[i]) == 0) return rm_err(ctx, "%s: duplicate metadata key '%s'", path, mk[i]);
    }
    return RM_OK;
}

/* JSON header text (malloc'd, padded with spaces to a multiple of 8), length in *len */
static char *build_header(rm_ctx *ctx, const char *path, const rm_st_tensor *t, int n,
                          const char *const *mk, const char *const *mv, int nmeta, size_t *len) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && nmeta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int i = 0; ok && i < nmeta; i++) ok = cJSON_AddStringToObject(m, mk[i], mv[i]) != NULL;
    }
    uint64_t off = 0;
    for (int i = 0; ok && i < n; i++) {
        cJSON *o = cJSON_AddObjectToObject(root, t[i].name);
        cJSON *sh = o ? cJSON_AddArrayToObject(o, "shape") : NULL;
        cJSON *dof = sh ? cJSON_AddArrayToObject(o, "data_offsets") : NULL;
        ok = dof && cJSON_AddStringToObject(o, "dtype", rm_dtype_name(t[i].dtype));
        for (int d = 0; ok && d < t[i].ndim; d++) {
            cJSON *v = cJSON_CreateNumber((double)t[i].shape[d]);
            ok = v && cJSON_AddItemToArray(sh, v);
        }
        cJSON *b = ok ? cJSON_CreateNumber((double)off) : NULL;
        ok = b && cJSON_AddItemToArray(dof, b);
        off += t[i].nbytes;
        cJSON *e = ok ? cJSON_CreateNumber((double)off) : NULL;
        ok = e && cJSON_AddItemToArray(dof, e);
    }
    if (ok && off > (1ull << 53)) {
        cJSON_Delete(root);
        rm_err(ctx, "%s: %llu data bytes is too large for exact JSON offsets", path, (unsigned long long)off);
        return NULL;
    }
    char *js = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!js) { rm_err(ctx, "%s: out of memory building the safetensors header", path); return NULL; }
    size_t l = strlen(js), padded = (l + 7) / 8 * 8;
    char *hdr = rm_malloc(ctx, padded + 1, "safetensors header");
    if (hdr) {
        memcpy(hdr, js, l);
        memset(hdr + l, ' ', padded - l);
        hdr[padded] = 0;
        *len = padded;
    }
    cJSON_free(js);
    return hdr;
}

/* fsync the directory holding path so the rename is durable */
static int sync_dir(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    if (r != 0 && errno == EINVAL) r = 0; /* some filesystems cannot fsync directories */
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* write n bytes; stops early (simulated crash) when *budget reaches 0. 1 ok, 0 io error, -1 crash */
static int write_limited(FILE *fp, const void *p, size_t n, long *budget) {
    size_t k = n;
    if (*budget > 0 && (unsigned long)*budget < n) k = (size_t)*budget;
    if (k > 0 && fwrite(p, 1, k, fp) != k) return 0;
    if (*budget > 0) {
        *budget -= (long)k;
        if (*budget == 0 || k < n) return -1;
    }
    return 1;
}

int rm_st_save(rm_ctx *ctx, const char *path, const rm_st_tensor *t, int n,
               const char *const *meta_key, const char *const *meta_val, int nmeta) {
    if (!path || !path[0]) return rm_err(ctx, "rm_st_save: empty path");
    if (check_save_args(ctx, path, t, n, meta_key, meta_val, nmeta)) return RM_ERR;
    size_t hlen = 0;
    char *hdr = build_header(ctx, path, t, n, meta_key, meta_val, nmeta, &hlen);
    if (!hdr) return RM_ERR;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        free(hdr);
        return rm_err(ctx, "%s: path too long", path);
    }
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        free(hdr);
        return rm_err(ctx, "%s: cannot create temp file %s: %s", path, tmp, strerror(e));
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen;
    free(hdr);
    long budget = rm_st_fail_after_bytes;
    for (int i = 0; ok && i < n; i++) {
        int r = write_limited(fp, t[i].data, t[i].nbytes, &budget);
        if (r < 0) { /* simulated crash: the temp file stays behind, path is not touched */
            fflush(fp);
            fclose(fp);
            return rm_err(ctx, "%s: simulated crash after %ld data bytes (rm_st_fail_after_bytes), temp file %s left",
                          path, rm_st_fail_after_bytes, tmp);
        }
        ok = r == 1;
    }
    const char *step = "write";
    if (ok) { step = "flush"; ok = fflush(fp) == 0; }
    if (ok) { step = "fsync"; ok = fsync(fileno(fp)) == 0; }
    int e = errno;
    if (fclose(fp) != 0 && ok) { step = "close"; ok = 0; e = errno; }
    if (ok && rename(tmp, path) != 0) { step = "rename"; ok = 0; e = errno; }
    if (!ok) {
        remove(tmp);
        if (!strcmp(step, "rename"))
            return rm_err(ctx, "%s: cannot rename the temp file %s over it: %s", path, tmp, strerror(e));
        return rm_err(ctx, "%s: cannot %s %s: %s", path, step, tmp, strerror(e));
    }
    if (sync_dir(path) != 0)
        return rm_err(ctx, "%s: written, but fsync of its directory failed: %s", path, strerror(errno));
    return RM_OK;
}

/* ---------------------------------------------------------------- load */

/* a JSON number that is a non-negative integer exactly representable in a double */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int parse_tensor(rm_ctx *ctx, const char *path, const cJSON *o, uint64_t dsize, rm_st_tensor *x,
                        uint64_t *begin) {
    const char *nm = o->string;
    if (strlen(nm) >= sizeof x->name)
        return rm_err(ctx, "%s: tensor name '%.40s...' longer than %zu bytes", path, nm, sizeof x->name - 1);
    strcpy(x->name, nm);
    if (!cJSON_IsObject(o)) return rm_err(ctx, "%s: tensor '%s': entry is not a JSON object", path, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(o, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
    if (!cJSON_IsString(dt)) return rm_err(ctx, "%s: tensor '%s': missing or non-string dtype", path, nm);
    x->dtype = dtype_from_name(dt->valuestring);
    if (x->dtype < 0)
        return rm_err(ctx, "%s: tensor '%s': unsupported dtype '%.20s' (F32 I32 I8 U8 I64 F64)", path, nm,
                      dt->valuestring);
    if (!cJSON_IsArray(sh)) return rm_err(ctx, "%s: tensor '%s': missing or non-array shape", path, nm);
    x->ndim = cJSON_GetArraySize(sh);
    if (x->ndim > RM_ST_MAXDIM)
        return rm_err(ctx, "%s: tensor '%s': %d dims, at most %d supported", path, nm, x->ndim, RM_ST_MAXDIM);
    int d = 0;
    for (const cJSON *v = sh->child; v; v = v->next, d++) {
        uint64_t u;
        if (!json_uint(v, &u) || u > INT64_MAX)
            return rm_err(ctx, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, nm, d);
        x->shape[d] = (int64_t)u;
    }
    uint64_t b, e, need;
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !json_uint(of->child, &b) || !json_uint(of->child->next, &e))
        return rm_err(ctx, "%s: tensor '%s': data_offsets must be [begin,end] non-negative integers", path, nm);
    if (b > e || e > dsize)
        return rm_err(ctx, "%s: tensor '%s': data_offsets [%llu,%llu] outside the %llu data bytes", path, nm,
                      (unsigned long long)b, (unsigned long long)e, (unsigned long long)dsize);
    char s[200];
    int fits = shape_bytes(x->dtype, x->ndim, x->shape, &need);
    if (!fits || need != e - b)
        return rm_err(ctx, "%s: tensor '%s': data_offsets [%llu,%llu] hold %llu bytes but shape %s %s needs %s%llu",
                      path, nm, (unsigned long long)b, (unsigned long long)e, (unsigned long long)(e - b),
                      fmt_shape(s, sizeof s, x->ndim, x->shape), dt->valuestring, fits ? "" : "more than ",
                      (unsigned long long)(fits ? need : UINT64_MAX));
    x->nbytes = (size_t)need;
    *begin = b;
    return RM_OK;
}

static int parse_meta(rm_ctx *ctx, const char *path, const cJSON *m, rm_st_file *f) {
    if (!cJSON_IsObject(m)) return rm_err(ctx, "%s: __metadata__ is not a JSON object", path);
    int k = cJSON_GetArraySize(m);
    f->meta_key = calloc((size_t)k + 1, sizeof *f->meta_key);
    f->meta_val = calloc((size_t)k + 1, sizeof *f->meta_val);
    if (!f->meta_key || !f->meta_val) return rm_err(ctx, "%s: out of memory for metadata", path);
    for (const cJSON *v = m->child; v; v = v->next) {
        if (!cJSON_IsString(v)) return rm_err(ctx, "%s: __metadata__ value for '%s' is not a string", path, v->string);
        f->meta_key[f->nmeta] = strdup(v->string);
        f->meta_val[f->nmeta] = strdup(v->valuestring);
        f->nmeta++;
        if (!f->meta_key[f->nmeta - 1] || !f->meta_val[f->nmeta - 1])
            return rm_err(ctx, "%s: out of memory for metadata", path);
    }
    return RM_OK;
}

static const uint64_t *g_sort_begin; /* qsort context for by_begin (load is not re-entrant here) */
static int by_begin(const void *a, const void *b) {
    uint64_t x = g_sort_begin[*(const int *)a], y = g_sort_begin[*(const int *)b];
    return x < y ? -1 : x > y;
}

/* duplicate names (cJSON keeps duplicate keys) and overlapping data ranges */
static int check_layout(rm_ctx *ctx, const char *path, const rm_st_file *f, const uint64_t *begin) {
    for (int i = 0; i < f->n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(f->t[i].name, f->t[j].name) == 0)
                return rm_err(ctx, "%s: tensor '%s' appears twice", path, f->t[i].name);
    int *ix = malloc((size_t)f->n * sizeof *ix + 1);
    if (!ix) return rm_err(ctx, "%s: out of memory checking tensor layout", path);
    for (int i = 0; i < f->n; i++) ix[i] = i;
    g_sort_begin = begin;
    qsort(ix, (size_t)f->n, sizeof *ix, by_begin);
    int prev = -1, r = RM_OK;
    for (int k = 0; k < f->n && r == RM_OK; k++) {
        int i = ix[k];
        if (f->t[i].nbytes == 0) continue;
        if (prev >= 0 && begin[i] < begin[prev] + f->t[prev].nbytes)
            r = rm_err(ctx, "%s: tensor '%s': data overlaps tensor '%s'", path, f->t[i].name, f->t[prev].name);
        prev = i;
    }
    free(ix);
    return r;
}

static int parse_header(rm_ctx *ctx, const char *path, rm_st_file *f, uint64_t hlen) {
    const char *js = (const char *)f->buf + 8, *end = NULL;
    uint64_t dsize = f->size - 8 - hlen;
    cJSON *root = cJSON_ParseWithLengthOpts(js, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - js) : 0;
        return rm_err(ctx, "%s: header is not valid JSON (near byte %zu of %llu)", path, at, (unsigned long long)hlen);
    }
    for (const char *p = end; p < js + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return rm_err(ctx, "%s: header has trailing bytes after the JSON object (byte %zu)", path, (size_t)(p - js));
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return rm_err(ctx, "%s: header JSON is not an object", path);
    }
    int r = RM_OK, cap = cJSON_GetArraySize(root);
    f->t = calloc((size_t)cap + 1, sizeof *f->t);
    uint64_t *begin = calloc((size_t)cap + 1, sizeof *begin);
    if (!f->t || !begin) r = rm_err(ctx, "%s: out of memory for %d tensors", path, cap);
    for (const cJSON *o = root->child; o && r == RM_OK; o = o->next) {
        if (strcmp(o->string, "__metadata__") == 0) {
            if (f->meta_key) r = rm_err(ctx, "%s: __metadata__ appears twice", path);
            else r = parse_meta(ctx, path, o, f);
            continue;
        }
        r = parse_tensor(ctx, path, o, dsize, &f->t[f->n], &begin[f->n]);
        if (r == RM_OK) f->n++;
    }
    if (r == RM_OK) r = check_layout(ctx, path, f, begin);
    const uint8_t *data = f->buf + 8 + hlen;
    for (int i = 0; r == RM_OK && i < f->n; i++) f->t[i].data = data + begin[i];
    free(begin);
    cJSON_Delete(root);
    return r;
}

int rm_st_load(rm_ctx *ctx, const char *path, rm_st_file *f) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return rm_err(ctx, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        int e = errno;
        fclose(fp);
        return rm_err(ctx, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(fp);
        return rm_err(ctx, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size, hlen = 0;
    uint8_t len8[8];
    if (size < 8 || fread(len8, 1, 8, fp) != 8) {
        fclose(fp);
        return rm_err(ctx, "%s: %llu bytes, too short for a safetensors file (need at least 8)", path,
                      (unsigned long long)size);
    }
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen > size - 8 || hlen >= ST_MAX_HEADER) {
        fclose(fp);
        return rm_err(ctx, "%s: header length %llu exceeds the %llu bytes after it%s", path,
                      (unsigned long long)hlen, (unsigned long long)(size - 8),
                      hlen >= ST_MAX_HEADER ? " or the 100 MB limit" : "");
    }
    /* one allocation: [shift][file][NUL][path NUL], shift puts the data section on a 64-byte line */
    size_t plen = strlen(path), shift = (ST_ALIGN - (8 + hlen) % ST_ALIGN) % ST_ALIGN;
    if (size > SIZE_MAX - shift - plen - 2 * ST_ALIGN) {
        fclose(fp);
        return rm_err(ctx, "%s: file too large (%llu bytes)", path, (unsigned long long)size);
    }
    uint8_t *base = rm_malloc(ctx, shift + (size_t)size + plen + 2, "safetensors file");
    if (!base) {
        fclose(fp);
        return rm_errprefix(ctx, "%s", path);
    }
    f->buf = base + shift;
    f->size = (size_t)size;
    memcpy(f->buf, len8, 8);
    size_t got = fread(f->buf + 8, 1, f->size - 8, fp);
    int rerr = ferror(fp), e = errno;
    fclose(fp);
    f->buf[f->size] = 0;
    memcpy(f->buf + f->size + 1, path, plen + 1);
    if (got != f->size - 8) {
        rm_st_free(f);
        return rm_err(ctx, "%s: read %zu of %llu bytes%s%s", path, got + 8, (unsigned long long)size,
                      rerr ? ": " : " (file changed while reading)", rerr ? strerror(e) : "");
    }
    if (parse_header(ctx, path, f, hlen) != RM_OK) {
        rm_st_free(f);
        return RM_ERR;
    }
    return RM_OK;
}

void rm_st_free(rm_st_file *f) {
    if (!f) return;
    if (f->buf) free(f->buf - ((uintptr_t)f->buf % ST_ALIGN)); /* base is 64-aligned, shift < 64 */
    for (int i = 0; i < f->nmeta; i++) {
        if (f->meta_key) free(f->meta_key[i]);
        if (f->meta_val) free(f->meta_val[i]);
    }
    free(f->meta_key);
    free(f->meta_val);
    free(f->t);
    memset(f, 0, sizeof *f);
}

const char *rm_st_path(const rm_st_file *f) {
    return f && f->buf ? (const char *)f->buf + f->size + 1 : "(no file)";
}

const rm_st_tensor *rm_st_find(const rm_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++) if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

const char *rm_st_meta(const rm_st_file *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->nmeta; i++) if (strcmp(f->meta_key[i], key) == 0) return f->meta_val[i];
    return NULL;
}

int rm_st_get(rm_ctx *ctx, const rm_st_file *f, const char *name, int dtype, int ndim,
              const int64_t *shape, const void **data) {
    if (data) *data = NULL;
    const rm_st_tensor *x = rm_st_find(f, name);
    if (!x) return rm_err(ctx, "%s: no tensor '%s'", rm_st_path(f), name ? name : "(null)");
    int bad = x->dtype != dtype || x->ndim != ndim;
    for (int i = 0; !bad && shape && i < ndim; i++) bad = shape[i] >= 0 && shape[i] != x->shape[i];
    if (bad) {
        char want[200], got[200];
        if (shape) fmt_shape(want, sizeof want, ndim < 0 ? 0 : ndim > RM_ST_MAXDIM ? RM_ST_MAXDIM : ndim, shape);
        else snprintf(want, sizeof want, "(%d dims)", ndim);
        return rm_err(ctx, "%s: tensor '%s': expected %s %s, file has %s %s", rm_st_path(f), name,
                      rm_dtype_name(dtype), want, rm_dtype_name(x->dtype),
                      fmt_shape(got, sizeof got, x->ndim, x->shape));
    }
    if ((uintptr_t)x->data % (uintptr_t)rm_dtype_size(x->dtype) != 0)
        return rm_err(ctx, "%s: tensor '%s': data offset is not aligned for %s", rm_st_path(f), name,
                      rm_dtype_name(x->dtype));
    if (data) *data = x->data;
    return RM_OK;
}
