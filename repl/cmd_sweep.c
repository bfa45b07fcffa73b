/* cmd_sweep.c - the `sweep` command (prompt, `resmlp.sweep{}` in Lua, and `resmlp sweep` on the command
 * line) and `resmlp sweep-cell DIR N`, the worker that runs one cell. The grid and the cells' result
 * files are core/sweep.c's; this file starts the workers:
 *   backend=local  a pool of `resmlp sweep-cell` processes sized to the cores (jobs = cores / threads),
 *                  each with its own log; Ctrl-C stops them (no result file: the cell reruns on resume)
 *   backend=slurm  DIR/sweep.sbatch (a job array over the unfinished cells) submitted with sbatch; the job
 *                  id is kept in DIR/slurm.job so a second call attaches to a job still queued instead of
 *                  submitting it twice; Ctrl-C cancels it (scancel)
 * Either way results are gathered as cells finish: a table line each, and DIR/results.csv rewritten
 * (atomically). Finished cells are never rerun. */

#include "registry.h"
#include "core/sweep.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, v), lua_setfield(L, -2, k))

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* the running executable (workers are the same binary) */
static int self_exe(char *buf, size_t n) {
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    if (k <= 0) return -1;
    buf[k] = 0;
    return 0;
}

/* last non-empty line of a log file, for a failed cell's one-line reason */
static void log_tail(const char *path, char *out, size_t n) {
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(out, n, "(no log %s)", path); return; }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = 0;
        char *p = strrchr(line, '\r');   /* progress lines rewritten in place: keep the last */
        if (l) snprintf(out, n, "%s", p ? p + 1 : line);
    }
    fclose(f);
}

typedef struct sw_run {
    const char *dir;
    const rm_sweep_spec *s;
    int ncells, quiet;
    char *seen;                 /* (ncells) result already reported */
    int finished, failed, fresh;
} sw_run;

/* report every newly finished cell; returns how many were new */
static int collect(sw_run *w) {
    int nnew = 0;
    for (int i = 0; i < w->ncells; i++) {
        if (w->seen[i]) continue;
        rm_sweep_result r;
        if (!rm_sweep_read_result(w->dir, w->s, i, &r)) continue;
        w->seen[i] = 1;
        w->finished++;
        w->fresh++;
        nnew++;
        if (!w->quiet) {
            char row[300];
            rm_sweep_table_row(&r, row, sizeof row);
            printf("%s  %s\n", row, r.host);
            fflush(stdout);
        }
    }
    if (nnew) {
        rm_ctx ctx = {0};
        rm_sweep_gather(&ctx, w->dir, w->s, NULL);   /* a failure shows at the final gather */
    }
    return nnew;
}

/* ---- local pool --------------------------------------------------------------------------------- */

static pid_t spawn_cell(const char *exe, const char *dir, int idx, int threads) {
    char logp[1100], idxs[16], th[16];
    rm_sweep_log_path(dir, idx, logp, sizeof logp);
    snprintf(idxs, sizeof idxs, "%d", idx);
    snprintf(th, sizeof th, "%d", threads);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* child: die with the sweep (a killed sweep must not leave cells running), log to the cell's file */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) { dup2(nul, 0); close(nul); }
    setenv("RESMLP_THREADS", th, 1);
    setenv("OMP_NUM_THREADS", th, 1);
    char *argv[] = {(char *)exe, "sweep-cell", (char *)dir, idxs, NULL};
    execv(exe, argv);
    fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
}

static int run_local(rm_call *c, sw_run *w, const int *todo, int ntodo, int jobs, int threads) {
    char exe[PATH_MAX];
    if (self_exe(exe, sizeof exe)) rm_cmd_error(c, "cannot find the resmlp executable (/proc/self/exe)");
    pid_t *pid = calloc((size_t)jobs, sizeof *pid);
    int *cell = calloc((size_t)jobs, sizeof *cell);
    if (!pid || !cell) { free(pid); free(cell); rm_cmd_error(c, "out of memory"); }
    int next = 0, running = 0, stopped = 0;
    rm_sigint_flag = 0;
    rm_A.in_core = 1;
    while (next < ntodo || running) {
        if (rm_sigint_flag && !stopped) {
            stopped = 1;
            for (int j = 0; j < jobs; j++) if (pid[j] > 0) kill(pid[j], SIGTERM);
        }
        for (int j = 0; j < jobs && !stopped && next < ntodo; j++) {
            if (pid[j] > 0) continue;
            cell[j] = todo[next++];
            pid[j] = spawn_cell(exe, w->dir, cell[j], threads);
            if (pid[j] < 0) { pid[j] = 0; w->failed++; if (!w->quiet) printf("cell %d: cannot start a process: %s\n", cell[j], strerror(errno)); continue; }
            running++;
        }
        int reaped = 0;
        for (int j = 0; j < jobs; j++) {
            if (pid[j] <= 0) continue;
            int st;
            pid_t r = waitpid(pid[j], &st, WNOHANG);
            if (r == 0 || (r < 0 && errno == EINTR)) continue;
            pid[j] = 0;
            running--;
            reaped++;
            collect(w);
            if (!rm_sweep_read_result(w->dir, w->s, cell[j], NULL) && !stopped) {
                char logp[1100], tail[400];
                rm_sweep_log_path(w->dir, cell[j], logp, sizeof logp);
                log_tail(logp, tail, sizeof tail);
                w->failed++;
                if (!w->quiet) {
                    printf("cell %d failed (%s %d): %s\n", cell[j], WIFSIGNALED(st) ? "signal" : "exit status",
                           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), tail);
                    fflush(stdout);
                }
            }
        }
        if (!reaped) sleep_s(0.05);
    }
    rm_A.in_core = 0;
    free(pid); free(cell);
    return stopped;
}

/* ---- Slurm -------------------------------------------------------------------------------------- */

/* run a shell command, first line of its output into out; returns its exit status (-1: not run) */
static int run_capture(const char *cmd, char *out, size_t n) {
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    int got = 0;
    while (fgets(line, sizeof line, p)) {
        if (!got) { snprintf(out, n, "%s", line); got = 1; }
    }
    int st = pclose(p);
    size_t l = strlen(out);
    while (l && (out[l - 1] == '\n' || out[l - 1] == '\r')) out[--l] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* single-quote s for sh */
static void shq(char *out, size_t n, const char *s) {
    size_t o = 0;
    if (o + 1 < n) out[o++] = '\'';
    for (; *s && o + 5 < n; s++) {
        if (*s == '\'') { memcpy(out + o, "'\\''", 4); o += 4; }
        else out[o++] = *s;
    }
    if (o + 1 < n) out[o++] = '\'';
    out[o] = 0;
}

/* "0-3,5,7-9" from the sorted cell list */
static void ranges(const int *v, int n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
        int w = j > i ? snprintf(out + o, cap - o, "%s%d-%d", o ? "," : "", v[i], v[j])
                      : snprintf(out + o, cap - o, "%s%d", o ? "," : "", v[i]);
        if (w < 0 || (size_t)w >= cap - o) break;
        o += (size_t)w;
        i = j + 1;
    }
}

/* is the array job still known to the queue (pending or running tasks)? */
static int slurm_active(const char *job) {
    char cmd[256], out[256];
    snprintf(cmd, sizeof cmd, "squeue -h -r -j %s -o %%T 2>/dev/null", job);
    int st = run_capture(cmd, out, sizeof out);
    return st == 0 && out[0];
}

static int run_slurm(rm_call *c, sw_run *w, const int *todo, int ntodo, int jobs, int threads, double poll) {
    const char *dir = w->dir;
    char exe[PATH_MAX], adir[PATH_MAX], cwd[PATH_MAX], jobf[1100], job[64] = "";
    if (self_exe(exe, sizeof exe)) rm_cmd_error(c, "cannot find the resmlp executable (/proc/self/exe)");
    if (!realpath(dir, adir)) rm_cmd_error(c, "cannot resolve %s: %s", dir, strerror(errno));
    if (!getcwd(cwd, sizeof cwd)) rm_cmd_error(c, "cannot read the working directory: %s", strerror(errno));
    snprintf(jobf, sizeof jobf, "%s/slurm.job", dir);
    /* a job from an earlier call that is still queued: attach to it instead of submitting again */
    FILE *jf = fopen(jobf, "r");
    if (jf) {
        if (fscanf(jf, "%63s", job) != 1) job[0] = 0;
        fclose(jf);
        if (job[0] && !slurm_active(job)) job[0] = 0;
        if (job[0] && !w->quiet) printf("attaching to Slurm job %s (still queued or running)\n", job);
    }
    if (!job[0]) {
        char sb[1100], arr[4096], q1[PATH_MAX + 8], q2[PATH_MAX + 8], q3[PATH_MAX + 8];
        ranges(todo, ntodo, arr, sizeof arr);
        if (strlen(arr) > 4000) rm_cmd_error(c, "the list of unfinished cells is too long for one job array");
        snprintf(sb, sizeof sb, "%s/sweep.sbatch", dir);
        rm_val *part = rm_arg(c, "partition"), *tl = rm_arg(c, "time"), *extra = rm_arg(c, "sbatch");
        char limit[16] = "";
        if (jobs > 0) snprintf(limit, sizeof limit, "%%%d", jobs);
        shq(q1, sizeof q1, exe); shq(q2, sizeof q2, adir); shq(q3, sizeof q3, cwd);
        char tmp[1200];
        snprintf(tmp, sizeof tmp, "%s.tmp", sb);
        FILE *f = fopen(tmp, "w");
        if (!f) rm_cmd_error(c, "cannot write %s: %s", tmp, strerror(errno));
        fprintf(f, "#!/bin/sh\n# generated by resmlp sweep: one array task per unfinished cell of %s\n", adir);
        fprintf(f, "#SBATCH --job-name=resmlp-sweep\n#SBATCH --array=%s%s\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n",
                arr, limit, threads);
        fprintf(f, "#SBATCH --output=%s/cells/cell-%%4a.log\n#SBATCH --chdir=%s\n", adir, cwd);
        if (part->set) fprintf(f, "#SBATCH --partition=%s\n", part->s);
        if (tl->set) fprintf(f, "#SBATCH --time=%s\n", tl->s);
        fprintf(f, "export RESMLP_THREADS=%d OMP_NUM_THREADS=%d\n", threads, threads);
        fprintf(f, "exec %s sweep-cell %s \"$SLURM_ARRAY_TASK_ID\"\n", q1, q2);
        int bad = ferror(f);
        if (fclose(f) || bad || rename(tmp, sb)) rm_cmd_error(c, "cannot write %s: %s", sb, strerror(errno));
        char cmd[3000], out[512], qsb[1200];
        shq(qsb, sizeof qsb, sb);
        snprintf(cmd, sizeof cmd, "sbatch --parsable %s %s 2>&1", extra->set ? extra->s : "", qsb);
        int st = run_capture(cmd, out, sizeof out);
        if (st != 0) rm_cmd_error(c, "sbatch failed (%s): %s", st < 0 ? "cannot run it" : "non-zero exit", out[0] ? out : "no output");
        char *semi = strchr(out, ';');
        if (semi) *semi = 0;
        if (!out[0] || strspn(out, "0123456789") != strlen(out)) rm_cmd_error(c, "sbatch did not print a job id: %s", out);
        snprintf(job, sizeof job, "%.60s", out);
        f = fopen(jobf, "w");
        if (f) { fprintf(f, "%s\n", job); fclose(f); }
        if (!w->quiet) { printf("submitted Slurm job array %s (%d tasks: %s) from %s\n", job, ntodo, arr, sb); fflush(stdout); }
    }
    if (!rm_arg(c, "wait")->i) return 0;
    rm_sigint_flag = 0;
    rm_A.in_core = 1;
    int idle = 0, stopped = 0;
    for (;;) {
        collect(w);
        if (w->finished == w->ncells) break;
        if (rm_sigint_flag) {
            char cmd[128], out[256];
            snprintf(cmd, sizeof cmd, "scancel %s 2>&1", job);
            run_capture(cmd, out, sizeof out);
            if (!w->quiet) printf("cancelled Slurm job %s\n", job);
            stopped = 1;
            break;
        }
        /* the queue forgets the job: the last results may still be landing; look twice more */
        if (!slurm_active(job)) { if (++idle >= 3) break; }
        else idle = 0;
        sleep_s(poll);
    }
    rm_A.in_core = 0;
    collect(w);
    if (!stopped) {
        remove(jobf);
        for (int k = 0; k < ntodo; k++) {
            if (w->seen[todo[k]]) continue;
            char logp[1100], tail[400];
            rm_sweep_log_path(dir, todo[k], logp, sizeof logp);
            log_tail(logp, tail, sizeof tail);
            w->failed++;
            if (!w->quiet) printf("cell %d did not finish in job %s: %s\n", todo[k], job, tail);
        }
    }
    return stopped;
}

/* ---- the command -------------------------------------------------------------------------------- */

static int nprocs(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int rm_cmd_sweep(rm_call *c) {
    lua_State *L = c->L;
    rm_val *dv = rm_posarg(c, "dir");
    const char *dir = dv->set ? dv->s : "runs/sweep";
    int quiet = (int)rm_arg(c, "quiet")->i;
    rm_ctx ctx = {0};
    rm_sweep_spec s = rm_sweep_default_spec();
    static const char *const setting[] = {"dataset", "data", "epochs", "batch", "limit", "test_limit", "calib", "aug",
                                          "precision", "wd", NULL};
    int given = 0;
    for (int a = 0; a < RM_SW_NAXES; a++) given |= rm_arg(c, rm_sweep_axis_name(a))->set == 1;
    for (int k = 0; setting[k]; k++) given |= rm_arg(c, setting[k])->set == 1;
    char cfg[1100];
    snprintf(cfg, sizeof cfg, "%s/sweep.cfg", dir);
    if (!given && access(cfg, F_OK) == 0) {
        if (rm_sweep_load(&ctx, dir, &s)) rm_cmd_error(c, "%s", ctx.msg);
    } else {
        for (int a = 0; a < RM_SW_NAXES; a++) {
            rm_val *v = rm_arg(c, rm_sweep_axis_name(a));
            if (v->set && rm_sweep_set_axis(&ctx, &s, a, v->s)) rm_cmd_error(c, "%s", ctx.msg);
        }
        rm_val *v;
        if ((v = rm_arg(c, "dataset"))->set) snprintf(s.dataset, sizeof s.dataset, "%s", v->s);
        if ((v = rm_arg(c, "data"))->set) snprintf(s.data, sizeof s.data, "%s", v->s);
        else if (getenv("RESMLP_DATA") && !strcmp(s.dataset, "cifar10")) snprintf(s.data, sizeof s.data, "%s", getenv("RESMLP_DATA"));
        if ((v = rm_arg(c, "epochs"))->set) s.epochs = (int)v->i;
        if ((v = rm_arg(c, "batch"))->set) s.batch = (int)v->i;
        if ((v = rm_arg(c, "limit"))->set) s.limit = (int)v->i;
        if ((v = rm_arg(c, "test_limit"))->set) s.test_limit = (int)v->i;
        if ((v = rm_arg(c, "calib"))->set) s.calib = (int)v->i;
        if ((v = rm_arg(c, "aug"))->set) snprintf(s.aug, sizeof s.aug, "%s", v->s);
        if ((v = rm_arg(c, "precision"))->set) snprintf(s.precision, sizeof s.precision, "%s", v->s);
        if ((v = rm_arg(c, "wd"))->set) s.wd = (float)v->d;
        /* data is read by the workers, maybe on other machines and from another working directory */
        char abs[PATH_MAX];
        if (realpath(s.data, abs) && strlen(abs) < sizeof s.data) memcpy(s.data, abs, strlen(abs) + 1);
        else if (!realpath(s.data, abs)) rm_cmd_error(c, "data=%s: %s", s.data, strerror(errno));
        if (rm_sweep_store(&ctx, dir, &s)) rm_cmd_error(c, "%s", ctx.msg);
    }
    const char *backend = rm_arg(c, "backend")->s;
    int threads = (int)rm_arg(c, "threads")->i, jobs = (int)rm_arg(c, "jobs")->i;
    if (threads < 1 || threads > 1024) rm_cmd_error(c, "threads=%d out of range 1..1024", threads);
    if (jobs < 0) rm_cmd_error(c, "jobs= must be >= 0");
    if (!strcmp(backend, "local") && jobs == 0) jobs = nprocs() / threads > 0 ? nprocs() / threads : 1;
    double poll = rm_arg(c, "poll")->d;
    if (!(poll >= 0.05 && poll <= 3600)) rm_cmd_error(c, "poll=%g out of range 0.05..3600 seconds", poll);

    int n = rm_sweep_ncells(&s);
    sw_run w = {.dir = dir, .s = &s, .ncells = n, .quiet = quiet};
    w.seen = lua_newuserdatauv(L, (size_t)n, 0);   /* collected with the call */
    int *todo = lua_newuserdatauv(L, sizeof(int) * (size_t)n, 0);
    memset(w.seen, 0, (size_t)n);
    int ntodo = 0;
    for (int i = 0; i < n; i++) if (!rm_sweep_read_result(dir, &s, i, NULL)) todo[ntodo++] = i;
    if (!quiet) {
        char row[300], how[80] = "";
        rm_sweep_table_row(NULL, row, sizeof row);
        if (ntodo && !strcmp(backend, "local"))
            snprintf(how, sizeof how, ", local pool of %d process%s x %d thread%s", jobs < ntodo ? jobs : ntodo,
                     (jobs < ntodo ? jobs : ntodo) > 1 ? "es" : "", threads, threads > 1 ? "s" : "");
        else if (ntodo) snprintf(how, sizeof how, ", Slurm job array");
        printf("sweep %s: %d cells (%d finished before, %d to run%s)\n%s  host\n", dir, n, n - ntodo, ntodo, how, row);
        fflush(stdout);
    }
    collect(&w);
    w.fresh = 0;
    int stopped = 0;
    if (ntodo) {
        if (!strcmp(backend, "local")) stopped = run_local(c, &w, todo, ntodo, jobs < ntodo ? jobs : ntodo, threads);
        else stopped = run_slurm(c, &w, todo, ntodo, jobs, threads, poll);
    }
    int nf = 0;
    if (rm_sweep_gather(&ctx, dir, &s, &nf)) rm_cmd_error(c, "%s", ctx.msg);
    if (!quiet) {
        printf("%d of %d cells finished (%d now%s%s%s); results in %s/results.csv\n", nf, n, w.fresh,
               w.failed ? ", failures above" : "", stopped ? ", stopped" : "",
               nf < n && !stopped && !w.failed && strcmp(backend, "local") && !rm_arg(c, "wait")->i ? ", the rest queued" : "", dir);
        fflush(stdout);
    }
    /* the result: {cells=, finished=, failed=, complete=, csv=, rows={{cell=, act=, ...}...}} */
    lua_createtable(L, 0, 6);
    SETN("cells", n); SETN("finished", nf); SETN("failed", w.failed);
    lua_pushboolean(L, nf == n);
    lua_setfield(L, -2, "complete");
    lua_pushboolean(L, nf < n && !stopped && !w.failed && strcmp(backend, "local") && !rm_arg(c, "wait")->i);
    lua_setfield(L, -2, "submitted");   /* slurm wait=false: the rest is queued */
    char csv[1100];
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    SETS("csv", csv);
    lua_createtable(L, nf, 0);
    int k = 0;
    for (int i = 0; i < n; i++) {
        rm_sweep_result r;
        if (!rm_sweep_read_result(dir, &s, i, &r)) continue;
        lua_createtable(L, 0, 14);
        SETN("cell", i); SETS("act", r.cell.act); SETN("hidden", r.cell.hidden); SETN("lr", r.cell.lr);
        SETN("seed", (double)r.cell.seed); SETS("quant", r.cell.quant); SETN("train_loss", r.train_loss);
        SETN("train_acc", r.train_acc); SETN("test_acc", r.test_acc); SETN("test_loss", r.test_loss);
        if (r.int8_acc >= 0) SETN("int8_acc", r.int8_acc);
        SETN("seconds", r.seconds); SETN("img_per_s", r.imgs_per_s); SETS("host", r.host);
        lua_rawseti(L, -2, ++k);
    }
    lua_setfield(L, -2, "rows");
    return 1;
}

/* ---- the worker: resmlp sweep-cell DIR N ---------------------------------------------------------- */

static void cell_progress(void *ud, const char *line) {
    (void)ud;
    printf("%s\n", line);
    fflush(stdout);
}

int rm_sweep_cell_main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: resmlp sweep-cell DIR N (runs cell N of the sweep in DIR)\n"); return 2; }
    char *end;
    long idx = strtol(argv[1], &end, 10);
    if (!argv[1][0] || *end || idx < 0) { fprintf(stderr, "resmlp sweep-cell: bad cell index '%s'\n", argv[1]); return 2; }
    rm_set_threads(0);
    rm_install_sigint();
    signal(SIGTERM, SIG_DFL);
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_sweep_spec s;
    if (rm_sweep_load(&ctx, argv[0], &s)) { fprintf(stderr, "resmlp sweep-cell: %s\n", ctx.msg); return 1; }
    if (rm_sweep_read_result(argv[0], &s, (int)idx, NULL)) { printf("cell %ld is finished already\n", idx); return 0; }
    rm_sweep_cell cell;
    char lab[200], host[64] = "?";
    rm_sweep_cell_at(&s, (int)idx, &cell);
    rm_sweep_cell_label(&cell, lab, sizeof lab);
    gethostname(host, sizeof host - 1);
    printf("cell %ld: %s (pid %ld on %s, %d threads, %d epochs)\n", idx, lab, (long)getpid(), host, rm_get_threads(), s.epochs);
    fflush(stdout);
    rm_sweep_result r;
    if (rm_sweep_run_cell(&ctx, argv[0], &s, (int)idx, cell_progress, NULL, &r)) {
        fprintf(stderr, "resmlp sweep-cell: %s\n", ctx.msg);
        return 1;
    }
    printf("cell %ld done: test acc %.2f%%%s in %.1f s\n", idx, 100 * r.test_acc, r.int8_acc >= 0 ? " (int8 measured)" : "", r.seconds);
    return 0;
}

/* ---- resmlp sweep [DIR] --opt value ... : the command's options as command-line flags ------------ */

int rm_sweep_cli(int argc, char **argv) {
    const rm_command *cmd = rm_cmd_find("sweep");
    lua_State *L = rm_A.L;
    lua_newtable(L);   /* stack: args */
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { rm_cmd_help(cmd, stdout); lua_pop(L, 1); return 0; }
        if (strncmp(a, "--", 2) != 0) {
            if (npos++) { fprintf(stderr, "resmlp sweep: unexpected argument '%s'\n", a); lua_pop(L, 1); return 2; }
            lua_pushstring(L, a);
            lua_setfield(L, -2, "dir");
            continue;
        }
        const char *eq = strchr(a + 2, '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - a - 2 : (long)strlen(a + 2)), a + 2);
        for (char *p = name; *p; p++) if (*p == '-') *p = '_';
        const rm_opt *o = cmd->opts;
        while (o->name && strcmp(o->name, name)) o++;
        if (!o->name) { fprintf(stderr, "resmlp sweep: unknown option '--%s' (see resmlp sweep --help)\n", name); lua_pop(L, 1); return 2; }
        if (eq) lua_pushstring(L, eq + 1);
        else if (o->type == A_BOOL && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) lua_pushboolean(L, 1);
        else if (i + 1 < argc) lua_pushstring(L, argv[++i]);
        else { fprintf(stderr, "resmlp sweep: option '--%s' needs a value\n", name); lua_pop(L, 1); return 2; }
        lua_setfield(L, -2, name);
    }
    /* run through the Lua error machinery so a bad option prints one line */
    lua_getglobal(L, "resmlp");
    lua_getfield(L, -1, "sweep");
    lua_remove(L, -2);
    lua_insert(L, -2);   /* stack: sweep, args */
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        fprintf(stderr, "resmlp %s\n", m ? m : "sweep: error");
        lua_pop(L, 1);
        return 1;
    }
    lua_getfield(L, -1, "complete");
    lua_getfield(L, -2, "submitted");
    int ok = lua_toboolean(L, -1) || lua_toboolean(L, -2);
    lua_pop(L, 3);
    return ok ? 0 : 1;
}
