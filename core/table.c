/* table.c - tabular loaders (CSV / whitespace tables, UCI Vertebral), MiniMNIST, stratified splits and
 * k-fold cross-validation (see table.h). Errors name the file, the 1-based line and the column. */
#include "table.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rm_table_opts rm_table_defaults(void) {
    rm_table_opts o = {.label = NULL, .header = -1, .sep = 0, .classes = NULL, .standardise = 1};
    return o;
}

/* split one line into cells (in place); returns the count or -1 if more than max */
static int split_cells(char *line, char sep, char **cells, int max) {
    int n = 0;
    char *p = line;
    if (sep == ' ') {
        while (*p) {
            while (*p && isspace((unsigned char)*p)) p++;
            if (!*p) break;
            if (n >= max) return -1;
            cells[n++] = p;
            while (*p && !isspace((unsigned char)*p)) p++;
            if (*p) *p++ = 0;
        }
        return n;
    }
    for (;;) {
        if (n >= max) return -1;
        cells[n++] = p;
        char *q = strchr(p, sep);
        if (!q) break;
        *q = 0;
        p = q + 1;
    }
    for (int i = 0; i < n; i++) {      /* trim spaces and one level of double quotes */
        char *c = cells[i];
        while (isspace((unsigned char)*c)) c++;
        char *e = c + strlen(c);
        while (e > c && isspace((unsigned char)e[-1])) *--e = 0;
        if (e - c >= 2 && c[0] == '"' && e[-1] == '"') { e[-1] = 0; c++; }
        cells[i] = c;
    }
    return n;
}

static int is_number(const char *s, double *v) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(x)) return 0;
    if (v) *v = x;
    return 1;
}

static int blank(const char *s) { while (*s) if (!isspace((unsigned char)*s++)) return 0; return 1; }

#define MAXCOL 4096

int rm_table_load(rm_ctx *ctx, rm_dataset *ds, const char *path, const rm_table_opts *op, rm_table_info *info) {
    memset(ds, 0, sizeof *ds);
    rm_table_opts o = op ? *op : rm_table_defaults();
    FILE *f = fopen(path, "r");
    if (!f) return rm_err(ctx, "%s: %s", path, strerror(errno));
    char *line = NULL, **cells = malloc(sizeof(char *) * MAXCOL);
    size_t cap = 0;
    float *feat = NULL;
    uint8_t *lab = NULL;
    size_t rows = 0, rcap = 0;
    int ncol = -1, lcol = -1, nfeat = 0, st = RM_ERR, lineno = 0, int_labels = -1;
    char names[RM_TABLE_MAXCLASS][32];
    int nnames = 0, fixed_names = 0;
    memset(names, 0, sizeof names);
    if (!cells) { rm_err(ctx, "out of memory"); goto done; }
    if (o.classes && *o.classes) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", o.classes);
        for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ",")) {
            if (nnames >= RM_TABLE_MAXCLASS) { rm_err(ctx, "classes=: more than %d names", RM_TABLE_MAXCLASS); goto done; }
            snprintf(names[nnames++], 32, "%s", t);
        }
        fixed_names = 1;
    }
    char sep = o.sep;
    int header = o.header;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len && line[len - 1] == '\n') line[--len] = 0;
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (blank(line) || line[0] == '#') continue;
        if (!sep) sep = strchr(line, ',') ? ',' : strchr(line, ';') ? ';' : strchr(line, '\t') ? '\t' : ' ';
        int n = split_cells(line, sep, cells, MAXCOL);
        if (n < 0) { rm_err(ctx, "%s:%d: more than %d columns", path, lineno, MAXCOL); goto done; }
        if (ncol < 0) {
            ncol = n;
            if (ncol < 2) { rm_err(ctx, "%s:%d: only %d column (need features and a label)", path, lineno, ncol); goto done; }
            /* the label column: a name (needs a header), or an index */
            const char *lb = o.label;
            double li = -1;
            int by_name = lb && *lb && !is_number(lb, &li);
            if (header < 0) {
                header = 0;
                for (int c = 0; c < n; c++) {
                    if (!is_number(cells[c], NULL) && !(c == n - 1 && !by_name) && !(by_name && !strcmp(cells[c], lb))) header = 1;
                }
                if (by_name) header = 1;
                /* a first row whose only text is in the last (label) column is data */
            }
            if (by_name) {
                if (!header) { rm_err(ctx, "%s: label column '%s' named but the file has no header", path, lb); goto done; }
                for (int c = 0; c < n; c++) if (!strcmp(cells[c], lb)) lcol = c;
                if (lcol < 0) {
                    char have[256] = "";
                    size_t k = 0;
                    for (int c = 0; c < n && k < sizeof have - 40; c++) k += (size_t)snprintf(have + k, sizeof have - k, "%s%s", c ? ", " : "", cells[c]);
                    rm_err(ctx, "%s: no label column named '%s' (columns: %s)", path, lb, have);
                    goto done;
                }
            } else {
                long idx = lb && *lb ? (long)li : -1;
                if (idx != (double)(lb && *lb ? li : -1) || idx >= n || idx < -n) {
                    rm_err(ctx, "%s: label column %s does not exist (the file has %d columns)", path, lb ? lb : "-1", n);
                    goto done;
                }
                lcol = (int)(idx < 0 ? n + idx : idx);
            }
            nfeat = n - 1;
            if (header) continue;
        }
        if (n != ncol) { rm_err(ctx, "%s:%d: %d columns, expected %d (ragged row)", path, lineno, n, ncol); goto done; }
        if (rows == rcap) {
            rcap = rcap ? 2 * rcap : 256;
            float *nf = realloc(feat, sizeof(float) * rcap * nfeat);
            uint8_t *nl = realloc(lab, rcap);
            if (nf) feat = nf;
            if (nl) lab = nl;
            if (!nf || !nl) { rm_err(ctx, "%s: out of memory at line %d", path, lineno); goto done; }
        }
        int k = 0;
        for (int c = 0; c < n; c++) {
            if (c == lcol) continue;
            double v;
            if (!*cells[c]) { rm_err(ctx, "%s:%d: column %d: missing value", path, lineno, c + 1); goto done; }
            if (!is_number(cells[c], &v)) { rm_err(ctx, "%s:%d: column %d: '%s' is not a number", path, lineno, c + 1, cells[c]); goto done; }
            feat[rows * nfeat + k++] = (float)v;
        }
        const char *lc = cells[lcol];
        if (!*lc) { rm_err(ctx, "%s:%d: column %d: missing label", path, lineno, lcol + 1); goto done; }
        double lv;
        int numeric = is_number(lc, &lv) && lv == floor(lv) && !fixed_names;
        if (int_labels < 0) int_labels = numeric;
        int cls = -1;
        if (int_labels && numeric) {
            if (lv < 0 || lv > RM_TABLE_MAXCLASS - 1) { rm_err(ctx, "%s:%d: label %s out of range 0..%d", path, lineno, lc, RM_TABLE_MAXCLASS - 1); goto done; }
            cls = (int)lv;
        } else if (int_labels) {
            rm_err(ctx, "%s:%d: column %d: label '%s' is not an integer like the rows above", path, lineno, lcol + 1, lc);
            goto done;
        } else {
            for (int i = 0; i < nnames; i++) if (!strcmp(names[i], lc)) cls = i;
            if (cls < 0) {
                if (fixed_names) { rm_err(ctx, "%s:%d: label '%s' is not one of classes=%s", path, lineno, lc, o.classes); goto done; }
                if (nnames >= RM_TABLE_MAXCLASS) { rm_err(ctx, "%s:%d: more than %d classes", path, lineno, RM_TABLE_MAXCLASS); goto done; }
                snprintf(names[nnames], 32, "%s", lc);
                cls = nnames++;
            }
        }
        lab[rows] = (uint8_t)cls;
        rows++;
    }
    if (ncol < 0 || rows == 0) { rm_err(ctx, "%s: no data rows", path); goto done; }
    int maxc = 0;
    for (size_t r = 0; r < rows; r++) if (lab[r] > maxc) maxc = lab[r];
    int ncls = int_labels ? maxc + 1 : nnames;
    int present[RM_TABLE_MAXCLASS + 1] = {0}, distinct = 0;
    for (size_t r = 0; r < rows; r++) if (!present[lab[r]]++) distinct++;
    if (distinct < 2) { rm_err(ctx, "%s: only one class in the label column (%s)", path, int_labels ? "all rows have the same label" : names[0]); goto done; }
    ds->n = (int)rows; ds->c = nfeat; ds->h = ds->w = 1; ds->nclass = ncls;
    ds->feat = feat; ds->labels = lab;
    feat = NULL; lab = NULL;
    for (int i = 0; i < 3; i++) { ds->mean[i] = 0; ds->std[i] = 1; }
    snprintf(ds->name, sizeof ds->name, "%s", path);
    float *mean = malloc(sizeof(float) * nfeat * 2);
    if (!mean) { rm_dataset_free(ds); rm_err(ctx, "out of memory"); goto done; }
    rm_table_stats(ds, mean, mean + nfeat);
    if (info) {
        memset(info, 0, sizeof *info);
        info->nclass = ncls;
        info->nfeat = nfeat;
        if (!int_labels) memcpy(info->names, names, sizeof names);
        for (int i = 0; i < nfeat && i < 1024; i++) { info->mean[i] = mean[i]; info->std[i] = mean[nfeat + i]; }
    }
    if (o.standardise) rm_table_standardise(ds, mean, mean + nfeat);
    free(mean);
    st = RM_OK;
done:
    fclose(f);
    free(line); free(cells); free(feat); free(lab);
    return st;
}

void rm_table_stats(const rm_dataset *ds, float *mean, float *std) {
    int F = ds->c * ds->h * ds->w;
    for (int j = 0; j < F; j++) {
        double s = 0, ss = 0;
        for (int i = 0; i < ds->n; i++) s += ds->feat[(size_t)i * F + j];
        double mu = s / ds->n;
        for (int i = 0; i < ds->n; i++) { double d = ds->feat[(size_t)i * F + j] - mu; ss += d * d; }
        mean[j] = (float)mu;
        std[j] = (float)sqrt(ss / ds->n);   /* population std, as sklearn's StandardScaler */
    }
}

void rm_table_standardise(rm_dataset *ds, const float *mean, const float *std) {
    int F = ds->c * ds->h * ds->w;
    for (int i = 0; i < ds->n; i++)
        for (int j = 0; j < F; j++) {
            float *v = &ds->feat[(size_t)i * F + j];
            *v = std[j] > 0 ? (*v - mean[j]) / std[j] : *v - mean[j];
        }
}

int rm_vertebral_load(rm_ctx *ctx, rm_dataset *ds, const char *path, rm_table_info *info) {
    rm_table_opts o = rm_table_defaults();
    o.header = 0;
    o.sep = ' ';
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    o.classes = strstr(base, "2C") ? "AB,NO" : "DH,SL,NO";
    if (rm_table_load(ctx, ds, path, &o, info)) return RM_ERR;
    if (ds->c != 6) { int c = ds->c; rm_dataset_free(ds); return rm_err(ctx, "%s: %d features, the Vertebral Column has 6", path, c); }
    return RM_OK;
}

/* ---- subsets -------------------------------------------------------------------------------------- */

int rm_dataset_pick(rm_ctx *ctx, rm_dataset *dst, const rm_dataset *src, const int *idx, int n) {
    memset(dst, 0, sizeof *dst);
    if (!src->pixels && !src->feat) return rm_err(ctx, "subset of an empty data set");
    size_t es = src->pixels ? 1 : sizeof(float), row = (size_t)src->c * src->h * src->w * es;
    char *vals = rm_malloc(ctx, (size_t)n * row + 1, "subset values");
    dst->labels = rm_malloc(ctx, (size_t)n + 1, "subset labels");
    if (src->pixels) dst->pixels = (uint8_t *)vals; else dst->feat = (float *)vals;
    if (!vals || !dst->labels) { rm_dataset_free(dst); return RM_ERR; }
    const char *from = src->pixels ? (const char *)src->pixels : (const char *)src->feat;
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= src->n) { rm_dataset_free(dst); return rm_err(ctx, "subset index %d outside 0..%d", idx[i], src->n - 1); }
        memcpy(vals + (size_t)i * row, from + (size_t)idx[i] * row, row);
        dst->labels[i] = src->labels[idx[i]];
    }
    dst->n = n; dst->c = src->c; dst->h = src->h; dst->w = src->w; dst->nclass = src->nclass;
    memcpy(dst->mean, src->mean, sizeof dst->mean);
    memcpy(dst->std, src->std, sizeof dst->std);
    snprintf(dst->name, sizeof dst->name, "%.200s, %d picked", src->name, n);
    return RM_OK;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* members of each class, shuffled with seed: order[start[c] .. start[c+1]) */
static int class_order(rm_ctx *ctx, const rm_dataset *src, uint64_t seed, int **order, int *start) {
    int K = src->nclass > 0 ? src->nclass : 1;
    int *o = rm_malloc(ctx, sizeof(int) * (src->n + 1), "split order");
    if (!o) return RM_ERR;
    int cnt[257] = {0};
    for (int i = 0; i < src->n; i++) cnt[src->labels[i] < K ? src->labels[i] : 0]++;
    start[0] = 0;
    for (int c = 0; c < K; c++) start[c + 1] = start[c] + cnt[c];
    int fill[257];
    memcpy(fill, start, sizeof(int) * (K + 1));
    for (int i = 0; i < src->n; i++) o[fill[src->labels[i] < K ? src->labels[i] : 0]++] = i;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 0x5EED;
    for (int c = 0; c < K; c++) rm_shuffle(o + start[c], start[c + 1] - start[c], &rng);
    *order = o;
    return RM_OK;
}

static int two_parts(rm_ctx *ctx, const rm_dataset *src, const char *mark, rm_dataset *a, rm_dataset *b, const char *na, const char *nb) {
    int *ia = rm_malloc(ctx, sizeof(int) * (src->n + 1), "split"), *ib = rm_malloc(ctx, sizeof(int) * (src->n + 1), "split");
    int st = RM_ERR, n0 = 0, n1 = 0;
    if (!ia || !ib) goto done;
    for (int i = 0; i < src->n; i++) { if (mark[i]) ib[n1++] = i; else ia[n0++] = i; }
    if (rm_dataset_pick(ctx, a, src, ia, n0)) goto done;
    if (rm_dataset_pick(ctx, b, src, ib, n1)) { rm_dataset_free(a); goto done; }
    snprintf(a->name, sizeof a->name, "%.200s (%s)", src->name, na);
    snprintf(b->name, sizeof b->name, "%.200s (%s)", src->name, nb);
    st = RM_OK;
done:
    free(ia); free(ib);
    return st;
}

int rm_split_stratified(rm_ctx *ctx, const rm_dataset *src, double frac, uint64_t seed, rm_dataset *train, rm_dataset *test) {
    memset(train, 0, sizeof *train); memset(test, 0, sizeof *test);
    if (!(frac > 0 && frac < 1)) return rm_err(ctx, "split fraction %g must be in (0, 1)", frac);
    if (src->nclass > 256) return rm_err(ctx, "split: %d classes (at most 256)", src->nclass);
    int *order, start[258];
    if (class_order(ctx, src, seed, &order, start)) return RM_ERR;
    int K = src->nclass > 0 ? src->nclass : 1, take[257], total = 0, want = (int)lround(frac * src->n);
    for (int c = 0; c < K; c++) { take[c] = (int)lround(frac * (start[c + 1] - start[c])); total += take[c]; }
    /* per-class rounding may miss the overall count: adjust the largest classes one by one */
    while (total != want) {
        int best = -1;
        for (int c = 0; c < K; c++) {
            int sz = start[c + 1] - start[c];
            if ((total < want && take[c] < sz) || (total > want && take[c] > 0))
                if (best < 0 || sz > start[best + 1] - start[best]) best = c;
        }
        if (best < 0) break;
        take[best] += total < want ? 1 : -1;
        total += total < want ? 1 : -1;
    }
    char *mark = calloc(src->n + 1, 1);
    if (!mark) { free(order); return rm_err(ctx, "out of memory"); }
    for (int c = 0; c < K; c++) {
        int *mem = order + start[c];
        qsort(mem, take[c], sizeof(int), cmp_int);
        for (int i = 0; i < take[c]; i++) mark[mem[i]] = 1;
    }
    int st = two_parts(ctx, src, mark, train, test, "train split", "test split");
    free(order); free(mark);
    if (st == RM_OK && (train->n == 0 || test->n == 0)) {
        rm_dataset_free(train); rm_dataset_free(test);
        return rm_err(ctx, "split of %d samples at %g leaves an empty part", src->n, frac);
    }
    return st;
}

int rm_kfold(rm_ctx *ctx, const rm_dataset *src, int k, int fold, uint64_t seed, int stratified, rm_dataset *train, rm_dataset *val) {
    memset(train, 0, sizeof *train); memset(val, 0, sizeof *val);
    if (k < 2 || k > src->n) return rm_err(ctx, "k-fold: k=%d must be in 2..%d", k, src->n);
    if (fold < 0 || fold >= k) return rm_err(ctx, "k-fold: fold %d outside 0..%d", fold, k - 1);
    char *mark = calloc(src->n + 1, 1);
    if (!mark) return rm_err(ctx, "out of memory");
    if (stratified) {
        int *order, start[258];
        if (src->nclass > 256 || class_order(ctx, src, seed, &order, start)) { free(mark); return RM_ERR; }
        /* deal each class round-robin, continuing the rotation across classes so folds stay balanced */
        int pos = 0;
        for (int c = 0; c < (src->nclass > 0 ? src->nclass : 1); c++)
            for (int i = start[c]; i < start[c + 1]; i++, pos++) if (pos % k == fold) mark[order[i]] = 1;
        free(order);
    } else {
        int *perm = malloc(sizeof(int) * (src->n + 1));
        if (!perm) { free(mark); return rm_err(ctx, "out of memory"); }
        for (int i = 0; i < src->n; i++) perm[i] = i;
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 0xF01D;
        rm_shuffle(perm, src->n, &rng);
        for (int i = 0; i < src->n; i++) if (i % k == fold) mark[perm[i]] = 1;
        free(perm);
    }
    int st = two_parts(ctx, src, mark, train, val, "k-fold train", "k-fold validation");
    free(mark);
    return st;
}

int rm_minimnist_load(rm_ctx *ctx, const char *dir, uint64_t seed, rm_dataset *train, rm_dataset *test) {
    memset(train, 0, sizeof *train); memset(test, 0, sizeof *test);
    rm_dataset all = {0}, first = {0};
    if (rm_mnist_load(ctx, &all, dir, "train")) return RM_ERR;
    if (all.n < 4000) { rm_dataset_free(&all); return rm_err(ctx, "%s: %d training images, MiniMNIST needs 4,000", dir, all.n); }
    int st = rm_dataset_slice(ctx, &first, &all, 0, 4000);
    rm_dataset_free(&all);
    if (st) return RM_ERR;
    st = rm_split_stratified(ctx, &first, 0.2, seed, train, test);
    if (st == RM_OK) {
        snprintf(train->name, sizeof train->name, "MiniMNIST train (first 4,000 of %s, 3,200)", dir);
        snprintf(test->name, sizeof test->name, "MiniMNIST test (first 4,000 of %s, 800)", dir);
    }
    rm_dataset_free(&first);
    return st;
}
