/* live.c - ncurses live training view (see live.h). Layout, top to bottom: figures and title,
 * progress bar, then loss/accuracy charts beside the activation curves (100 columns and more) or
 * above them (narrower, down to 80x24: every panel stays visible), then the key help line (a short
 * form on narrow screens). Rendering reuses plot.h / actplot.h text output, drawn line by line.
 * On close, keys typed into the view are discarded so they do not reach the next prompt. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "live.h"
#include "actplot.h"
#include "core/curves.h"
#include "core/net.h"
#include <curses.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

struct rm_live {
    const rm_model *m;
    char title[128];
    int block, layer, page, mode, paused, stop;
    double last_draw, draw_s;
    rm_history hist;
    rm_train_stats last;
    int have_last;
    volatile int *interrupt;   /* the opener's ctx->interrupt (Ctrl-C): ends a pause */
};

static int g_open = 0;
static void restore_terminal(void) {
    if (!g_open) return;
    flushinp();                 /* keys typed into the view (q, arrows ...) must not leak into the prompt */
    endwin();
    tcflush(0, TCIFLUSH);       /* and whatever arrived since */
    g_open = 0;
}

rm_live *rm_live_open(rm_ctx *ctx, const rm_model *m, const char *title) {
    if (!isatty(0) || !isatty(1)) { rm_err(ctx, "live view needs a terminal"); return NULL; }
    if (g_open) { rm_err(ctx, "live view already open"); return NULL; }
    rm_live *lv = calloc(1, sizeof *lv);
    if (!lv) { rm_err(ctx, "out of memory for the live view"); return NULL; }
    setlocale(LC_ALL, "");
    if (!initscr()) { free(lv); rm_err(ctx, "cannot initialise the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "unset"); return NULL; }
    g_open = 1;
    static int registered = 0;
    if (!registered) { atexit(restore_terminal); registered = 1; }
    cbreak(); noecho(); nodelay(stdscr, TRUE); keypad(stdscr, TRUE); curs_set(0);
    lv->m = m;
    lv->interrupt = ctx->interrupt;
    snprintf(lv->title, sizeof lv->title, "%s", title ? title : "training");
    lv->mode = RM_CANVAS_BRAILLE;
    const char *lang = getenv("LANG");
    if (!lang || !strstr(lang, "UTF")) { const char *lc = getenv("LC_ALL"); if (!lc || !strstr(lc, "UTF")) lv->mode = RM_CANVAS_ASCII; }
    return lv;
}

double rm_live_draw_seconds(const rm_live *lv) { return lv ? lv->draw_s : 0; }

/* draw multi-line text at (y, x) clipped to h rows and w columns */
static void blit(const char *text, int y, int x, int h, int w) {
    int row = 0;
    const char *p = text;
    while (p && *p && row < h) {
        const char *e = strchr(p, '\n');
        int len = e ? (int)(e - p) : (int)strlen(p);
        char line[4096];
        if (len > (int)sizeof line - 1) len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = 0;
        mvaddnstr(y + row, x, line, -1);   /* the text was laid out for w columns (n would count bytes, not cells) */
        (void)w;
        row++;
        p = e ? e + 1 : NULL;
    }
}

/* layer-list nets: the index of the k-th weight (linear/conv) layer, k taken modulo their count; -1 if none */
static int net_weight_layer(const rm_model *m, int k, int *count) {
    const rm_net_spec *sp = rm_net_spec_of(m);
    int n = 0, idx[RM_NET_MAXL];
    for (int i = 0; i < sp->n; i++) if (sp->l[i].type == RM_NL_LINEAR || sp->l[i].type == RM_NL_CONV) idx[n++] = i;
    if (count) *count = n;
    return n ? idx[((k % n) + n) % n] : -1;
}

/* layer-list nets: a histogram of the latent weights of the chosen weight layer, redrawn as they learn */
static char *net_panel(rm_ctx *ctx, rm_live *lv, int w, int h) {
    int li = net_weight_layer(lv->m, lv->layer, NULL);
    if (li < 0) return NULL;
    char name[64], title[128];
    snprintf(name, sizeof name, "layers.%d.weight", li);
    const rm_ptensor *t = rm_model_find(lv->m, name, NULL);
    if (!t) return NULL;
    const rm_nlayer_spec *l = &rm_net_spec_of(lv->m)->l[li];
    snprintf(title, sizeof title, "%s (%s%s, %zu weights)", name, rm_nlayer_name(l->type),
             l->wq == RM_WQ_BINARY ? ", binary" : l->wq == RM_WQ_TERNARY ? ", ternary" : l->wq == RM_WQ_INT ? ", int" : "", t->n);
    rm_hist hg = {.title = title, .xlabel = "latent weight", .values = lv->m->mem + t->off, .n = (int)t->n, .nbins = 40};
    return rm_plot_hist(ctx, &hg, w, h, lv->mode, 0);
}

static void fmt_time(char *b, size_t n, double s) {
    if (!(s >= 0) || !isfinite(s)) s = 0;
    snprintf(b, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
}

static void draw(rm_live *lv) {
    double t0 = rm_now();
    int H, W;
    getmaxyx(stdscr, H, W);
    erase();
    const rm_train_stats *s = &lv->last;
    char eta[32], buf[512];
    fmt_time(eta, sizeof eta, s->eta_s);
    /* the figures first (they must fit 80 columns), then the title where there is room */
    snprintf(buf, sizeof buf, "%s epoch %d/%d step %d/%d loss %.4f %.0f img/s ETA %s%s  %s",
             s->phase ? "KT" : "train", s->epoch + 1, s->epochs, s->step, s->steps, s->loss, s->imgs_per_s, eta,
             lv->paused ? " [PAUSED]" : "", lv->title);
    mvaddnstr(0, 0, buf, W);
    /* progress bar over the whole run */
    double frac = s->steps ? ((double)s->epoch * s->steps + s->step) / ((double)s->epochs * s->steps) : 0;
    int bw = W - 8 > 10 ? W - 8 : 10;
    int fill = (int)(frac * bw + 0.5);
    move(1, 0);
    addch('[');
    for (int i = 0; i < bw && i < W - 2; i++) addch(i < fill ? '#' : '-');
    snprintf(buf, sizeof buf, "] %3d%%", (int)(100 * frac + 0.5));
    addnstr(buf, W - bw - 1 > 0 ? W - bw - 1 : 0);
    int top = 2, ph = H - top - 1;
    if (ph >= 8 && W >= 40) {
        rm_ctx ctx = {0};
        /* side by side when wide; stacked (charts over curves) when narrow but tall enough */
        int stacked = W < 100 && ph >= 14;
        int lw = W >= 100 ? W * 2 / 5 : stacked ? W : W / 2, rw = stacked ? W : W - lw;
        int chh = stacked ? ph * 9 / 20 : ph, cuy = stacked ? top + chh : top, cuh = stacked ? ph - chh : ph;
        int cux = stacked ? 0 : lw;
        rm_plot_opts o = {.width = lw, .height = chh, .mode = lv->mode};
        char *txt = NULL;
        if (lv->hist.n > 0) txt = rm_plot_history(&ctx, &lv->hist, &o);
        if (txt) { blit(txt, top, 0, chh, lw); free(txt); }
        else mvaddnstr(top + 1, 1, "(charts appear after the first epoch)", lw - 1);
        if (rw >= 20 && lv->m->net) {
            txt = net_panel(&ctx, lv, rw, cuh);
            if (txt) { blit(txt, cuy, cux, cuh, rw); free(txt); }
        } else if (rw >= 20) {
            rm_act_layer a;
            int nl = rm_curve_nlayers(lv->m);
            if (lv->layer >= nl) lv->layer = 0;
            rm_curve_layer_at(lv->m, lv->block * (nl / lv->m->cfg.L) + lv->layer % (nl / lv->m->cfg.L), &a);
            int per = rw >= 60 && cuh >= 16 ? 8 : 4;
            int pages = (a.C + per - 1) / per;
            if (lv->page >= pages) lv->page = 0;
            int c0 = lv->page * per, c1 = c0 + per - 1 < a.C - 1 ? c0 + per - 1 : a.C - 1;
            rm_plot_opts co = {.width = rw, .height = cuh, .mode = lv->mode};
            txt = rm_plot_activation(&ctx, lv->m, a.block, a.short_name, c0, c1, &co, NULL, 0);
            if (txt) { blit(txt, cuy, cux, cuh, rw); free(txt); }
            else mvaddnstr(cuy + 1, cux + 1, "(no curves for this layer)", rw - 1);
        }
    }
    const char *modes[] = {"ascii", "block", "braille"};
    if (lv->m->net)
        snprintf(buf, sizeof buf, " up/down weight layer  m mode (%s)  p %s  q stop+save ", modes[lv->mode], lv->paused ? "resume" : "pause");
    else if (W >= 90)
        snprintf(buf, sizeof buf, " <-/-> block  up/down layer  [/] channels  m mode (%s)  p %s  q stop+save ",
                 modes[lv->mode], lv->paused ? "resume" : "pause");
    else   /* fits 80 columns whole */
        snprintf(buf, sizeof buf, " <> block  ^v layer  [] chans  m %s  p %s  q stop+save ", modes[lv->mode],
                 lv->paused ? "resume" : "pause");
    attron(A_REVERSE);
    mvaddnstr(H - 1, 0, buf, W);
    attroff(A_REVERSE);
    refresh();
    lv->draw_s += rm_now() - t0;
    lv->last_draw = rm_now();
}

/* returns 1 if anything changed the view */
static int keys(rm_live *lv) {
    int ch, changed = 0, L, nl;
    if (lv->m->net) { L = 1; net_weight_layer(lv->m, 0, &nl); if (nl < 1) nl = 1; }   /* nets: up/down walk the weight layers */
    else { L = lv->m->cfg.L; nl = rm_curve_nlayers(lv->m) / L; }
    while ((ch = getch()) != ERR) {
        changed = 1;
        switch (ch) {
        case KEY_LEFT: lv->block = (lv->block + L - 1) % L; lv->page = 0; break;
        case KEY_RIGHT: lv->block = (lv->block + 1) % L; lv->page = 0; break;
        case KEY_UP: lv->layer = (lv->layer + nl - 1) % nl; lv->page = 0; break;
        case KEY_DOWN: lv->layer = (lv->layer + 1) % nl; lv->page = 0; break;
        case '[': lv->page = lv->page > 0 ? lv->page - 1 : 0; break;
        case ']': lv->page++; break;
        case 'm': lv->mode = (lv->mode + 1) % 3; break;
        case 'p': lv->paused = !lv->paused; break;
        case 'q': case 'Q': lv->stop = 1; lv->paused = 0; break;
        case KEY_RESIZE: break;
        default: changed = 0;
        }
    }
    return changed;
}

int rm_live_update(rm_live *lv, const rm_train_stats *s, int epoch_end) {
    if (!lv || !g_open) return 0;
    lv->last = *s;
    lv->have_last = 1;
    if (epoch_end) rm_history_add(&lv->hist, s->loss, s->train_acc, s->have_test, s->test_loss, s->test_acc);
    int changed = keys(lv);
    if (changed || epoch_end || rm_now() - lv->last_draw >= 0.1) draw(lv);
    while (lv->paused && !lv->stop && !(lv->interrupt && *lv->interrupt)) {   /* training waits here, between steps */
        napms(50);
        if (keys(lv)) draw(lv);
    }
    return lv->stop;
}

void rm_live_close(rm_live *lv) {
    restore_terminal();
    free(lv);
}
