/* synth.c - HLS tool discovery, a watched child-process runner (own process group, streamed log,
 * interrupt, timeout) and the synthesis run on top of it. See synth.h. */
#include "synth.h"
#include "report.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- discovery */

static const char *tool_names[] = { "none", "vitis_hls", "vitis-run", "vivado_hls" };
const char *rm_hls_tool_name(int kind) {
    return kind >= 0 && kind <= RM_HLS_TOOL_VIVADO_HLS ? tool_names[kind] : "none";
}

static void scopy(char *d, size_t n, const char *s) {
    if (!n) return;
    size_t l = strlen(s);
    if (l >= n) l = n - 1;
    memcpy(d, s, l);
    d[l] = 0;
}

static int is_exec_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}
static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int rm_hls_which(const char *name, char *out, size_t n) {
    if (strchr(name, '/')) {
        if (!is_exec_file(name)) return 0;
        snprintf(out, n, "%s", name);
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) return 0;
    const char *p = path;
    while (1) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char cand[2048];
        if (len == 0) snprintf(cand, sizeof cand, "./%s", name);   /* empty PATH entry = cwd */
        else snprintf(cand, sizeof cand, "%.*s/%s", (int)len, p, name);
        if (is_exec_file(cand)) { snprintf(out, n, "%s", cand); return 1; }
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int kind_from_name(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (strstr(b, "vitis-run")) return RM_HLS_TOOL_VITIS_RUN;
    if (strstr(b, "vivado_hls")) return RM_HLS_TOOL_VIVADO_HLS;
    return RM_HLS_TOOL_VITIS_HLS;
}

/* the preferred tool in directory d (NULL-safe); returns 1 when found */
static int find_in_dir(const char *d, rm_hls_tool *t, const char *by) {
    if (!d || !*d) return 0;
    for (int k = RM_HLS_TOOL_VITIS_HLS; k <= RM_HLS_TOOL_VIVADO_HLS; k++) {
        char cand[1024];
        snprintf(cand, sizeof cand, "%s/%s", d, tool_names[k]);
        if (is_exec_file(cand)) {
            t->kind = k;
            scopy(t->path, sizeof t->path, cand);
            snprintf(t->found_by, sizeof t->found_by, "%s", by);
            return 1;
        }
    }
    return 0;
}

/* the tool runs in the project directory: a relative path (tool=bin/x, a relative PATH entry) must
 * become absolute first (symlinks are kept: the name may select the tool's mode) */
static int absolute(rm_hls_tool *t) {
    if (t->path[0] == '/') return RM_OK;
    char cwd[1024], abs[1024];
    if (!getcwd(cwd, sizeof cwd)) return RM_OK;
    const char *p = t->path;
    while (!strncmp(p, "./", 2)) p += 2;
    if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, p) < sizeof abs) scopy(t->path, sizeof t->path, abs);
    return RM_OK;
}

static int find_tool(rm_ctx *ctx, const char *explicit_path, rm_hls_tool *t);
int rm_hls_find_tool(rm_ctx *ctx, const char *explicit_path, rm_hls_tool *t) {
    if (find_tool(ctx, explicit_path, t)) return RM_ERR;
    return absolute(t);
}

static int find_tool(rm_ctx *ctx, const char *explicit_path, rm_hls_tool *t) {
    memset(t, 0, sizeof *t);
    if (explicit_path && *explicit_path) {
        if (is_dir(explicit_path)) {
            char bin[1024];
            snprintf(bin, sizeof bin, "%s/bin", explicit_path);
            if (find_in_dir(explicit_path, t, "tool=") || find_in_dir(bin, t, "tool=")) return RM_OK;
            return rm_err(ctx, "tool=%s: no vitis_hls, vitis-run or vivado_hls in that directory or "
                          "its bin/", explicit_path);
        }
        char found[1024];
        if (!rm_hls_which(explicit_path, found, sizeof found))
            return rm_err(ctx, "tool=%s: not an executable file (give the path to vitis_hls, vitis-run "
                          "or vivado_hls, or to the directory holding it)", explicit_path);
        t->kind = kind_from_name(found);
        scopy(t->path, sizeof t->path, found);
        snprintf(t->found_by, sizeof t->found_by, "tool=");
        return RM_OK;
    }
    for (int k = RM_HLS_TOOL_VITIS_HLS; k <= RM_HLS_TOOL_VIVADO_HLS; k++) {
        char found[1024];
        if (rm_hls_which(tool_names[k], found, sizeof found)) {
            t->kind = k;
            scopy(t->path, sizeof t->path, found);
            snprintf(t->found_by, sizeof t->found_by, "PATH");
            return RM_OK;
        }
    }
    const char *envs[2] = { "XILINX_HLS", "XILINX_VIVADO" };
    for (int i = 0; i < 2; i++) {
        const char *e = getenv(envs[i]);
        if (!e || !*e) continue;
        char bin[1024];
        snprintf(bin, sizeof bin, "%s/bin", e);
        if (find_in_dir(bin, t, envs[i])) return RM_OK;
    }
    return rm_err(ctx, "no HLS tool found: vitis_hls, vitis-run or vivado_hls is not on PATH, in "
                  "$XILINX_HLS/bin or in $XILINX_VIVADO/bin; install Vitis HLS and point at it with "
                  "tool=/path/to/vitis_hls or XILINX_HLS=/path/to/Vitis_HLS/<version> (or use `hls "
                  "estimate` for numbers without the tool)");
}

/* ---------------------------------------------------------------- running */

int rm_hls_tail_count(const rm_hls_run_result *r) { return r->tail_n; }
const char *rm_hls_tail_line(const rm_hls_run_result *r, int i) {
    if (i < 0 || i >= r->tail_n) return NULL;
    int start = (r->tail_head - r->tail_n + RM_HLS_TAIL) % RM_HLS_TAIL;
    return r->tail[(start + i) % RM_HLS_TAIL];
}
int rm_hls_tail_format(const rm_hls_run_result *r, const char *prefix, char *buf, size_t n) {
    size_t off = 0;
    int total = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < r->tail_n; i++) {
        int k = snprintf(off < n ? buf + off : NULL, off < n ? n - off : 0, "%s%s\n",
                         prefix ? prefix : "", rm_hls_tail_line(r, i));
        if (k < 0) return k;
        total += k;
        off += (size_t)k;
    }
    return total;
}

typedef struct runner {
    const rm_hls_run_opts *o;
    rm_hls_run_result *r;
    FILE *logf;
    double t0;
    char line[4096];
    size_t len;
} runner;

static void emit_line(runner *u) {
    u->line[u->len] = 0;
    /* strip a trailing '\r' (tools that print progress with \r\n) */
    if (u->len && u->line[u->len - 1] == '\r') u->line[--u->len] = 0;
    double el = rm_now() - u->t0;
    rm_hls_run_result *r = u->r;
    r->nlines++;
    scopy(r->tail[r->tail_head], RM_HLS_LINE, u->line);
    r->tail_head = (r->tail_head + 1) % RM_HLS_TAIL;
    if (r->tail_n < RM_HLS_TAIL) r->tail_n++;
    if (!r->first_error[0] && strncmp(u->line, "ERROR", 5) == 0)
        scopy(r->first_error, sizeof r->first_error, u->line);
    if (u->logf) { fputs(u->line, u->logf); fputc('\n', u->logf); }
    if (u->o && u->o->log) u->o->log(u->o->log_ud, el, u->line);
    u->len = 0;
}

static void feed(runner *u, const char *d, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\n') { emit_line(u); continue; }
        if (u->len >= sizeof u->line - 1) emit_line(u);   /* split over-long lines */
        u->line[u->len++] = d[i];
    }
}

static const char *signame(int s) {
    switch (s) {
    case SIGKILL: return "SIGKILL"; case SIGTERM: return "SIGTERM"; case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT"; case SIGINT: return "SIGINT"; case SIGBUS: return "SIGBUS";
    case SIGHUP: return "SIGHUP"; case SIGPIPE: return "SIGPIPE"; case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL"; case SIGQUIT: return "SIGQUIT"; case SIGXCPU: return "SIGXCPU";
    default: return "signal";
    }
}

extern char **environ;

/* environ with the "NAME=VALUE" strings of extra replacing or adding to it (one malloc'd array of
 * pointers into existing strings; NULL when out of memory) */
static char **child_env(const char *const *extra) {
    size_t n = 0, x = 0;
    for (char **e = environ; e && *e; e++) n++;
    for (const char *const *e = extra; e && *e; e++) x++;
    char **out = malloc((n + x + 1) * sizeof *out);
    if (!out) return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
        int replaced = 0;
        for (const char *const *x2 = extra; x2 && *x2 && !replaced; x2++)
            if (!strncmp(*x2, *e, nl) && (*x2)[nl] == '=') replaced = 1;
        if (!replaced) out[k++] = *e;
    }
    for (const char *const *e = extra; e && *e; e++) out[k++] = (char *)*e;
    out[k] = NULL;
    return out;
}

/* the process body; fills res, returns nothing (messages are composed by the callers) */
static void run_child(const char *dir, const char *const *argv, const rm_hls_run_opts *o,
                      volatile int *intr, rm_hls_run_result *res, int *start_errno, char *start_what) {
    runner u = { .o = o, .r = res, .t0 = rm_now() };
    *start_errno = 0;
    if (o && o->log_path) u.logf = fopen(o->log_path, "w");
    int pfd[2], efd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) { *start_errno = errno; strcpy(start_what, "pipe"); goto out; }
    if (pipe2(efd, O_CLOEXEC) != 0) {
        *start_errno = errno; strcpy(start_what, "pipe");
        close(pfd[0]); close(pfd[1]);
        goto out;
    }
    /* the child's environment is built here: between fork and exec only async-signal-safe calls */
    char **envp = child_env(o ? o->env : NULL);
    if (!envp) {
        *start_errno = ENOMEM; strcpy(start_what, "malloc");
        close(pfd[0]); close(pfd[1]); close(efd[0]); close(efd[1]);
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *start_errno = errno; strcpy(start_what, "fork");
        close(pfd[0]); close(pfd[1]); close(efd[0]); close(efd[1]);
        free(envp);
        goto out;
    }
    if (pid == 0) {
        /* child: own process group, default signals, log pipe as stdout/stderr, then exec */
        setpgid(0, 0);
        int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGHUP, SIGCHLD };
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int err[2] = { 0, 0 };
        if (dir && chdir(dir) != 0) { err[0] = errno; err[1] = 1; goto fail; }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) { dup2(nul, 0); if (nul > 2) close(nul); }
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        execve(argv[0], (char *const *)argv, envp);
        err[0] = errno; err[1] = 2;
    fail:
        if (write(efd[1], err, sizeof err) < 0) { /* nothing more to do */ }
        _exit(127);
    }
    free(envp);
    res->pid = (int)pid;
    setpgid(pid, pid);   /* also from the parent, so the group exists before we may signal it */
    close(pfd[1]);
    close(efd[1]);
    int err[2] = { 0, 0 };
    ssize_t k = read(efd[0], err, sizeof err);   /* EOF (0) on successful exec */
    close(efd[0]);
    if (k == (ssize_t)sizeof err) {
        *start_errno = err[0];
        strcpy(start_what, err[1] == 1 ? "chdir" : "exec");
        waitpid(pid, NULL, 0);
        close(pfd[0]);
        goto out;
    }
    fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
    double grace = o && o->kill_grace_s > 0 ? o->kill_grace_s : 5.0;
    double timeout = o && o->timeout_s > 0 ? o->timeout_s : 0;
    int eof = 0, reaped = 0, lost = 0, wst = 0, term_sent = 0, kill_sent = 0, why_stop = 0;
    double term_at = 0, reaped_at = 0;
    while (!(reaped && eof)) {
        double now = rm_now();
        if (!reaped && !term_sent) {
            if (intr && *intr) why_stop = RM_HLS_RUN_STOPPED;
            else if (timeout && now - u.t0 > timeout) why_stop = RM_HLS_RUN_TIMEOUT;
            if (why_stop) { kill(-pid, SIGTERM); term_sent = 1; term_at = now; }
        }
        if (term_sent && !kill_sent && now - term_at > grace) { kill(-pid, SIGKILL); kill_sent = 1; }
        /* the main process is gone but something it started still holds the pipe open */
        if (reaped && !eof && now - reaped_at > 1.0) { kill(-pid, SIGKILL); break; }
        if (!eof) {
            struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
            int pr = poll(&pf, 1, 100);
            if (pr > 0) {
                char buf[8192];
                ssize_t n;
                while ((n = read(pfd[0], buf, sizeof buf)) > 0) feed(&u, buf, (size_t)n);
                if (n == 0) eof = 1;
            }
        } else {
            struct timespec ts = { 0, 20 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &wst, WNOHANG);
            if (w == pid) { reaped = 1; reaped_at = rm_now(); }
            else if (w < 0 && errno == ECHILD) { reaped = lost = 1; reaped_at = rm_now(); } /* SIGCHLD ignored */
        }
    }
    if (!reaped) waitpid(pid, &wst, 0);
    close(pfd[0]);
    if (u.len) emit_line(&u);
    res->elapsed_s = rm_now() - u.t0;
    if (why_stop) res->status = why_stop;
    else if (lost) { res->status = RM_HLS_RUN_EXIT; res->exit_code = -1; }
    else if (WIFEXITED(wst)) {
        res->exit_code = WEXITSTATUS(wst);
        res->status = res->exit_code == 0 ? RM_HLS_RUN_OK : RM_HLS_RUN_EXIT;
    } else if (WIFSIGNALED(wst)) {
        res->signal = WTERMSIG(wst);
        res->status = RM_HLS_RUN_SIGNAL;
    } else res->status = RM_HLS_RUN_EXIT;
out:
    if (*start_errno) { res->status = RM_HLS_RUN_NOSTART; res->elapsed_s = rm_now() - u.t0; }
    if (u.logf) fclose(u.logf);
}

static const char *base_name(const char *p) {
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* the common "how it ended" part of messages: "<what> exited with status 1 after 2.0 s" */
static void describe_end(char *buf, size_t n, const char *what, const rm_hls_run_result *r) {
    switch (r->status) {
    case RM_HLS_RUN_EXIT:
        if (r->exit_code < 0)
            snprintf(buf, n, "%s ended after %.1f s with an unknown exit status (this process ignores SIGCHLD)",
                     what, r->elapsed_s);
        else snprintf(buf, n, "%s exited with status %d after %.1f s", what, r->exit_code, r->elapsed_s);
        break;
    case RM_HLS_RUN_SIGNAL:
        snprintf(buf, n, "%s was killed by signal %d (%s) after %.1f s%s", what, r->signal,
                 signame(r->signal), r->elapsed_s,
                 r->signal == SIGKILL ? " - the system may have run out of memory (the OOM killer "
                                        "sends SIGKILL)" : "");
        break;
    case RM_HLS_RUN_TIMEOUT:
        snprintf(buf, n, "%s ran past its time limit and was stopped after %.1f s", what, r->elapsed_s);
        break;
    default:
        snprintf(buf, n, "%s ended after %.1f s", what, r->elapsed_s);
    }
}

int rm_hls_run(rm_ctx *ctx, const char *dir, const char *const *argv, const char *what,
               const rm_hls_run_opts *opts, rm_hls_run_result *res) {
    memset(res, 0, sizeof *res);
    if (!argv || !argv[0]) return rm_err(ctx, "rm_hls_run: no command");
    if (!what) what = base_name(argv[0]);
    volatile int *intr = opts && opts->interrupt ? opts->interrupt : ctx ? ctx->interrupt : NULL;
    if (intr && *intr) {   /* already interrupted: do not start */
        res->status = RM_HLS_RUN_STOPPED;
        return rm_err(ctx, "%s stopped: interrupted before it started", what);
    }
    int serr = 0;
    char swhat[16] = "";
    run_child(dir, argv, opts, intr, res, &serr, swhat);
    if (res->status == RM_HLS_RUN_OK) return RM_OK;
    if (res->status == RM_HLS_RUN_NOSTART) {
        if (!strcmp(swhat, "chdir"))
            return rm_err(ctx, "%s could not be started: cannot enter %s: %s", what, dir, strerror(serr));
        return rm_err(ctx, "%s could not be started (%s %s): %s", what, swhat, argv[0], strerror(serr));
    }
    if (res->status == RM_HLS_RUN_STOPPED)
        return rm_err(ctx, "%s stopped: interrupted after %.1f s", what, res->elapsed_s);
    char d[512];
    describe_end(d, sizeof d, what, res);
    return rm_err(ctx, "%s%s%s", d, res->first_error[0] ? "; first error: " : "", res->first_error);
}

int rm_hls_synth(rm_ctx *ctx, const char *dir, const rm_hls_tool *tool, const rm_hls_run_opts *opts,
                 rm_hls_run_result *res) {
    memset(res, 0, sizeof *res);
    rm_hls_run_opts o = opts ? *opts : (rm_hls_run_opts){0};
    if (!tool || tool->kind == RM_HLS_TOOL_NONE || !tool->path[0])
        return rm_err(ctx, "synthesis: no HLS tool given (find one with rm_hls_find_tool)");
    if (!o.tcl) o.tcl = "build.tcl";
    if (!is_dir(dir)) return rm_err(ctx, "synthesis: %s is not a directory (run `hls emit %s` first)", dir, dir);
    char tclp[1200];
    snprintf(tclp, sizeof tclp, "%s/%s", dir, o.tcl);
    if (access(tclp, R_OK) != 0)
        return rm_err(ctx, "synthesis: no %s in %s (run `hls emit %s` first)", o.tcl, dir, dir);
    char logp[1200];
    if (!o.log_path) {
        snprintf(logp, sizeof logp, "%s/synth.log", dir);
        o.log_path = logp;
    }
    /* environment: RESMLP_HLS_STEPS, then the caller's extras */
    const char *envv[34];
    int ne = 0;
    char steps[256];
    if (o.steps) {
        snprintf(steps, sizeof steps, "RESMLP_HLS_STEPS=%s", o.steps);
        envv[ne++] = steps;
    }
    for (const char *const *e = o.env; e && *e && ne < 32; e++) envv[ne++] = *e;
    envv[ne] = NULL;
    o.env = envv;

    const char *name = rm_hls_tool_name(tool->kind);
    const char *argv[8];
    int na = 0;
    argv[na++] = tool->path;
    if (tool->kind == RM_HLS_TOOL_VITIS_RUN) {
        argv[na++] = "--mode"; argv[na++] = "hls"; argv[na++] = "--tcl"; argv[na++] = o.tcl;
    } else {
        argv[na++] = "-f"; argv[na++] = o.tcl;
    }
    argv[na] = NULL;

    /* a report that was there before the run does not count: remember which file and version it was */
    char pre_path[1024] = "";
    struct stat pre_st;
    memset(&pre_st, 0, sizeof pre_st);
    {
        rm_ctx q = {0};
        if (rm_hls_report_find(&q, dir, o.top, pre_path, sizeof pre_path) != RM_OK || stat(pre_path, &pre_st) != 0)
            pre_path[0] = 0;
    }

    rm_ctx sub = { .interrupt = ctx ? ctx->interrupt : NULL };
    int rc = rm_hls_run(&sub, dir, argv, name, &o, res);
    (void)rc;
    char d[512];
    switch (res->status) {
    case RM_HLS_RUN_NOSTART:
        return rm_err(ctx, "synthesis failed: %s", sub.msg);
    case RM_HLS_RUN_STOPPED:
        return rm_err(ctx, "synthesis stopped: interrupted after %.1f s; %s and its child processes "
                      "were stopped (log: %s)", res->elapsed_s, name, o.log_path);
    case RM_HLS_RUN_OK:
        break;
    default:
        describe_end(d, sizeof d, name, res);
        return rm_err(ctx, "synthesis failed: %s (log: %s)%s%s", d, o.log_path,
                      res->first_error[0] ? "; first error: " : "", res->first_error);
    }
    /* exit 0: there must be a report written by this run - unless the steps asked for none (csim only) */
    if (o.steps && !strstr(o.steps, "csynth") && !strstr(o.steps, "cosim") && !strstr(o.steps, "export"))
        return RM_OK;
    rm_ctx fc = {0};
    char rp[1024];
    struct stat st;
    if (rm_hls_report_find(&fc, dir, o.top, rp, sizeof rp) == RM_OK && stat(rp, &st) == 0 &&
        (!pre_path[0] || strcmp(rp, pre_path) != 0 || st.st_ino != pre_st.st_ino ||
         st.st_mtim.tv_sec != pre_st.st_mtim.tv_sec || st.st_mtim.tv_nsec != pre_st.st_mtim.tv_nsec ||
         st.st_size != pre_st.st_size)) {
        scopy(res->report, sizeof res->report, rp);
        return RM_OK;
    }
    res->status = RM_HLS_RUN_NOREPORT;
    char stale[1100] = "";
    if (fc.msg[0] == 0) snprintf(stale, sizeof stale, "; only an older one from a previous run: %s", rp);
    return rm_err(ctx, "synthesis failed: %s finished but wrote no report (expected "
                  "<project>/<solution>/syn/report/%s_csynth.xml under %s%s) (log: %s)%s%s",
                  name, o.top ? o.top : "<top>", dir, stale, o.log_path,
                  res->first_error[0] ? "; first error: " : "", res->first_error);
}
