/* gemm.c - backend of rm_gemm (see gemm.h): run-time ISA choice, a cache of oneDNN matmul primitives
 * keyed by shape / layout / precision, bf16 conversion of the inputs, and OpenBLAS as reference path. */
#include "gemm.h"
#include "bf16.h"
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __x86_64__
#include <cpuid.h>
#include <immintrin.h>
#endif

static const char *isa_names[] = {"openblas", "avx2", "avx512", "avx512_bf16", "amx"};
const char *rm_isa_name(rm_isa isa) { return isa >= 0 && isa <= RM_ISA_AMX ? isa_names[isa] : "?"; }
int rm_isa_parse(const char *s) {
    for (int i = 0; i <= RM_ISA_AMX; i++)
        if (!strcmp(s, isa_names[i])) return i;
    if (!strcmp(s, "avx512_core")) return RM_ISA_AVX512;
    if (!strcmp(s, "amx_bf16")) return RM_ISA_AMX;
    return -1;
}
const char *rm_precision_name(rm_precision p) { return p == RM_PREC_BF16 ? "bf16" : "fp32"; }
int rm_precision_parse(const char *s) {
    if (!strcmp(s, "fp32") || !strcmp(s, "f32")) return RM_PREC_FP32;
    if (!strcmp(s, "bf16")) return RM_PREC_BF16;
    return -1;
}

/* ---- CPU probe: CPUID leaf 7 plus the OS's XSAVE state (XCR0), so a flag the kernel does not enable
 * counts as absent. AMX also needs the Linux permission for tile data, which oneDNN requests. ---- */
static rm_isa probe_cpu(void) {
#ifdef __x86_64__
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return RM_ISA_OPENBLAS;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1;
    if (!osxsave) return RM_ISA_OPENBLAS;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
    if ((xcr0 & 6) != 6) return RM_ISA_OPENBLAS;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1,
        avx512dq = (b >> 17) & 1, amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
    unsigned a1 = 0, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    int avx512_bf16 = (a1 >> 5) & 1;
    int os_zmm = (xcr0 & 0xe6) == 0xe6, os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);
    int core512 = avx512f && avx512bw && avx512vl && avx512dq && os_zmm;
    if (core512 && avx512_bf16 && amx_bf16 && amx_tile && os_amx) return RM_ISA_AMX;
    if (core512 && avx512_bf16) return RM_ISA_AVX512_BF16;
    if (core512) return RM_ISA_AVX512;
    if (avx2 && fma) return RM_ISA_AVX2;
#endif
    return RM_ISA_OPENBLAS;
}

/* ---- module state ---- */
#define CACHE_N 256
typedef struct {
    int used, tA, tB, M, N, K, lda, ldb, ldc, prec;
    float alpha, beta;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
} gemm_entry;

static struct {
    int ready;
    rm_isa cpu, isa;
    char env_notice[160];
    rm_precision prec;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    int dnnl_ok;
    gemm_entry cache[CACHE_N];
    int evict;
    long created, hits;
    uint16_t *abuf, *bbuf; /* bf16 copies of A and B */
    size_t acap, bcap;
    float *fbuf;           /* fp32 widening of a bf16 operand on a path without bf16 units */
    size_t fcap;
} G;

static void setup(void) {
    if (G.ready) return;
    G.ready = 1;
    G.cpu = probe_cpu();
    G.isa = G.cpu;
    const char *e = getenv("RESMLP_ISA");
    if (e && *e) {
        int want = rm_isa_parse(e);
        if (want < 0)
            snprintf(G.env_notice, sizeof G.env_notice,
                     "RESMLP_ISA=%s unknown (amx|avx512_bf16|avx512|avx2|openblas), using %s", e, rm_isa_name(G.cpu));
        else if (want > (int)G.cpu)
            snprintf(G.env_notice, sizeof G.env_notice, "RESMLP_ISA=%s: this CPU has only %s", e, rm_isa_name(G.cpu));
        else {
            G.isa = (rm_isa)want;
            if (want < (int)G.cpu) snprintf(G.env_notice, sizeof G.env_notice, "lowered by RESMLP_ISA=%s", e);
        }
    }
    if (G.isa == RM_ISA_OPENBLAS) return;
    static const dnnl_cpu_isa_t cap[] = {dnnl_cpu_isa_all, dnnl_cpu_isa_avx2, dnnl_cpu_isa_avx512_core_vnni,
                                         dnnl_cpu_isa_avx512_core_bf16, dnnl_cpu_isa_avx512_core_amx};
    dnnl_set_max_cpu_isa(cap[G.isa]);
    if (dnnl_engine_create(&G.eng, dnnl_cpu, 0) == dnnl_success &&
        dnnl_stream_create(&G.strm, G.eng, dnnl_stream_default_flags) == dnnl_success)
        G.dnnl_ok = 1;
    else {
        snprintf(G.env_notice, sizeof G.env_notice, "oneDNN engine could not start, using OpenBLAS");
        G.isa = RM_ISA_OPENBLAS;
    }
}

rm_isa rm_gemm_isa(void) { setup(); return G.isa; }
rm_isa rm_gemm_cpu_isa(void) { setup(); return G.cpu; }
rm_precision rm_gemm_precision(void) { return G.prec; }

rm_precision rm_gemm_set_precision(rm_precision p, char *notice, size_t n) {
    setup();
    if (notice && n) notice[0] = 0;
    if (p == RM_PREC_BF16 && G.isa < RM_ISA_AVX512_BF16) {
        if (notice && n)
            snprintf(notice, n, "precision bf16: path %s has no bf16 units (needs avx512_bf16 or amx), using fp32",
                     rm_isa_name(G.isa));
        p = RM_PREC_FP32;
    }
    G.prec = p;
    return p;
}

void rm_gemm_describe(char *buf, size_t n) {
    setup();
    const dnnl_version_t *v = dnnl_version();
    if (G.isa == RM_ISA_OPENBLAS)
        snprintf(buf, n, "matmul: OpenBLAS sgemm, fp32 (cpu offers %s)%s%s", rm_isa_name(G.cpu),
                 G.env_notice[0] ? "; " : "", G.env_notice);
    else
        snprintf(buf, n, "matmul: oneDNN %d.%d.%d on %s, precision %s (cpu offers %s)%s%s", v->major, v->minor,
                 v->patch, rm_isa_name(G.isa), rm_precision_name(G.prec), rm_isa_name(G.cpu),
                 G.env_notice[0] ? "; " : "", G.env_notice);
}

static void entry_free(gemm_entry *e) {
    if (!e->used) return;
    dnnl_primitive_destroy(e->prim);
    dnnl_memory_destroy(e->a);
    dnnl_memory_destroy(e->b);
    dnnl_memory_destroy(e->c);
    memset(e, 0, sizeof *e);
}

void rm_gemm_release(void) {
    for (int i = 0; i < CACHE_N; i++) entry_free(&G.cache[i]);
    free(G.abuf);
    free(G.bbuf);
    free(G.fbuf);
    G.abuf = G.bbuf = NULL;
    G.fbuf = NULL;
    G.acap = G.bcap = G.fcap = 0;
}

void rm_gemm_stats(long *created, long *hits) {
    if (created) *created = G.created;
    if (hits) *hits = G.hits;
}

/* ---- bf16 conversion (round to nearest even; NaN stays NaN) ---- */
static inline uint16_t f2bf(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
float rm_bf16_round(float x) {
    uint32_t u = (uint32_t)f2bf(x) << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}


void rm_bf16_convert(const float *src, unsigned short *dst, size_t n) {
    setup();
#ifdef __x86_64__
    if (G.cpu >= RM_ISA_AVX512_BF16) {
        while (n > 0) {
            int k = n > (1u << 30) ? 1 << 30 : (int)n;
            rm_bf16_row_hw(src, dst, k);
            src += k; dst += k; n -= (size_t)k;
        }
        return;
    }
#endif
    for (size_t j = 0; j < n; j++) dst[j] = f2bf(src[j]);
}

int rm_gemm_has_bf16(void) { setup(); return G.isa >= RM_ISA_AVX512_BF16 && G.dnnl_ok; }

// src is (rows, cols) with leading dim ld (fp32); dst is its transpose (cols, rows) compact, in bf16
static void to_bf16_t(const float *src, int rows, int cols, int ld, uint16_t *dst) {
    enum { TB = 16 };
#pragma omp parallel for schedule(static) if ((long)rows * cols > 32768)
    for (int c0 = 0; c0 < cols; c0 += TB) {
        int c1 = c0 + TB < cols ? c0 + TB : cols;
        for (int r0 = 0; r0 < rows; r0 += 64) {
            int r1 = r0 + 64 < rows ? r0 + 64 : rows;
            float tile[TB][64];
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++) tile[c - c0][r - r0] = src[(size_t)r * ld + c];
            for (int c = c0; c < c1; c++) {
                uint16_t *d = dst + (size_t)c * rows + r0;
#ifdef __x86_64__
                if (G.cpu >= RM_ISA_AVX512_BF16) { rm_bf16_row_hw(tile[c - c0], d, r1 - r0); continue; }
#endif
                for (int r = r0; r < r1; r++) d[r - r0] = f2bf(tile[c - c0][r - r0]);
            }
        }
    }
}

// src is (rows, cols) with leading dim ld; dst is (rows, cols) compact
static void to_bf16(const float *src, int rows, int cols, int ld, uint16_t *dst) {
    int hw = G.cpu >= RM_ISA_AVX512_BF16;
#pragma omp parallel for schedule(static) if ((long)rows * cols > 32768)
    for (int r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * ld;
        uint16_t *d = dst + (size_t)r * cols;
#ifdef __x86_64__
        if (hw) { rm_bf16_row_hw(s, d, cols); continue; }
#endif
        for (int j = 0; j < cols; j++) d[j] = f2bf(s[j]);
    }
}

static int grow(uint16_t **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 1;
    void *p = realloc(*buf, n * sizeof(uint16_t));
    if (!p) return 0;
    *buf = p;
    *cap = n;
    return 1;
}

/* ---- oneDNN primitive for one key ---- */
static int make_entry(gemm_entry *e) {
    dnnl_data_type_t dt = e->prec == RM_PREC_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_dims_t ad = {e->M, e->K}, bd = {e->K, e->N}, cd = {e->M, e->N};
    dnnl_dims_t as, bs, cs = {e->ldc, 1};
    if (e->tA) { as[0] = 1; as[1] = e->lda; } else { as[0] = e->lda; as[1] = 1; }
    if (e->tB) { bs[0] = 1; bs[1] = e->ldb; } else { bs[0] = e->ldb; bs[1] = 1; }
    if (dnnl_memory_desc_init_by_strides(&amd, 2, ad, dt, as) || dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dt, bs) ||
        dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs))
        return 0;
    dnnl_matmul_desc_t md;
    if (dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &cmd)) return 0;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr)) return 0;
    int ok = 1;
    if (e->alpha != 1.0f) ok = ok && !dnnl_primitive_attr_set_output_scales(attr, 1, 0, &e->alpha);
    if (e->beta != 0.0f) {
        dnnl_post_ops_t po;
        ok = ok && !dnnl_post_ops_create(&po);
        if (ok) {
            ok = !dnnl_post_ops_append_sum(po, e->beta) && !dnnl_primitive_attr_set_post_ops(attr, po);
            dnnl_post_ops_destroy(po);
        }
    }
    dnnl_primitive_desc_t pd = NULL;
    ok = ok && !dnnl_primitive_desc_create(&pd, &md, attr, G.eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (!ok) return 0;
    if (getenv("RESMLP_GEMM_VERBOSE")) {
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        fprintf(stderr, "gemm: %c%c M=%d N=%d K=%d %s -> %s\n", e->tA ? 'T' : 'N', e->tB ? 'T' : 'N', e->M, e->N, e->K,
                e->prec ? "bf16" : "fp32", impl ? impl : "?");
    }
    ok = !dnnl_primitive_create(&e->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (!ok) return 0;
    if (dnnl_memory_create(&e->a, &amd, G.eng, DNNL_MEMORY_NONE) || dnnl_memory_create(&e->b, &bmd, G.eng, DNNL_MEMORY_NONE) ||
        dnnl_memory_create(&e->c, &cmd, G.eng, DNNL_MEMORY_NONE)) {
        dnnl_primitive_destroy(e->prim);
        return 0;
    }
    e->used = 1;
    G.created++;
    return 1;
}

static gemm_entry *lookup(int tA, int tB, int M, int N, int K, int lda, int ldb, int ldc, int prec, float alpha,
                          float beta) {
    uint64_t h = 1469598103934665603ull;
    int key[] = {tA, tB, M, N, K, lda, ldb, ldc, prec};
    for (int i = 0; i < 9; i++) h = (h ^ (uint32_t)key[i]) * 1099511628211ull;
    uint32_t fa, fb;
    memcpy(&fa, &alpha, 4);
    memcpy(&fb, &beta, 4);
    h = ((h ^ fa) * 1099511628211ull ^ fb) * 1099511628211ull;
    int start = (int)(h % CACHE_N);
    for (int p = 0; p < 8; p++) {
        gemm_entry *e = &G.cache[(start + p) % CACHE_N];
        if (!e->used) break;
        if (e->tA == tA && e->tB == tB && e->M == M && e->N == N && e->K == K && e->lda == lda && e->ldb == ldb &&
            e->ldc == ldc && e->prec == prec && e->alpha == alpha && e->beta == beta) {
            G.hits++;
            return e;
        }
    }
    /* a free slot in the probe window, or evict one of its entries in turn */
    gemm_entry *slot = NULL;
    for (int p = 0; p < 8 && !slot; p++)
        if (!G.cache[(start + p) % CACHE_N].used) slot = &G.cache[(start + p) % CACHE_N];
    if (!slot) {
        slot = &G.cache[(start + G.evict) % CACHE_N];
        G.evict = (G.evict + 1) % 8;
        entry_free(slot);
    }
    *slot = (gemm_entry){0, tA, tB, M, N, K, lda, ldb, ldc, prec, alpha, beta, NULL, NULL, NULL, NULL};
    if (!make_entry(slot)) {
        memset(slot, 0, sizeof *slot);
        return NULL;
    }
    return slot;
}

static void blas(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

// A is (M,K) or (K,M), B is (K,N) or (N,K), C is (M,N)
void rm_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    setup();
    if (K <= 0 || G.isa == RM_ISA_OPENBLAS || !G.dnnl_ok) {
        blas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int prec = G.prec, olda = lda, oldb = ldb;
    const void *pa = A, *pb = B;
    /* bf16 pays for converting A and B first. With A transposed (the weight-gradient products dy^T x,
     * whose K is the whole batch) oneDNN's bf16 kernel also repacks A, and bench_gemm measures it no
     * faster than fp32 (slower on the narrow layers), so those stay fp32. A fixed rule, not a timing,
     * so a bf16 run is reproducible. */
    if (prec == RM_PREC_BF16 && transA) prec = RM_PREC_FP32;
    if (prec == RM_PREC_BF16) {
        /* bf16 copies keep the stored orientation, compact: op(A) stays a transpose when transA */
        int ar = transA ? K : M, ac = transA ? M : K, br = transB ? N : K, bc = transB ? K : N;
        if (!grow(&G.abuf, &G.acap, (size_t)ar * ac) || !grow(&G.bbuf, &G.bcap, (size_t)br * bc)) {
            blas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); /* out of memory: fp32 */
            return;
        }
        to_bf16(A, ar, ac, lda, G.abuf);
        to_bf16(B, br, bc, ldb, G.bbuf);
        lda = ac;
        ldb = bc;
        pa = G.abuf;
        pb = G.bbuf;
    }
    gemm_entry *e = lookup(transA, transB, M, N, K, lda, ldb, ldc, prec, alpha, beta);
    if (!e) { /* a shape oneDNN refuses: the reference path keeps the result right */
        blas(transA, transB, M, N, K, alpha, A, olda, B, oldb, beta, C, ldc);
        return;
    }
    dnnl_memory_set_data_handle(e->a, (void *)pa);
    dnnl_memory_set_data_handle(e->b, (void *)pb);
    dnnl_memory_set_data_handle(e->c, C);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if (dnnl_primitive_execute(e->prim, G.strm, 3, args) != dnnl_success)
        blas(transA, transB, M, N, K, alpha, A, olda, B, oldb, beta, C, ldc);
    else
        dnnl_stream_wait(G.strm);
}

/* run one cached primitive on A, B (already in the primitive's data type); 0 when oneDNN cannot */
static int run_prim(int tA, int tB, int M, int N, int K, float alpha, const void *A, int lda, const void *B, int ldb,
                    float beta, float *C, int ldc, int prec) {
    gemm_entry *e = lookup(tA, tB, M, N, K, lda, ldb, ldc, prec, alpha, beta);
    if (!e) return 0;
    dnnl_memory_set_data_handle(e->a, (void *)A);
    dnnl_memory_set_data_handle(e->b, (void *)B);
    dnnl_memory_set_data_handle(e->c, C);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if (dnnl_primitive_execute(e->prim, G.strm, 3, args) != dnnl_success) return 0;
    dnnl_stream_wait(G.strm);
    return 1;
}

static inline float bf2f(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

// A is (M,K) or (K,M), B is (K,N) or (N,K), either fp32 or bf16 (flags); C is (M,N) fp32
void rm_gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const void *A, int a_bf16, int lda,
                  const void *B, int b_bf16, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    setup();
    int ar = transA ? K : M, ac = transA ? M : K, br = transB ? N : K, bc = transB ? K : N;
    if (K > 0 && rm_gemm_has_bf16()) {
        const void *pa = A, *pb = B;
        int tA = transA, la = lda, lb = ldb;
        int ok = grow(&G.abuf, &G.acap, a_bf16 ? 1 : (size_t)ar * ac) && grow(&G.bbuf, &G.bcap, b_bf16 ? 1 : (size_t)br * bc);
        if (ok) {
            if (!a_bf16) {
                if (transA) { to_bf16_t(A, K, M, lda, G.abuf); tA = 0; la = K; }   /* op(A) compact (M,K) */
                else { to_bf16(A, M, K, lda, G.abuf); la = K; }
                pa = G.abuf;
            }
            if (!b_bf16) { to_bf16(B, br, bc, ldb, G.bbuf); lb = bc; pb = G.bbuf; }
            if (run_prim(tA, transB, M, N, K, alpha, pa, la, pb, lb, beta, C, ldc, RM_PREC_BF16)) return;
        }
    }
    /* no bf16 units (or oneDNN refused): widen bf16 operands and run the fp32 product */
    size_t na = a_bf16 ? (size_t)ar * ac : 0, nb = b_bf16 ? (size_t)br * bc : 0;
    if (na + nb > G.fcap) {
        float *f = realloc(G.fbuf, (na + nb) * sizeof(float));
        if (!f) {   /* out of memory for the widened copy: the plain triple loop, slow but right */
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    float acc = 0;
                    for (int k = 0; k < K; k++) {
                        size_t ia = transA ? (size_t)k * lda + i : (size_t)i * lda + k;
                        size_t ib = transB ? (size_t)j * ldb + k : (size_t)k * ldb + j;
                        float a = a_bf16 ? bf2f(((const uint16_t *)A)[ia]) : ((const float *)A)[ia];
                        float b = b_bf16 ? bf2f(((const uint16_t *)B)[ib]) : ((const float *)B)[ib];
                        acc += a * b;
                    }
                    C[(size_t)i * ldc + j] = alpha * acc + (beta != 0 ? beta * C[(size_t)i * ldc + j] : 0);
                }
            return;
        }
        G.fbuf = f;
        G.fcap = na + nb;
    }
    const float *fa = A, *fb = B;
    int la = lda, lb = ldb;
    if (a_bf16) {
        for (int r = 0; r < ar; r++)
            for (int c = 0; c < ac; c++) G.fbuf[(size_t)r * ac + c] = bf2f(((const uint16_t *)A)[(size_t)r * lda + c]);
        fa = G.fbuf; la = ac;
    }
    if (b_bf16) {
        for (int r = 0; r < br; r++)
            for (int c = 0; c < bc; c++) G.fbuf[na + (size_t)r * bc + c] = bf2f(((const uint16_t *)B)[(size_t)r * ldb + c]);
        fb = G.fbuf + na; lb = bc;
    }
    rm_precision p = G.prec;
    G.prec = RM_PREC_FP32;
    rm_gemm(transA, transB, M, N, K, alpha, fa, la, fb, lb, beta, C, ldc);
    G.prec = p;
}
