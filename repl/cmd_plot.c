/* cmd_plot.c - the `plot` command and the resmlp.plot.{act,hist,train,heatmap,lut} Lua functions: a
 * learned activation channel or a grid of channels (each cell its own y range; share_y=on: one for
 * all), a weight or recorded-input histogram, the training history, the token-mixing heatmap, and
 * (`plot lut`, drawn by cmd_quant.c) a quantized model's activation table against its fp32 curve.
 * Rendering is plots/actplot.h; this file only picks the size (the terminal's, else 100x30), the
 * canvas mode (braille on a UTF-8 terminal, else ascii) and colour (a colour terminal without
 * NO_COLOR), then prints the text or writes out=FILE.svg|.txt.
 * It never keeps anything between calls. */
#include "registry.h"
#include "plots/actplot.h"
#include "core/curves.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

char *rm_quant_plot_lut(rm_call *c, const rm_plot_opts *o, rm_ctx *ctx);   /* cmd_quant.c */
char *rm_plot_net(rm_call *c, rm_ctx *ctx, const rm_model *m, const char *kind, const char *what, const char *layer,
                  const rm_plot_opts *o);                                   /* plot_net.c: layer-list nets */

/* the locale names UTF-8 (the first of LC_ALL, LC_CTYPE, LANG that is set decides, as setlocale does) */
static int utf8_locale(void) {
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0]) return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return 0;
}

/* text size: the terminal's (one row left for the prompt), else 100x30 */
static void term_size(int *w, int *h) {
    struct winsize ws;
    *w = 100; *h = 30;
    if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *w = ws.ws_col;
        *h = ws.ws_row > 1 ? ws.ws_row - 1 : ws.ws_row;
    }
    if (*w < RM_PLOT_MIN_W) *w = RM_PLOT_MIN_W;
    if (*h < RM_PLOT_MIN_H) *h = RM_PLOT_MIN_H;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

/* ch=5 or ch=0:15 (also 0-15); returns 0 on success */
static int parse_channels(const char *s, int *lo, int *hi) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || errno) return -1;
    if (!*end) { *lo = *hi = (int)a; return 0; }
    if (*end != ':' && *end != '-') return -1;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || *end || errno) return -1;
    *lo = (int)a; *hi = (int)b;
    return 0;
}

/* write n bytes to path atomically enough for a plot (plain fopen); message in err on failure */
static int write_file(const char *path, const char *text, char *err, size_t errn) {
    if (rm_mkparent(path)) { snprintf(err, errn, "cannot create the directory of %s", path); return -1; }
    FILE *f = fopen(path, "wb");
    if (!f) { snprintf(err, errn, "cannot write %s: %s", path, strerror(errno)); return -1; }
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad) { snprintf(err, errn, "cannot write %s: %s", path, strerror(errno)); return -1; }
    return 0;
}

/* the model's per-epoch record as an rm_history (heap: it is large); NULL when out of memory */
static rm_history *history_of(const lmodel *lm) {
    rm_history *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    for (int i = 0; i < lm->nhist; i++) {
        const rm_epoch_rec *r = &lm->hist[i];
        rm_history_add(h, r->train_loss, r->train_acc, r->have_test, r->test_loss, r->test_acc);
    }
    return h;
}

int rm_cmd_plot(rm_call *c) {
    lua_State *L = c->L;
    rm_val *kv = rm_posarg(c, "kind"), *wv = rm_posarg(c, "what");
    if (!kv->set) rm_cmd_error(c, "missing KIND (usage: plot act|hist|train|heatmap|lut [option=value ...]; see `help plot`)");
    const char *kind = kv->s;
    int is_hist = !strcmp(kind, "hist"), is_lut = !strcmp(kind, "lut");
    if (is_hist && !wv->set) rm_cmd_error(c, "plot hist needs weights or inputs (e.g. plot hist weights block=0 layer=mlp.1)");
    if (!is_hist && wv->set) rm_cmd_error(c, "unexpected '%s' after %s (weights/inputs go with plot hist)", wv->s, kind);
    lmodel *lm = is_lut ? NULL : rm_call_model(c, NULL);   /* plot lut draws a quantized model (qmodel=) */
    const rm_model *m = lm ? lm->m : NULL;

    /* where it goes: out=FILE.svg, out=FILE.txt, or the terminal */
    rm_val *ov = rm_arg(c, "out");
    int svg = 0;
    if (ov->set) {
        if (ends_with(ov->s, ".svg")) svg = 1;
        else if (!ends_with(ov->s, ".txt")) rm_cmd_error(c, "out=%s: the file name must end in .svg or .txt", ov->s);
    }
    int quiet = (int)rm_arg(c, "quiet")->i;
    rm_plot_opts o = {0};
    rm_val *mv = rm_arg(c, "mode");
    o.mode = mv->set ? (!strcmp(mv->s, "ascii") ? RM_CANVAS_ASCII : !strcmp(mv->s, "block") ? RM_CANVAS_BLOCK : RM_CANVAS_BRAILLE)
                     : (isatty(1) && utf8_locale() ? RM_CANVAS_BRAILLE : RM_CANVAS_ASCII);
    o.colour = !ov->set && !quiet && rm_A.colour_out;   /* only what goes to a colour terminal */
    o.svg = svg;
    rm_val *widv = rm_arg(c, "width"), *hv = rm_arg(c, "height");
    if (svg) {   /* pixels */
        int grid = !strcmp(kind, "act") && strpbrk(rm_arg(c, "ch")->s, ":-") && rm_arg(c, "ch")->s[0] != '-';
        o.width = grid ? 1200 : 900;
        o.height = grid ? 900 : !strcmp(kind, "heatmap") ? 760 : 560;
    } else {
        term_size(&o.width, &o.height);
    }
    if (widv->set) o.width = (int)widv->i;
    if (hv->set) o.height = (int)hv->i;
    if (!svg && (o.width < RM_PLOT_MIN_W || o.height < RM_PLOT_MIN_H || o.width > 4096 || o.height > 4096))
        rm_cmd_error(c, "size %dx%d out of range (width=%d..4096, height=%d..4096)", o.width, o.height, RM_PLOT_MIN_W, RM_PLOT_MIN_H);
    rm_val *lov = rm_arg(c, "lo"), *hiv = rm_arg(c, "hi");
    if (lov->set || hiv->set) {
        if (!lov->set || !hiv->set) rm_cmd_error(c, "give both lo= and hi= (or neither: the recorded data range)");
        if (!(lov->d < hiv->d) || !isfinite(lov->d) || !isfinite(hiv->d)) rm_cmd_error(c, "lo=%g must be below hi=%g", lov->d, hiv->d);
        o.lo = (float)lov->d; o.hi = (float)hiv->d;
    }

    rm_val *syv = rm_arg(c, "share_y");              /* channel grids: one y range for all cells */
    o.share_y = syv && syv->set && syv->i;
    int block = (int)rm_arg(c, "block")->i;
    rm_val *lv = rm_arg(c, "layer");
    const char *layer = lv->set ? lv->s : NULL;
    if (layer && !strncmp(layer, "layers.", 7)) sscanf(layer + 7, "%d", &block);   /* a full name says its block */
    const char *first_act = m && rm_act_has_params(m->cfg.act.kind) ? "mlp.0" : "mlp.1";
    rm_ctx ctx = {0};
    char *out = NULL;
    if (is_lut) {
        out = rm_quant_plot_lut(c, &o, &ctx);
    } else if (m && m->net && strcmp(kind, "train")) {
        out = rm_plot_net(c, &ctx, m, kind, wv->set ? wv->s : NULL, layer, &o);
    } else if (!strcmp(kind, "act")) {
        int c0, c1;
        const char *chs = rm_arg(c, "ch")->s;
        if (parse_channels(chs, &c0, &c1)) rm_cmd_error(c, "bad ch=%s (a channel N or a range A:B)", chs);
        if (c1 < c0) rm_cmd_error(c, "bad ch=%s (the range must go up)", chs);
        rm_act_layer a;
        if (rm_curve_layer(&ctx, m, block, layer ? layer : first_act, &a)) rm_cmd_error(c, "%s", ctx.msg);
        if (c0 < 0 || c1 >= a.C)
            rm_cmd_error(c, "channel %d out of range: block %d %s has channels 0..%d", c0 < 0 ? c0 : c1, block, a.short_name, a.C - 1);
        out = rm_plot_activation(&ctx, m, block, layer ? layer : first_act, c0, c1, &o, NULL, 0);
    } else if (is_hist && !strcmp(wv->s, "weights")) {
        out = rm_plot_weights_hist(&ctx, m, block, layer ? layer : "token", &o);
    } else if (is_hist) {
        out = rm_plot_inputs_hist(&ctx, m, block, layer ? layer : first_act, &o);
    } else if (!strcmp(kind, "train")) {
        if (lm->nhist == 0) rm_cmd_error(c, "no training history yet: `train` the model first");
        rm_history *h = history_of(lm);
        if (!h) rm_cmd_error(c, "out of memory");
        out = rm_plot_history(&ctx, h, &o);
        free(h);
    } else {   /* heatmap */
        if (layer && strcmp(layer, "token")) rm_cmd_error(c, "plot heatmap shows layer=token (the token-mixing weights), not '%s'", layer);
        out = rm_plot_token_heatmap(&ctx, m, block, &o);
    }
    if (!out) rm_cmd_error(c, "%s", ctx.msg);
    lua_pushstring(L, out);                   /* stack: ..., text */
    free(out);
    const char *text = lua_tostring(L, -1);
    if (ov->set) {
        char err[600];
        if (write_file(ov->s, text, err, sizeof err)) rm_cmd_error(c, "%s", err);
        if (!quiet) {
            char sz[32];
            printf("wrote %s (%s, %s)\n", ov->s, svg ? "SVG" : "text", rm_fmt_bytes(sz, sizeof sz, (double)strlen(text)));
        }
    } else if (!quiet) {
        fputs(text, stdout);
    }
    fflush(stdout);
    return 1;
}

/* ---- Lua: resmlp.plot.act{...} and friends; resmlp.plot("act", {...}) still works -------------- */

/* Call `plot` with the args table at index a and the kind (a string) on top of the stack: the kind
 * becomes positional 1, the args' positionals shift up by one, named args are copied. */
int rm_plot_call_kind(lua_State *L, int a) {
    lua_newtable(L);                               /* stack: ..., args, ..., kind, full */
    lua_insert(L, -2);                             /* stack: ..., full, kind */
    lua_rawseti(L, -2, 1);
    lua_pushnil(L);
    while (lua_next(L, a)) {                       /* stack: ..., full, key, value */
        if (lua_isinteger(L, -2)) {
            lua_rawseti(L, -3, lua_tointeger(L, -2) + 1);
        } else {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);                     /* stack: ..., full, key, key, value */
            lua_rawset(L, -4);
        }
    }
    return rm_cmd_invoke(L, rm_cmd_find("plot"), -1, 0);
}

/* upvalue 1: the kind ("act", ...). Arguments as for any command; the kind goes in front. */
static int l_plot_kind(lua_State *L) {
    rm_cmd_args_from_stack(L, 1, lua_gettop(L));   /* stack: ..., args */
    int a = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    return rm_plot_call_kind(L, a);
}

static int l_plot_call(lua_State *L) {            /* __call(self, ...) */
    const rm_command *cmd = rm_cmd_find("plot");
    rm_cmd_args_from_stack(L, 2, lua_gettop(L));
    return rm_cmd_invoke(L, cmd, -1, 0);
}

void rm_plot_open_lua(lua_State *L) {             /* stack: resmlp */
    static const char *kinds[] = {"act", "hist", "train", "heatmap", "lut"};
    lua_createtable(L, 0, 5);                      /* stack: resmlp, plot */
    for (int i = 0; i < 5; i++) {
        lua_pushstring(L, kinds[i]);
        lua_pushcclosure(L, l_plot_kind, 1);
        lua_setfield(L, -2, kinds[i]);
    }
    lua_createtable(L, 0, 1);                      /* stack: resmlp, plot, mt */
    lua_pushcfunction(L, l_plot_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "plot");
}
