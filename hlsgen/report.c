/* report.c - csynth.xml reader (libxml2) and its text table. See report.h. */
#include "report.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* ---------------------------------------------------------------- finding */

static long long mtime_of(const char *p) {
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}
static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
/* copy with truncation (no format-truncation noise) */
static void scopy(char *d, size_t n, const char *s) {
    if (!n) return;
    size_t l = strlen(s);
    if (l >= n) l = n - 1;
    memcpy(d, s, l);
    d[l] = 0;
}
/* "a/b" into out; 0 when it does not fit */
static int pjoin(char *out, size_t n, const char *a, const char *b) {
    int k = snprintf(out, n, "%s/%s", a, b);
    return k >= 0 && (size_t)k < n;
}
static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* the report in one syn/report directory; returns its mtime or -1 */
static long long report_in(const char *rdir, const char *top, char *out, size_t n) {
    char p[2048];
    if (top) {
        char f[300];
        snprintf(f, sizeof f, "%.255s_csynth.xml", top);
        if (!pjoin(p, sizeof p, rdir, f)) return -1;
        long long t = mtime_of(p);
        if (t >= 0) scopy(out, n, p);
        return t;
    }
    long long t = pjoin(p, sizeof p, rdir, "csynth.xml") ? mtime_of(p) : -1;
    if (t >= 0) { scopy(out, n, p); return t; }
    DIR *d = opendir(rdir);
    if (!d) return -1;
    struct dirent *e;
    size_t best = (size_t)-1;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, "_csynth.xml") || strlen(e->d_name) >= best) continue;
        if (!pjoin(p, sizeof p, rdir, e->d_name)) continue;
        long long tt = mtime_of(p);
        if (tt < 0) continue;
        best = strlen(e->d_name);
        t = tt;
        scopy(out, n, p);
    }
    closedir(d);
    return best == (size_t)-1 ? -1 : t;
}

/* look at base/syn/report, then one and two directory levels down */
static void search(const char *base, int depth, const char *top, char *best, size_t n, long long *best_t) {
    char p[2048], cand[2048];
    if (pjoin(p, sizeof p, base, "syn/report") && is_dir(p)) {
        long long t = report_in(p, top, cand, sizeof cand);
        if (t > *best_t) { *best_t = t; scopy(best, n, cand); }
    }
    if (depth == 0) return;
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (pjoin(p, sizeof p, base, e->d_name) && is_dir(p)) search(p, depth - 1, top, best, n, best_t);
    }
    closedir(d);
}

int rm_hls_report_find(rm_ctx *ctx, const char *dir, const char *top, char *path, size_t n) {
    if (top && !*top) top = NULL;
    if (!is_dir(dir)) return rm_err(ctx, "no synthesis report: %s is not a directory", dir);
    long long t = -1;
    char best[2048] = "";
    search(dir, 2, top, best, sizeof best, &t);
    if (t < 0)
        return rm_err(ctx, "no synthesis report under %s (looked for <solution>/syn/report/%s in it and "
                      "two levels down); run `synth %s` first", dir,
                      top ? "<top>_csynth.xml" : "csynth.xml", dir);
    scopy(path, n, best);
    return RM_OK;
}

/* ---------------------------------------------------------------- XML helpers */

static int is_el(const xmlNode *n, const char *name) {
    return n && n->type == XML_ELEMENT_NODE && (!name || !strcmp((const char *)n->name, name));
}
static xmlNode *child(const xmlNode *n, const char *name) {
    if (!n) return NULL;
    for (xmlNode *c = n->children; c; c = c->next) if (is_el(c, name)) return c;
    return NULL;
}
static xmlNode *path2(const xmlNode *n, const char *a, const char *b) { return child(child(n, a), b); }

/* trimmed text of an element into buf ("" if none) */
static void text_of(const xmlNode *n, char *buf, size_t sz) {
    buf[0] = 0;
    if (!n) return;
    xmlChar *s = xmlNodeGetContent(n);
    if (!s) return;
    const char *p = (const char *)s;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    scopy(buf, sz, p);
    size_t l = strlen(buf);
    while (l && (buf[l - 1] == ' ' || buf[l - 1] == '\t' || buf[l - 1] == '\n' || buf[l - 1] == '\r'))
        buf[--l] = 0;
    xmlFree(s);
}
static void str_of(const xmlNode *n, char *out, size_t sz) { text_of(n, out, sz); }

/* a number; "undef", "-", "" and anything non-numeric read as -1, as do values no cycle count can be
 * (NaN, infinities, beyond +-9e18: converting those to long is undefined behaviour) */
static long num_text(const char *s) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || !(v > -9e18 && v < 9e18)) return -1;
    return (long)(v + (v >= 0 ? 0.5 : -0.5));
}
static double dbl_of(const xmlNode *n) {
    char b[64];
    text_of(n, b, sizeof b);
    char *e;
    double v = strtod(b, &e);
    return e == b || !isfinite(v) ? -1.0 : v;
}
/* a value that may be a range: <range><min/><max/></range>, "a ~ b", or one number */
static void range_of(const xmlNode *n, long *mn, long *mx) {
    *mn = *mx = -1;
    if (!n) return;
    xmlNode *r = child(n, "range");
    char b[128];
    if (r) {
        text_of(child(r, "min"), b, sizeof b); *mn = num_text(b);
        text_of(child(r, "max"), b, sizeof b); *mx = num_text(b);
        return;
    }
    text_of(n, b, sizeof b);
    char *tl = strchr(b, '~');
    if (tl) { *tl = 0; *mn = num_text(b); *mx = num_text(tl + 1); return; }
    *mn = *mx = num_text(b);
}
static long num_of(const xmlNode *n) { long a, b; range_of(n, &a, &b); return b >= 0 ? b : a; }

static const char *loop_fields[] = { "TripCount", "Latency", "IterationLatency", "PipelineII",
                                     "PipelineDepth", NULL };
static int is_loop(const xmlNode *n) {
    if (!is_el(n, NULL)) return 0;
    for (int i = 0; loop_fields[i]; i++) if (child(n, loop_fields[i])) return 1;
    return 0;
}

static void add_loops(rm_hls_report *rep, const xmlNode *parent, int level, const char *module) {
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
        if (!is_loop(c)) continue;
        if (rep->nloops >= RM_HLS_MAX_LOOPS) { rep->loops_dropped++; continue; }
        rm_hls_loop *L = &rep->loops[rep->nloops++];
        memset(L, 0, sizeof *L);
        xmlNode *nm = child(c, "Name");
        if (nm) str_of(nm, L->name, sizeof L->name);
        else scopy(L->name, sizeof L->name, (const char *)c->name);
        scopy(L->module, sizeof L->module, module);
        L->level = level;
        range_of(child(c, "TripCount"), &L->trip_min, &L->trip_max);
        range_of(child(c, "Latency"), &L->lat_min, &L->lat_max);
        range_of(child(c, "IterationLatency"), &L->iter_min, &L->iter_max);
        L->ii = child(c, "PipelineII") ? num_of(child(c, "PipelineII")) : -1;
        L->pipe_depth = child(c, "PipelineDepth") ? num_of(child(c, "PipelineDepth")) : -1;
        add_loops(rep, c, level + 1, module);
    }
}

static void read_res(const xmlNode *n, rm_hls_res *r, int *dsp48e) {
    r->bram18 = r->dsp = r->ff = r->lut = r->uram = -1;
    if (!n) return;
    if (child(n, "BRAM_18K")) r->bram18 = num_of(child(n, "BRAM_18K"));
    if (child(n, "DSP")) r->dsp = num_of(child(n, "DSP"));
    else if (child(n, "DSP48E")) { r->dsp = num_of(child(n, "DSP48E")); if (dsp48e) *dsp48e = 1; }
    if (child(n, "FF")) r->ff = num_of(child(n, "FF"));
    if (child(n, "LUT")) r->lut = num_of(child(n, "LUT"));
    if (child(n, "URAM")) r->uram = num_of(child(n, "URAM"));
}

/* The file is read here and handed to libxml2 from memory, so a missing file is our one-line
 * message and libxml2 never prints an I/O warning of its own. */
static xmlDoc *parse_file(rm_ctx *ctx, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { rm_err(ctx, "cannot open the report %s: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *data = malloc(cap);
    while (data) {
        if (n == cap) {
            char *g = cap < ((size_t)256 << 20) ? realloc(data, cap * 2) : NULL;  /* reports are small: 256 MB cap */
            if (!g) { free(data); data = NULL; break; }
            data = g;
            cap *= 2;
        }
        size_t k = fread(data + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!data) { rm_err(ctx, "%s: too large or out of memory", path); return NULL; }
    if (rerr) { free(data); rm_err(ctx, "cannot read the report %s", path); return NULL; }
    xmlInitParser();
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    if (!pc) { free(data); rm_err(ctx, "%s: out of memory creating the XML parser", path); return NULL; }
    xmlDoc *doc = xmlCtxtReadMemory(pc, data, (int)n, path, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        xmlError *e = xmlCtxtGetLastError(pc);
        if (e && e->message) {
            char m[256];
            scopy(m, sizeof m, e->message);
            size_t l = strlen(m);
            while (l && (m[l - 1] == '\n' || m[l - 1] == ' ')) m[--l] = 0;
            rm_err(ctx, "%s: not a readable XML report (line %d: %s)", path, e->line, m);
        } else rm_err(ctx, "%s: not a readable XML report", path);
    }
    xmlFreeParserCtxt(pc);
    free(data);
    return doc;
}

int rm_hls_report_load(rm_ctx *ctx, const char *path, rm_hls_report *rep) {
    memset(rep, 0, sizeof *rep);
    scopy(rep->path, sizeof rep->path, path);
    xmlDoc *doc = parse_file(ctx, path);
    if (!doc) return RM_ERR;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || !child(root, "PerformanceEstimates") || !child(root, "AreaEstimates")) {
        xmlFreeDoc(doc);
        return rm_err(ctx, "%s: not an HLS synthesis report (no PerformanceEstimates/AreaEstimates under "
                      "the root element)", path);
    }
    str_of(path2(root, "ReportVersion", "Version"), rep->version, sizeof rep->version);
    xmlNode *ua = child(root, "UserAssignments");
    str_of(child(ua, "Part"), rep->part, sizeof rep->part);
    str_of(child(ua, "ProductFamily"), rep->family, sizeof rep->family);
    str_of(child(ua, "TopModelName"), rep->top, sizeof rep->top);
    rep->target_ns = child(ua, "TargetClockPeriod") ? dbl_of(child(ua, "TargetClockPeriod")) : -1;
    rep->uncertainty_ns = child(ua, "ClockUncertainty") ? dbl_of(child(ua, "ClockUncertainty")) : -1;
    xmlNode *pe = child(root, "PerformanceEstimates");
    str_of(child(pe, "PipelineType"), rep->pipeline_type, sizeof rep->pipeline_type);
    xmlNode *est = path2(pe, "SummaryOfTimingAnalysis", "EstimatedClockPeriod");
    rep->estimated_ns = est ? dbl_of(est) : -1;
    xmlNode *ol = child(pe, "SummaryOfOverallLatency");
    rep->lat_best = child(ol, "Best-caseLatency") ? num_of(child(ol, "Best-caseLatency")) : -1;
    rep->lat_avg = child(ol, "Average-caseLatency") ? num_of(child(ol, "Average-caseLatency")) : -1;
    rep->lat_worst = child(ol, "Worst-caseLatency") ? num_of(child(ol, "Worst-caseLatency")) : -1;
    rep->interval_min = child(ol, "Interval-min") ? num_of(child(ol, "Interval-min")) : -1;
    rep->interval_max = child(ol, "Interval-max") ? num_of(child(ol, "Interval-max")) : -1;
    if (!rep->pipeline_type[0]) str_of(child(ol, "PipelineType"), rep->pipeline_type, sizeof rep->pipeline_type);
    xmlNode *ae = child(root, "AreaEstimates");
    read_res(child(ae, "Resources"), &rep->used, &rep->dsp48e);
    read_res(child(ae, "AvailableResources"), &rep->avail, NULL);
    add_loops(rep, child(pe, "SummaryOfLoopLatency"), 0, rep->top[0] ? rep->top : "top");
    xmlFreeDoc(doc);
    return RM_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int rm_hls_report_load_dir(rm_ctx *ctx, const char *dir, const char *top, rm_hls_report *rep) {
    char path[1024];
    if (rm_hls_report_find(ctx, dir, top, path, sizeof path) != RM_OK) return RM_ERR;
    if (rm_hls_report_load(ctx, path, rep) != RM_OK) return RM_ERR;
    /* loops of the other modules in the same syn/report directory, in name order */
    char rdir[1024];
    scopy(rdir, sizeof rdir, path);
    char *sl = strrchr(rdir, '/');
    if (!sl) return RM_OK;
    *sl = 0;
    const char *self = sl + 1;
    char topfile[128];
    snprintf(topfile, sizeof topfile, "%s_csynth.xml", rep->top);
    DIR *d = opendir(rdir);
    if (!d) return RM_OK;
    char *names[512];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 512) {
        if (!ends_with(e->d_name, "_csynth.xml") || !strcmp(e->d_name, self) || !strcmp(e->d_name, topfile))
            continue;
        names[nn] = strdup(e->d_name);
        if (names[nn]) nn++;
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    rm_hls_report *sub = malloc(sizeof *sub);
    for (int i = 0; i < nn; i++) {
        if (sub) {
            char p[2048];
            rm_ctx quiet = {0};
            if (pjoin(p, sizeof p, rdir, names[i]) && rm_hls_report_load(&quiet, p, sub) == RM_OK) {
                for (int k = 0; k < sub->nloops; k++) {
                    if (rep->nloops >= RM_HLS_MAX_LOOPS) { rep->loops_dropped++; continue; }
                    rep->loops[rep->nloops] = sub->loops[k];
                    if (!sub->top[0]) {  /* module name from the file name */
                        snprintf(rep->loops[rep->nloops].module, sizeof rep->loops[0].module, "%.*s",
                                 (int)(strlen(names[i]) - strlen("_csynth.xml")), names[i]);
                    }
                    rep->nloops++;
                }
                rep->loops_dropped += sub->loops_dropped;
            }
        }
        free(names[i]);
    }
    free(sub);
    return RM_OK;
}

/* ---------------------------------------------------------------- table */

typedef struct outb { char *b; size_t n, off; int total; } outb;
static void op(outb *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void op(outb *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->off < o->n ? o->b + o->off : NULL, o->off < o->n ? o->n - o->off : 0, fmt, ap);
    va_end(ap);
    if (k > 0) { o->off += (size_t)k; o->total += k; }
}
static void num_or_na(char *b, size_t n, long v) {
    if (v < 0) snprintf(b, n, "n/a");
    else snprintf(b, n, "%ld", v);
}
static void range_str(char *b, size_t n, long mn, long mx) {
    if (mn < 0 && mx < 0) snprintf(b, n, "n/a");
    else if (mn == mx || mn < 0 || mx < 0) snprintf(b, n, "%ld", mx >= 0 ? mx : mn);
    else snprintf(b, n, "%ld~%ld", mn, mx);
}

int rm_hls_report_format(const rm_hls_report *r, char *buf, size_t n) {
    outb o = { buf, n, 0, 0 };
    if (n) buf[0] = 0;
    op(&o, "HLS synthesis report: %s", r->top[0] ? r->top : "(top unknown)");
    if (r->version[0] || r->part[0])
        op(&o, " (%s%s%s%s)", r->version[0] ? "version " : "", r->version,
           r->version[0] && r->part[0] ? ", part " : (r->part[0] ? "part " : ""), r->part);
    op(&o, "\n");
    if (r->target_ns > 0 || r->estimated_ns > 0) {
        op(&o, "  clock     ");
        if (r->target_ns > 0) op(&o, "target %.2f ns (%.0f MHz)", r->target_ns, 1000.0 / r->target_ns);
        if (r->estimated_ns > 0)
            op(&o, "%sestimated %.3f ns (%.0f MHz)%s", r->target_ns > 0 ? ", " : "", r->estimated_ns,
               1000.0 / r->estimated_ns,
               r->target_ns > 0 && r->estimated_ns > r->target_ns ? "  TIMING NOT MET" : "");
        op(&o, "\n");
    }
    char a[32], b[32];
    num_or_na(a, sizeof a, r->lat_best);
    num_or_na(b, sizeof b, r->lat_worst);
    op(&o, "  latency   best %s, worst %s cycles", a, b);
    if (r->target_ns > 0 && r->lat_worst >= 0)
        op(&o, " (worst %.3f us at the target clock)", r->lat_worst * r->target_ns / 1000.0);
    op(&o, "\n");
    num_or_na(a, sizeof a, r->interval_min);
    num_or_na(b, sizeof b, r->interval_max);
    op(&o, "  interval  min %s, max %s cycles", a, b);
    if (r->target_ns > 0 && r->interval_max > 0)
        op(&o, " (%.0f images/s at the target clock)", 1e9 / (r->interval_max * r->target_ns));
    op(&o, "\n");
    if (r->pipeline_type[0]) op(&o, "  pipeline  %s\n", r->pipeline_type);
    op(&o, "  %-9s %10s %10s %7s\n", "resource", "used", "available", "util");
    struct { const char *name; long u, v; } rows[5] = {
        { "BRAM_18K", r->used.bram18, r->avail.bram18 },
        { r->dsp48e ? "DSP48E" : "DSP", r->used.dsp, r->avail.dsp },
        { "FF", r->used.ff, r->avail.ff },
        { "LUT", r->used.lut, r->avail.lut },
        { "URAM", r->used.uram, r->avail.uram },
    };
    for (int i = 0; i < 5; i++) {
        char u[32], v[32], p[32];
        num_or_na(u, sizeof u, rows[i].u);
        num_or_na(v, sizeof v, rows[i].v);
        if (rows[i].u >= 0 && rows[i].v > 0) snprintf(p, sizeof p, "%.1f%%", 100.0 * rows[i].u / rows[i].v);
        else snprintf(p, sizeof p, "-");
        op(&o, "  %-9s %10s %10s %7s\n", rows[i].name, u, v, p);
    }
    if (r->nloops) {
        op(&o, "  loops (%d%s)\n", r->nloops, r->loops_dropped ? ", more not kept" : "");
        op(&o, "  %-44s %9s %13s %5s %11s\n", "module / loop", "trip", "latency", "II", "iter.lat");
        for (int i = 0; i < r->nloops; i++) {
            const rm_hls_loop *L = &r->loops[i];
            char nm[160], t[32], l[40], ii[16], it[32];
            snprintf(nm, sizeof nm, "%s/%*s%s", L->module, 2 * L->level, "", L->name);
            range_str(t, sizeof t, L->trip_min, L->trip_max);
            range_str(l, sizeof l, L->lat_min, L->lat_max);
            if (L->ii >= 0) snprintf(ii, sizeof ii, "%ld", L->ii % 100000000L); else snprintf(ii, sizeof ii, "-");
            range_str(it, sizeof it, L->iter_min, L->iter_max);
            op(&o, "  %-44.44s %9s %13s %5s %11s\n", nm, t, l, ii, it);
        }
    }
    return o.total;
}

int rm_hls_report_field(const rm_hls_report *r, int i, rm_hls_field *f) {
    memset(f, 0, sizeof *f);
#define S(nm, v) if (i == k++) { f->name = nm; f->is_str = 1; f->str = v; return 1; }
#define N(nm, v) if (i == k++) { f->name = nm; f->num = (double)(v); return 1; }
    int k = 0;
    S("path", r->path) S("version", r->version) S("part", r->part) S("family", r->family)
    S("top", r->top) S("pipeline_type", r->pipeline_type)
    N("target_ns", r->target_ns) N("uncertainty_ns", r->uncertainty_ns) N("estimated_ns", r->estimated_ns)
    N("latency_best", r->lat_best) N("latency_avg", r->lat_avg) N("latency_worst", r->lat_worst)
    N("interval_min", r->interval_min) N("interval_max", r->interval_max)
    N("bram18", r->used.bram18) N("dsp", r->used.dsp) N("ff", r->used.ff) N("lut", r->used.lut)
    N("uram", r->used.uram)
    N("bram18_avail", r->avail.bram18) N("dsp_avail", r->avail.dsp) N("ff_avail", r->avail.ff)
    N("lut_avail", r->avail.lut) N("uram_avail", r->avail.uram)
    N("dsp48e", r->dsp48e) N("nloops", r->nloops)
#undef S
#undef N
    return 0;
}
