/* cmd_chart.c - the `chart` command: a generic x-y chart of a few named series given as text
 * ("name:x/y,x/y;name2:x/y"), on the terminal (plots/ rm_plot_lines) or as SVG / text with out=. Scripts
 * (compare_compression.lua) use it for accuracy-vs-cost plots. */
#include "registry.h"
#include "plots/plot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXS 12
#define MAXP 256

int rm_cmd_chart(rm_call *c) {
    lua_State *L = c->L;
    const char *txt = rm_arg(c, "series")->s;
    if (!txt) rm_cmd_error(c, "series=\"name:x/y,x/y;name2:x/y,...\" is required");
    char *buf = lua_newuserdatauv(L, strlen(txt) + 1, 0);   /* collected */
    strcpy(buf, txt);
    static float xs[MAXS][MAXP], ys[MAXS][MAXP];
    static char names[MAXS][64];
    rm_series se[MAXS];
    int ns = 0;
    int markers = !strcmp(rm_arg(c, "style")->s, "markers");
    for (char *part = buf, *next; part && *part && ns < MAXS; part = next) {
        next = strchr(part, ';');
        if (next) *next++ = 0;
        char *colon = strchr(part, ':');
        if (!colon) rm_cmd_error(c, "series %d: expected name:x/y,x/y,...", ns + 1);
        *colon = 0;
        snprintf(names[ns], sizeof names[ns], "%s", part);
        int n = 0;
        for (char *pt = colon + 1, *pn; pt && *pt && n < MAXP; pt = pn) {
            pn = strchr(pt, ',');
            if (pn) *pn++ = 0;
            char *e;
            xs[ns][n] = strtof(pt, &e);
            if (*e != '/') rm_cmd_error(c, "series '%s': point '%s' is not x/y", names[ns], pt);
            ys[ns][n] = strtof(e + 1, &e);
            if (*e) rm_cmd_error(c, "series '%s': point '%s' is not x/y", names[ns], pt);
            n++;
        }
        se[ns] = (rm_series){.name = names[ns], .x = xs[ns], .y = ys[ns], .n = n,
                             .style = markers ? RM_STYLE_MARKERS : RM_STYLE_LINE};
        ns++;
    }
    rm_plot p = {.title = rm_arg(c, "title")->s, .xlabel = rm_arg(c, "xlabel")->s, .ylabel = rm_arg(c, "ylabel")->s,
                 .series = se, .nseries = ns};
    rm_ctx ctx = {0};
    rm_val *ov = rm_arg(c, "out");
    int w = (int)rm_arg(c, "width")->i, h = (int)rm_arg(c, "height")->i;
    size_t ol = ov->set ? strlen(ov->s) : 0;
    int svg = ol > 4 && !strcmp(ov->s + ol - 4, ".svg");
    char *out = svg ? rm_svg_lines(&ctx, &p, w * 10, h * 22) : rm_plot_lines(&ctx, &p, w, h, RM_CANVAS_BRAILLE, ov->set ? 0 : rm_A.colour_out);
    if (!out) rm_cmd_error(c, "%s", ctx.msg);
    if (ov->set) {
        FILE *f = !rm_mkparent(ov->s) ? fopen(ov->s, "w") : NULL;
        int ok = f && fputs(out, f) >= 0;
        if (f && fclose(f)) ok = 0;
        if (!ok) { free(out); rm_cmd_error(c, "cannot write %s", ov->s); }
        if (!rm_arg(c, "quiet")->i) printf("wrote %s\n", ov->s);
    } else if (!rm_arg(c, "quiet")->i) fputs(out, stdout);
    lua_pushstring(L, out);
    free(out);
    return 1;
}
