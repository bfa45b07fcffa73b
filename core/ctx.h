/* ctx.h - error context shared by every core function.
 * Core functions never print and never exit: they return RM_OK or RM_ERR and leave a one-line
 * message in the context, which the caller (CLI, REPL, Lua binding, test) reads and reports. */
#ifndef RM_CTX_H
#define RM_CTX_H
#include <stddef.h>
#include <stdint.h>

enum { RM_OK = 0, RM_ERR = -1 };

typedef struct rm_ctx {
    char msg[1024];               /* last error, one line */
    volatile int *interrupt;      /* if non-NULL and *interrupt != 0, long loops stop at a safe point */
} rm_ctx;

/* set the error message (printf style) and return RM_ERR */
int rm_err(rm_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* prefix the current message with "what: " (for adding context while unwinding) */
int rm_errprefix(rm_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rm_clear(rm_ctx *ctx);
int rm_interrupted(const rm_ctx *ctx);

/* malloc that reports failure into ctx (returns NULL on failure) */
void *rm_malloc(rm_ctx *ctx, size_t n, const char *what);
void *rm_calloc(rm_ctx *ctx, size_t n, const char *what);

/* threads: one setting drives OpenMP and OpenBLAS. n <= 0 means: RESMLP_THREADS or all cores. */
int rm_set_threads(int n);
int rm_get_threads(void);

/* small deterministic RNG (splitmix64 seeded xoshiro-like); state is one uint64 */
uint64_t rm_rng_next(uint64_t *s);
float rm_rng_uniform(uint64_t *s);          /* [0,1) */
float rm_rng_normal(uint64_t *s);           /* N(0,1) */
uint32_t rm_rng_below(uint64_t *s, uint32_t n); /* [0,n) */

double rm_now(void); /* monotonic seconds */
#endif
