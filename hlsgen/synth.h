/* synth.h - find the vendor HLS tool and run it (or any other tool: yosys, iverilog) as a child
 * process that can be watched and stopped.
 *
 * A run: fork, the child gets its own process group (so a terminal Ctrl-C reaches only us, and we can
 * stop the tool together with everything it spawned), stdin from /dev/null, stdout and stderr into one
 * pipe. Every log line goes to a callback with the seconds elapsed since the start, and to an optional
 * log file. An interrupt flag (volatile int, set by a Ctrl-C handler) is polled ten times a second:
 * when set, the group gets SIGTERM, then SIGKILL after a grace period. Whatever happens, the result
 * says how the run ended and keeps the last RM_HLS_TAIL lines of the log for the caller to show.
 *
 * rm_hls_synth adds the HLS meaning on top: `vitis_hls -f build.tcl`, `vitis-run --mode hls --tcl
 * build.tcl` or `vivado_hls -f build.tcl` in DIR, and afterwards a synthesis report must exist that
 * is newer than the start of the run. Failure is never silent: a non-zero exit, death by a signal
 * (SIGKILL is named as a possible out-of-memory kill), or a missing report each give RM_ERR with one
 * line in ctx, and the log tail in the result.
 *
 * Deliberately not here: generating build.tcl (tcl.h), parsing the report (report.h), any printing. */
#ifndef RM_HLS_SYNTH_H
#define RM_HLS_SYNTH_H
#include "ctx.h"

enum { RM_HLS_TOOL_NONE = 0, RM_HLS_TOOL_VITIS_HLS, RM_HLS_TOOL_VITIS_RUN, RM_HLS_TOOL_VIVADO_HLS };

typedef struct rm_hls_tool {
    int kind;            /* RM_HLS_TOOL_* */
    char path[1024];     /* absolute or as given */
    char found_by[64];   /* "tool=", "PATH", "XILINX_HLS", "XILINX_VIVADO" */
} rm_hls_tool;

/* Find the HLS tool. Order: `explicit_path` (an executable, or a directory holding one directly or in
 * bin/) if non-NULL and non-empty; then PATH; then $XILINX_HLS/bin; then $XILINX_VIVADO/bin. In each
 * place vitis_hls is preferred to vitis-run, and vitis-run to vivado_hls. An explicit executable with
 * another name is run like vitis_hls unless its name contains "vitis-run" or "vivado_hls".
 * Not found -> RM_ERR, one line saying so and how to point at the tool. */
int rm_hls_find_tool(rm_ctx *ctx, const char *explicit_path, rm_hls_tool *tool);
const char *rm_hls_tool_name(int kind);   /* "vitis_hls", "vitis-run", "vivado_hls", "none" */
/* the first executable `name` on PATH into out (returns 1), or 0 */
int rm_hls_which(const char *name, char *out, size_t n);

/* ---- running a child process ---- */
#define RM_HLS_TAIL 20
#define RM_HLS_LINE 256

/* one log line (no newline), with seconds since the start; ud is the caller's */
typedef void (*rm_hls_log_fn)(void *ud, double elapsed_s, const char *line);

enum {
    RM_HLS_RUN_OK = 0,      /* exit status 0 (and, for rm_hls_synth, a fresh report) */
    RM_HLS_RUN_EXIT,        /* non-zero exit status */
    RM_HLS_RUN_SIGNAL,      /* killed by a signal we did not send */
    RM_HLS_RUN_STOPPED,     /* the interrupt flag was set; we stopped it */
    RM_HLS_RUN_TIMEOUT,     /* ran past timeout_s; we stopped it */
    RM_HLS_RUN_NOSTART,     /* could not be started (exec failed, bad DIR) */
    RM_HLS_RUN_NOREPORT     /* rm_hls_synth only: exit 0 but no new report */
};

typedef struct rm_hls_run_opts {
    rm_hls_log_fn log;          /* may be NULL */
    void *log_ud;
    volatile int *interrupt;    /* NULL: ctx->interrupt is used */
    double kill_grace_s;        /* SIGTERM -> SIGKILL delay; <= 0 means 5 s */
    double timeout_s;           /* <= 0: none */
    const char *log_path;       /* full log copy; NULL: none (rm_hls_synth: DIR/synth.log) */
    const char *const *env;     /* extra "NAME=VALUE" strings for the child, NULL-terminated */
    /* rm_hls_synth only */
    const char *tcl;            /* script in DIR; NULL: "build.tcl" */
    const char *top;            /* top function, to find <top>_csynth.xml; NULL: any top */
    const char *steps;          /* exported to the child as RESMLP_HLS_STEPS (e.g. "csynth"); NULL: unset.
                                 * Steps without csynth, cosim or export (csim only) expect no report. */
} rm_hls_run_opts;

typedef struct rm_hls_run_result {
    int status;                 /* RM_HLS_RUN_* */
    int exit_code;              /* valid for RM_HLS_RUN_OK / _EXIT */
    int signal;                 /* valid for RM_HLS_RUN_SIGNAL */
    double elapsed_s;
    int pid;                    /* the child's pid = its process group id (0 if never started) */
    long nlines;                /* log lines seen */
    char first_error[RM_HLS_LINE]; /* first log line starting with "ERROR" (may be empty) */
    char report[1024];          /* rm_hls_synth: the report found (empty if none) */
    /* last lines of the log: read with rm_hls_tail_line */
    char tail[RM_HLS_TAIL][RM_HLS_LINE];
    int tail_n, tail_head;
} rm_hls_run_result;

/* line i of the kept tail, 0 = oldest; NULL past the end. rm_hls_tail_count gives how many. */
int rm_hls_tail_count(const rm_hls_run_result *r);
const char *rm_hls_tail_line(const rm_hls_run_result *r, int i);
/* the tail as text, one line per '\n', each prefixed with `prefix` (may be NULL); snprintf return */
int rm_hls_tail_format(const rm_hls_run_result *r, const char *prefix, char *buf, size_t n);

/* Run argv (argv[0] is the executable path) in dir (NULL: current). RM_OK only for exit status 0;
 * otherwise RM_ERR with "<what> exited with status N after T s" / "... was killed by signal ..." /
 * "<what> stopped: interrupted after T s" / "... could not be started: ..." in ctx.
 * `what` names the tool in messages (NULL: basename of argv[0]). `res` is always filled. */
int rm_hls_run(rm_ctx *ctx, const char *dir, const char *const *argv, const char *what,
               const rm_hls_run_opts *opts, rm_hls_run_result *res);

/* Run the HLS tool on DIR/<tcl> in DIR (see the top of this file); on RM_OK res->report is the
 * report's path. Messages (one line, in ctx):
 *   "synthesis failed: vitis_hls exited with status 1 after 2.0 s (log: DIR/synth.log)"
 *   "synthesis failed: vitis_hls was killed by signal 9 (SIGKILL) after 2.0 s - the system may have
 *    run out of memory (the OOM killer sends SIGKILL) (log: ...)"
 *   "synthesis failed: vitis_hls finished but wrote no report (DIR/<proj>/<solution>/syn/report/
 *    <top>_csynth.xml) ... (log: ...)"
 *   "synthesis stopped: interrupted after 2.0 s; vitis_hls and its child processes were stopped"
 * followed, where the log has one, by "; first error: <line>". */
int rm_hls_synth(rm_ctx *ctx, const char *dir, const rm_hls_tool *tool, const rm_hls_run_opts *opts,
                 rm_hls_run_result *res);
#endif
