/* sweep.c - grids of training runs: the grid's text form (DIR/sweep.cfg), cells by index, one cell run
 * in this process (train -> evaluate -> optional INT8 PTQ + integer-engine accuracy) and the per-cell
 * result files (atomic) that make sweeps resumable, and the gathered DIR/results.csv. Process
 * management (local pool, Slurm) is the host's (repl/sweep_run.c). */
#include "sweep.h"
#include "act.h"
#include "data.h"
#include "gemm.h"
#include "int_engine.h"
#include "model.h"
#include "optim.h"
#include "quant.h"
#include "train.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *axis_names[RM_SW_NAXES] = {"act", "hidden", "lr", "seed", "quant"};
const char *rm_sweep_axis_name(int axis) { return axis >= 0 && axis < RM_SW_NAXES ? axis_names[axis] : "?"; }

rm_sweep_spec rm_sweep_default_spec(void) {
    rm_sweep_spec s;
    memset(&s, 0, sizeof s);
    const char *def[RM_SW_NAXES] = {"relu", "96", "1e-3", "2023", "none"};
    for (int a = 0; a < RM_SW_NAXES; a++) { s.nval[a] = 1; snprintf(s.val[a][0], sizeof s.val[a][0], "%s", def[a]); }
    snprintf(s.dataset, sizeof s.dataset, "cifar10");
    snprintf(s.data, sizeof s.data, "../shared/data/cifar-10-batches-bin");
    s.epochs = 10; s.batch = 128; s.calib = 2000;
    snprintf(s.aug, sizeof s.aug, "cropflip");
    snprintf(s.precision, sizeof s.precision, "fp32");
    return s;
}

/* one axis value: 0 if valid for the axis */
static int check_value(rm_ctx *ctx, int axis, const char *v) {
    char *end;
    errno = 0;
    switch (axis) {
    case RM_SW_ACT: {
        int k = rm_act_kind_from_name(v);
        if (k < 0 || k == RM_ACT_PSA) return rm_err(ctx, "act: unknown activation '%s' (relu, gelu, lerp_psa, bspline)", v);
        return RM_OK;
    }
    case RM_SW_HIDDEN: {
        long h = strtol(v, &end, 10);
        if (!*v || *end || h < 1 || h > 8192) return rm_err(ctx, "hidden: '%s' is not a width in 1..8192", v);
        return RM_OK;
    }
    case RM_SW_LR: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !(x > 0 && x < 10)) return rm_err(ctx, "lr: '%s' is not a learning rate in (0, 10)", v);
        return RM_OK;
    }
    case RM_SW_SEED: {
        unsigned long long x = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-') return rm_err(ctx, "seed: '%s' is not a non-negative integer", v);
        (void)x;
        return RM_OK;
    }
    case RM_SW_QUANT:
        if (strcmp(v, "none") && strcmp(v, "ptq") && strcmp(v, "ptq256"))
            return rm_err(ctx, "quant: unknown setting '%s' (none, ptq = INT8 with 64-entry tables, ptq256)", v);
        return RM_OK;
    }
    return rm_err(ctx, "unknown sweep axis %d", axis);
}

int rm_sweep_set_axis(rm_ctx *ctx, rm_sweep_spec *s, int axis, const char *list) {
    if (axis < 0 || axis >= RM_SW_NAXES) return rm_err(ctx, "unknown sweep axis %d", axis);
    const char *an = axis_names[axis];
    int n = 0;
    const char *p = list;
    for (;;) {
        while (*p == ' ') p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && p[len - 1] == ' ') len--;
        if (!len) return rm_err(ctx, "%s: empty value in '%s'", an, list);
        if (len >= sizeof s->val[0][0]) return rm_err(ctx, "%s: value '%.*s' too long", an, (int)len, p);
        if (n >= RM_SW_MAXV) return rm_err(ctx, "%s: more than %d values", an, RM_SW_MAXV);
        char v[24];
        memcpy(v, p, len);
        v[len] = 0;
        if (check_value(ctx, axis, v)) return RM_ERR;
        for (int i = 0; i < n; i++)
            if (!strcmp(s->val[axis][i], v)) return rm_err(ctx, "%s: value '%s' given twice", an, v);
        memcpy(s->val[axis][n++], v, len + 1);
        if (!e) break;
        p = e + 1;
    }
    s->nval[axis] = n;
    return RM_OK;
}

int rm_sweep_check(rm_ctx *ctx, const rm_sweep_spec *s) {
    for (int a = 0; a < RM_SW_NAXES; a++) {
        if (s->nval[a] < 1 || s->nval[a] > RM_SW_MAXV) return rm_err(ctx, "%s: needs 1..%d values", axis_names[a], RM_SW_MAXV);
        for (int i = 0; i < s->nval[a]; i++)
            if (check_value(ctx, a, s->val[a][i])) return RM_ERR;
    }
    if (strcmp(s->dataset, "cifar10") && strcmp(s->dataset, "mnist") && strcmp(s->dataset, "fashion"))
        return rm_err(ctx, "dataset: unknown '%s' (cifar10, mnist, fashion)", s->dataset);
    if (!s->data[0]) return rm_err(ctx, "data: no data directory");
    if (s->epochs < 1 || s->epochs > 100000) return rm_err(ctx, "epochs: %d out of range 1..100000", s->epochs);
    if (s->batch < 1 || s->batch > 65536) return rm_err(ctx, "batch: %d out of range 1..65536", s->batch);
    if (s->limit < 0 || s->test_limit < 0 || s->calib < 0) return rm_err(ctx, "limit, test_limit and calib must be >= 0");
    if (strcmp(s->aug, "none") && strcmp(s->aug, "cropflip") && strcmp(s->aug, "randaug"))
        return rm_err(ctx, "aug: unknown '%s' (none, cropflip, randaug)", s->aug);
    if (rm_precision_parse(s->precision) < 0) return rm_err(ctx, "precision: unknown '%s' (fp32, bf16)", s->precision);
    if (!(s->wd >= 0 && s->wd < 10)) return rm_err(ctx, "wd: %g out of range [0, 10)", s->wd);
    long long n = 1;
    for (int a = 0; a < RM_SW_NAXES; a++) n *= s->nval[a];
    if (n > RM_SW_MAXCELLS) return rm_err(ctx, "the grid has %lld cells (at most %d)", n, RM_SW_MAXCELLS);
    return RM_OK;
}

int rm_sweep_ncells(const rm_sweep_spec *s) {
    int n = 1;
    for (int a = 0; a < RM_SW_NAXES; a++) n *= s->nval[a];
    return n;
}

void rm_sweep_cell_at(const rm_sweep_spec *s, int idx, rm_sweep_cell *c) {
    int k[RM_SW_NAXES], r = idx;
    for (int a = RM_SW_NAXES - 1; a >= 0; a--) { k[a] = r % s->nval[a]; r /= s->nval[a]; }
    memset(c, 0, sizeof *c);
    c->idx = idx;
    snprintf(c->act, sizeof c->act, "%s", s->val[RM_SW_ACT][k[RM_SW_ACT]]);
    c->hidden = atoi(s->val[RM_SW_HIDDEN][k[RM_SW_HIDDEN]]);
    c->lr = strtod(s->val[RM_SW_LR][k[RM_SW_LR]], NULL);
    c->seed = strtoull(s->val[RM_SW_SEED][k[RM_SW_SEED]], NULL, 10);
    snprintf(c->quant, sizeof c->quant, "%s", s->val[RM_SW_QUANT][k[RM_SW_QUANT]]);
}

void rm_sweep_cell_label(const rm_sweep_cell *c, char *buf, size_t n) {
    snprintf(buf, n, "act=%s hidden=%d lr=%g seed=%llu quant=%s", c->act, c->hidden, c->lr, (unsigned long long)c->seed,
             c->quant);
}

/* ---- text form -------------------------------------------------------------------------------- */

int rm_sweep_format(const rm_sweep_spec *s, char *buf, size_t n) {
    size_t o = 0;
#define P(...) do { int w_ = snprintf(buf + o, o < n ? n - o : 0, __VA_ARGS__); if (w_ > 0) o += (size_t)w_; } while (0)
    P("# resmlp sweep: one cell per combination of the axes below (the last varies fastest)\n");
    for (int a = 0; a < RM_SW_NAXES; a++) {
        P("%s = ", axis_names[a]);
        for (int i = 0; i < s->nval[a]; i++) P("%s%s", i ? "," : "", s->val[a][i]);
        P("\n");
    }
    P("dataset = %s\ndata = %s\nepochs = %d\nbatch = %d\nlimit = %d\ntest_limit = %d\ncalib = %d\naug = %s\n"
      "precision = %s\nwd = %g\n", s->dataset, s->data, s->epochs, s->batch, s->limit, s->test_limit, s->calib, s->aug,
      s->precision, s->wd);
#undef P
    return o < n ? (int)o : -1;
}

static int parse_int(rm_ctx *ctx, const char *k, const char *v, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 0 || x > 100000000) return rm_err(ctx, "%s: '%s' is not a non-negative integer", k, v);
    *out = (int)x;
    return RM_OK;
}

int rm_sweep_parse(rm_ctx *ctx, const char *text, rm_sweep_spec *s) {
    *s = rm_sweep_default_spec();
    int line = 0;
    const char *p = text;
    while (*p) {
        line++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char l[1024];
        if (len >= sizeof l) return rm_err(ctx, "line %d too long", line);
        memcpy(l, p, len);
        l[len] = 0;
        p = e ? e + 1 : p + len;
        char *q = l;
        while (*q == ' ' || *q == '\t') q++;
        if (!*q || *q == '#') continue;
        char *eq = strchr(q, '=');
        if (!eq) return rm_err(ctx, "line %d: expected key = value", line);
        char *ke = eq;
        while (ke > q && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
        *ke = 0;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r')) v[--vl] = 0;
        int a, r = RM_OK;
        for (a = 0; a < RM_SW_NAXES; a++) if (!strcmp(q, axis_names[a])) break;
        if (a < RM_SW_NAXES) r = rm_sweep_set_axis(ctx, s, a, v);
        else if (!strcmp(q, "dataset")) snprintf(s->dataset, sizeof s->dataset, "%s", v);
        else if (!strcmp(q, "data")) snprintf(s->data, sizeof s->data, "%s", v);
        else if (!strcmp(q, "epochs")) r = parse_int(ctx, q, v, &s->epochs);
        else if (!strcmp(q, "batch")) r = parse_int(ctx, q, v, &s->batch);
        else if (!strcmp(q, "limit")) r = parse_int(ctx, q, v, &s->limit);
        else if (!strcmp(q, "test_limit")) r = parse_int(ctx, q, v, &s->test_limit);
        else if (!strcmp(q, "calib")) r = parse_int(ctx, q, v, &s->calib);
        else if (!strcmp(q, "aug")) snprintf(s->aug, sizeof s->aug, "%s", v);
        else if (!strcmp(q, "precision")) snprintf(s->precision, sizeof s->precision, "%s", v);
        else if (!strcmp(q, "wd")) s->wd = strtof(v, NULL);
        else return rm_err(ctx, "line %d: unknown key '%s'", line, q);
        if (r) return rm_errprefix(ctx, "line %d", line);
    }
    return rm_sweep_check(ctx, s);
}

/* ---- files ------------------------------------------------------------------------------------ */

static int mkdir_p(rm_ctx *ctx, const char *dir) {
    char d[1200];
    if (strlen(dir) >= sizeof d) return rm_err(ctx, "directory name too long: %.60s...", dir);
    memcpy(d, dir, strlen(dir) + 1);
    for (char *p = d + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(d, 0777) && errno != EEXIST) return rm_err(ctx, "cannot create directory %s: %s", d, strerror(errno));
        *p = '/';
    }
    if (mkdir(d, 0777) && errno != EEXIST) return rm_err(ctx, "cannot create directory %s: %s", d, strerror(errno));
    return RM_OK;
}

/* write text to path atomically: a temp file beside it (pid-unique, so concurrent writers never share
 * one), fsync, rename */
static int write_atomic(rm_ctx *ctx, const char *path, const char *text) {
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return rm_err(ctx, "cannot write %s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    if (fclose(f) || bad || rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        return rm_err(ctx, "cannot write %s: %s", path, strerror(e));
    }
    return RM_OK;
}

static char *read_text(const char *path, size_t max) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *b = malloc(max + 1);
    size_t n = b ? fread(b, 1, max, f) : 0;
    fclose(f);
    if (b) b[n] = 0;
    return b;
}

int rm_sweep_load(rm_ctx *ctx, const char *dir, rm_sweep_spec *s) {
    char path[1100];
    snprintf(path, sizeof path, "%s/sweep.cfg", dir);
    char *t = read_text(path, 1 << 16);
    if (!t) return rm_err(ctx, "cannot read %s: %s", path, strerror(errno));
    int r = rm_sweep_parse(ctx, t, s);
    free(t);
    if (r) return rm_errprefix(ctx, "%s", path);
    return RM_OK;
}

int rm_sweep_store(rm_ctx *ctx, const char *dir, const rm_sweep_spec *s) {
    if (rm_sweep_check(ctx, s)) return RM_ERR;
    char path[1100], cells[1200], text[8192];
    snprintf(cells, sizeof cells, "%s/cells", dir);
    if (mkdir_p(ctx, cells)) return RM_ERR;
    if (rm_sweep_format(s, text, sizeof text) < 0) return rm_err(ctx, "sweep description too long");
    snprintf(path, sizeof path, "%s/sweep.cfg", dir);
    if (access(path, F_OK) == 0) {
        rm_sweep_spec old;
        char otext[8192];
        if (rm_sweep_load(ctx, dir, &old)) return RM_ERR;
        rm_sweep_format(&old, otext, sizeof otext);
        if (strcmp(otext, text))
            return rm_err(ctx, "%s holds a different sweep (resume it with the same grid, or use another directory)", path);
        return RM_OK;
    }
    return write_atomic(ctx, path, text);
}

void rm_sweep_result_path(const char *dir, int idx, char *buf, size_t n) { snprintf(buf, n, "%s/cells/cell-%04d.csv", dir, idx); }
void rm_sweep_log_path(const char *dir, int idx, char *buf, size_t n) { snprintf(buf, n, "%s/cells/cell-%04d.log", dir, idx); }

const char *rm_sweep_csv_header(void) {
    return "cell,act,hidden,lr,seed,quant,train_images,test_images,train_loss,train_acc,test_acc,test_loss,int8_acc,"
           "seconds,img_per_s,host";
}

void rm_sweep_csv_row(const rm_sweep_result *r, char *buf, size_t n) {
    const rm_sweep_cell *c = &r->cell;
    snprintf(buf, n, "%d,%s,%d,%g,%llu,%s,%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f,%s", c->idx, c->act, c->hidden, c->lr,
             (unsigned long long)c->seed, c->quant, r->train_images, r->test_images, r->train_loss, r->train_acc,
             r->test_acc, r->test_loss, r->int8_acc, r->seconds, r->imgs_per_s, r->host);
}

int rm_sweep_read_result(const char *dir, const rm_sweep_spec *s, int idx, rm_sweep_result *out) {
    char path[1100];
    rm_sweep_result_path(dir, idx, path, sizeof path);
    char *t = read_text(path, 4096);
    if (!t) return 0;
    int ok = 0;
    char *nl = strchr(t, '\n');
    if (nl && !strncmp(t, rm_sweep_csv_header(), strlen(rm_sweep_csv_header()))) {
        rm_sweep_result r;
        memset(&r, 0, sizeof r);
        rm_sweep_cell_at(s, idx, &r.cell);
        /* cell index and the numbers; the labels are checked against the grid */
        char act[32], quant[32], host[64];
        int ci, hid;
        double lr;
        unsigned long long seed;
        int k = sscanf(nl + 1, "%d,%31[^,],%d,%lf,%llu,%31[^,],%d,%d,%f,%f,%f,%f,%f,%lf,%lf,%63[^,\n]", &ci, act, &hid, &lr,
                       &seed, quant, &r.train_images, &r.test_images, &r.train_loss, &r.train_acc, &r.test_acc,
                       &r.test_loss, &r.int8_acc, &r.seconds, &r.imgs_per_s, host);
        if (k == 16 && ci == idx && !strcmp(act, r.cell.act) && hid == r.cell.hidden && seed == r.cell.seed &&
            !strcmp(quant, r.cell.quant) && fabs(lr - r.cell.lr) <= 1e-9 * fabs(r.cell.lr)) {
            snprintf(r.host, sizeof r.host, "%s", host);
            if (out) *out = r;
            ok = 1;
        }
    }
    free(t);
    return ok;
}

int rm_sweep_gather(rm_ctx *ctx, const char *dir, const rm_sweep_spec *s, int *nfinished) {
    int n = rm_sweep_ncells(s), done = 0;
    size_t cap = 256 + (size_t)n * 256, o = 0;
    char *text = rm_malloc(ctx, cap, "sweep results");
    if (!text) return RM_ERR;
    o += (size_t)snprintf(text, cap, "%s\n", rm_sweep_csv_header());
    for (int i = 0; i < n; i++) {
        rm_sweep_result r;
        if (!rm_sweep_read_result(dir, s, i, &r)) continue;
        char row[512];
        rm_sweep_csv_row(&r, row, sizeof row);
        o += (size_t)snprintf(text + o, cap - o, "%s\n", row);
        done++;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    int st = write_atomic(ctx, path, text);
    free(text);
    if (nfinished) *nfinished = done;
    return st;
}

void rm_sweep_table_row(const rm_sweep_result *r, char *buf, size_t n) {
    if (!r) {
        snprintf(buf, n, "%5s  %-9s %6s %8s %6s %-7s %9s %9s %9s %8s %9s", "cell", "act", "hidden", "lr", "seed", "quant",
                 "loss", "test acc", "int8 acc", "seconds", "img/s");
        return;
    }
    char ia[16] = "-";
    if (r->int8_acc >= 0) snprintf(ia, sizeof ia, "%.2f%%", 100 * r->int8_acc);
    snprintf(buf, n, "%5d  %-9s %6d %8g %6llu %-7s %9.4f %8.2f%% %9s %8.1f %9.0f", r->cell.idx, r->cell.act, r->cell.hidden,
             r->cell.lr, (unsigned long long)r->cell.seed, r->cell.quant, r->train_loss, 100 * r->test_acc, ia, r->seconds,
             r->imgs_per_s);
}

/* ---- running one cell ------------------------------------------------------------------------- */

typedef struct { rm_sweep_progress cb; void *ud; const rm_sweep_cell *c; } cell_prog;

static int on_epoch(void *ud, const rm_train_stats *s, int epoch_end) {
    cell_prog *p = ud;
    if (!epoch_end || !p->cb) return 0;
    char line[256];
    snprintf(line, sizeof line, "cell %d epoch %d/%d  loss %.4f  train acc %.2f%%  %.0f img/s", p->c->idx, s->epoch + 1,
             s->epochs, s->loss, 100 * s->train_acc, s->imgs_per_s);
    p->cb(p->ud, line);
    return 0;
}

static int load_split(rm_ctx *ctx, const rm_sweep_spec *s, const char *split, int limit, rm_dataset *out) {
    rm_dataset full = {0};
    int r = !strcmp(s->dataset, "cifar10") ? rm_cifar10_load(ctx, &full, s->data, split)
                                           : rm_mnist_load(ctx, &full, s->data, split);
    if (r) return RM_ERR;
    if (limit > 0 && limit < full.n) {
        r = rm_dataset_slice(ctx, out, &full, 0, limit);
        rm_dataset_free(&full);
        return r;
    }
    *out = full;
    return RM_OK;
}

int rm_sweep_run_cell(rm_ctx *ctx, const char *dir, const rm_sweep_spec *s, int idx, rm_sweep_progress cb, void *ud,
                      rm_sweep_result *out) {
    if (idx < 0 || idx >= rm_sweep_ncells(s)) return rm_err(ctx, "cell %d is outside the grid (0..%d)", idx, rm_sweep_ncells(s) - 1);
    rm_sweep_result r;
    memset(&r, 0, sizeof r);
    rm_sweep_cell_at(s, idx, &r.cell);
    r.int8_acc = -1;
    if (gethostname(r.host, sizeof r.host - 1)) snprintf(r.host, sizeof r.host, "?");
    for (char *h = r.host; *h; h++) if (*h == ',' || *h == '\n') *h = '_';
    rm_dataset train = {0}, test = {0}, calib = {0};
    rm_model *m = NULL;
    rm_optim opt = {0};
    rm_qmodel *q = NULL;
    rm_qnet *qn = NULL;
    int8_t *logits = NULL;
    int st = RM_ERR;
    double t0 = rm_now();
    char note[200] = "";
    rm_gemm_set_precision((rm_precision)rm_precision_parse(s->precision), note, sizeof note);
    if (load_split(ctx, s, "train", s->limit, &train) || load_split(ctx, s, "test", s->test_limit, &test)) goto done;
    rm_model_cfg cfg = rm_model_default_cfg(rm_act_kind_from_name(r.cell.act), r.cell.hidden);
    cfg.T = rm_data_tokens(&train, cfg.patch);
    cfg.P = rm_data_patchdim(&train, cfg.patch);
    if (rm_model_new(ctx, &m, &cfg, r.cell.seed)) goto done;
    rm_optim_cfg oc = rm_optim_default();
    oc.lr = oc.act_lr = (float)r.cell.lr;
    oc.wd = s->wd;
    if (rm_optim_init(ctx, &opt, m, &oc)) goto done;
    rm_train_opts to = rm_train_defaults();
    to.epochs = s->epochs;
    to.batch = s->batch;
    to.seed = r.cell.seed;
    to.aug = !strcmp(s->aug, "none") ? RM_AUG_NONE : !strcmp(s->aug, "cropflip") ? RM_AUG_CROPFLIP
                                                                                 : RM_AUG_CROPFLIP | RM_AUG_RANDAUG;
    cell_prog cp = {cb, ud, &r.cell};
    to.cb = on_epoch;
    to.ud = &cp;
    to.report_s = 1e9;
    rm_train_result tr = {0};
    if (rm_train(ctx, m, &opt, &train, &to, &tr)) goto done;
    if (tr.interrupted) { rm_err(ctx, "interrupted"); goto done; }
    r.train_loss = tr.last_loss;
    r.imgs_per_s = tr.imgs_per_s;
    r.train_images = train.n;
    r.test_images = test.n;
    float acc, loss;
    if (rm_evaluate(ctx, m, &train, 256, &acc, &loss)) goto done;
    r.train_acc = acc;
    if (rm_evaluate(ctx, m, &test, 256, &acc, &loss)) goto done;
    r.test_acc = acc;
    r.test_loss = loss;
    if (strcmp(r.cell.quant, "none")) {
        /* INT8 post-training quantisation calibrated on the first `calib` training images (80/20 split
         * inside), then the integer engine's accuracy on the test images */
        const rm_dataset *cal = &train;
        if (s->calib > 0 && s->calib < train.n) {
            if (rm_dataset_slice(ctx, &calib, &train, 0, s->calib)) goto done;
            cal = &calib;
        }
        rm_calib_opts co = rm_calib_defaults();
        rm_calib_result cr;
        if (rm_quant_ptq(ctx, m, cal, strcmp(r.cell.quant, "ptq256") != 0, &co, &q, &cr) ||
            rm_quant_export(ctx, q, &qn)) goto done;
        logits = rm_malloc(ctx, (size_t)test.n * (size_t)qn->K, "int8 logits");
        if (!logits || rm_ie_run(ctx, qn, RM_IE_AUTO, test.pixels, test.n, logits, NULL)) goto done;
        int correct = 0;
        for (int i = 0; i < test.n; i++) correct += rm_ie_argmax(logits + (size_t)i * qn->K, qn->K) == test.labels[i];
        r.int8_acc = (float)correct / (float)test.n;
    }
    r.seconds = rm_now() - t0;
    char text[1200], row[600];
    rm_sweep_csv_row(&r, row, sizeof row);
    snprintf(text, sizeof text, "%s\n%s\n", rm_sweep_csv_header(), row);
    char path[1100];
    rm_sweep_result_path(dir, idx, path, sizeof path);
    if (write_atomic(ctx, path, text)) goto done;
    if (out) *out = r;
    st = RM_OK;
done:
    if (st) {
        char lab[160];
        rm_sweep_cell_label(&r.cell, lab, sizeof lab);
        rm_errprefix(ctx, "cell %d (%s)", idx, lab);
    }
    free(logits);
    rm_qnet_free(qn);
    rm_qmodel_free(q);
    rm_optim_free(&opt);
    rm_model_free(m);
    rm_dataset_free(&train); rm_dataset_free(&test); rm_dataset_free(&calib);
    return st;
}
