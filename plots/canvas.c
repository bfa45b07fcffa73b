/* canvas.c - the cell canvas every text plot is drawn on, and its rendering to UTF-8 lines.
 * A cell holds either a character (text, axes, ASCII plot glyphs) or a mask of sub-pixels
 * (2x2 quadrant blocks or 2x4 braille dots) that becomes one glyph when rendered.
 * Each cell keeps its last owner so a plot can tell which series are visible. Also the glyph and
 * colour tables shared by all plot kinds. No terminal I/O. */
#include "plot_int.h"
#include <stdlib.h>
#include <string.h>

int cv_init(rm_ctx *ctx, rm_canvas *cv, int w, int h, int mode) {
    memset(cv, 0, sizeof *cv);
    if (mode < RM_CANVAS_ASCII || mode > RM_CANVAS_BRAILLE) return rm_err(ctx, "plot: unknown canvas mode %d", mode);
    if (w < RM_PLOT_MIN_W || h < RM_PLOT_MIN_H)
        return rm_err(ctx, "plot: size %dx%d too small (at least %dx%d)", w, h, RM_PLOT_MIN_W, RM_PLOT_MIN_H);
    if (w > 4096 || h > 4096) return rm_err(ctx, "plot: size %dx%d too large (at most 4096x4096)", w, h);
    cv->c = calloc((size_t)w * h, sizeof *cv->c);
    if (!cv->c) return rm_err(ctx, "plot: out of memory for a %dx%d canvas", w, h);
    cv->w = w; cv->h = h; cv->mode = mode;
    cv->sx = mode == RM_CANVAS_ASCII ? 1 : 2;
    cv->sy = mode == RM_CANVAS_ASCII ? 1 : mode == RM_CANVAS_BLOCK ? 2 : 4;
    cv_clip(cv, 0, 0, w, h);
    return RM_OK;
}

void cv_free(rm_canvas *cv) { free(cv->c); cv->c = NULL; }

void cv_clip(rm_canvas *cv, int x, int y, int w, int h) {
    cv->cx0 = x < 0 ? 0 : x;
    cv->cy0 = y < 0 ? 0 : y;
    cv->cx1 = x + w > cv->w ? cv->w : x + w;
    cv->cy1 = y + h > cv->h ? cv->h : y + h;
}

static rm_cell *cell(rm_canvas *cv, int x, int y) {
    if (x < cv->cx0 || x >= cv->cx1 || y < cv->cy0 || y >= cv->cy1) return NULL;
    return &cv->c[(size_t)y * cv->w + x];
}

void cv_put(rm_canvas *cv, int x, int y, uint32_t ch, int colour) {
    rm_cell *c = cell(cv, x, y);
    if (!c) return;
    c->ch = ch;
    c->bits = 0;
    c->colour = (uint8_t)colour;
    c->owner = (uint8_t)cv->owner;
}

int cv_text(rm_canvas *cv, int x, int y, const char *s, int maxw, int colour) {
    int k = 0;
    uint32_t cp;
    if (!s) return 0;
    while (k < maxw && (cp = utf8_next(&s)) != 0) cv_put(cv, x + k++, y, cp, colour);
    return k;
}

int cv_textr(rm_canvas *cv, int xend, int y, const char *s, int maxw, int colour) {
    int n = rm_text_width(s);
    if (n > maxw) n = maxw;
    return cv_text(cv, xend - n, y, s, n, colour);
}

void cv_mark_area(rm_canvas *cv, int x, int y, int w, int h) {
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            rm_cell *c = cell(cv, i, j);
            if (c) c->flags |= CELL_AREA;
        }
}

void cv_wipe(rm_canvas *cv, int x, int y, int w, int h) {
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            rm_cell *c = cell(cv, i, j);
            if (c) memset(c, 0, sizeof *c);
        }
}

void cv_owners(const rm_canvas *cv, int x, int y, int w, int h, uint8_t seen[256]) {
    for (int j = y < 0 ? 0 : y; j < y + h && j < cv->h; j++)
        for (int i = x < 0 ? 0 : x; i < x + w && i < cv->w; i++) {
            const rm_cell *c = &cv->c[(size_t)j * cv->w + i];
            if (c->ch || c->bits) seen[c->owner] = 1;
        }
}

void cv_px(rm_canvas *cv, int ax, int ay, int px, int py, int colour, uint32_t glyph) {
    if (px < 0 || py < 0) return;
    if (cv->mode == RM_CANVAS_ASCII) { cv_put(cv, ax + px, ay + py, glyph, colour); return; }
    rm_cell *c = cell(cv, ax + px / cv->sx, ay + py / cv->sy);
    if (!c) return;
    if (c->owner != cv->owner) { c->ch = 0; c->bits = 0; c->owner = (uint8_t)cv->owner; }
    int dx = px % cv->sx, dy = py % cv->sy;
    static const uint8_t braille[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
    c->bits |= cv->mode == RM_CANVAS_BLOCK ? (uint8_t)(1u << (dx + 2 * dy)) : braille[dx][dy];
    c->colour = (uint8_t)colour;
}

/* quadrant glyph for mask UL=1 UR=2 LL=4 LR=8 */
static const uint32_t quad[16] = {0x20, 0x2598, 0x259D, 0x2580, 0x2596, 0x258C, 0x259E, 0x259B,
                                  0x2597, 0x259A, 0x2590, 0x259C, 0x2584, 0x2599, 0x259F, 0x2588};

static uint32_t cell_glyph(const rm_canvas *cv, const rm_cell *c) {
    if (c->bits && cv->mode == RM_CANVAS_BLOCK) return quad[c->bits & 15];
    if (c->bits && cv->mode == RM_CANVAS_BRAILLE) return 0x2800u + c->bits;
    if (c->ch) return c->ch;
    if ((c->flags & CELL_AREA) && cv->mode == RM_CANVAS_BRAILLE) return 0x2800u;
    return ' ';
}

char *cv_render(rm_ctx *ctx, const rm_canvas *cv, int colour) {
    rm_sbuf b = {0};
    for (int y = 0; y < cv->h; y++) {
        const rm_cell *row = &cv->c[(size_t)y * cv->w];
        int end = cv->w;
        while (end > 0 && cell_glyph(cv, &row[end - 1]) == ' ') end--;
        int cur = 0;
        for (int x = 0; x < end; x++) {
            uint32_t g = cell_glyph(cv, &row[x]);
            int want = colour && g != ' ' && g != 0x2800u ? row[x].colour : cur;
            if (colour && want != cur) {
                if (want) sb_printf(&b, "\x1b[%dm", ansi_colour(want));
                else sb_puts(&b, "\x1b[0m");
                cur = want;
            }
            sb_cp(&b, g);
        }
        if (cur) sb_puts(&b, "\x1b[0m");
        sb_put(&b, "\n", 1);
    }
    return sb_finish(ctx, &b);
}

int ansi_colour(int c) {
    static const int sgr[RM_NCOLOURS + 1] = {39, 34, 31, 32, 33, 35, 36, 90, 39};
    return c >= 1 && c <= RM_NCOLOURS ? sgr[c] : 39;
}

const char *svg_colour(int c) {
    static const char *hex[RM_NCOLOURS + 1] = {"#000000", "#1f77b4", "#d62728", "#2ca02c", "#bcbd22",
                                              "#9467bd", "#17becf", "#7f7f7f", "#000000"};
    return c >= 1 && c <= RM_NCOLOURS ? hex[c] : hex[0];
}

uint32_t g_axis(int mode, int which) {
    static const char ascii[] = {'-', '|', '+', '+', '+', ':', '=', '+', '^'};
    static const uint32_t uni[] = {0x2500, 0x2502, 0x2514, 0x2524, 0x252C, 0x250A, 0x2501, 0x252F, 0x25B2};
    return mode == RM_CANVAS_ASCII ? (uint32_t)ascii[which] : uni[which];
}

void dash_pattern(int mode, int dash, int *on, int *off) {
    *on = 1; *off = 0;
    if (mode == RM_CANVAS_ASCII || dash == RM_DASH_SOLID) return;
    if (dash == RM_DASH_DOTTED) { *off = 1; return; }
    *on = mode == RM_CANVAS_BRAILLE ? 4 : 2;
    *off = 2;
}

void legend_key(char *buf, int mode, int style, int dash, char glyph) {
    if (mode == RM_CANVAS_ASCII) {
        if (style == RM_STYLE_LINE) { buf[0] = glyph; buf[1] = glyph; buf[2] = 0; }
        else { buf[0] = glyph; buf[1] = 0; }
        return;
    }
    int blk = mode == RM_CANVAS_BLOCK;
    if (style == RM_STYLE_MARKERS) { cp_utf8(buf, MARKER_GLYPH); return; }
    if (style == RM_STYLE_BARS) { cp_utf8(buf, blk ? 0x2588 : 0x28FF); return; }
    /* a horizontal stretch on the top sub-pixel row, `on` pixels drawn and `off` skipped in turn */
    int on, off, sx = 2, cells = dash == RM_DASH_DASHED ? (blk ? 3 : 5) : 2, n = 0;
    dash_pattern(mode, dash, &on, &off);
    for (int c = 0; c < cells; c++) {
        int bits = 0;
        for (int d = 0; d < sx; d++)
            if ((c * sx + d) % (on + off) < on) bits |= blk ? 1 << d : d ? 0x08 : 0x01;
        uint32_t cp = !bits ? ' ' : blk ? (bits == 3 ? 0x2580u : bits == 1 ? 0x2598u : 0x259Du) : 0x2800u + bits;
        n += cp_utf8(buf + n, cp);
    }
}

/* default glyph lists per style */
static const char *style_glyphs(int style) {
    return style == RM_STYLE_MARKERS ? "ox@$" : style == RM_STYLE_BARS ? "#%@=" : "*#=%&~";
}

static int own_glyph(const rm_series *s) { return s->glyph > 0x20 && s->glyph < 0x7F; }

void plot_glyphs(const rm_plot *p, char *g) {
    uint8_t used[128] = {0};
    int n = p->nseries < OWN_MAXSERIES ? p->nseries : OWN_MAXSERIES, k[3] = {0, 0, 0};
    used[':'] = used['-'] = used['|'] = used['='] = 1;   /* vlines, faint zero axes, the span strip */
    for (int j = 0; j < n; j++) if (own_glyph(&p->series[j])) used[(int)p->series[j].glyph] = 1;
    for (int j = 0; j < n; j++) {
        const rm_series *s = &p->series[j];
        if (own_glyph(s)) { g[j] = s->glyph; continue; }
        int st = s->style >= 0 && s->style <= 2 ? s->style : 0;
        const char *list = style_glyphs(st);
        int len = (int)strlen(list), start = k[st]++ % len;
        g[j] = list[start];
        for (int t = 0; t < len; t++)
            if (!used[(int)list[(start + t) % len]]) { g[j] = list[(start + t) % len]; break; }
        used[(int)g[j]] = 1;
    }
}

int series_colour(const rm_series *s, int idx) {
    if (s->colour >= 1 && s->colour <= RM_NCOLOURS) return s->colour;
    return idx % 6 + 1;
}
