/* rtl.c - the learned-activation units of a quantized network as Verilog, their simulation with Icarus
 * or Verilator against the integer engine's tables, and the manifest `hls yosys` reads. See rtl.h. */
#include "rtl.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

int rm_hls_rtl_write(rm_ctx *ctx, const char *dir, const rm_qnet *q, rm_rtl_unit *u, int *nu) {
    *nu = 0;
    if (q->relu && !q->has_act1) return rm_err(ctx, "hls rtl: a ReLU network has no learned activations to put in RTL");
    if (!q->lut64)
        return rm_err(ctx, "hls rtl: the network uses 256-entry tables; the RTL unit is the 64-entry interpolation "
                           "(quantize with lut=64)");
    if (mkdir_p(dir) != 0) return rm_err(ctx, "hls rtl: cannot create %s: %s", dir, strerror(errno));
    for (int l = 0; l < q->L; l++)
        for (int s = 0; s < 2; s++) {
            const rm_qblock *b = &q->blk[l];
            const int8_t *t64 = s ? b->lut2_64 : b->lut1_64, *e = s ? b->lut2_e : b->lut1_e, *t = s ? b->lut2 : b->lut1;
            if (!t64) continue;
            rm_rtl_unit *x = &u[(*nu)++];
            memset(x, 0, sizeof *x);
            snprintf(x->name, sizeof x->name, "psa_b%d_%d", l, s);
            x->block = l; x->slot = s; x->C = s ? q->H : q->D; x->edge = q->lut_edge;
            /* expected = the engine's 256-entry tables (what every engine path reads), not the formula */
            if (rm_hls_verilog_lerp(ctx, dir, x->name, t64, e, q->lut_edge, x->C, t)) return RM_ERR;
        }
    char p[1100], tmp[1200];
    snprintf(p, sizeof p, "%s/rtl_units.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    if (!f) return rm_err(ctx, "hls rtl: cannot write %s", tmp);
    fprintf(f, "# resmlp RTL units (`hls rtl`): name block slot channels lut_edge\n");
    for (int i = 0; i < *nu; i++)
        fprintf(f, "%s %d %d %d %s\n", u[i].name, u[i].block, u[i].slot, u[i].C, rm_lut_edge_name(u[i].edge));
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, p) != 0) { unlink(tmp); return rm_err(ctx, "hls rtl: cannot write %s", p); }
    return RM_OK;
}

int rm_hls_rtl_load(rm_ctx *ctx, const char *dir, rm_rtl_unit *u, int *nu) {
    *nu = 0;
    char p[1100], line[256];
    snprintf(p, sizeof p, "%s/rtl_units.txt", dir);
    FILE *f = fopen(p, "r");
    if (!f) return rm_err(ctx, "%s holds no RTL units (no rtl_units.txt; run `hls rtl %s` first)", dir, dir);
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (line[0] == '#' || line[0] == '\n') continue;
        rm_rtl_unit x = {0};
        char edge[32];
        if (sscanf(line, "%47s %d %d %d %31s", x.name, &x.block, &x.slot, &x.C, edge) != 5 || x.C < 1 ||
            (x.edge = rm_lut_edge_from_name(edge)) < 0 || *nu >= RM_RTL_MAXU) {
            fclose(f);
            return rm_err(ctx, "%s:%d: not a unit line (name block slot channels lut_edge)", p, ln);
        }
        u[(*nu)++] = x;
    }
    fclose(f);
    if (!*nu) return rm_err(ctx, "%s lists no units", p);
    return RM_OK;
}

/* ---------------------------------------------------------------- Verilator */

typedef struct vwatch { const rm_hls_run_opts *user; long checked, mismatches; int seen; } vwatch;

static void vlog(void *ud, double el, const char *line) {
    vwatch *w = ud;
    long a, b;
    if (sscanf(line, "RESULT checked=%ld mismatches=%ld", &a, &b) == 2) { w->checked = a; w->mismatches = b; w->seen = 1; }
    if (w->user && w->user->log) w->user->log(w->user->log_ud, el, line);
}

int rm_hls_verilator_sim(rm_ctx *ctx, const char *dir, const char *module, int C, const rm_hls_run_opts *opts,
                         long *checked, long *mismatches, rm_hls_run_result *res) {
    rm_hls_run_result local;
    if (!res) res = &local;
    if (checked) *checked = 0;
    if (mismatches) *mismatches = 0;
    char vl[1024];
    if (!rm_hls_which("verilator", vl, sizeof vl))
        return rm_err(ctx, "Verilator is not installed (verilator not on PATH; Debian: apt-get install verilator)");
    char v[300], tb[300], top[300], mdir[300], exe[700];
    snprintf(v, sizeof v, "%s.v", module);
    snprintf(tb, sizeof tb, "%s_tb.v", module);
    snprintf(top, sizeof top, "%s_tb", module);
    snprintf(mdir, sizeof mdir, "obj_%s", module);
    snprintf(exe, sizeof exe, "./%s/V%s", mdir, top);
    vwatch w = { .user = opts };
    rm_hls_run_opts o = opts ? *opts : (rm_hls_run_opts){0};
    o.log = vlog;
    o.log_ud = &w;
    o.log_path = NULL;
    /* --binary: Verilator builds its own main around the testbench; --timing: the testbench's delays */
    const char *a1[] = { vl, "--binary", "--timing", "-j", "2", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module",
                         top, "-Mdir", mdir, "-o", NULL, v, tb, NULL };
    char oname[320];
    snprintf(oname, sizeof oname, "V%s", top);
    a1[13] = oname;
    if (rm_hls_run(ctx, dir, a1, "verilator", &o, res) != RM_OK) return RM_ERR;
    const char *a2[] = { exe, NULL };
    if (rm_hls_run(ctx, dir, a2, "the Verilator model", &o, res) != RM_OK) return RM_ERR;
    if (checked) *checked = w.checked;
    if (mismatches) *mismatches = w.mismatches;
    if (!w.seen) return rm_err(ctx, "Verilator simulation of %s printed no RESULT line", module);
    long want = (long)C * 256;
    if (w.mismatches || w.checked != want)
        return rm_err(ctx, "Verilator simulation of %s: %ld of %ld outputs checked, %ld mismatches", module, w.checked,
                      want, w.mismatches);
    return RM_OK;
}

/* ---------------------------------------------------------------- either */

static const char *sim_names[] = {"none", "icarus", "verilator"};
const char *rm_hls_rtl_sim_name(int sim) { return sim >= 0 && sim <= 2 ? sim_names[sim] : "?"; }

int rm_hls_rtl_sim_pick(const char *name) {
    char b[1024];
    if (!name || !strcmp(name, "auto")) {
        if (rm_hls_which("iverilog", b, sizeof b) && rm_hls_which("vvp", b, sizeof b)) return RM_RTL_SIM_ICARUS;
        if (rm_hls_which("verilator", b, sizeof b)) return RM_RTL_SIM_VERILATOR;
        return RM_RTL_SIM_NONE;
    }
    for (int i = 0; i < 3; i++) if (!strcmp(name, sim_names[i])) return i;
    return -1;
}

int rm_hls_rtl_sim(rm_ctx *ctx, const char *dir, rm_rtl_unit *u, int sim, const rm_hls_run_opts *opts,
                   rm_hls_run_result *res) {
    if (sim == RM_RTL_SIM_ICARUS) return rm_hls_iverilog_sim(ctx, dir, u->name, u->C, opts, &u->checked, &u->mismatches, res);
    if (sim == RM_RTL_SIM_VERILATOR) return rm_hls_verilator_sim(ctx, dir, u->name, u->C, opts, &u->checked, &u->mismatches, res);
    return rm_err(ctx, "hls rtl: no simulator (install iverilog or verilator)");
}
