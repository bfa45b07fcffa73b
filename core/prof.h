/* prof.h - a coarse profile of training steps: wall time per kind of operation (GEMM, BatchNorm,
 * LayerScale + residual, activation curves and quantisers, softmax/loss, optimiser, data; for layer-list
 * nets also conv im2col / col2im, maxpool, weight quantisation, layout copies, and the trainer's
 * non-finite checks), accumulated by the model and the training loop around each operation when
 * profiling is on (bench_train --profile, bench_net --profile). Off, a probe is
 * one predictable branch. Probes sit on the calling thread outside parallel regions, so the shares add up
 * to the step's wall time minus loop overhead. Process-wide, not for concurrent trainings. */
#ifndef RM_PROF_H
#define RM_PROF_H
#include "ctx.h"

enum { RM_PROF_GEMM = 0, RM_PROF_BN, RM_PROF_LS, RM_PROF_ACT, RM_PROF_LOSS, RM_PROF_OPT, RM_PROF_DATA, RM_PROF_IM2COL,
       RM_PROF_POOL, RM_PROF_WQ, RM_PROF_COPY, RM_PROF_CHECK, RM_PROF_N };

extern int rm_prof_on;
extern int rm_prof_cpu;               /* 0: probes read the wall clock; 1: the calling thread's CPU clock (on a
                                       * loaded machine with 1 thread this is the work done, without the time
                                       * other processes took; with more threads it includes the caller's waits
                                       * and spins at barriers); 2: the whole process's CPU time (all threads) */
extern double rm_prof_t[RM_PROF_N];   /* seconds per category since the last reset */
extern long rm_prof_calls[RM_PROF_N];

void rm_prof_enable(int on);          /* also resets */
void rm_prof_reset(void);
const char *rm_prof_name(int cat);    /* "GEMM", "BatchNorm", ... */

double rm_prof_thread_cpu(void);      /* seconds of CPU time of the calling thread */
double rm_prof_process_cpu(void);     /* seconds of CPU time of the process, all threads */
static inline double rm_prof_clock(void) {
    return rm_prof_cpu == 1 ? rm_prof_thread_cpu() : rm_prof_cpu == 2 ? rm_prof_process_cpu() : rm_now();
}
static inline double rm_prof_begin(void) { return rm_prof_on ? rm_prof_clock() : 0.0; }
static inline void rm_prof_end(int cat, double t0) {
    if (rm_prof_on) { rm_prof_t[cat] += rm_prof_clock() - t0; rm_prof_calls[cat]++; }
}
/* RM_PROF(RM_PROF_BN, bn_forward(...)); */
#define RM_PROF(cat, ...) do { double rm_pt_ = rm_prof_begin(); __VA_ARGS__; rm_prof_end(cat, rm_pt_); } while (0)
#endif
