/* report.h - the synthesis report of Vitis HLS / Vivado HLS (<solution>/syn/report/<top>_csynth.xml),
 * read with libxml2 into a plain struct, and a text table of it.
 *
 * Read: ReportVersion/Version; UserAssignments (Part, ProductFamily, TopModelName, TargetClockPeriod,
 * ClockUncertainty); PerformanceEstimates: PipelineType, SummaryOfTimingAnalysis/EstimatedClockPeriod,
 * SummaryOfOverallLatency (Best/Average/Worst-caseLatency, Interval-min/max), SummaryOfLoopLatency
 * (each loop element, nested loops included: TripCount, Latency, IterationLatency, PipelineII,
 * PipelineDepth; a value may be a number, "undef"/"-", a <range><min/><max/></range> or "a ~ b");
 * AreaEstimates/Resources and AvailableResources (BRAM_18K, DSP - or DSP48E from older tools - FF,
 * LUT, URAM). Anything missing reads as -1 ("n/a" in the table), never as 0.
 * rm_hls_report_load_dir also collects the loops of the other module reports next to the top one
 * (a dataflow top has no loops of its own; its stages do), tagged with their module name.
 *
 * Deliberately not here: the .rpt text reports, implementation (Vivado) reports, any printing. */
#ifndef RM_HLS_REPORT_H
#define RM_HLS_REPORT_H
#include "ctx.h"

#define RM_HLS_MAX_LOOPS 128

typedef struct rm_hls_loop {
    char name[64];
    char module[64];        /* the module whose report listed it (the top for its own loops) */
    int level;              /* 0 for an outermost loop, 1 for a loop inside it, ... */
    long trip_min, trip_max;
    long lat_min, lat_max;  /* cycles */
    long iter_min, iter_max;/* IterationLatency */
    long ii;                /* PipelineII; -1 when not pipelined */
    long pipe_depth;
} rm_hls_loop;

typedef struct rm_hls_res { long bram18, dsp, ff, lut, uram; } rm_hls_res;

typedef struct rm_hls_report {
    char path[1024];
    char version[32];        /* "2023.1" */
    char part[64];           /* "xcu50-fsvh2104-2-e" */
    char family[64];         /* "virtexuplusHBM" */
    char top[64];
    char pipeline_type[64];  /* "dataflow", "none", "no", ... */
    double target_ns, uncertainty_ns, estimated_ns;  /* -1 when absent */
    long lat_best, lat_avg, lat_worst;               /* cycles, -1 when absent or undef */
    long interval_min, interval_max;
    rm_hls_res used, avail;
    int dsp48e;              /* 1: the report said DSP48E (Vivado HLS), copied into .dsp */
    int nloops, loops_dropped;
    rm_hls_loop loops[RM_HLS_MAX_LOOPS];
} rm_hls_report;

/* Find the report under dir: dir itself may be a solution (dir/syn/report), a project
 * (dir/<solution>/syn/report) or the emitted directory (dir/<project>/<solution>/syn/report).
 * With top: <top>_csynth.xml; without: csynth.xml, else the shortest *_csynth.xml there.
 * Several solutions: the newest report wins. Not found -> RM_ERR with a message. */
int rm_hls_report_find(rm_ctx *ctx, const char *dir, const char *top, char *path, size_t n);

/* parse one csynth.xml */
int rm_hls_report_load(rm_ctx *ctx, const char *path, rm_hls_report *rep);
/* find (as above) + load + loops of the sibling module reports */
int rm_hls_report_load_dir(rm_ctx *ctx, const char *dir, const char *top, rm_hls_report *rep);

/* The report as a text table (clock, latency, interval and images/s at the target clock, resources
 * used / available / %, loops). snprintf semantics: returns the length it needed. */
int rm_hls_report_format(const rm_hls_report *rep, char *buf, size_t n);

/* Flat view for bindings: field i (0..) as name + number or name + string; returns 0 past the end.
 * Loops are not in it (walk rep->loops). */
typedef struct rm_hls_field { const char *name; int is_str; double num; const char *str; } rm_hls_field;
int rm_hls_report_field(const rm_hls_report *rep, int i, rm_hls_field *f);
#endif
