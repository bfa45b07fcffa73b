/* test_hls.c - the HLS side that needs no INT8 model: csynth.xml parsing (Vitis fixture with module
 * reports, older Vivado HLS fixture with DSP48E), tool discovery order, synthesis runs through the
 * stand-in tools in tests/fake_tools (success, exit 1, SIGKILL, no report, stale report, Ctrl-C,
 * SIGTERM ignored, time limit, bad tcl) with their exact messages, build.tcl accepted by the stand-in
 * (tclsh runs it), the analytic estimate against the paper's design points, folding under budgets,
 * and the LERP-PSA Verilog unit: bit-exact in Icarus over all inputs, cell counts from Yosys.
 * Yosys / Icarus parts print SKIP when the tools are absent (tools/deps.sh installs them). */
#include "tests/tutil.h"
#include "hlsgen/estimate.h"
#include "hlsgen/report.h"
#include "hlsgen/synth.h"
#include "hlsgen/tcl.h"
#include "hlsgen/verilog.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[64];
static char fakedir[PATH_MAX], repo[PATH_MAX];
static char *P(const char *fmt, const char *a) {   /* tmp/<fmt with a> */
    static char b[8][1024];
    static int k;
    k = (k + 1) % 8;
    char rel[512];
    snprintf(rel, sizeof rel, fmt, a ? a : "");
    snprintf(b[k], sizeof b[k], "%s/%s", tmp, rel);
    return b[k];
}
static int sh(const char *fmt, const char *a, const char *b) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a ? a : "", b ? b : "");
    return system(cmd);
}
static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static int ends(const char *s, const char *p) {
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}
static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

/* ---------------------------------------------------------------- reports */

static void test_report_vitis(void) {
    rm_ctx ctx = {0};
    static rm_hls_report r;
    CHECK_OK(rm_hls_report_load(&ctx, "tests/fixtures/hls/top_csynth.xml", &r), &ctx);
    CHECK(!strcmp(r.version, "2023.1"), "version %s", r.version);
    CHECK(!strcmp(r.part, "xcu50-fsvh2104-2-e"), "part %s", r.part);
    CHECK(!strcmp(r.family, "virtexuplusHBM"), "family %s", r.family);
    CHECK(!strcmp(r.top, "resmlp"), "top %s", r.top);
    CHECK(!strcmp(r.pipeline_type, "dataflow"), "pipeline %s", r.pipeline_type);
    CHECK(r.target_ns == 5.0 && r.uncertainty_ns == 1.35 && r.estimated_ns == 3.65, "clock %g %g %g",
          r.target_ns, r.uncertainty_ns, r.estimated_ns);
    CHECK(r.lat_best == 236715 && r.lat_avg == 236715 && r.lat_worst == 236715, "latency %ld %ld", r.lat_best, r.lat_worst);
    CHECK(r.interval_min == 6240 && r.interval_max == 6240, "interval %ld %ld", r.interval_min, r.interval_max);
    CHECK(r.used.bram18 == 226 && r.used.dsp == 1114 && r.used.ff == 97412 && r.used.lut == 141873 && r.used.uram == 0,
          "used %ld %ld %ld %ld %ld", r.used.bram18, r.used.dsp, r.used.ff, r.used.lut, r.used.uram);
    CHECK(r.avail.bram18 == 2688 && r.avail.dsp == 5952 && r.avail.ff == 1743360 && r.avail.lut == 871680 &&
          r.avail.uram == 640, "avail %ld %ld", r.avail.dsp, r.avail.lut);
    CHECK(r.dsp48e == 0 && r.nloops == 0, "dsp48e %d loops %d", r.dsp48e, r.nloops);
    char buf[8192];
    int n = rm_hls_report_format(&r, buf, sizeof buf);
    CHECK(n > 0 && n < (int)sizeof buf, "format %d", n);
    CHECK(strstr(buf, "32051 images/s"), "table: %s", buf);
    CHECK(strstr(buf, "1114") && strstr(buf, "5952") && strstr(buf, "18.7%"), "table: %s", buf);
    char small[40];
    CHECK(rm_hls_report_format(&r, small, sizeof small) == n && strlen(small) == sizeof small - 1, "truncation");
    /* flat fields */
    rm_hls_field f;
    int found = 0, i = 0;
    while (rm_hls_report_field(&r, i++, &f))
        if (!strcmp(f.name, "interval_max") && !f.is_str && f.num == 6240) found = 1;
    CHECK(found && i > 20, "fields %d", i);
    printf("%s", buf);
}

static void test_report_vivado(void) {
    rm_ctx ctx = {0};
    static rm_hls_report r;
    CHECK_OK(rm_hls_report_load(&ctx, "tests/fixtures/hls/top_csynth_vivado.xml", &r), &ctx);
    CHECK(!strcmp(r.version, "2017.4") && !strcmp(r.part, "xc7z045ffg900-2"), "%s %s", r.version, r.part);
    CHECK(r.dsp48e == 1 && r.used.dsp == 256 && r.avail.dsp == 900, "dsp48e %d %ld %ld", r.dsp48e, r.used.dsp, r.avail.dsp);
    CHECK(r.used.uram == -1 && r.avail.uram == -1, "uram absent -> -1: %ld", r.used.uram);
    CHECK(r.pipeline_type[0] == 0, "no pipeline type: '%s'", r.pipeline_type);
    CHECK(r.lat_best == 29215 && r.lat_worst == 29441 && r.interval_min == 29216 && r.interval_max == 29442,
          "latency %ld..%ld", r.lat_best, r.lat_worst);
    CHECK(r.nloops == 5, "loops %d", r.nloops);
    if (r.nloops == 5) {
        const rm_hls_loop *L = r.loops;
        CHECK(!strcmp(L[0].name, "LOAD_INPUT") && L[0].level == 0 && L[0].trip_max == 3072 && L[0].lat_max == 3074 &&
              L[0].ii == 1 && L[0].pipe_depth == 4, "LOAD_INPUT %s %ld %ld", L[0].name, L[0].trip_max, L[0].ii);
        CHECK(!strcmp(L[1].name, "LAYERS") && L[1].level == 0 && L[1].lat_min == 25958 && L[1].lat_max == 26184 &&
              L[1].iter_min == 98 && L[1].iter_max == 4370 && L[1].ii == -1, "LAYERS %ld..%ld", L[1].lat_min, L[1].lat_max);
        CHECK(!strcmp(L[2].name, "TILE_ROWS") && L[2].level == 1 && L[2].trip_min == 1 && L[2].trip_max == 24, "TILE_ROWS");
        CHECK(!strcmp(L[3].name, "TILE_MAC") && L[3].level == 2 && L[3].ii == 1 && L[3].trip_max == 96, "TILE_MAC");
        CHECK(!strcmp(L[4].name, "CLASSIFY") && L[4].trip_max == -1 && L[4].lat_max == -1 && L[4].iter_max == 7,
              "CLASSIFY undef");
        CHECK(!strcmp(L[0].module, "resmlp"), "module %s", L[0].module);
    }
    char buf[8192];
    rm_hls_report_format(&r, buf, sizeof buf);
    CHECK(strstr(buf, "DSP48E") && strstr(buf, "25958~26184") && strstr(buf, "TILE_MAC") && strstr(buf, "n/a"),
          "table: %s", buf);
    printf("%s", buf);
}

static void test_report_find(void) {
    rm_ctx ctx = {0};
    static rm_hls_report r;
    char path[1024];
    /* emitted dir / project / solution layout with the module reports next to the top one */
    sh("mkdir -p %s/emit/resmlp_prj/solution1/syn/report && cp tests/fixtures/hls/top_csynth.xml "
       "%s/emit/resmlp_prj/solution1/syn/report/resmlp_csynth.xml", tmp, tmp);
    sh("cp tests/fixtures/hls/modules/*_csynth.xml %s/emit/resmlp_prj/solution1/syn/report/%s", tmp, "");
    CHECK_OK(rm_hls_report_find(&ctx, P("emit", 0), "resmlp", path, sizeof path), &ctx);
    CHECK(ends(path, "emit/resmlp_prj/solution1/syn/report/resmlp_csynth.xml"), "%s", path);
    CHECK_OK(rm_hls_report_find(&ctx, P("emit/resmlp_prj", 0), NULL, path, sizeof path), &ctx);
    CHECK(ends(path, "/resmlp_csynth.xml"), "no top: the shortest *_csynth.xml: %s", path);
    CHECK_OK(rm_hls_report_find(&ctx, P("emit/resmlp_prj/solution1", 0), "resmlp", path, sizeof path), &ctx);
    CHECK_OK(rm_hls_report_load_dir(&ctx, P("emit", 0), "resmlp", &r), &ctx);
    CHECK(r.nloops == 4, "module loops %d", r.nloops);
    if (r.nloops == 4) {
        CHECK(!strcmp(r.loops[0].module, "blocks_0_mlp_linear_1") && !strcmp(r.loops[0].name, "MLP_FC1_TOKENS") &&
              r.loops[0].trip_max == 64 && r.loops[0].iter_max == 97, "loop 0 %s/%s", r.loops[0].module, r.loops[0].name);
        CHECK(!strcmp(r.loops[1].name, "MLP_FC1_OUT") && r.loops[1].level == 1 && r.loops[1].ii == 1, "loop 1");
        CHECK(!strcmp(r.loops[2].module, "blocks_0_token_mixer_linear") && r.loops[2].trip_max == 96 &&
              r.loops[2].lat_max == 6240, "loop 2");
    }
    /* two solutions: the newer report wins */
    sh("mkdir -p %s/emit/resmlp_prj/solution2/syn/report && cp tests/fixtures/hls/top_csynth.xml "
       "%s/emit/resmlp_prj/solution2/syn/report/resmlp_csynth.xml", tmp, tmp);
    sh("touch -d '2 minutes ago' %s/emit/resmlp_prj/solution1/syn/report/resmlp_csynth.xml%s", tmp, "");
    CHECK_OK(rm_hls_report_find(&ctx, P("emit", 0), "resmlp", path, sizeof path), &ctx);
    CHECK(strstr(path, "/solution2/"), "newest: %s", path);
    /* nothing there */
    sh("mkdir -p %s/empty%s", tmp, "");
    CHECK(rm_hls_report_find(&ctx, P("empty", 0), "resmlp", path, sizeof path) == RM_ERR &&
          starts(ctx.msg, "no synthesis report under ") && strstr(ctx.msg, "run `synth "), "%s", ctx.msg);
    CHECK(rm_hls_report_load_dir(&ctx, P("nowhere", 0), NULL, &r) == RM_ERR && strstr(ctx.msg, "not a directory"),
          "%s", ctx.msg);
    /* broken files */
    write_file(P("bad.xml", 0), "<profile><PerformanceEstimates></profile>");
    CHECK(rm_hls_report_load(&ctx, P("bad.xml", 0), &r) == RM_ERR && strstr(ctx.msg, "not a readable XML report (line 1"),
          "%s", ctx.msg);
    write_file(P("other.xml", 0), "<?xml version=\"1.0\"?><project><name>x</name></project>\n");
    CHECK(rm_hls_report_load(&ctx, P("other.xml", 0), &r) == RM_ERR && strstr(ctx.msg, "not an HLS synthesis report"),
          "%s", ctx.msg);
    CHECK(rm_hls_report_load(&ctx, P("missing.xml", 0), &r) == RM_ERR && strstr(ctx.msg, "missing.xml"), "%s", ctx.msg);
}

/* ---------------------------------------------------------------- tool discovery */

static void test_discovery(void) {
    rm_ctx ctx = {0};
    rm_hls_tool t;
    char *old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    unsetenv("XILINX_HLS");
    unsetenv("XILINX_VIVADO");
    sh("mkdir -p %s/pathA %s/hlsB/bin", tmp, tmp);
    sh("mkdir -p %s/vivC/bin%s", tmp, "");
    sh("ln -sf %s/vitis-run %s/pathA/vitis-run", fakedir, P("", 0));
    sh("ln -sf %s/vitis_hls %s/hlsB/bin/vitis_hls", fakedir, P("", 0));
    sh("ln -sf %s/vivado_hls %s/hlsB/bin/vivado_hls", fakedir, P("", 0));
    sh("ln -sf %s/vivado_hls %s/vivC/bin/vivado_hls", fakedir, P("", 0));

    setenv("PATH", "/usr/bin:/bin", 1);
    CHECK(rm_hls_find_tool(&ctx, NULL, &t) == RM_ERR, "nothing installed");
    CHECK(!strcmp(ctx.msg, "no HLS tool found: vitis_hls, vitis-run or vivado_hls is not on PATH, in $XILINX_HLS/bin "
                           "or in $XILINX_VIVADO/bin; install Vitis HLS and point at it with tool=/path/to/vitis_hls or "
                           "XILINX_HLS=/path/to/Vitis_HLS/<version> (or use `hls estimate` for numbers without the tool)"),
          "message: %s", ctx.msg);
    CHECK(!strchr(ctx.msg, '\n'), "one line");

    setenv("XILINX_VIVADO", P("vivC", 0), 1);
    CHECK_OK(rm_hls_find_tool(&ctx, NULL, &t), &ctx);
    CHECK(t.kind == RM_HLS_TOOL_VIVADO_HLS && !strcmp(t.found_by, "XILINX_VIVADO"), "%d %s", t.kind, t.found_by);

    setenv("XILINX_HLS", P("hlsB", 0), 1);
    CHECK_OK(rm_hls_find_tool(&ctx, NULL, &t), &ctx);
    CHECK(t.kind == RM_HLS_TOOL_VITIS_HLS && !strcmp(t.found_by, "XILINX_HLS") && ends(t.path, "hlsB/bin/vitis_hls"),
          "%d %s %s", t.kind, t.found_by, t.path);

    char pth[PATH_MAX + 64];
    snprintf(pth, sizeof pth, "%s:/usr/bin:/bin", P("pathA", 0));
    setenv("PATH", pth, 1);
    CHECK_OK(rm_hls_find_tool(&ctx, NULL, &t), &ctx);
    CHECK(t.kind == RM_HLS_TOOL_VITIS_RUN && !strcmp(t.found_by, "PATH"), "%d %s", t.kind, t.found_by);

    CHECK_OK(rm_hls_find_tool(&ctx, P("vivC/bin/vivado_hls", 0), &t), &ctx);
    CHECK(t.kind == RM_HLS_TOOL_VIVADO_HLS && !strcmp(t.found_by, "tool="), "explicit file %d %s", t.kind, t.found_by);
    CHECK_OK(rm_hls_find_tool(&ctx, P("hlsB", 0), &t), &ctx);
    CHECK(t.kind == RM_HLS_TOOL_VITIS_HLS && ends(t.path, "hlsB/bin/vitis_hls"), "explicit install dir %s", t.path);
    CHECK(rm_hls_find_tool(&ctx, P("nope/vitis_hls", 0), &t) == RM_ERR && strstr(ctx.msg, "not an executable file"),
          "%s", ctx.msg);
    CHECK(rm_hls_find_tool(&ctx, P("empty", 0), &t) == RM_ERR && strstr(ctx.msg, "no vitis_hls, vitis-run or vivado_hls"),
          "%s", ctx.msg);

    /* all three in one PATH directory: vitis_hls first */
    snprintf(pth, sizeof pth, "%s:/usr/bin:/bin", fakedir);
    setenv("PATH", pth, 1);
    CHECK_OK(rm_hls_find_tool(&ctx, NULL, &t), &ctx);
    CHECK(t.kind == RM_HLS_TOOL_VITIS_HLS, "preference %d", t.kind);
    unsetenv("XILINX_HLS");
    unsetenv("XILINX_VIVADO");
    setenv("PATH", old_path, 1);
    free(old_path);
}

/* ---------------------------------------------------------------- running the stand-in tools */

typedef struct logw {
    int n, ordered, saw_csynth, saw_cosim, saw_export, stop_on_hang;
    double last;
    volatile int *flag;
} logw;
static void logcb(void *ud, double el, const char *line) {
    logw *w = ud;
    if (el < w->last) w->ordered = 0;
    w->last = el;
    w->n++;
    if (strstr(line, "Running: csynth_design")) w->saw_csynth = 1;
    if (strstr(line, "Running: cosim_design")) w->saw_cosim = 1;
    if (strstr(line, "Running: export_design")) w->saw_export = 1;
    if (w->stop_on_hang && strstr(line, "hanging")) *w->flag = 1;
}

/* no live (non-zombie) process left in the group; zombies wait for init, which may be slow */
static int group_alive(int pgid) {
    DIR *d = opendir("/proc");
    if (!d) return kill(-pgid, 0) == 0;
    struct dirent *e;
    int alive = 0;
    while ((e = readdir(d)) && !alive) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], line[1024];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (fgets(line, sizeof line, f)) {
            char *rp = strrchr(line, ')');   /* the command name may contain spaces */
            char st;
            int ppid, pgrp;
            if (rp && sscanf(rp + 1, " %c %d %d", &st, &ppid, &pgrp) == 3 && pgrp == pgid && st != 'Z') alive = 1;
        }
        fclose(f);
    }
    closedir(d);
    return alive;
}
static int group_gone(int pgid) {
    for (int i = 0; i < 100; i++) {
        if (!group_alive(pgid)) return 1;
        usleep(20000);
    }
    return 0;
}

/* a project directory with dummy sources and a generated build.tcl */
static void make_project(const char *name) {
    rm_ctx ctx = {0};
    sh("mkdir -p %s/%s", tmp, name);
    char p[1024];
    snprintf(p, sizeof p, "%s/%s/kernel.cpp", tmp, name);
    write_file(p, "// kernel\n");
    snprintf(p, sizeof p, "%s/%s/tb.cpp", tmp, name);
    write_file(p, "// testbench\n");
    const char *src[] = { "kernel.cpp", NULL }, *tb[] = { "tb.cpp", NULL };
    rm_hls_tcl_opts o = { .top = "resmlp", .src = src, .tb = tb, .part = "xcu50-fsvh2104-2-e", .clock_ns = 5 };
    snprintf(p, sizeof p, "%s/%s/build.tcl", tmp, name);
    CHECK_OK(rm_hls_tcl_write(&ctx, &o, p), &ctx);
}

static int run_synth(const char *proj, int kind, const char *variant, const char *steps, rm_hls_run_opts *extra,
                     rm_hls_run_result *res, rm_ctx *ctx, logw *w) {
    rm_hls_tool t = { .kind = kind };
    if (snprintf(t.path, sizeof t.path, "%s/%s", fakedir, rm_hls_tool_name(kind)) >= (int)sizeof t.path) return RM_ERR;
    if (variant) setenv("RESMLP_FAKE_HLS", variant, 1); else unsetenv("RESMLP_FAKE_HLS");
    rm_hls_run_opts o = extra ? *extra : (rm_hls_run_opts){0};
    o.top = "resmlp";
    o.steps = steps;
    o.log = logcb;
    o.log_ud = w;
    w->ordered = 1;
    w->last = 0;
    int rc = rm_hls_synth(ctx, P("%s", proj), &t, &o, res);
    unsetenv("RESMLP_FAKE_HLS");
    return rc;
}

static void test_synth_fake(void) {
    rm_ctx ctx = {0};
    static rm_hls_run_result res;
    static rm_hls_report rep;
    logw w = {0};
    char want[2048];
    make_project("p_ok");
    make_project("p_norep");
    make_project("p_fail");

    /* success, vitis_hls: log streamed in order, fresh report parsed */
    CHECK_OK(run_synth("p_ok", RM_HLS_TOOL_VITIS_HLS, NULL, "csynth", NULL, &res, &ctx, &w), &ctx);
    CHECK(res.status == RM_HLS_RUN_OK && ends(res.report, "p_ok/resmlp_prj/solution1/syn/report/resmlp_csynth.xml"),
          "report %s", res.report);
    CHECK(w.n > 5 && w.ordered && w.saw_csynth && w.n == res.nlines, "log lines %d ordered %d", w.n, w.ordered);
    CHECK(access(P("p_ok/synth.log", 0), R_OK) == 0, "synth.log written");
    CHECK_OK(rm_hls_report_load_dir(&ctx, P("p_ok", 0), "resmlp", &rep), &ctx);
    CHECK(rep.interval_max == 6240 && rep.nloops == 4 && !strcmp(rep.part, "xcu50-fsvh2104-2-e"), "parsed %ld %d",
          rep.interval_max, rep.nloops);

    /* all steps; vitis-run's argument form */
    w = (logw){0};
    CHECK_OK(run_synth("p_ok", RM_HLS_TOOL_VITIS_RUN, NULL, "csim csynth cosim export", NULL, &res, &ctx, &w), &ctx);
    CHECK(w.saw_csynth && w.saw_cosim && w.saw_export, "steps ran: %d %d %d", w.saw_csynth, w.saw_cosim, w.saw_export);

    /* csynth that writes nothing: the old report is still there but is not this run's */
    w = (logw){0};
    CHECK(run_synth("p_ok", RM_HLS_TOOL_VITIS_HLS, "noreport", "csynth", NULL, &res, &ctx, &w) == RM_ERR, "stale report");
    snprintf(want, sizeof want, "synthesis failed: vitis_hls finished but wrote no report (expected "
             "<project>/<solution>/syn/report/resmlp_csynth.xml under %s; only an older one from a previous run: "
             "%s/resmlp_prj/solution1/syn/report/resmlp_csynth.xml) (log: %s/synth.log)",
             P("p_ok", 0), P("p_ok", 0), P("p_ok", 0));
    CHECK(!strcmp(ctx.msg, want), "\n got: %s\nwant: %s", ctx.msg, want);
    CHECK(res.status == RM_HLS_RUN_NOREPORT && w.saw_csynth, "status %d", res.status);

    /* only csim: no report is expected, none is reported */
    w = (logw){0};
    CHECK_OK(run_synth("p_ok", RM_HLS_TOOL_VITIS_HLS, NULL, "csim", NULL, &res, &ctx, &w), &ctx);
    CHECK(res.status == RM_HLS_RUN_OK && res.report[0] == 0 && !w.saw_csynth, "csim only: status %d report '%s'",
          res.status, res.report);

    /* vivado_hls: the older report with DSP48E */
    w = (logw){0};
    CHECK_OK(run_synth("p_ok", RM_HLS_TOOL_VIVADO_HLS, NULL, NULL, NULL, &res, &ctx, &w), &ctx);
    CHECK_OK(rm_hls_report_load(&ctx, res.report, &rep), &ctx);
    CHECK(rep.dsp48e == 1 && rep.used.dsp == 256 && !strcmp(rep.part, "xcu50-fsvh2104-2-e"), "vivado report");

    /* no report */
    w = (logw){0};
    CHECK(run_synth("p_norep", RM_HLS_TOOL_VITIS_HLS, "noreport", NULL, NULL, &res, &ctx, &w) == RM_ERR, "noreport");
    snprintf(want, sizeof want, "synthesis failed: vitis_hls finished but wrote no report (expected "
             "<project>/<solution>/syn/report/resmlp_csynth.xml under %s) (log: %s/synth.log)", P("p_norep", 0),
             P("p_norep", 0));
    CHECK(!strcmp(ctx.msg, want), "\n got: %s\nwant: %s", ctx.msg, want);
    CHECK(res.status == RM_HLS_RUN_NOREPORT && rm_hls_tail_count(&res) > 3, "tail %d", rm_hls_tail_count(&res));

    /* exit 1 */
    w = (logw){0};
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, "fail", NULL, NULL, &res, &ctx, &w) == RM_ERR, "fail");
    CHECK(starts(ctx.msg, "synthesis failed: vitis_hls exited with status 1 after ") && res.status == RM_HLS_RUN_EXIT &&
          res.exit_code == 1, "%s", ctx.msg);
    snprintf(want, sizeof want, " s (log: %s/synth.log); first error: ERROR: [HLS 207-3776] fake failure requested by "
             "RESMLP_FAKE_HLS=fail", P("p_fail", 0));
    CHECK(ends(ctx.msg, want), "\n got: %s\nwant suffix: %s", ctx.msg, want);
    int nt = rm_hls_tail_count(&res);
    CHECK(nt >= 5 && nt <= RM_HLS_TAIL && strstr(rm_hls_tail_line(&res, nt - 1), "Finished Command"), "tail %d", nt);
    char tail[8192];
    rm_hls_tail_format(&res, "  | ", tail, sizeof tail);
    CHECK(strstr(tail, "  | ERROR: [HLS 207-3776]"), "tail text: %s", tail);

    /* killed by SIGKILL (what the OOM killer does) */
    w = (logw){0};
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, "kill", NULL, NULL, &res, &ctx, &w) == RM_ERR, "kill");
    CHECK(starts(ctx.msg, "synthesis failed: vitis_hls was killed by signal 9 (SIGKILL) after ") &&
          strstr(ctx.msg, " s - the system may have run out of memory (the OOM killer sends SIGKILL) (log: ") &&
          res.status == RM_HLS_RUN_SIGNAL && res.signal == SIGKILL, "%s", ctx.msg);
    CHECK(strstr(rm_hls_tail_line(&res, rm_hls_tail_count(&res) - 1), "Memory usage growing"), "tail");

    /* Ctrl-C: the flag is set while the tool hangs */
    volatile int flag = 0;
    w = (logw){ .stop_on_hang = 1, .flag = &flag };
    rm_hls_run_opts ro = { .interrupt = &flag, .kill_grace_s = 2 };
    double t0 = rm_now();
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, "hang", NULL, &ro, &res, &ctx, &w) == RM_ERR, "hang");
    CHECK(starts(ctx.msg, "synthesis stopped: interrupted after ") &&
          strstr(ctx.msg, " s; vitis_hls and its child processes were stopped (log: ") &&
          res.status == RM_HLS_RUN_STOPPED, "%s", ctx.msg);
    CHECK(rm_now() - t0 < 1.9, "SIGTERM was enough: %.2f s", rm_now() - t0);
    CHECK(res.pid > 0 && group_gone(res.pid), "process group %d gone", res.pid);

    /* SIGTERM ignored: SIGKILL after the grace period */
    flag = 0;
    w = (logw){ .stop_on_hang = 1, .flag = &flag };
    ro.kill_grace_s = 0.3;
    t0 = rm_now();
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, "hang_noterm", NULL, &ro, &res, &ctx, &w) == RM_ERR, "noterm");
    CHECK(res.status == RM_HLS_RUN_STOPPED && rm_now() - t0 >= 0.3 && rm_now() - t0 < 3, "%s (%.2f s)", ctx.msg,
          rm_now() - t0);
    CHECK(res.pid > 0 && group_gone(res.pid), "process group %d gone", res.pid);

    /* the interrupt flag of ctx is honoured too */
    flag = 0;
    rm_ctx ictx = { .interrupt = &flag };
    w = (logw){ .stop_on_hang = 1, .flag = &flag };
    rm_hls_run_opts ro2 = { .kill_grace_s = 1 };
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, "hang", NULL, &ro2, &res, &ictx, &w) == RM_ERR &&
          res.status == RM_HLS_RUN_STOPPED, "ctx interrupt: %s", ictx.msg);

    /* time limit */
    w = (logw){0};
    rm_hls_run_opts ro3 = { .timeout_s = 0.4, .kill_grace_s = 1 };
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, "hang", NULL, &ro3, &res, &ctx, &w) == RM_ERR &&
          res.status == RM_HLS_RUN_TIMEOUT && strstr(ctx.msg, "ran past its time limit and was stopped after"),
          "%s", ctx.msg);

    /* a tcl without csynth_design, and one with an unknown step */
    write_file(P("p_fail/build.tcl", 0), "open_project -reset x_prj\nset_top resmlp\nadd_files kernel.cpp\n"
                                         "open_solution solution1\nset_part {xc7z020clg484-1}\ncreate_clock -period 10\nexit\n");
    w = (logw){0};
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, NULL, NULL, NULL, &res, &ctx, &w) == RM_ERR &&
          ends(ctx.msg, "; first error: ERROR: fake vitis_hls: build.tcl never uses csynth_design"), "%s", ctx.msg);
    write_file(P("p_fail/build.tcl", 0), "open_project x {\n");
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, NULL, NULL, NULL, &res, &ctx, &w) == RM_ERR &&
          strstr(ctx.msg, "is not complete tcl"), "%s", ctx.msg);
    make_project("p_fail");
    CHECK(run_synth("p_fail", RM_HLS_TOOL_VITIS_HLS, NULL, "csynth bogus", NULL, &res, &ctx, &w) == RM_ERR &&
          ends(ctx.msg, "; first error: ERROR: build.tcl: unknown step 'bogus' (known: csim csynth cosim export)"),
          "%s", ctx.msg);

    /* no build.tcl, no directory, tool missing */
    sh("mkdir -p %s/p_none%s", tmp, "");
    CHECK(run_synth("p_none", RM_HLS_TOOL_VITIS_HLS, NULL, NULL, NULL, &res, &ctx, &w) == RM_ERR, "no tcl");
    snprintf(want, sizeof want, "synthesis: no build.tcl in %s (run `hls emit %s` first)", P("p_none", 0), P("p_none", 0));
    CHECK(!strcmp(ctx.msg, want), "%s", ctx.msg);
    CHECK(run_synth("p_missing", RM_HLS_TOOL_VITIS_HLS, NULL, NULL, NULL, &res, &ctx, &w) == RM_ERR &&
          strstr(ctx.msg, "is not a directory"), "%s", ctx.msg);
    rm_hls_tool gone = { .kind = RM_HLS_TOOL_VITIS_HLS };
    snprintf(gone.path, sizeof gone.path, "%s/no_such_tool", tmp);
    CHECK(rm_hls_synth(&ctx, P("p_ok", 0), &gone, NULL, &res) == RM_ERR && res.status == RM_HLS_RUN_NOSTART &&
          starts(ctx.msg, "synthesis failed: vitis_hls could not be started (exec ") &&
          ends(ctx.msg, "No such file or directory"), "%s", ctx.msg);

    /* the stand-in checks its arguments */
    char vh[PATH_MAX + 16];
    snprintf(vh, sizeof vh, "%s/vitis_hls", fakedir);
    const char *bad[] = { vh, "-x", "build.tcl", NULL };
    CHECK(rm_hls_run(&ctx, P("p_ok", 0), bad, NULL, NULL, &res) == RM_ERR &&
          starts(ctx.msg, "vitis_hls exited with status 2 after ") &&
          strstr(ctx.msg, "first error: ERROR: fake vitis_hls: expected '-f <script>.tcl', got: -x build.tcl"),
          "%s", ctx.msg);
}

static void test_runner(void) {
    rm_ctx ctx = {0};
    static rm_hls_run_result res;
    logw w = {0};
    rm_hls_run_opts o = { .log = logcb, .log_ud = &w };
    const char *many[] = { "/bin/sh", "-c", "i=1; while [ $i -le 100 ]; do echo line $i; i=$((i+1)); done; "
                                            "printf 'no newline at the end'", NULL };
    w.ordered = 1;
    CHECK_OK(rm_hls_run(&ctx, NULL, many, NULL, &o, &res), &ctx);
    CHECK(res.nlines == 101 && w.n == 101 && rm_hls_tail_count(&res) == RM_HLS_TAIL, "lines %ld", res.nlines);
    CHECK(!strcmp(rm_hls_tail_line(&res, 0), "line 82") && !strcmp(rm_hls_tail_line(&res, 19), "no newline at the end") &&
          rm_hls_tail_line(&res, 20) == NULL, "tail %s", rm_hls_tail_line(&res, 0));
    const char *longl[] = { "/bin/sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x; echo", NULL };
    CHECK_OK(rm_hls_run(&ctx, NULL, longl, NULL, NULL, &res), &ctx);
    CHECK(res.nlines == 3 && strlen(rm_hls_tail_line(&res, 0)) == RM_HLS_LINE - 1, "long line split: %ld", res.nlines);
    setenv("RESMLP_T", "old", 1);
    const char *env[] = { "RESMLP_T=42", NULL };
    rm_hls_run_opts oe = { .env = env };
    const char *showenv[] = { "/bin/sh", "-c", "echo v=$RESMLP_T; pwd", NULL };
    CHECK_OK(rm_hls_run(&ctx, tmp, showenv, NULL, &oe, &res), &ctx);
    CHECK(!strcmp(rm_hls_tail_line(&res, 0), "v=42") && ends(rm_hls_tail_line(&res, 1), tmp + 4), "env/dir: %s %s",
          rm_hls_tail_line(&res, 0), rm_hls_tail_line(&res, 1));
    unsetenv("RESMLP_T");
    const char *fail[] = { "/bin/sh", "-c", "echo ERROR: it broke; exit 3", NULL };
    CHECK(rm_hls_run(&ctx, NULL, fail, "mytool", NULL, &res) == RM_ERR &&
          starts(ctx.msg, "mytool exited with status 3 after ") && ends(ctx.msg, "s; first error: ERROR: it broke"),
          "%s", ctx.msg);
    CHECK(rm_hls_run(&ctx, P("no_such_dir", 0), fail, "mytool", NULL, &res) == RM_ERR &&
          starts(ctx.msg, "mytool could not be started: cannot enter ") && res.status == RM_HLS_RUN_NOSTART, "%s", ctx.msg);
    const char *segv[] = { "/bin/sh", "-c", "kill -SEGV $$", NULL };
    CHECK(rm_hls_run(&ctx, NULL, segv, "crashy", NULL, &res) == RM_ERR &&
          strstr(ctx.msg, "crashy was killed by signal 11 (SIGSEGV) after") && !strstr(ctx.msg, "memory"), "%s", ctx.msg);
    /* already interrupted: nothing is started */
    volatile int flag = 1;
    rm_hls_run_opts oi = { .interrupt = &flag };
    CHECK(rm_hls_run(&ctx, NULL, fail, "mytool", &oi, &res) == RM_ERR && res.status == RM_HLS_RUN_STOPPED &&
          res.pid == 0 && !strcmp(ctx.msg, "mytool stopped: interrupted before it started"), "%s", ctx.msg);
    /* SIGCHLD ignored by the host: the exit status is lost, and the message says why */
    void (*old)(int) = signal(SIGCHLD, SIG_IGN);
    const char *ok[] = { "/bin/sh", "-c", "echo fine", NULL };
    CHECK(rm_hls_run(&ctx, NULL, ok, "mytool", NULL, &res) == RM_ERR && strstr(ctx.msg, "unknown exit status"), "%s",
          ctx.msg);
    signal(SIGCHLD, old);
    /* a grandchild that keeps the pipe open after the main process exits does not hang us */
    const char *orphan[] = { "/bin/sh", "-c", "sleep 30 & echo started", NULL };
    double t0 = rm_now();
    CHECK_OK(rm_hls_run(&ctx, NULL, orphan, NULL, NULL, &res), &ctx);
    CHECK(rm_now() - t0 < 5 && group_gone(res.pid), "orphan handled in %.1f s", rm_now() - t0);
}

/* ---------------------------------------------------------------- build.tcl */

static void test_tcl(void) {
    rm_ctx ctx = {0};
    const char *src[] = { "resmlp.cpp", NULL }, *tb[] = { "tb_resmlp.cpp", NULL };
    rm_hls_tcl_opts o = { .top = "resmlp", .src = src, .tb = tb, .clock_ns = 4, .tb_argv = "--samples 8" };
    char buf[8192];
    int n = rm_hls_tcl_format(&ctx, &o, buf, sizeof buf);
    CHECK(n > 0 && n < (int)sizeof buf, "%d %s", n, ctx.msg);
    const char *need[] = { "open_project -reset resmlp_prj\n", "set_top resmlp\n", "add_files resmlp.cpp -cflags \"-std=c++14\"\n",
                           "add_files -tb tb_resmlp.cpp", "open_solution -reset solution1\n", "set_part {xcu50-fsvh2104-2-e}\n",
                           "create_clock -period 4 -name default\n", "csim_design -argv {--samples 8}", "csynth_design",
                           "cosim_design -argv {--samples 8}", "export_design -format ip_catalog", "RESMLP_HLS_STEPS", NULL };
    for (int i = 0; need[i]; i++) CHECK(strstr(buf, need[i]), "missing %s", need[i]);
    CHECK(rm_hls_tcl_format(&ctx, &o, NULL, 0) == n, "length query");
    /* tclsh parses it */
    write_file(P("parse.tcl", 0), buf);
    CHECK(sh("tclsh <<'EOF' >/dev/null\nset f [open %s]; set t [read $f]; close $f\n"
             "if {![info complete $t]} { exit 1 }\nEOF%s", P("parse.tcl", 0), "") == 0, "tclsh info complete");
    o.top = "bad top";
    CHECK(rm_hls_tcl_format(&ctx, &o, buf, sizeof buf) == RM_ERR && strstr(ctx.msg, "top function name"), "%s", ctx.msg);
    o.top = "resmlp";
    o.part = "xc7z020[exec rm]";
    CHECK(rm_hls_tcl_format(&ctx, &o, buf, sizeof buf) == RM_ERR && strstr(ctx.msg, "part"), "%s", ctx.msg);
    o.part = NULL;
    o.cflags = "-DX=\"1\"";
    CHECK(rm_hls_tcl_format(&ctx, &o, buf, sizeof buf) == RM_ERR && strstr(ctx.msg, "cflags"), "%s", ctx.msg);
    o.cflags = NULL;
    o.src = NULL;
    CHECK(rm_hls_tcl_format(&ctx, &o, buf, sizeof buf) == RM_ERR && strstr(ctx.msg, "no kernel source"), "%s", ctx.msg);
}

/* ---------------------------------------------------------------- estimates and folding */

static void test_estimate(void) {
    rm_ctx ctx = {0};
    static rm_hls_design lerp96, relu96, relu192, d;
    rm_hls_dims m = rm_hls_dims_paper(RM_HLS_ACT_LERP, 96);
    CHECK_OK(rm_hls_design_init(&ctx, &lerp96, &m, 5.0), &ctx);
    m = rm_hls_dims_paper(RM_HLS_ACT_RELU, 96);
    CHECK_OK(rm_hls_design_init(&ctx, &relu96, &m, 5.0), &ctx);
    m = rm_hls_dims_paper(RM_HLS_ACT_RELU, 192);
    CHECK_OK(rm_hls_design_init(&ctx, &relu192, &m, 5.0), &ctx);
    /* the paper's streaming design points (Vitis HLS 2023.1, U50, 200 MHz) */
    CHECK(lerp96.ii == 6240 && lround(lerp96.fps) == 32051, "LERP-PSA h=96: II %ld, %.1f/s", lerp96.ii, lerp96.fps);
    CHECK(relu96.ii == 6240 && lround(relu96.fps) == 32051, "ReLU h=96: II %ld", relu96.ii);
    CHECK(relu192.ii == 12352 && lround(relu192.fps) == 16192, "ReLU h=192: II %ld, %.1f/s", relu192.ii, relu192.fps);
    CHECK(strstr(lerp96.st[lerp96.slowest].name, "token_mixer_linear"), "h=96 bound by the token mixer: %s",
          lerp96.st[lerp96.slowest].name);
    CHECK(!strcmp(relu192.st[relu192.slowest].name, "blocks_0_mlp_linear_1"), "h=192 bound by fc1: %s",
          relu192.st[relu192.slowest].name);
    CHECK(lerp96.nstages == 1 + 4 * 9 + 2 && relu96.nstages == 1 + 4 * 7 + 2, "stages %d %d", lerp96.nstages, relu96.nstages);
    int i = rm_hls_find_stage(&lerp96, "blocks_2_mlp_psa_1");
    CHECK(i >= 0 && lerp96.st[i].cycles == 64 * 97 && lerp96.st[i].kind == RM_HLS_ST_LUT && lerp96.st[i].bram18 > 0,
          "LUT stage");
    long sum = 0;
    for (int k = 0; k < lerp96.nstages; k++) sum += lerp96.st[k].cycles;
    CHECK(lerp96.latency == sum, "latency = sum of stages");
    /* abstract: the LERP-PSA h=96 design needs ~25% fewer LUT+DSP than ReLU h=192 at twice the rate */
    double a = (double)(lerp96.lut + lerp96.dsp), b = (double)(relu192.lut + relu192.dsp);
    CHECK(a < b && (b - a) / b > 0.10 && (b - a) / b < 0.40, "LUT+DSP LERP96 %.0f vs ReLU192 %.0f (%.1f%% fewer)", a, b,
          100 * (b - a) / b);
    CHECK(lerp96.fps / relu192.fps > 1.9, "twice the throughput");
    /* parallelism changes cycles as the formula says */
    d = relu96;
    CHECK_OK(rm_hls_set_par(&ctx, &d, "blocks_0_mlp_linear_1", 2, 48), &ctx);
    rm_hls_estimate(&d, NULL);
    i = rm_hls_find_stage(&d, "blocks_0_mlp_linear_1");
    CHECK(d.st[i].cycles == 64 * (48 * 2 + 1) && d.st[i].dsp == 96, "folded fc1 %ld", d.st[i].cycles);
    CHECK(rm_hls_set_par(&ctx, &d, "blocks_0_mlp_linear_1", 5, 96) == RM_ERR &&
          !strcmp(ctx.msg, "blocks_0_mlp_linear_1: PE 5 must divide its 96 outputs"), "%s", ctx.msg);
    CHECK(rm_hls_set_par(&ctx, &d, "pool", 1, 2) == RM_ERR && strstr(ctx.msg, "SIMD must be 1"), "%s", ctx.msg);
    CHECK(rm_hls_set_par(&ctx, &d, "nope", 1, 1) == RM_ERR && strstr(ctx.msg, "no stage named nope"), "%s", ctx.msg);
    rm_hls_dims bad = m;
    bad.h = 0;
    CHECK(rm_hls_design_init(&ctx, &d, &bad, 5) == RM_ERR && strstr(ctx.msg, "must be positive"), "%s", ctx.msg);
    char buf[16384];
    rm_hls_estimate_format(&lerp96, buf, sizeof buf);
    CHECK(strstr(buf, "interval 6240 cycles") && strstr(buf, "32051 images/s"), "%s", buf);
    printf("%s", buf);
}

static void test_fold(void) {
    rm_ctx ctx = {0};
    static rm_hls_design paper, d, d2;
    rm_hls_budget b;
    rm_hls_fold_info fi;
    rm_hls_dims m = rm_hls_dims_paper(RM_HLS_ACT_LERP, 96);
    CHECK_OK(rm_hls_design_init(&ctx, &paper, &m, 5.0), &ctx);

    CHECK_OK(rm_hls_budget_parse(&ctx, "lut:200k,dsp:1.5k", &b), &ctx);
    CHECK(b.lut == 200000 && b.dsp == 1500 && b.ff < 0 && b.bram18 < 0, "parse %ld %ld", b.lut, b.dsp);
    CHECK_OK(rm_hls_budget_parse(&ctx, "LUT:1M,ff:5,bram:7", &b), &ctx);
    CHECK(b.lut == 1000000 && b.ff == 5 && b.bram18 == 7 && b.dsp < 0, "parse 2");
    CHECK(rm_hls_budget_parse(&ctx, "lut=5", &b) == RM_ERR && strstr(ctx.msg, "NAME:NUMBER"), "%s", ctx.msg);
    CHECK(rm_hls_budget_parse(&ctx, "foo:1", &b) == RM_ERR && strstr(ctx.msg, "unknown resource 'foo'"), "%s", ctx.msg);
    CHECK(rm_hls_budget_parse(&ctx, "dsp:12x", &b) == RM_ERR, "%s", ctx.msg);

    /* the paper's throughput as target: folding lands on the paper's interval, with no more DSPs */
    d = paper;
    CHECK_OK(rm_hls_budget_parse(&ctx, "lut:10M,dsp:100k", &b), &ctx);
    CHECK_OK(rm_hls_fold(&ctx, &d, NULL, &b, 32051, &fi), &ctx);
    CHECK(fi.met_target && d.ii <= 6240 && d.dsp <= paper.dsp && d.lut <= paper.lut * 1.05, "target fold: II %ld DSP %ld "
          "(paper point %ld) %s", d.ii, d.dsp, paper.dsp, fi.limit);

    /* more budget never means less throughput; every result within its budget */
    long prev_ii = -1;
    long dsps[] = { 60, 150, 400, 1000, 3000, 10000 };
    for (int k = 0; k < 6; k++) {
        d = paper;
        b = (rm_hls_budget){ -1, -1, dsps[k], -1 };
        CHECK_OK(rm_hls_fold(&ctx, &d, NULL, &b, 0, &fi), &ctx);
        CHECK(d.dsp <= dsps[k], "dsp %ld > budget %ld", d.dsp, dsps[k]);
        CHECK(prev_ii < 0 || d.ii <= prev_ii, "budget dsp:%ld II %ld worse than %ld", dsps[k], d.ii, prev_ii);
        CHECK(!fi.met_target && fi.limit[0], "limit given");
        prev_ii = d.ii;
    }
    CHECK(prev_ii < 6240, "with 10k DSPs folding beats the paper point: %ld", prev_ii);

    /* a LUT + DSP budget */
    d = paper;
    CHECK_OK(rm_hls_budget_parse(&ctx, "lut:40000,dsp:800", &b), &ctx);
    CHECK_OK(rm_hls_fold(&ctx, &d, NULL, &b, 0, &fi), &ctx);
    CHECK(d.lut <= 40000 && d.dsp <= 800 && d.ii > 6240 && strstr(fi.limit, "budget"), "II %ld LUT %ld DSP %ld: %s",
          d.ii, d.lut, d.dsp, fi.limit);
    printf("fold lut:40000,dsp:800 -> II %ld (%.0f images/s), LUT %ld, DSP %ld, BRAM %ld; %s\n", d.ii, d.fps, d.lut,
           d.dsp, d.bram18, fi.limit);
    /* no room even for the smallest design */
    d = paper;
    CHECK_OK(rm_hls_budget_parse(&ctx, "lut:100", &b), &ctx);
    CHECK(rm_hls_fold(&ctx, &d, NULL, &b, 0, &fi) == RM_ERR &&
          starts(ctx.msg, "budget lut:100 is below the smallest design (PE = SIMD = 1 everywhere needs lut "), "%s", ctx.msg);

    /* the chosen parallelism goes into the project as a header and comes back */
    d = paper;
    CHECK_OK(rm_hls_budget_parse(&ctx, "dsp:400", &b), &ctx);
    CHECK_OK(rm_hls_fold(&ctx, &d, NULL, &b, 0, &fi), &ctx);
    static char hdr[16384];
    int n = rm_hls_par_format(&d, hdr, sizeof hdr);
    CHECK(n > 0 && n < (int)sizeof hdr && strstr(hdr, "#define BLOCKS_3_MLP_LINEAR_2_SIMD "), "header");
    write_file(P("hls_parallelism.h", 0), hdr);
    d2 = paper;
    CHECK_OK(rm_hls_par_load(&ctx, &d2, P("hls_parallelism.h", 0)), &ctx);
    int same = 1;
    for (int k = 0; k < d.nstages; k++) same &= d.st[k].pe == d2.st[k].pe && d.st[k].simd == d2.st[k].simd;
    CHECK(same && d2.ii == d.ii, "round trip");
    write_file(P("bad_par.h", 0), "#define BLOCKS_0_MLP_LINEAR_1_PE 7\n");
    CHECK(rm_hls_par_load(&ctx, &d2, P("bad_par.h", 0)) == RM_ERR && strstr(ctx.msg, "bad_par.h:1") &&
          strstr(ctx.msg, "PE 7 must divide"), "%s", ctx.msg);
}

/* ---------------------------------------------------------------- Verilog */

/* the hardware formula written out once more, independently of rm_hls_lerp64, for each lut_edge:
 * L[64] is e (paper_hls), 2 L[63] - L[62] (extend, unsaturated), or unused with m <= 62 (clamp) */
static int ref_lerp_e(const int8_t *L, int e, int edge, int x) {
    int u = x + 128, m = u / 4, l = u % 4;
    if (edge == RM_LUT_EDGE_CLAMP && m > 62) m = 62;
    int next = m < 63 ? L[m + 1] : edge == RM_LUT_EDGE_PAPER_HLS ? e : 2 * L[63] - L[62];
    int d = next - L[m];
    int t = (int)floor(d * l / 2.0);
    int y = L[m] + (int)floor(t / 2.0) + (((t % 2) + 2) % 2);
    return y < -128 ? -128 : y > 127 ? 127 : y;
}
static int ref_lerp(const int8_t *L, int x) { return ref_lerp_e(L, 0, RM_LUT_EDGE_CLAMP, x); }

static void make_lut(int8_t *lut, int C) {
    for (int c = 0; c < C; c++)
        for (int k = 0; k < 64; k++) {
            double x = (4 * k - 128) / 32.0;   /* the int8 code 4k-128 at scale 1/32 */
            double v = 32.0 * (0.5 + 0.07 * c) * tanh(x * (0.8 + 0.15 * c)) + 8.0 * x + (c % 3) - 1;
            long q = lround(v);
            lut[c * 64 + k] = (int8_t)(q > 127 ? 127 : q < -128 ? -128 : q);
        }
}

static void test_formula(void) {
    int8_t L[64];
    uint64_t s = 7;
    int bad = 0;
    for (int rep = 0; rep < 200; rep++) {
        for (int k = 0; k < 64; k++) L[k] = (int8_t)(rm_rng_next(&s) & 0xff);
        for (int x = -128; x < 128; x++) {
            int y = rm_hls_lerp64(L, 0, RM_LUT_EDGE_CLAMP, (int8_t)x);
            for (int edge = 0; edge < RM_LUT_EDGE_N; edge++)
                bad += rm_hls_lerp64(L, L[5], edge, (int8_t)x) != ref_lerp_e(L, L[5], edge, x);
            int u = x + 128, m = u / 4 < 62 ? u / 4 : 62;
            int lo = L[m] < L[m + 1] ? L[m] : L[m + 1], hi = L[m] < L[m + 1] ? L[m + 1] : L[m];
            if (y != ref_lerp(L, x) || y < lo || y > hi) bad++;
        }
    }
    CHECK(bad == 0, "%d mismatches between the formula and its restatement (or out of [L[m], L[m+1]])", bad);
    /* the end segment: u >= 252 stays between L[62] and L[63] with l = u & 3 */
    for (int k = 0; k < 64; k++) L[k] = (int8_t)(2 * k - 64);
    CHECK(rm_hls_lerp64(L, 0, RM_LUT_EDGE_CLAMP, 127) == 60 + 2 && rm_hls_lerp64(L, 0, RM_LUT_EDGE_CLAMP, 124) == 60 &&
          rm_hls_lerp64(L, 0, RM_LUT_EDGE_CLAMP, -128) == -64, "ends %d", rm_hls_lerp64(L, 0, RM_LUT_EDGE_CLAMP, 127));
    /* extend continues the slope: 124 -> L[63] = 62, 127 -> 62 + 1.5 rounded up = 64 */
    CHECK(rm_hls_lerp64(L, 0, RM_LUT_EDGE_EXTEND, 124) == 62 && rm_hls_lerp64(L, 0, RM_LUT_EDGE_EXTEND, 127) == 64, "extend ends");
}

static void test_verilog(void) {
    rm_ctx ctx = {0};
    char iv[1024], ys[1024];
    int have_iv = rm_hls_which("iverilog", iv, sizeof iv) && rm_hls_which("vvp", iv, sizeof iv);
    int have_ys = rm_hls_which("yosys", ys, sizeof ys);
    enum { C = 12 };   /* not a power of two: the unused channel slots are padded */
    static int8_t lut[C * 64], expected[C * 256];
    make_lut(lut, C);
    for (int c = 0; c < C; c++)
        for (int x = -128; x < 128; x++) expected[c * 256 + x + 128] = (int8_t)ref_lerp(lut + c * 64, x);
    sh("mkdir -p %s/vl%s", tmp, "");
    CHECK_OK(rm_hls_verilog_lerp(&ctx, P("vl", 0), "lerp_psa_c12", lut, NULL, RM_LUT_EDGE_CLAMP, C, expected), &ctx);
    CHECK(rm_hls_verilog_lerp(&ctx, P("vl", 0), "bad name", lut, NULL, RM_LUT_EDGE_CLAMP, C, NULL) == RM_ERR, "module name checked");
    static rm_hls_run_result res;
    if (!have_iv) printf("SKIP: Icarus Verilog not installed (apt-get install iverilog): simulation not run\n");
    else {
        long checked = -1, mism = -1;
        CHECK_OK(rm_hls_iverilog_sim(&ctx, P("vl", 0), "lerp_psa_c12", C, NULL, &checked, &mism, &res), &ctx);
        CHECK(checked == C * 256 && mism == 0, "simulation: %ld checked, %ld mismatches", checked, mism);
        printf("iverilog: %ld outputs of %d channels bit-exact\n", checked, C);
        /* the check can fail: one wrong expected value is caught and named */
        expected[5 * 256 + 200] ^= 1;
        CHECK_OK(rm_hls_verilog_lerp(&ctx, P("vl", 0), "lerp_psa_c12", lut, NULL, RM_LUT_EDGE_CLAMP, C, expected), &ctx);
        CHECK(rm_hls_iverilog_sim(&ctx, P("vl", 0), "lerp_psa_c12", C, NULL, &checked, &mism, &res) == RM_ERR &&
              mism == 1 && !strcmp(ctx.msg, "simulation of lerp_psa_c12: 3072 of 3072 outputs checked, 1 mismatches"),
              "%s", ctx.msg);
        int saw = 0;
        for (int k = 0; k < rm_hls_tail_count(&res); k++)
            if (starts(rm_hls_tail_line(&res, k), "MISMATCH ch=5 x=72 got=")) saw = 1;
        CHECK(saw, "mismatch line");
        expected[5 * 256 + 200] ^= 1;
        CHECK_OK(rm_hls_verilog_lerp(&ctx, P("vl", 0), "lerp_psa_c12", lut, NULL, RM_LUT_EDGE_CLAMP, C, NULL), &ctx);  /* expected from the formula */
        CHECK_OK(rm_hls_iverilog_sim(&ctx, P("vl", 0), "lerp_psa_c12", C, NULL, &checked, &mism, &res), &ctx);
        /* the other edge modes against the independent formula, a steep top so they differ */
        int8_t e[C];
        for (int c = 0; c < C; c++) { lut[c * 64 + 62] = (int8_t)(100 - 60 * (c & 1)); lut[c * 64 + 63] = (int8_t)(120 - 100 * (c & 1)); e[c] = (int8_t)(c * 9 - 50); }
        for (int edge = RM_LUT_EDGE_EXTEND; edge <= RM_LUT_EDGE_PAPER_HLS; edge++) {
            for (int c = 0; c < C; c++)
                for (int x = -128; x < 128; x++) expected[c * 256 + x + 128] = (int8_t)ref_lerp_e(lut + c * 64, e[c], edge, x);
            CHECK_OK(rm_hls_verilog_lerp(&ctx, P("vl", 0), "lerp_psa_c12", lut, e, edge, C, expected), &ctx);
            checked = mism = -1;
            CHECK_OK(rm_hls_iverilog_sim(&ctx, P("vl", 0), "lerp_psa_c12", C, NULL, &checked, &mism, &res), &ctx);
            CHECK(checked == C * 256 && mism == 0, "lut_edge=%s simulation: %ld checked, %ld mismatches", rm_lut_edge_name(edge), checked, mism);
            printf("iverilog lut_edge=%s: %ld outputs bit-exact\n", rm_lut_edge_name(edge), checked);
        }
        CHECK_OK(rm_hls_verilog_lerp(&ctx, P("vl", 0), "lerp_psa_c12", lut, NULL, RM_LUT_EDGE_CLAMP, C, NULL), &ctx);
    }
    if (!have_ys) printf("SKIP: Yosys not installed (apt-get install yosys): no cell report\n");
    else {
        rm_hls_cells cells;
        double t0 = rm_now();
        CHECK_OK(rm_hls_yosys_synth(&ctx, P("vl", 0), "lerp_psa_c12", "xc7", NULL, &cells, &res), &ctx);
        char buf[4096];
        rm_hls_cells_format(&cells, buf, sizeof buf);
        printf("yosys synth_xilinx -family xc7 (%.1f s): %s\n", rm_now() - t0, buf);
        CHECK(cells.lut > 20 && cells.lut < 2000 && cells.ff >= 9 && cells.ff <= 29 && cells.dsp == 0 && cells.total > 0,
              "cells %s", buf);
        /* the stat parser on both Yosys output styles */
        const char *old_style = "=== top ===\n\n   Number of wires:  5\n   Number of cells:  7\n     FDRE   3\n"
                                "     LUT6   2\n     RAMB36E1   1\n     DSP48E1   1\n\n";
        const char *new_style = "=== top ===\n\n        5 wires\n        7 cells\n        3   FDRE\n        2   LUT6\n"
                                "        1   RAMB18E1\n        1   SRL16E\n\n";
        CHECK_OK(rm_hls_yosys_stat_parse(&ctx, old_style, "top", &cells), &ctx);
        CHECK(cells.ff == 3 && cells.lut == 2 && cells.bram18 == 2 && cells.dsp == 1 && cells.ncells == 4, "old style");
        CHECK_OK(rm_hls_yosys_stat_parse(&ctx, new_style, "top", &cells), &ctx);
        CHECK(cells.ff == 3 && cells.lut == 2 && cells.bram18 == 1 && cells.lutram == 1, "new style");
        CHECK(rm_hls_yosys_stat_parse(&ctx, old_style, "other", &cells) == RM_ERR && strstr(ctx.msg, "no section"), "%s",
              ctx.msg);
    }
}

int main(void) {
    strcpy(tmp, "/tmp/resmlp-hls-XXXXXX");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    if (!realpath("tests/fake_tools", fakedir) || !getcwd(repo, sizeof repo)) {
        fprintf(stderr, "run from the repository root\n");
        return 1;
    }
#define TIMED(call) do { double t0_ = rm_now(); call; printf("-- %-18s %5.2f s\n", #call, rm_now() - t0_); } while (0)
    TIMED(test_report_vitis());
    TIMED(test_report_vivado());
    TIMED(test_report_find());
    TIMED(test_discovery());
    TIMED(test_runner());
    TIMED(test_tcl());
    int have_tclsh = system("command -v tclsh >/dev/null 2>&1") == 0;
    if (have_tclsh) TIMED(test_synth_fake());
    else printf("SKIP: tclsh not installed (apt-get install tcl): stand-in tool runs not tested\n");
    TIMED(test_estimate());
    TIMED(test_fold());
    TIMED(test_formula());
    TIMED(test_verilog());
    if (!t_fail) sh("rm -rf %s%s", tmp, "");
    else fprintf(stderr, "kept %s for inspection\n", tmp);
    TEST_END();
}
