/* cmd_train.c - the `train` command: cross-entropy training, KD from teacher= (alias distill=), KT of
 * one block (kt_block=), or the paper's student recipe (kt_epochs= / kd_epochs=: KT block by block,
 * then KD; core/recipe.h). Progress is printed here (the core only calls back); a Lua on_epoch
 * callback runs in protected mode and its error is re-raised only after the optimiser is freed.
 * Ctrl-C stops at the next batch with the model intact. On a terminal the progress is the full-screen
 * live view (plots/live.h, live=on by default there): its `q` stops at a safe point and the model is
 * saved (out=, else runs/<name>.safetensors). The view is closed before anything else happens after
 * training (end, q, Ctrl-C, a core or callback error), then the epoch lines it hid are printed.
 * Not a terminal: plain progress lines every 10 s besides the epoch lines. */
#define _POSIX_C_SOURCE 200809L
#include "registry.h"
#include "core/gemm.h"
#include "core/net.h"
#include "core/checkpoint.h"
#include "core/recipe.h"
#include "plots/live.h"
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { PLAIN_PERIOD_S = 10 };   /* progress lines when stdout is not a terminal */

typedef struct tcb {
    lua_State *L;
    lmodel *lm;
    int fn_idx;                   /* on_epoch function (stack index) or 0 */
    int quiet, tty, kd;
    int err_idx;                  /* stack index of the callback's error, 0 = none */
    int stopped;                  /* the callback returned false */
    int dirty;                    /* a progress line without newline is on screen */
    const rm_train_stats *s;
    rm_epoch_rec last;
    rm_live *lv;                  /* the live view, or NULL */
    int qstop;                    /* q was pressed in the live view */
    double last_plain;            /* time of the last plain progress line */
    char *log;                    /* epoch lines held back while the live view covers the screen */
    size_t loglen, logcap;
} tcb;

/* keep an epoch line for printing after the live view closes (best effort: dropped when out of memory) */
static void log_add(tcb *t, const char *line) {
    size_t n = strlen(line);
    if (t->loglen + n + 1 > t->logcap) {
        size_t cap = (t->loglen + n + 1) * 2;
        char *p = realloc(t->log, cap);
        if (!p) return;
        t->log = p;
        t->logcap = cap;
    }
    memcpy(t->log + t->loglen, line, n + 1);
    t->loglen += n;
}

/* ncurses installs its SIGWINCH handler (resize -> KEY_RESIZE) only where none is set, and only on
 * its first initscr; the prompt has its own. So: hand SIGWINCH to ncurses while the view is open
 * (SIG_DFL the first time, its handler after that) and give the prompt's back afterwards. And it
 * sizes the screen from $LINES/$COLUMNS when set, which readline exports: drop them. */
static struct sigaction g_prompt_winch, g_curses_winch;
static int g_have_curses_winch;

static rm_live *live_open(rm_ctx *ctx, const rm_model *m, const char *title) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGWINCH, g_have_curses_winch ? &g_curses_winch : &dfl, &g_prompt_winch);
    unsetenv("LINES");      /* readline exports the size it saw; curses would take it over the tty's */
    unsetenv("COLUMNS");
    fflush(stdout);
    rm_live *lv = rm_live_open(ctx, m, title);
    if (!lv) { sigaction(SIGWINCH, &g_prompt_winch, NULL); return NULL; }
    struct sigaction now;
    if (!g_have_curses_winch && sigaction(SIGWINCH, NULL, &now) == 0 && now.sa_handler != SIG_DFL) {
        g_curses_winch = now;
        g_have_curses_winch = 1;
    }
    if (g_have_curses_winch) raise(SIGWINCH);   /* the size may have changed since the last view */
    return lv;
}

static void live_close(tcb *t) {
    if (!t->lv) return;
    rm_live_close(t->lv);
    t->lv = NULL;
    sigaction(SIGWINCH, &g_prompt_winch, NULL);
    if (t->log) fputs(t->log, stdout);
    fflush(stdout);
}

/* the terminal can take the live view: both ends a tty, and a TERM that curses knows how to drive
 * (initscr exits the process on an unknown terminal, so a missing or dumb TERM never gets there) */
static int live_possible(void) {
    const char *term = getenv("TERM");
    return isatty(0) && isatty(1) && term && term[0] && strcmp(term, "dumb");
}

static const char *phase_label(const tcb *t, const rm_train_stats *s, char *b, size_t n) {
    if (s->phase == 1) snprintf(b, n, "kt block %d", s->kt_block);
    else snprintf(b, n, "%s", t->kd ? "kd" : "train");
    return b;
}

static void hms(char *b, size_t n, double s) {
    if (!isfinite(s) || s < 0) s = 0;
    snprintf(b, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
}

static int tb_handler(lua_State *L) {
    luaL_traceback(L, L, lua_tostring(L, 1) ? lua_tostring(L, 1) : "(error object)", 1);
    return 1;
}

static int call_on_epoch(lua_State *L) {   /* protected: arg 1 = on_epoch, arg 2 = tcb */
    tcb *t = lua_touserdata(L, 2);
    const rm_train_stats *s = t->s;
    char ph[32];
    lua_pushvalue(L, 1);
    lua_createtable(L, 0, 12);             /* stack: fn, tcb, fn, stats */
    lua_pushinteger(L, s->epoch + 1); lua_setfield(L, -2, "epoch");
    lua_pushinteger(L, s->epochs); lua_setfield(L, -2, "epochs");
    lua_pushnumber(L, s->loss); lua_setfield(L, -2, "loss");
    lua_pushnumber(L, s->train_acc); lua_setfield(L, -2, "acc");
    lua_pushnumber(L, s->lr); lua_setfield(L, -2, "lr");
    lua_pushnumber(L, s->imgs_per_s); lua_setfield(L, -2, "imgs_per_s");
    lua_pushnumber(L, s->elapsed_s); lua_setfield(L, -2, "elapsed");
    lua_pushstring(L, phase_label(t, s, ph, sizeof ph)); lua_setfield(L, -2, "phase");
    if (s->phase == 1) { lua_pushinteger(L, s->kt_block); lua_setfield(L, -2, "kt_block"); }
    if (s->have_test) {
        lua_pushnumber(L, s->test_acc); lua_setfield(L, -2, "test_acc");
        lua_pushnumber(L, s->test_loss); lua_setfield(L, -2, "test_loss");
    }
    lua_call(L, 1, 1);
    lua_pushboolean(L, lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1));
    return 1;
}

static int progress(void *ud, const rm_train_stats *s, int epoch_end) {
    tcb *t = ud;
    char ph[32], eta[16];
    phase_label(t, s, ph, sizeof ph);
    hms(eta, sizeof eta, s->eta_s);
    if (t->lv && rm_live_update(t->lv, s, epoch_end)) t->qstop = 1;
    if (!epoch_end) {
        if (t->lv || t->quiet) return t->qstop;
        if (t->tty) {
            printf("\r\033[K%s epoch %d/%d  step %d/%d  loss %.4f  %.0f img/s  eta %s", ph, s->epoch + 1, s->epochs,
                   s->step, s->steps, s->loss, s->imgs_per_s, eta);
            fflush(stdout);
            t->dirty = 1;
        } else if (rm_now() - t->last_plain >= PLAIN_PERIOD_S) {
            double frac = s->steps ? ((double)s->epoch * s->steps + s->step) / ((double)s->epochs * s->steps) : 0;
            printf("%s epoch %d/%d  step %d/%d  %3.0f%%  loss %.4f  %.0f img/s  eta %s\n", ph, s->epoch + 1, s->epochs,
                   s->step, s->steps, 100 * frac, s->loss, s->imgs_per_s, eta);
            fflush(stdout);
            t->last_plain = rm_now();
        }
        return 0;
    }
    rm_epoch_rec r = {.train_loss = s->loss, .train_acc = s->train_acc, .lr = s->lr, .have_test = s->have_test,
                      .test_loss = s->test_loss, .test_acc = s->test_acc};
    rm_model_hist_add(t->lm, &r);          /* history is best effort: a failed append drops a point */
    t->lm->epochs++;
    t->last = r;
    if (!t->quiet) {
        char line[512];
        size_t n = 0;
        n += snprintf(line + n, sizeof line - n, "%s epoch %d/%d  loss %.4f", ph, s->epoch + 1, s->epochs, s->loss);
        if (s->phase == 0) n += snprintf(line + n, sizeof line - n, "  acc %.2f%%", 100 * s->train_acc);
        if (s->have_test)
            n += snprintf(line + n, sizeof line - n, "  test %s%.2f%%%s (loss %.4f)", rm_col(0, "1"), 100 * s->test_acc,
                          rm_reset(0), s->test_loss);
        snprintf(line + n, sizeof line - n, "  lr %.2e  %.0f img/s  %.1fs\n", s->lr, s->imgs_per_s, s->elapsed_s);
        if (t->lv) {
            log_add(t, line);
        } else {
            printf("%s%s", t->dirty ? "\r\033[K" : "", line);
            fflush(stdout);
        }
        t->dirty = 0;
    }
    if (!t->fn_idx) return t->qstop;
    lua_State *L = t->L;
    t->s = s;
    lua_pushcfunction(L, tb_handler);
    lua_pushcfunction(L, call_on_epoch);
    lua_pushvalue(L, t->fn_idx);
    lua_pushlightuserdata(L, t);
    rm_A.in_core = 0;                      /* Ctrl-C may stop the Lua callback itself */
    int st = lua_pcall(L, 2, 1, -4);
    rm_A.in_core = 1;
    if (st != LUA_OK) { t->err_idx = lua_gettop(L); return 1; }   /* keep the error for later */
    int stop = lua_toboolean(L, -1);
    lua_pop(L, 2);
    if (stop) t->stopped = 1;
    return stop || t->qstop;
}

/* mark what the core loop uses (+1) or releases (-1); also tells SIGINT a core loop runs */
static void busy(lmodel *m, lmodel *t, ldata *d, ldata *test, int k) {
    m->busy += k;
    if (t) t->busy += k;
    d->busy += k;
    if (test) test->busy += k;
    rm_A.in_core = k > 0;
}

static ldata *data_arg(rm_call *c, const char *name, int required, const char *hint) {
    rm_val *v = rm_arg(c, name);
    if (!v->set || !v->ud) {
        if (required) rm_cmd_error(c, "%s", hint);
        return NULL;
    }
    ldata *d = v->ud;
    if (!d->loaded) rm_cmd_error(c, "data set %s= is closed", name);
    return d;
}

int rm_cmd_train(rm_call *c) {
    lua_State *L = c->L;
    lmodel *lm = rm_call_model(c, NULL);
    ldata *d = data_arg(c, "data", 1, "no training data: load it with `data cifar10 DIR` (or pass data=)");
    ldata *test = data_arg(c, "test", 0, NULL);
    rm_val *tv = rm_arg(c, "teacher");
    lmodel *teacher = tv->set ? tv->ud : NULL;
    if (teacher && !teacher->m) rm_cmd_error(c, "the teacher is closed");
    if (teacher == lm) rm_cmd_error(c, "a model cannot be its own teacher");
    if (lm->busy || (teacher && teacher->busy)) rm_cmd_error(c, "the model is already in use by a running command");
    rm_val *kte = rm_arg(c, "kt_epochs"), *kde = rm_arg(c, "kd_epochs");
    int recipe = kte->set || kde->set;
    int kt_block = (int)rm_arg(c, "kt_block")->i;
    if ((recipe || kt_block >= 0) && !teacher) rm_cmd_error(c, "%s needs teacher= (or distill=)", recipe ? "the KT+KD recipe" : "kt_block=");
    if (recipe && (rm_arg(c, "epochs")->set == 1 || kt_block >= 0))
        rm_cmd_error(c, "kt_epochs=/kd_epochs= run the whole recipe; drop epochs= and kt_block=");
    int epochs = (int)rm_arg(c, "epochs")->i;
    if (epochs < 0 || (kte->set && kte->i < 0) || (kde->set && kde->i < 0)) rm_cmd_error(c, "epochs must be >= 0");
    int bspline = lm->m->cfg.act.kind == RM_ACT_BSPLINE;
    const char *aug = rm_arg(c, "aug")->s;
    int augf = !strcmp(aug, "none") ? RM_AUG_NONE : !strcmp(aug, "cropflip") ? RM_AUG_CROPFLIP : RM_AUG_CROPFLIP | RM_AUG_RANDAUG;
    float lr = (float)rm_arg(c, "lr")->d, lr_min = (float)rm_arg(c, "lr_min")->d;
    rm_val *ckpt = rm_arg(c, "ckpt");
    if (ckpt->set && rm_mkparent(ckpt->s)) rm_cmd_error(c, "cannot create the directory of %s", ckpt->s);

    tcb t = {.L = L, .lm = lm, .quiet = (int)rm_arg(c, "quiet")->i, .tty = isatty(1), .kd = teacher && kt_block < 0,
             .last_plain = rm_now()};
    rm_val *fv = rm_arg(c, "on_epoch");
    if (fv->set) t.fn_idx = fv->idx;
    rm_val *outv = rm_arg(c, "out");
    if (outv->set && rm_mkparent(outv->s)) rm_cmd_error(c, "cannot create the directory of %s", outv->s);
    /* live view: asked for, or by default on a terminal (not with quiet= or an on_epoch callback, whose
     * prints would land on the view); never without a terminal */
    rm_val *livev = rm_arg(c, "live");
    int want_live = livev->set ? (int)livev->i : !t.quiet && !t.fn_idx;
    want_live = want_live && live_possible();   /* nets: a weight histogram instead of the curve panel */
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    rm_sigint_flag = 0;
    char name[64], cnt[32], cnt2[32];
    if (!rm_ws_name(L, lm, name, sizeof name)) snprintf(name, sizeof name, "(unnamed)");
    int nimg = rm_arg(c, "limit")->i > 0 && rm_arg(c, "limit")->i < d->ds.n ? (int)rm_arg(c, "limit")->i : d->ds.n;
    char kindtxt[48];
    if (lm->m->net) snprintf(kindtxt, sizeof kindtxt, "net of %d layers", rm_net_spec_of(lm->m)->n);
    else snprintf(kindtxt, sizeof kindtxt, "%s h=%d", rm_act_name(lm->m->cfg.act.kind), lm->m->cfg.H);
    if (!t.quiet)
        printf("training '%s' (%s, %s parameters) on %s images of %s%s%s, %d threads\n", name,
               kindtxt, rm_fmt_count(cnt, sizeof cnt, (double)lm->m->nparams),
               rm_fmt_count(cnt2, sizeof cnt2, nimg), d->ds.name, teacher ? ", teacher " : "",
               teacher ? (rm_ws_name(L, teacher, name, sizeof name) ? name : "(unnamed)") : "", rm_get_threads());
    fflush(stdout);
    if (!rm_ws_name(L, lm, name, sizeof name)) snprintf(name, sizeof name, "model");
    if (want_live) {
        char title[160];
        rm_ctx lctx = {.interrupt = &rm_sigint_flag};
        snprintf(title, sizeof title, "'%s' %s", name, kindtxt);
        t.lv = live_open(&lctx, lm->m, title);
        if (!t.lv && !t.quiet) printf("(no live view: %s)\n", lctx.msg);
    }
    double report_s = t.lv ? 0.1 : 0.25;

    /* precision= for this run only; the session setting (`precision`) comes back afterwards */
    rm_precision prec_before = rm_gemm_precision();
    rm_val *precv = rm_arg(c, "precision");
    if (precv->set) {
        char note[200];
        rm_gemm_set_precision((rm_precision)rm_precision_parse(precv->s), note, sizeof note);
        if (note[0] && !t.quiet) printf("(%s)\n", note);
    }
    int r, interrupted, done;
    double t0 = rm_now();
    const char *phase = "";
    rm_recipe_result rres = {0};
    rm_train_result res = {0};
    if (recipe) {
        rm_recipe_opts o = rm_recipe_defaults();
        o.kt_epochs = kte->set ? (int)kte->i : 0;
        o.kd_epochs = kde->set ? (int)kde->i : 0;
        o.kt_lr = o.kd_lr = lr;
        o.kd_lr_min = lr_min;
        o.spline_lr = (float)rm_arg(c, "spline_lr")->d;
        o.wd = (float)rm_arg(c, "wd")->d;
        o.alpha = (float)rm_arg(c, "alpha")->d;
        o.T = (float)rm_arg(c, "temp")->d;
        o.tv2 = (float)rm_arg(c, "tv2")->d;
        o.batch = (int)rm_arg(c, "batch")->i;
        o.aug = augf;
        o.limit = (int)rm_arg(c, "limit")->i;
        o.seed = (uint64_t)rm_arg(c, "seed")->i;
        o.test = test ? &test->ds : NULL;
        o.cb = progress; o.ud = &t; o.report_s = report_s;
        o.ckpt_path = ckpt->set ? ckpt->s : NULL;
        o.resume = (int)rm_arg(c, "resume")->i;
        busy(lm, teacher, d, test, 1);
        r = rm_recipe_student(&ctx, lm->m, teacher->m, &d->ds, &o, &rres);
        busy(lm, teacher, d, test, -1);
        interrupted = rres.interrupted;
        done = rres.epochs_done;
        phase = rres.phase;
    } else {
        rm_optim_cfg oc = rm_optim_default();
        oc.kind = strcmp(rm_arg(c, "optim")->s, "sgd") ? RM_OPT_ADAMW : RM_OPT_SGD;
        oc.lr = lr;
        oc.lr_min = lr_min;
        oc.act_lr = bspline ? (float)rm_arg(c, "spline_lr")->d : lr;
        oc.act_lr_min = bspline ? oc.act_lr : lr_min;
        oc.wd = (float)rm_arg(c, "wd")->d;
        oc.momentum = (float)rm_arg(c, "momentum")->d;
        oc.cosine = !strcmp(rm_arg(c, "schedule")->s, "cosine");
        if (oc.cosine && bspline) oc.act_lr_min = lr_min;
        rm_train_opts o = rm_train_defaults();
        o.epochs = epochs;
        o.batch = (int)rm_arg(c, "batch")->i;
        o.seed = (uint64_t)rm_arg(c, "seed")->i;
        o.aug = augf;
        o.limit = (int)rm_arg(c, "limit")->i;
        o.teacher = teacher ? teacher->m : NULL;
        o.alpha = (float)rm_arg(c, "alpha")->d;
        o.T = (float)rm_arg(c, "temp")->d;
        o.kt_block = kt_block;
        o.tv2 = (float)rm_arg(c, "tv2")->d;
        o.test = test ? &test->ds : NULL;
        o.cb = progress; o.ud = &t; o.report_s = report_s;
        o.ckpt_path = ckpt->set ? ckpt->s : NULL;
        o.phase = kt_block >= 0 ? "kt" : "train";
        rm_optim opt = {0};
        r = rm_optim_init(&ctx, &opt, lm->m, &oc);
        if (!r) {
            busy(lm, teacher, d, test, 1);
            r = rm_train(&ctx, lm->m, &opt, &d->ds, &o, &res);
            busy(lm, teacher, d, test, -1);
        }
        rm_optim_free(&opt);
        interrupted = res.interrupted;
        done = res.epochs_done;
    }
    rm_gemm_set_precision(prec_before, NULL, 0);
    live_close(&t);                        /* first: the terminal is restored whatever happened */
    free(t.log);
    t.log = NULL;
    if (t.dirty) { printf("\n"); fflush(stdout); }
    if (t.err_idx) { lua_pushvalue(L, t.err_idx); lua_error(L); }   /* the on_epoch error, nothing left to free */
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    /* save: to out= whenever given, and on q (to runs/<name>.safetensors without out=) */
    char saved[1024] = "";
    if (outv->set) snprintf(saved, sizeof saved, "%s", outv->s);
    else if (t.qstop) snprintf(saved, sizeof saved, "runs/%s.safetensors", name);
    if (saved[0]) {
        rm_ctx sctx = {0};
        if (rm_mkparent(saved) || rm_model_save_with_hist(&sctx, saved, lm))
            rm_cmd_error(c, "training %s, but saving failed: %s", t.qstop ? "stopped" : "done", sctx.msg[0] ? sctx.msg : saved);
    }
    char at[160];
    if (recipe) snprintf(at, sizeof at, "after %d epochs", done);
    else rm_train_stopped_at(&res, at, sizeof at);
    if (t.qstop && !t.quiet) printf("stopped (q) %s; model saved to %s\n", at, saved);
    else if (saved[0] && !t.quiet) printf("saved %s\n", saved);
    fflush(stdout);
    int by_sigint = interrupted && !t.stopped && !t.qstop && rm_sigint_flag;
    if (by_sigint) {
        if (!c->line) rm_cmd_error(c, "interrupted (the model keeps its weights from the last finished step)");
        printf("interrupted%s%s %s; the model is kept\n", recipe ? " in phase " : "", phase, at);
    }
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, done); lua_setfield(L, -2, "epochs");
    lua_pushboolean(L, interrupted); lua_setfield(L, -2, "interrupted");
    if (!recipe) {
        lua_pushinteger(L, res.steps_done); lua_setfield(L, -2, "steps");
        lua_pushinteger(L, res.images); lua_setfield(L, -2, "images");
    }
    lua_pushnumber(L, t.last.train_loss); lua_setfield(L, -2, "loss");
    lua_pushnumber(L, t.last.train_acc); lua_setfield(L, -2, "acc");
    if (t.last.have_test) {
        lua_pushnumber(L, t.last.test_acc); lua_setfield(L, -2, "test_acc");
        lua_pushnumber(L, t.last.test_loss); lua_setfield(L, -2, "test_loss");
    }
    lua_pushnumber(L, rm_now() - t0); lua_setfield(L, -2, "seconds");
    if (recipe) { lua_pushstring(L, phase); lua_setfield(L, -2, "phase"); }
    if (t.qstop) { lua_pushboolean(L, 1); lua_setfield(L, -2, "stopped"); }
    if (saved[0]) { lua_pushstring(L, saved); lua_setfield(L, -2, "saved"); }
    return 1;
}
