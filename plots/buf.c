/* buf.c - growable string buffer and UTF-8 helpers for the plot renderers. An allocation failure is
 * remembered and reported once by sb_finish; appends after it are ignored. */
#include "plot_int.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sb_grow(rm_sbuf *b, size_t extra) {
    if (b->oom) return 0;
    if (b->n + extra + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) { b->oom = 1; return 0; }
    b->s = s;
    b->cap = cap;
    return 1;
}

void sb_put(rm_sbuf *b, const char *s, size_t n) {
    if (!sb_grow(b, n)) return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void sb_puts(rm_sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

void sb_printf(rm_sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < sizeof tmp) { sb_put(b, tmp, (size_t)k); return; }
    if (!sb_grow(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

int cp_utf8(char *u, uint32_t cp) {
    int n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    u[n] = 0;
    return n;
}

void sb_cp(rm_sbuf *b, uint32_t cp) {
    char u[5];
    sb_put(b, u, (size_t)cp_utf8(u, cp));
}

char *sb_finish(rm_ctx *ctx, rm_sbuf *b) {
    if (b->oom || !sb_grow(b, 0)) {
        free(b->s);
        b->s = NULL;
        rm_err(ctx, "plot: out of memory building the output");
        return NULL;
    }
    if (!b->s) { b->s = malloc(1); if (!b->s) { rm_err(ctx, "plot: out of memory"); return NULL; } b->s[0] = 0; }
    return b->s;
}

uint32_t utf8_next(const char **sp) {
    const unsigned char *s = (const unsigned char *)*sp;
    if (!s || !*s) return 0;
    uint32_t c = s[0];
    int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0) { *sp += 1; return '?'; }
    if (len == 1) { *sp += 1; return (c < 0x20 || c == 0x7F) ? '?' : c; }
    uint32_t cp = c & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *sp += i; return '?'; }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *sp += len;
    static const uint32_t minv[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minv[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return '?';
    if (cp >= 0x80 && cp < 0xA0) return '?';            /* C1 controls */
    if (cp == 0xFFFE || cp == 0xFFFF) return '?';       /* not allowed in XML */
    return cp;
}

int rm_text_width(const char *s) {
    int w = 0;
    if (!s) return 0;
    while (*s) {
        if (*s == '\x1b') {                    /* CSI: ESC [ params final-byte */
            s++;
            if (*s == '[') { s++; while (*s && !(*s >= 0x40 && *s <= 0x7E)) s++; if (*s) s++; }
            continue;
        }
        if (*s == '\n') { s++; continue; }
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
        s++;
    }
    return w;
}
