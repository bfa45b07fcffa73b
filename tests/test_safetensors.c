/* test_safetensors.c - safetensors round trip (bit-exact), malformed files (every truncation,
 * bad JSON, bad dtype/offsets/shapes), rm_st_get messages, atomic save under a simulated crash,
 * and interop with tests/fixtures/st_interop.safetensors written by make_st_fixture.py.
 * Scratch files go to a fresh directory under /tmp. */
#include "safetensors.h"
#include "tutil.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static const char *tpath(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void put_file(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n) { perror(path); exit(2); }
    fclose(fp);
}

static uint8_t *get_file(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) { perror(path); exit(2); }
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc(*n + 1);
    if (!p || fread(p, 1, *n, fp) != *n) { perror(path); exit(2); }
    fclose(fp);
    return p;
}

/* a hand-made file: header length hlen (as stored), header text, then ndata bytes 0..ndata-1 */
static void put_raw(const char *path, uint64_t hlen, const char *hdr, size_t ndata) {
    size_t l = strlen(hdr);
    uint8_t *p = calloc(8 + l + ndata + 1, 1);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(p + 8, hdr, l);
    for (size_t i = 0; i < ndata; i++) p[8 + l + i] = (uint8_t)i;
    put_file(path, p, 8 + l + ndata);
    free(p);
}

/* a malformed header must fail to load; the message must name the file and contain want */
static void expect_bad(const char *hdr, size_t ndata, const char *want) {
    const char *path = tpath("bad.safetensors");
    put_raw(path, strlen(hdr), hdr, ndata);
    rm_ctx ctx = {0};
    rm_st_file f;
    int r = rm_st_load(&ctx, path, &f);
    CHECK(r == RM_ERR, "header %s loaded", hdr);
    CHECK(strstr(ctx.msg, path) && strstr(ctx.msg, want), "header %s: message '%s' lacks '%s'", hdr, ctx.msg, want);
    CHECK(f.buf == NULL && f.t == NULL && f.n == 0, "failed load left a non-empty struct");
    rm_st_free(&f);
}

static rm_st_tensor mk(const char *name, int dtype, int ndim, const int64_t *shape, const void *data) {
    rm_st_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.dtype = dtype;
    t.ndim = ndim;
    size_t n = (size_t)rm_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) { t.shape[i] = shape[i]; n *= (size_t)shape[i]; }
    t.data = data;
    t.nbytes = n;
    return t;
}

static void test_round_trip(void) {
    rm_ctx ctx = {0};
    uint32_t fbits[8] = { 0x7fc00000u, 0x7fc00001u, 0xffc12345u, 0x7f800000u,
                          0xff800000u, 0x80000000u, 0x3f800000u, 0x00000001u };
    int8_t i8[5] = { -128, -1, 0, 1, 127 };
    int32_t i32[3] = { INT_MIN, -7, INT_MAX };
    uint8_t u8[3] = { 0, 200, 255 };
    int64_t i64[2] = { INT64_MIN, 1234567890123ll };
    double f64[2] = { -0.0, 1e300 };
    float scalar = 3.5f;
    int64_t s24[2] = { 2, 4 }, s5[1] = { 5 }, s3[1] = { 3 }, s2[1] = { 2 }, s05[2] = { 0, 5 };
    rm_st_tensor t[8] = {
        mk("f32", RM_F32, 2, s24, fbits), mk("i32", RM_I32, 1, s3, i32), mk("scalar", RM_F32, 0, NULL, &scalar),
        mk("i64", RM_I64, 1, s2, i64), mk("f64", RM_F64, 1, s2, f64), mk("i8", RM_I8, 1, s5, i8),
        mk("empty", RM_F32, 2, s05, NULL), mk("u8", RM_U8, 1, s3, u8),
    };
    const char *mkey[3] = { "quote\"key", "unicode", "plain" };
    const char *mval[3] = { "say \"hi\"\\ \n\t end", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "" };
    const char *path = tpath("rt.safetensors");
    CHECK_OK(rm_st_save(&ctx, path, t, 8, mkey, mval, 3), &ctx);

    size_t n;
    uint8_t *raw = get_file(path, &n);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)raw[i] << (8 * i);
    CHECK(hlen % 8 == 0 && 8 + hlen + 88 == n, "header %llu not padded to 8 or file size %zu wrong",
          (unsigned long long)hlen, n);

    rm_st_file f;
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    CHECK(f.n == 8 && f.nmeta == 3, "n=%d nmeta=%d", f.n, f.nmeta);
    for (int i = 0; i < 8 && i < f.n; i++) {
        const rm_st_tensor *g = rm_st_find(&f, t[i].name);
        CHECK(g != NULL, "tensor %s missing", t[i].name);
        if (!g) continue;
        CHECK(g->dtype == t[i].dtype && g->ndim == t[i].ndim && g->nbytes == t[i].nbytes, "%s header differs", g->name);
        CHECK(memcmp(g->shape, t[i].shape, sizeof g->shape) == 0, "%s shape differs", g->name);
        CHECK(t[i].nbytes == 0 || memcmp(g->data, t[i].data, t[i].nbytes) == 0, "%s data not bit-exact", g->name);
    }
    CHECK(strcmp(f.t[0].name, "f32") == 0 && strcmp(f.t[7].name, "u8") == 0, "tensor order not kept");
    for (int i = 0; i < 3; i++) {
        const char *v = rm_st_meta(&f, mkey[i]);
        CHECK(v && strcmp(v, mval[i]) == 0, "metadata %s = '%s'", mkey[i], v ? v : "(null)");
    }
    CHECK(rm_st_meta(&f, "nope") == NULL && rm_st_find(&f, "nope") == NULL, "found a missing name");
    CHECK(strcmp(rm_st_path(&f), path) == 0, "rm_st_path '%s'", rm_st_path(&f));

    /* rm_st_get: exact, wildcard, wrong shape, wrong dtype, wrong ndim, missing */
    const void *d = NULL;
    int64_t want[2] = { 2, 4 }, wild[2] = { -1, 4 }, wrong[2] = { 4, 2 };
    CHECK_OK(rm_st_get(&ctx, &f, "f32", RM_F32, 2, want, &d), &ctx);
    CHECK(d && memcmp(d, fbits, sizeof fbits) == 0 && (uintptr_t)d % 64 == 0, "rm_st_get data");
    CHECK_OK(rm_st_get(&ctx, &f, "f32", RM_F32, 2, wild, &d), &ctx);
    CHECK_OK(rm_st_get(&ctx, &f, "scalar", RM_F32, 0, NULL, &d), &ctx);
    CHECK(d && *(const float *)d == 3.5f, "scalar value");
    CHECK(rm_st_get(&ctx, &f, "f32", RM_F32, 2, wrong, &d) == RM_ERR && d == NULL, "wrong shape accepted");
    CHECK(strstr(ctx.msg, path) && strstr(ctx.msg, "'f32'") && strstr(ctx.msg, "F32 [4,2]") && strstr(ctx.msg, "F32 [2,4]"),
          "wrong-shape message: %s", ctx.msg);
    CHECK(rm_st_get(&ctx, &f, "f32", RM_I32, 2, want, &d) == RM_ERR && strstr(ctx.msg, "I32"), "wrong dtype: %s", ctx.msg);
    CHECK(rm_st_get(&ctx, &f, "f32", RM_F32, 1, want, &d) == RM_ERR, "wrong ndim accepted");
    CHECK(rm_st_get(&ctx, &f, "nope", RM_F32, 1, want, &d) == RM_ERR && strstr(ctx.msg, "'nope'"), "missing: %s", ctx.msg);
    /* offsets: i32 32, i64 48, f64 64, u8 85 - each aligned for its dtype */
    CHECK_OK(rm_st_get(&ctx, &f, "u8", RM_U8, 1, s3, &d), &ctx);
    CHECK_OK(rm_st_get(&ctx, &f, "f64", RM_F64, 1, s2, &d), &ctx);
    CHECK_OK(rm_st_get(&ctx, &f, "i32", RM_I32, 1, s3, &d), &ctx);
    CHECK_OK(rm_st_get(&ctx, &f, "i64", RM_I64, 1, s2, &d), &ctx);
    CHECK(d && ((const int64_t *)d)[1] == 1234567890123ll, "i64 value");
    rm_st_free(&f);
    rm_st_free(&f); /* idempotent */
    CHECK(f.buf == NULL && f.n == 0 && f.nmeta == 0, "free did not zero");

    /* every truncation of the file fails cleanly */
    const char *tr = tpath("trunc.safetensors");
    int bad = 0;
    for (size_t l = 0; l < n; l++) {
        put_file(tr, raw, l);
        rm_st_file g;
        ctx.msg[0] = 0;
        if (rm_st_load(&ctx, tr, &g) != RM_ERR || !strstr(ctx.msg, tr) || g.buf) bad++;
        rm_st_free(&g);
    }
    CHECK(bad == 0, "%d of %zu truncations loaded or gave no message", bad, n);
    free(raw);

    /* a misaligned F32 (after 3 bytes of I8) loads, but rm_st_get refuses to hand it out as float */
    rm_st_tensor mis[2] = { mk("i8", RM_I8, 1, s3, i8), mk("f", RM_F32, 1, s2, fbits) };
    CHECK_OK(rm_st_save(&ctx, path, mis, 2, NULL, NULL, 0), &ctx);
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    CHECK(rm_st_get(&ctx, &f, "f", RM_F32, 1, s2, &d) == RM_ERR && strstr(ctx.msg, "aligned"), "misaligned: %s", ctx.msg);
    rm_st_free(&f);

    /* bad save arguments */
    rm_st_tensor lie = mk("x", RM_F32, 1, s2, fbits);
    lie.nbytes = 4;
    CHECK(rm_st_save(&ctx, path, &lie, 1, NULL, NULL, 0) == RM_ERR && strstr(ctx.msg, "'x'"), "nbytes lie: %s", ctx.msg);
    rm_st_tensor dup[2] = { mk("x", RM_F32, 1, s2, fbits), mk("x", RM_F32, 1, s2, fbits) };
    CHECK(rm_st_save(&ctx, path, dup, 2, NULL, NULL, 0) == RM_ERR && strstr(ctx.msg, "duplicate"), "dup: %s", ctx.msg);
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx); /* refused saves left the previous file */
    CHECK(f.n == 2, "previous file changed");
    rm_st_free(&f);
}

static void test_malformed(void) {
    rm_ctx ctx = {0};
    rm_st_file f;
    expect_bad("{\"a\":", 0, "not valid JSON");
    expect_bad("[1,2]   ", 0, "not an object");
    expect_bad("{} x    ", 0, "trailing");
    expect_bad("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "'F16'");
    expect_bad("{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,400]}}", 16, "'a': data_offsets [0,400] outside");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,4]}}", 16, "'a'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 16, "'a': data_offsets");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 24,
               "'a': data_offsets [0,16] hold 16 bytes but shape [2,3] F32 needs 24");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0]");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "shape[0]");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, "9 dims");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,1]}}", 1,
               "needs more than");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "shape");
    expect_bad("{\"a\":3}", 8, "'a': entry is not");
    expect_bad("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps");
    expect_bad("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "twice");
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "'k' is not a string");
    expect_bad("{\"__metadata__\":[]}", 0, "__metadata__");

    /* header length larger than the file, and absurdly large */
    const char *path = tpath("hl.safetensors");
    const char *ok = "{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    put_raw(path, 1000, ok, 2);
    CHECK(rm_st_load(&ctx, path, &f) == RM_ERR && strstr(ctx.msg, "header length 1000 exceeds"), "%s", ctx.msg);
    put_raw(path, 1ull << 62, ok, 2);
    CHECK(rm_st_load(&ctx, path, &f) == RM_ERR && strstr(ctx.msg, path), "%s", ctx.msg);
    put_raw(path, strlen(ok), ok, 2); /* and the same file with the right length loads */
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    CHECK(f.n == 1 && ((const int8_t *)f.t[0].data)[1] == 1, "hand-made file content");
    rm_st_free(&f);
    put_raw(path, 2, "{}", 0); /* empty but valid */
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    CHECK(f.n == 0 && f.nmeta == 0, "empty file");
    rm_st_free(&f);

    CHECK(rm_st_load(&ctx, tpath("missing.safetensors"), &f) == RM_ERR && strstr(ctx.msg, "No such file"), "%s", ctx.msg);
    CHECK(rm_st_load(&ctx, g_dir, &f) == RM_ERR && strstr(ctx.msg, g_dir), "directory: %s", ctx.msg);
    rm_st_file z;
    memset(&z, 0, sizeof z);
    rm_st_free(&z);
    rm_st_free(&z);
    rm_st_free(NULL);
}

static void test_atomic(void) {
    rm_ctx ctx = {0};
    rm_st_file f;
    float v1[64], v2[64];
    for (int i = 0; i < 64; i++) { v1[i] = (float)i; v2[i] = -1.0f - (float)i; }
    int64_t s[1] = { 64 };
    rm_st_tensor a = mk("v", RM_F32, 1, s, v1), b = mk("v", RM_F32, 1, s, v2);
    const char *path = tpath("atomic.safetensors");
    CHECK_OK(rm_st_save(&ctx, path, &a, 1, NULL, NULL, 0), &ctx);

    long limits[3] = { 1, 100, 256 }; /* inside, mid-way, and after the last byte but before rename */
    for (int k = 0; k < 3; k++) {
        rm_st_fail_after_bytes = limits[k];
        int r = rm_st_save(&ctx, path, &b, 1, NULL, NULL, 0);
        rm_st_fail_after_bytes = 0;
        CHECK(r == RM_ERR && strstr(ctx.msg, "simulated") && strstr(ctx.msg, path), "crash %ld: %s", limits[k], ctx.msg);
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        CHECK(access(tmp, F_OK) == 0, "crash left no temp file %s", tmp);
        remove(tmp);
        CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
        CHECK(f.n == 1 && memcmp(f.t[0].data, v1, sizeof v1) == 0, "old contents lost after crash %ld", limits[k]);
        rm_st_free(&f);
    }
    CHECK_OK(rm_st_save(&ctx, path, &b, 1, NULL, NULL, 0), &ctx);
    CHECK_OK(rm_st_load(&ctx, path, &f), &ctx);
    CHECK(f.n == 1 && memcmp(f.t[0].data, v2, sizeof v2) == 0, "overwrite did not replace contents");
    rm_st_free(&f);

    const char *nodir = tpath("no/such/dir/m.safetensors");
    CHECK(rm_st_save(&ctx, nodir, &a, 1, NULL, NULL, 0) == RM_ERR && strstr(ctx.msg, nodir) &&
          strstr(ctx.msg, "No such file"), "nonexistent dir: %s", ctx.msg);

    /* rename over a directory fails: the temp file must be removed */
    const char *dpath = tpath("isdir.safetensors");
    mkdir(dpath, 0755);
    CHECK(rm_st_save(&ctx, dpath, &a, 1, NULL, NULL, 0) == RM_ERR && strstr(ctx.msg, "rename"), "rename: %s", ctx.msg);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dpath, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "failed save left %s", tmp);
    rmdir(dpath);
}

static void test_interop(void) {
    rm_ctx ctx = {0};
    rm_st_file f;
    CHECK_OK(rm_st_load(&ctx, "tests/fixtures/st_interop.safetensors", &f), &ctx);
    CHECK(f.n == 3 && f.nmeta == 2, "n=%d nmeta=%d", f.n, f.nmeta);
    const void *d;
    int64_t s23[2] = { 2, 3 }, s4[1] = { 4 }, s5[1] = { 5 };
    CHECK_OK(rm_st_get(&ctx, &f, "w", RM_F32, 2, s23, &d), &ctx);
    for (int i = 0; d && i < 6; i++) CHECK(((const float *)d)[i] == i * 0.5f - 1, "w[%d]", i);
    CHECK_OK(rm_st_get(&ctx, &f, "idx", RM_I64, 1, s4, &d), &ctx);
    for (int i = 0; d && i < 4; i++) CHECK(((const int64_t *)d)[i] == i * 1000000000000ll - 1, "idx[%d]", i);
    CHECK_OK(rm_st_get(&ctx, &f, "b", RM_I8, 1, s5, &d), &ctx);
    for (int i = 0; d && i < 5; i++) CHECK(((const int8_t *)d)[i] == i - 2, "b[%d]", i);
    const char *note = rm_st_meta(&f, "note"), *fmt = rm_st_meta(&f, "format");
    CHECK(note && strcmp(note, "caf\xc3\xa9 \"quoted\" \\ \xe2\x9c\x93") == 0, "note '%s'", note ? note : "(null)");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "format");
    rm_st_free(&f);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/rm_st_XXXXXX");
    if (!mkdtemp(g_dir)) { perror("mkdtemp"); return 2; }
    test_round_trip();
    test_malformed();
    test_atomic();
    test_interop();
    const char *files[] = { "rt.safetensors", "trunc.safetensors", "bad.safetensors", "hl.safetensors",
                            "atomic.safetensors" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) remove(tpath(files[i]));
    rmdir(g_dir);
    TEST_END();
}
