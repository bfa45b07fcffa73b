/* plot_net.c - `plot` for layer-list nets (cmd_plot.c hands over): `plot hist weights` of a net's tensor
 * (layer=N or layers.N for layer N's weight, a full tensor name such as layers.5.running_var, block=N as
 * the layer index; default the first linear/conv layer), titled with the layer's quantiser. The ResMLP
 * kinds (act, heatmap, hist inputs) answer with one line saying what a net has instead. */
#include "registry.h"
#include "core/net.h"
#include "plots/actplot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rm_plot_net(rm_call *c, rm_ctx *ctx, const rm_model *m, const char *kind, const char *what, const char *layer,
                  const rm_plot_opts *o) {
    const rm_net_spec *sp = rm_net_spec_of(m);
    if (strcmp(kind, "hist") || strcmp(what, "weights"))
        rm_cmd_error(c, "plot %s%s%s is for ResMLP models; for a layer-list net: plot hist weights [layer=N], plot train",
                     kind, what ? " " : "", what ? what : "");
    char name[96] = "";
    int li = -1;
    rm_val *bv = rm_arg(c, "block");
    if (layer) {
        char *end;
        long v = strtol(!strncmp(layer, "layers.", 7) ? layer + 7 : layer, &end, 10);
        if (end != layer && (!*end || !strcmp(end, ".weight")) && v >= 0 && v < sp->n) li = (int)v;
        else snprintf(name, sizeof name, "%s", layer);
    } else if (bv->set == 1) {
        if (bv->i < 0 || bv->i >= sp->n) rm_cmd_error(c, "block=%lld: the net has layers 0..%d", bv->i, sp->n - 1);
        li = (int)bv->i;
    } else {
        for (int i = 0; i < sp->n && li < 0; i++) if (sp->l[i].type == RM_NL_LINEAR || sp->l[i].type == RM_NL_CONV) li = i;
    }
    if (li >= 0) {
        if (sp->l[li].type != RM_NL_LINEAR && sp->l[li].type != RM_NL_CONV && sp->l[li].type != RM_NL_BN)
            rm_cmd_error(c, "layer %d (%s) has no weights (linear, conv and bn layers do)", li, rm_nlayer_name(sp->l[li].type));
        snprintf(name, sizeof name, "layers.%d.weight", li);
    }
    const rm_ptensor *t = rm_model_find(m, name, NULL);
    if (!t) rm_cmd_error(c, "no tensor '%s' in this net (layer=N for layer N's weight, or a full name: see `info`)", name);
    int is_buf = 0;
    rm_model_find(m, name, &is_buf);
    const rm_nlayer_spec *l = t->block >= 0 && t->block < sp->n ? &sp->l[t->block] : NULL;
    char q[48] = "";
    if (l && (l->type == RM_NL_LINEAR || l->type == RM_NL_CONV) && strstr(name, ".weight")) {
        if (l->wq == RM_WQ_BINARY) snprintf(q, sizeof q, ", binary: sign(w)");
        else if (l->wq == RM_WQ_TERNARY) snprintf(q, sizeof q, ", ternary (TWN)");
        else if (l->wq == RM_WQ_INT) snprintf(q, sizeof q, ", int%d", l->wbits);
    }
    char title[192];
    snprintf(title, sizeof title, "%s (%s, %zu values%s)", name, l ? rm_nlayer_name(l->type) : "?", t->n, q);
    rm_hist h = {.title = title, .xlabel = "value", .values = (is_buf ? m->bmem : m->mem) + t->off, .n = (int)t->n, .nbins = 40};
    return o->svg ? rm_svg_hist(ctx, &h, o->width, o->height) : rm_plot_hist(ctx, &h, o->width, o->height, o->mode, o->colour);
}
