/* ctx.c - error context, allocation helpers, thread setting, RNG and clock for the core. */
#define _POSIX_C_SOURCE 200809L
#include "ctx.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int rm_err(rm_ctx *ctx, const char *fmt, ...) {
    if (!ctx) return RM_ERR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
    va_end(ap);
    for (char *p = ctx->msg; *p; p++) if (*p == '\n') *p = ' ';
    return RM_ERR;
}

int rm_errprefix(rm_ctx *ctx, const char *fmt, ...) {
    if (!ctx) return RM_ERR;
    char pre[256], old[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", ctx->msg);
    snprintf(ctx->msg, sizeof ctx->msg, "%.255s: %.700s", pre, old);
    return RM_ERR;
}

void rm_clear(rm_ctx *ctx) { if (ctx) ctx->msg[0] = 0; }
int rm_interrupted(const rm_ctx *ctx) { return ctx && ctx->interrupt && *ctx->interrupt; }

void *rm_malloc(rm_ctx *ctx, size_t n, const char *what) {
    void *p = NULL;
    if (n == 0) n = 1;
    if (posix_memalign(&p, 64, n) != 0) { rm_err(ctx, "out of memory allocating %zu bytes for %s", n, what); return NULL; }
    return p;
}
void *rm_calloc(rm_ctx *ctx, size_t n, const char *what) {
    void *p = rm_malloc(ctx, n, what);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

extern void openblas_set_num_threads(int);
static int g_threads = 1;
int rm_set_threads(int n) {
    if (n <= 0) {
        const char *e = getenv("RESMLP_THREADS");
        n = e && atoi(e) > 0 ? atoi(e) : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (n <= 0) n = 1;
    }
    g_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
    return n;
}
int rm_get_threads(void) { return g_threads; }

uint64_t rm_rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
float rm_rng_uniform(uint64_t *s) { return (float)((rm_rng_next(s) >> 40) * (1.0 / 16777216.0)); }
float rm_rng_normal(uint64_t *s) {
    double u1 = ((rm_rng_next(s) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (rm_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
uint32_t rm_rng_below(uint64_t *s, uint32_t n) { return (uint32_t)(((rm_rng_next(s) >> 32) * (uint64_t)n) >> 32); }

double rm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
