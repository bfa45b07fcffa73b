/* cmd_data.c - the `data` and `eval` commands: loading CIFAR-10 / MNIST splits into the workspace
 * (`train`, `test`), and top-1 accuracy and loss of a model on a data set (Ctrl-C stops it). */
#include "registry.h"
#include "core/train.h"
#include "core/table.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p) { struct stat st; return !stat(p, &st) && S_ISDIR(st.st_mode); }

static const char *default_path(const char *kind) {
    const char *e = getenv("RESMLP_DATA");
    if (!strcmp(kind, "cifar10")) return e && e[0] ? e : "../shared/data/cifar-10-batches-bin";
    if (!strcmp(kind, "mnist")) return "../shared/data/mnist";
    return "/usr/share/datasets/fashion-mnist";
}

/* load one split into ds, keeping the first `limit` images (0 = all) */
static int load_split(rm_ctx *ctx, rm_dataset *ds, const char *kind, const char *path, const char *split, int limit) {
    int r;
    if (!strcmp(kind, "cifar10")) {
        char one[1024];
        snprintf(one, sizeof one, "%s/data_batch_1.bin", path);
        /* the first 10,000 training images are data_batch_1: skip reading the other four */
        if (!strcmp(split, "train") && limit > 0 && limit <= 10000 && is_dir(path) && !access(one, R_OK))
            r = rm_cifar10_load(ctx, ds, one, NULL);
        else
            r = rm_cifar10_load(ctx, ds, path, split);
    } else {
        r = rm_mnist_load(ctx, ds, path, split);
    }
    if (r) return r;
    snprintf(ds->name + strlen(ds->name), sizeof ds->name - strlen(ds->name), " (%s)", split);
    if (limit > 0 && limit < ds->n) {
        rm_dataset sub = {0};
        if (rm_dataset_slice(ctx, &sub, ds, 0, limit)) return RM_ERR;   /* ds is freed by its owner */
        snprintf(sub.name, sizeof sub.name, "%.200s, first %d", ds->name, limit);
        rm_dataset_free(ds);
        *ds = sub;
    }
    return RM_OK;
}

static void say_set(rm_call *c, const char *name, const rm_dataset *ds) {
    if (!c->line) return;
    char n1[32], b1[32];
    size_t es = ds->pixels ? 1 : sizeof(float);
    if (ds->feat)
        printf("%s%-6s%s %s rows x %d features, %d classes, %s  <- %s\n", rm_col(0, "1"), name, rm_reset(0),
               rm_fmt_count(n1, sizeof n1, ds->n), ds->c, ds->nclass,
               rm_fmt_bytes(b1, sizeof b1, (double)ds->n * (ds->c * es + 1)), ds->name);
    else
        printf("%s%-6s%s %s images %dx%dx%d, %d classes, %s  <- %s\n", rm_col(0, "1"), name, rm_reset(0),
               rm_fmt_count(n1, sizeof n1, ds->n), ds->c, ds->h, ds->w, ds->nclass,
               rm_fmt_bytes(b1, sizeof b1, (double)ds->n * (ds->c * ds->h * ds->w + 1)), ds->name);
}

/* move *ds into a new workspace Dataset `name` (left on the stack) */
static void push_set(rm_call *c, const char *name, rm_dataset *ds) {
    ldata *d = rm_data_push(c->L);
    int idx = lua_gettop(c->L);
    d->ds = *ds;
    memset(ds, 0, sizeof *ds);
    d->loaded = 1;
    rm_ws_set(c->L, name, idx);
    say_set(c, name, &d->ds);
}

/* tabular sets and MiniMNIST: one file (or the MNIST directory), split stratified into train / test */
static int data_split_kind(rm_call *c, const char *kind) {
    rm_val *pv = rm_posarg(c, "path");
    double frac = rm_arg(c, "test_frac")->d;
    uint64_t seed = (uint64_t)rm_arg(c, "seed")->i;
    rm_ctx ctx = {0};
    rm_dataset all = {0}, tr = {0}, te = {0};
    rm_table_info info;
    int r;
    if (!strcmp(kind, "minimnist")) {
        r = rm_minimnist_load(&ctx, pv->set ? pv->s : "../shared/data/mnist", seed, &tr, &te);
        if (r) rm_cmd_error(c, "%s", ctx.msg);
    } else {
        if (!strcmp(kind, "vertebral")) r = rm_vertebral_load(&ctx, &all, pv->set ? pv->s : "../shared/data/vertebral/column_3C.dat", &info);
        else {
            if (!pv->set) rm_cmd_error(c, "data csv needs a PATH (data csv FILE label=NAME|INDEX)");
            rm_table_opts o = rm_table_defaults();
            rm_val *lv = rm_arg(c, "label"), *hv = rm_arg(c, "header"), *cv = rm_arg(c, "classes");
            if (lv->set) o.label = lv->s;
            o.header = !strcmp(hv->s, "yes") ? 1 : !strcmp(hv->s, "no") ? 0 : -1;
            if (cv->set) o.classes = cv->s;
            r = rm_table_load(&ctx, &all, pv->s, &o, &info);
        }
        if (r) rm_cmd_error(c, "%s", ctx.msg);
        if (frac > 0) {
            r = rm_split_stratified(&ctx, &all, frac, seed, &tr, &te);
            rm_dataset_free(&all);
            if (r) rm_cmd_error(c, "%s", ctx.msg);
        } else {
            tr = all;
        }
        if (c->line && info.names[0][0]) {
            printf("classes:");
            for (int i = 0; i < info.nclass; i++) printf(" %d=%s", i, info.names[i]);
            printf("  (features standardised over the whole table)\n");
        }
    }
    push_set(c, "train", &tr);
    int n = 1;
    if (te.n) { push_set(c, "test", &te); n++; }
    return n;
}

int rm_cmd_data(rm_call *c) {
    lua_State *L = c->L;
    const char *kind = rm_posarg(c, "kind")->s;
    static const char *kinds[] = {"cifar10", "mnist", "fashion", "vertebral", "minimnist", "csv"};
    int known = 0;
    for (int i = 0; i < 6; i++) known |= !strcmp(kind, kinds[i]);
    if (!known) {
        const char *s = rm_suggest(kind, kinds, 6);
        rm_cmd_error(c, "unknown data set kind '%s'%s%s%s (cifar10, mnist, fashion, vertebral, minimnist, csv)", kind,
                     s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    }
    if (!strcmp(kind, "vertebral") || !strcmp(kind, "minimnist") || !strcmp(kind, "csv")) return data_split_kind(c, kind);
    rm_val *pv = rm_posarg(c, "path");
    const char *path = pv->set ? pv->s : default_path(kind);
    const char *split = rm_arg(c, "split")->s;
    rm_val *nv = rm_arg(c, "name");
    if (nv->set && !strcmp(split, "both")) rm_cmd_error(c, "name= needs one split (split=train or split=test)");
    int nres = 0;
    for (int s = 0; s < 2; s++) {
        const char *sp = s ? "test" : "train";
        if (strcmp(split, "both") && strcmp(split, sp)) continue;
        int limit = (int)rm_arg(c, s ? "test_limit" : "limit")->i;
        ldata *d = rm_data_push(L);         /* empty until loaded */
        int idx = lua_gettop(L);
        rm_ctx ctx = {0};
        int r = load_split(&ctx, &d->ds, kind, path, sp, limit);
        d->loaded = 1;                      /* what is there belongs to d now */
        if (r) rm_cmd_error(c, "%s", ctx.msg);
        const char *name = nv->set ? nv->s : sp;
        rm_ws_set(L, name, idx);
        say_set(c, name, &d->ds);
        nres++;
    }
    return nres;
}

int rm_cmd_eval(rm_call *c) {
    lua_State *L = c->L;
    lmodel *lm = rm_call_model(c, NULL);
    rm_val *dv = rm_posarg(c, "data");
    if (!dv->set || !dv->ud) rm_cmd_error(c, "no test data: load it with `data cifar10 DIR` (or name a data set)");
    ldata *d = dv->ud;
    if (!d->loaded) rm_cmd_error(c, "the data set is closed");
    rm_model *m = lm->m;
    int stats = (int)rm_arg(c, "stats")->i;
    if (stats) { rm_model_reset_stats(m); m->record_stats = 1; }
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    float acc = 0, loss = 0;
    double t0 = rm_now();
    int outer = rm_A.in_core;   /* eval may run inside an on_epoch callback: the core allows that */
    rm_A.in_core = 1;
    int r = rm_evaluate(&ctx, m, &d->ds, (int)rm_arg(c, "batch")->i, &acc, &loss);
    rm_A.in_core = outer;
    m->record_stats = 0;
    double dt = rm_now() - t0;
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    char dname[64];
    if (!rm_ws_name(L, d, dname, sizeof dname)) snprintf(dname, sizeof dname, "%.60s", d->ds.name);
    lm->evaluated = 1;
    lm->eval_acc = acc;
    lm->eval_loss = loss;
    snprintf(lm->eval_on, sizeof lm->eval_on, "%s", dname);
    if (c->line)
        printf("accuracy %s%.2f%%%s  loss %.4f  on %s (%d images, %.0f img/s)\n", rm_col(0, "1"), 100 * acc, rm_reset(0), loss,
               dname, d->ds.n, d->ds.n / (dt > 0 ? dt : 1e-9));
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, acc); lua_setfield(L, -2, "acc");
    lua_pushnumber(L, loss); lua_setfield(L, -2, "loss");
    lua_pushinteger(L, d->ds.n); lua_setfield(L, -2, "n");
    lua_pushnumber(L, dt); lua_setfield(L, -2, "seconds");
    return 1;
}
