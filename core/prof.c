/* prof.c - the counters behind prof.h (coarse per-operation profile of training steps). */
#include "prof.h"
#include <string.h>
#include <time.h>

int rm_prof_on = 0;
int rm_prof_cpu = 0;
double rm_prof_t[RM_PROF_N];
long rm_prof_calls[RM_PROF_N];

static const char *names[RM_PROF_N] = {"GEMM (linear, token mix)", "BatchNorm", "LayerScale + residual",
                                       "activations / quantisers", "softmax / loss / pool", "optimiser",
                                       "data (batches)", "conv im2col / col2im", "maxpool",
                                       "weight quantisation", "layout (transpose, copies)",
                                       "non-finite checks, backup"};

void rm_prof_reset(void) { memset(rm_prof_t, 0, sizeof rm_prof_t); memset(rm_prof_calls, 0, sizeof rm_prof_calls); }
void rm_prof_enable(int on) { rm_prof_reset(); rm_prof_on = on; }
const char *rm_prof_name(int cat) { return cat >= 0 && cat < RM_PROF_N ? names[cat] : "?"; }
double rm_prof_thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
double rm_prof_process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
