/* export.c - the paper's state_dict (see export.h): key list, a torch.save zip writer (stored entries,
 * CRC-32 from zlib, data aligned to 64 bytes with a padding extra field as torch's writer does) and a
 * protocol-2 pickle of the OrderedDict; or the same keys as safetensors. */
#include "export.h"
#include "safetensors.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef struct ent {
    char name[200];
    int i64;              /* int64 storage (else float32) */
    int ndim;
    int64_t shape[2];
    const void *data;
    size_t nbytes;
} ent;

typedef struct keylist {
    ent *e;
    int n, cap;
    void **owned;         /* buffers made here (grids, offsets, counters) */
    int nown;
} keylist;

static ent *add(keylist *k, const char *name, int i64, int ndim, int64_t d0, int64_t d1, const void *data) {
    if (k->n == k->cap) {
        int cap = k->cap ? 2 * k->cap : 128;
        ent *e = realloc(k->e, cap * sizeof *e);
        if (!e) return NULL;
        k->e = e;
        k->cap = cap;
    }
    ent *e = &k->e[k->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->i64 = i64;
    e->ndim = ndim;
    e->shape[0] = d0;
    e->shape[1] = d1;
    e->data = data;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)e->shape[i];
    e->nbytes = n * (i64 ? 8 : 4);
    return e;
}

static void *own(keylist *k, size_t bytes) {
    void **o = realloc(k->owned, (k->nown + 1) * sizeof *o);
    if (!o) return NULL;
    k->owned = o;
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) k->owned[k->nown++] = p;
    return p;
}

static void keylist_free(keylist *k) {
    for (int i = 0; i < k->nown; i++) free(k->owned[i]);
    free(k->owned);
    free(k->e);
}

static int ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* the reference state_dict of m, in module order as far as it matters (names are what counts) */
static int build_keys(rm_ctx *ctx, const rm_model *m, keylist *k, long long tracked) {
    /* names are at most 95 characters (rm_ptensor) plus a suffix */
    const rm_model_cfg *c = &m->cfg;
    for (int pass = 0; pass < 2; pass++) {
        int cnt = pass ? m->nbuftensors : m->ntensors;
        const rm_ptensor *src = pass ? m->buftensors : m->tensors;
        const float *base = pass ? m->bmem : m->mem;
        for (int i = 0; i < cnt; i++) {
            const rm_ptensor *t = &src[i];
            char name[200];
            if (!pass && ends(t->name, ".coefficients")) {   /* DeepSplines: one flat vector */
                snprintf(name, sizeof name, "%.*s._coefficients_vect", (int)(strlen(t->name) - 13), t->name);
                if (!add(k, name, 0, 1, (int64_t)t->n, 0, base + t->off)) goto oom;
                continue;
            }
            if (!add(k, t->name, 0, t->ndim, t->shape[0], t->shape[1], base + t->off)) goto oom;
            if (!pass && ends(t->name, ".psa.o_bias")) {   /* the reference LERP-PSA module's buffers */
                int C = (int)t->shape[0], G = c->act.G;
                size_t pl = strlen(t->name) - strlen("o_bias");
                float *grid = own(k, sizeof(float) * (size_t)G * C), *eps = own(k, sizeof(float));
                int64_t *offs = own(k, sizeof(int64_t) * C);
                if (!grid || !eps || !offs) goto oom;
                for (int j = 0; j < G; j++) {   /* linspace(-R, R, G) as torch computes it in float32 */
                    float v = G > 1 ? (float)(-c->act.R + (double)j * (2.0 * c->act.R / (G - 1))) : (float)-c->act.R;
                    for (int ch = 0; ch < C; ch++) grid[(size_t)j * C + ch] = v;
                }
                *eps = c->act.eps;
                for (int ch = 0; ch < C; ch++) offs[ch] = (int64_t)ch * G;
                snprintf(name, sizeof name, "%.*sgrid", (int)pl, t->name);
                if (!add(k, name, 0, 2, G, C, grid)) goto oom;
                snprintf(name, sizeof name, "%.*sepsilon", (int)pl, t->name);
                if (!add(k, name, 0, 1, 1, 0, eps)) goto oom;
                snprintf(name, sizeof name, "%.*sgrid_ifeat_offset", (int)pl, t->name);
                if (!add(k, name, 1, 2, 1, C, offs)) goto oom;
            }
            if (pass && ends(t->name, ".running_var")) {
                int64_t *nb = own(k, sizeof(int64_t));
                if (!nb) goto oom;
                *nb = tracked;
                snprintf(name, sizeof name, "%.*snum_batches_tracked", (int)(strlen(t->name) - strlen("running_var")), t->name);
                if (!add(k, name, 1, 0, 0, 0, nb)) goto oom;
            }
        }
    }
    return RM_OK;
oom:
    return rm_err(ctx, "export: out of memory");
}

/* ---- growing byte buffer ---------------------------------------------------------------------- */

typedef struct bytes { unsigned char *p; size_t n, cap; int bad; } bytes;

static void put(bytes *b, const void *d, size_t n) {
    if (b->bad) return;
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 4096;
        unsigned char *p = realloc(b->p, cap);
        if (!p) { b->bad = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put1(bytes *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put2(bytes *b, unsigned v) { put1(b, v & 255); put1(b, (v >> 8) & 255); }
static void put4(bytes *b, uint32_t v) { put2(b, v & 0xffff); put2(b, v >> 16); }
static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }

/* ---- pickle (protocol 2), the opcodes torch.save emits for a state_dict --------------------------- */

static void p_str(bytes *b, const char *s) { put1(b, 'X'); put4(b, (uint32_t)strlen(s)); puts_(b, s); }
static void p_int(bytes *b, int64_t v) {
    if (v >= 0 && v < 256) { put1(b, 'K'); put1(b, (unsigned)v); }
    else if (v >= 0 && v < 65536) { put1(b, 'M'); put2(b, (unsigned)v); }
    else if (v >= INT32_MIN && v <= INT32_MAX) { put1(b, 'J'); put4(b, (uint32_t)(int32_t)v); }
    else { put1(b, 0x8a); put1(b, 8); for (int i = 0; i < 8; i++) put1(b, (unsigned)(((uint64_t)v >> (8 * i)) & 255)); }
}

static void pickle_state(bytes *b, const keylist *k) {
    static const char od[] = "ccollections\nOrderedDict\n";
    put(b, "\x80\x02", 2);
    puts_(b, od);
    puts_(b, ")R(");   /* OrderedDict(), MARK */
    for (int i = 0; i < k->n; i++) {
        const ent *e = &k->e[i];
        char key[32];
        snprintf(key, sizeof key, "%d", i);
        p_str(b, e->name);
        puts_(b, "ctorch._utils\n_rebuild_tensor_v2\n(");
        put1(b, '(');   /* persistent id ('storage', torch.XStorage, key, 'cpu', numel) */
        p_str(b, "storage");
        puts_(b, e->i64 ? "ctorch\nLongStorage\n" : "ctorch\nFloatStorage\n");
        p_str(b, key);
        p_str(b, "cpu");
        p_int(b, (int64_t)(e->nbytes / (e->i64 ? 8 : 4)));
        puts_(b, "tQ");
        p_int(b, 0);                                   /* storage offset */
        put1(b, '(');
        for (int d = 0; d < e->ndim; d++) p_int(b, e->shape[d]);
        put1(b, 't');
        put1(b, '(');                                  /* contiguous strides */
        for (int d = 0; d < e->ndim; d++) p_int(b, d + 1 < e->ndim ? e->shape[d + 1] : 1);
        put1(b, 't');
        put1(b, 0x89);                                 /* requires_grad False */
        puts_(b, od);
        puts_(b, ")RtR");                              /* backward hooks OrderedDict(); call */
    }
    puts_(b, "u.");
}

/* ---- zip (stored) ------------------------------------------------------------------------------ */

typedef struct zent { char name[200]; uint32_t crc, size, off; } zent;

static void zip_entry(bytes *z, zent *ze, const char *name, const void *data, size_t n) {
    snprintf(ze->name, sizeof ze->name, "%s", name);
    ze->crc = (uint32_t)crc32(0L, data, (uInt)n);
    ze->size = (uint32_t)n;
    ze->off = (uint32_t)z->n;
    size_t nl = strlen(name);
    size_t here = z->n + 30 + nl + 4;                  /* data offset without padding */
    unsigned pad = (unsigned)((64 - here % 64) % 64);
    put4(z, 0x04034b50); put2(z, 20); put2(z, 0); put2(z, 0);   /* version, flags, stored */
    put2(z, 0); put2(z, 33);                            /* 1980-01-01 00:00 */
    put4(z, ze->crc); put4(z, ze->size); put4(z, ze->size);
    put2(z, (unsigned)nl); put2(z, 4 + pad);
    puts_(z, name);
    put2(z, 0x4246); put2(z, pad);                      /* "FB" padding field */
    for (unsigned i = 0; i < pad; i++) put1(z, 'Z');
    put(z, data, n);
}

static void zip_finish(bytes *z, const zent *e, int n) {
    uint32_t cd = (uint32_t)z->n;
    for (int i = 0; i < n; i++) {
        put4(z, 0x02014b50); put2(z, 20); put2(z, 20); put2(z, 0); put2(z, 0);
        put2(z, 0); put2(z, 33);
        put4(z, e[i].crc); put4(z, e[i].size); put4(z, e[i].size);
        put2(z, (unsigned)strlen(e[i].name)); put2(z, 0); put2(z, 0);   /* name, extra, comment */
        put2(z, 0); put2(z, 0); put4(z, 0); put4(z, e[i].off);
        puts_(z, e[i].name);
    }
    uint32_t cdsize = (uint32_t)z->n - cd;
    put4(z, 0x06054b50); put2(z, 0); put2(z, 0); put2(z, (unsigned)n); put2(z, (unsigned)n);
    put4(z, cdsize); put4(z, cd); put2(z, 0);
}

static int write_atomic(rm_ctx *ctx, const char *path, const void *d, size_t n) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return rm_err(ctx, "export: cannot write %s: %s", path, strerror(errno));
    int ok = fwrite(d, 1, n, f) == n;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return rm_err(ctx, "export: cannot write %s: %s", path, strerror(e));
    }
    return RM_OK;
}

static int write_pytorch(rm_ctx *ctx, const keylist *k, const char *path) {
    /* the archive name: the file name without extension, as torch.save does */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char arch[128];
    snprintf(arch, sizeof arch, "%s", base);
    char *dot = strrchr(arch, '.');
    if (dot && dot != arch) *dot = 0;
    for (char *p = arch; *p; p++) if (*p == ' ') *p = '_';
    bytes pk = {0}, z = {0};
    pickle_state(&pk, k);
    zent *ze = calloc((size_t)k->n + 3, sizeof *ze);
    int r = RM_ERR;
    if (pk.bad || !ze) { rm_err(ctx, "export: out of memory"); goto done; }
    int ne = 0;
    char name[300];
    snprintf(name, sizeof name, "%s/data.pkl", arch);
    zip_entry(&z, &ze[ne++], name, pk.p, pk.n);
    snprintf(name, sizeof name, "%s/byteorder", arch);
    zip_entry(&z, &ze[ne++], name, "little", 6);
    for (int i = 0; i < k->n; i++) {
        snprintf(name, sizeof name, "%s/data/%d", arch, i);
        zip_entry(&z, &ze[ne++], name, k->e[i].data, k->e[i].nbytes);
    }
    snprintf(name, sizeof name, "%s/version", arch);
    zip_entry(&z, &ze[ne++], name, "3\n", 2);
    zip_finish(&z, ze, ne);
    if (z.bad) { rm_err(ctx, "export: out of memory"); goto done; }
    if (z.n > 0xffffffffu) { rm_err(ctx, "export: %s would exceed 4 GiB (zip64 is not written)", path); goto done; }
    r = write_atomic(ctx, path, z.p, z.n);
done:
    free(pk.p); free(z.p); free(ze);
    return r;
}

static int write_safetensors(rm_ctx *ctx, const keylist *k, const char *path) {
    rm_st_tensor *t = calloc((size_t)k->n + 1, sizeof *t);
    if (!t) return rm_err(ctx, "export: out of memory");
    for (int i = 0; i < k->n; i++) {
        snprintf(t[i].name, sizeof t[i].name, "%s", k->e[i].name);
        t[i].dtype = k->e[i].i64 ? RM_I64 : RM_F32;
        t[i].ndim = k->e[i].ndim;
        t[i].shape[0] = k->e[i].shape[0];
        t[i].shape[1] = k->e[i].shape[1];
        t[i].data = k->e[i].data;
        t[i].nbytes = k->e[i].nbytes;
    }
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    int r = rm_st_save(ctx, path, t, k->n, mk, mv, 1);
    free(t);
    return r;
}

int rm_export_reference(rm_ctx *ctx, const rm_model *m, const char *path, int format, long long batches_tracked) {
    if (m->net) return rm_err(ctx, "export: a layer-list net is not the paper's ResMLP (use save)");
    keylist k = {0};
    int r = build_keys(ctx, m, &k, batches_tracked);
    if (!r) r = format == RM_EXPORT_SAFETENSORS ? write_safetensors(ctx, &k, path) : write_pytorch(ctx, &k, path);
    keylist_free(&k);
    return r;
}
