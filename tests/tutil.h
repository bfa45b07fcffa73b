/* tutil.h - tiny test harness: each tests/test_*.c is one executable; CHECK records a failure and
 * goes on; tmain returns non-zero if anything failed. The runner (tests/run.sh) counts executables. */
#ifndef RM_TUTIL_H
#define RM_TUTIL_H
#include <stdio.h>
#include <math.h>
static int t_fail = 0, t_checks = 0;
#define CHECK(cond, ...) do { t_checks++; if (!(cond)) { t_fail++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)
#define CHECK_OK(call, ctx) do { t_checks++; if ((call) != 0) { t_fail++; fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, (ctx)->msg); } } while (0)
#define TEST_END() do { printf("%s: %d checks, %d failed\n", __FILE__, t_checks, t_fail); return t_fail ? 1 : 0; } while (0)
/* relative closeness with an absolute floor */
static inline int t_close(double a, double b, double rel, double abs_floor) {
    if (isnan(a) || isnan(b)) return 0;
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + abs_floor;
}
/* path to ../shared/data from the repo root (tests run from the repo root) */
#define DATA_DIR "../shared/data"
#endif
