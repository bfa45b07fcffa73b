/* net_spec.c - the layer-list text form (parse, canonical format), shape inference with errors that name
 * the layer and the shapes, and the quantisers / surrogate gradients the layers use. */
#include "net.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *names[RM_NL_NTYPES] = {"linear", "conv", "maxpool", "flatten", "bn", "dropout", "relu",
                                          "hardtanh", "sign", "curve", "quant", "ternary"};
const char *rm_nlayer_name(int type) { return type >= 0 && type < RM_NL_NTYPES ? names[type] : "?"; }

static rm_nlayer_spec layer_default(int type) {
    rm_nlayer_spec l = {.type = type, .k = type == RM_NL_MAXPOOL ? 2 : 3, .stride = type == RM_NL_MAXPOOL ? 0 : 1,
                        .bias = 1, .wbits = 8, .o = 3, .t = 1.5f, .p = 0.5f, .bits = 8, .range = 4, .delta = 0.5f};
    return l;
}

static int type_from(const char *s, int *act) {
    *act = -1;
    if (!strcmp(s, "fc") || !strcmp(s, "linear")) return RM_NL_LINEAR;
    if (!strcmp(s, "pool")) return RM_NL_MAXPOOL;
    for (int i = 0; i < RM_NL_NTYPES; i++) if (i != RM_NL_CURVE && !strcmp(s, names[i])) return i;
    if (!strcmp(s, "lerp_psa")) { *act = RM_ACT_LERP_PSA; return RM_NL_CURVE; }
    if (!strcmp(s, "bspline")) { *act = RM_ACT_BSPLINE; return RM_NL_CURVE; }
    return -1;
}

static int num(const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) return -1;
    *out = x;
    return 0;
}

/* one key=value (or the positional value when key is NULL) of layer l */
static int set_opt(rm_ctx *ctx, rm_nlayer_spec *l, int li, const char *key, const char *v) {
    double x = 0;
    const char *ln = rm_nlayer_name(l->type);
    if (!key) {
        switch (l->type) {
        case RM_NL_LINEAR: case RM_NL_CONV: key = "out"; break;
        case RM_NL_MAXPOOL: key = "k"; break;
        case RM_NL_DROPOUT: key = "p"; break;
        case RM_NL_QUANT: key = "bits"; break;
        default: return rm_err(ctx, "layer %d (%s): takes no positional value ('%s')", li, ln, v);
        }
    }
#define NUM(lo, hi) do { if (num(v, lo, hi, &x)) return rm_err(ctx, "layer %d (%s): bad value '%s' for %s (%g..%g)", li, ln, v, key, (double)(lo), (double)(hi)); } while (0)
    int wl = l->type == RM_NL_LINEAR || l->type == RM_NL_CONV;
    if (!strcmp(key, "out") && wl) { NUM(1, 65536); l->out = (int)x; }
    else if (!strcmp(key, "k") && (l->type == RM_NL_CONV || l->type == RM_NL_MAXPOOL)) { NUM(1, 15); l->k = (int)x; }
    else if (!strcmp(key, "stride") && (l->type == RM_NL_CONV || l->type == RM_NL_MAXPOOL)) { NUM(1, 15); l->stride = (int)x; }
    else if (!strcmp(key, "pad") && l->type == RM_NL_CONV) { NUM(0, 15); l->pad = (int)x; }
    else if (!strcmp(key, "bias") && wl) {
        if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true")) l->bias = 1;
        else if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "false")) l->bias = 0;
        else return rm_err(ctx, "layer %d (%s): bias=%s (on or off)", li, ln, v);
    } else if (!strcmp(key, "w") && wl) {
        if (!strcmp(v, "float") || !strcmp(v, "fp32")) l->wq = RM_WQ_FLOAT;
        else if (!strcmp(v, "binary")) l->wq = RM_WQ_BINARY;
        else if (!strcmp(v, "ternary")) l->wq = RM_WQ_TERNARY;
        else if (!strncmp(v, "int", 3) && !num(v + 3, 2, 16, &x) && x == floor(x)) { l->wq = RM_WQ_INT; l->wbits = (int)x; }
        else return rm_err(ctx, "layer %d (%s): w=%s (float, binary, ternary, int2..int16)", li, ln, v);
    } else if (!strcmp(key, "round") && wl) {
        if (!strcmp(v, "det")) l->stochastic = 0;
        else if (!strcmp(v, "stochastic")) l->stochastic = 1;
        else return rm_err(ctx, "layer %d (%s): round=%s (det or stochastic)", li, ln, v);
    } else if (!strcmp(key, "grad") && l->type == RM_NL_SIGN) {
        if (!strcmp(v, "ste")) l->grad = RM_GRAD_STE;
        else if (!strcmp(v, "reste")) l->grad = RM_GRAD_RESTE;
        else return rm_err(ctx, "layer %d (sign): grad=%s (ste or reste)", li, v);
    } else if (!strcmp(key, "o") && l->type == RM_NL_SIGN) { NUM(1, 100); l->o = (float)x; }
    else if (!strcmp(key, "t") && l->type == RM_NL_SIGN) { NUM(0.01, 100); l->t = (float)x; }
    else if (!strcmp(key, "delta") && l->type == RM_NL_TERNARY) { NUM(0, 100); l->delta = (float)x; }
    else if (!strcmp(key, "p") && l->type == RM_NL_DROPOUT) { NUM(0, 0.99); l->p = (float)x; }
    else if (!strcmp(key, "bits") && l->type == RM_NL_QUANT) { NUM(2, 16); l->bits = (int)x; }
    else if (!strcmp(key, "range") && l->type == RM_NL_QUANT) { NUM(1e-3, 1e6); l->range = (float)x; }
    else if (l->type == RM_NL_CURVE && (!strcmp(key, "G") || !strcmp(key, "E") || !strcmp(key, "K"))) {
        NUM(2, 4096);
        if (key[0] == 'G') l->act.G = (int)x; else if (key[0] == 'E') l->act.E = (int)x; else l->act.K = (int)x;
    } else if (l->type == RM_NL_CURVE && (!strcmp(key, "R") || !strcmp(key, "eps") || !strcmp(key, "spacing"))) {
        NUM(1e-6, 1e6);
        if (key[0] == 'R') l->act.R = (float)x; else if (key[0] == 'e') l->act.eps = (float)x; else l->act.spacing = (float)x;
    } else return rm_err(ctx, "layer %d (%s): unknown option '%s'", li, ln, key);
#undef NUM
    if ((!strcmp(key, "out") || !strcmp(key, "k") || !strcmp(key, "stride") || !strcmp(key, "pad") || !strcmp(key, "bits")) && x != floor(x))
        return rm_err(ctx, "layer %d (%s): %s=%s must be an integer", li, ln, key, v);
    return RM_OK;
}

int rm_net_parse(rm_ctx *ctx, const char *text, rm_net_spec *out) {
    memset(out, 0, sizeof *out);
    const char *p = text;
    int li = 0, have_input = 0;
    char tok[512];
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        size_t n = 0;
        int depth = 0;
        while (*p && (depth || !isspace((unsigned char)*p))) {
            if (*p == '(') depth++;
            if (*p == ')') depth--;
            if (n + 1 < sizeof tok) tok[n++] = *p;
            p++;
        }
        tok[n] = 0;
        if (!strncmp(tok, "input=", 6)) {
            int c = 0, h = 1, w = 1;
            char extra;
            int k = sscanf(tok + 6, "%dx%dx%d%c", &c, &h, &w, &extra);
            if (!(k == 1 || k == 3) || c < 1 || h < 1 || w < 1 || (long)c * h * w > 1 << 24)
                return rm_err(ctx, "net: bad input shape '%s' (features, or CxHxW)", tok + 6);
            out->in_c = c; out->in_h = h; out->in_w = w;
            have_input = 1;
            continue;
        }
        li = out->n;   /* layers are numbered from 0, as `info` lists them */
        if (out->n >= RM_NET_MAXL) return rm_err(ctx, "net: more than %d layers", RM_NET_MAXL);
        char *open = strchr(tok, '(');
        char *args = NULL;
        if (open) {
            size_t len = strlen(tok);
            if (tok[len - 1] != ')') return rm_err(ctx, "net: layer %d '%s': missing ')'", li, tok);
            tok[len - 1] = 0;
            *open = 0;
            args = open + 1;
        }
        int act;
        int type = type_from(tok, &act);
        if (type < 0)
            return rm_err(ctx, "net: layer %d: unknown layer '%s' (linear, conv, maxpool, flatten, bn, dropout, relu, "
                               "hardtanh, sign, lerp_psa, bspline, quant)", li, tok);
        rm_nlayer_spec *l = &out->l[out->n++];
        *l = layer_default(type);
        if (type == RM_NL_CURVE) l->act = rm_act_default(act);
        int first = 1;
        for (char *a = args ? strtok(args, ",") : NULL; a; a = strtok(NULL, ","), first = 0) {
            while (isspace((unsigned char)*a)) a++;
            char *eq = strchr(a, '=');
            if (eq) { *eq = 0; if (set_opt(ctx, l, li, a, eq + 1)) return rm_errprefix(ctx, "net"); }
            else if (first) { if (set_opt(ctx, l, li, NULL, a)) return rm_errprefix(ctx, "net"); }
            else return rm_err(ctx, "net: layer %d (%s): positional value '%s' must come first", li, tok, a);
        }
        if ((type == RM_NL_LINEAR || type == RM_NL_CONV) && l->out < 1)
            return rm_err(ctx, "net: layer %d (%s): needs its output size, e.g. %s(32)", li, tok, tok);
        if (type == RM_NL_MAXPOOL && l->stride == 0) l->stride = l->k;
        if (type == RM_NL_CURVE && rm_act_check_cfg(ctx, &l->act)) return rm_errprefix(ctx, "net: layer %d", li);
    }
    if (!have_input) return rm_err(ctx, "net: no input shape (start with input=F or input=CxHxW)");
    if (out->n == 0) return rm_err(ctx, "net: no layers");
    return rm_net_shapes(ctx, out, NULL);
}

#define APP(...) (o += (size_t)snprintf(buf + (o < n ? o : n), o < n ? n - o : 0, __VA_ARGS__))
void rm_net_format(const rm_net_spec *s, char *buf, size_t n) {
    size_t o = 0;
    if (n) buf[0] = 0;
    if (s->in_h == 1 && s->in_w == 1) APP("input=%d", s->in_c);
    else APP("input=%dx%dx%d", s->in_c, s->in_h, s->in_w);
    for (int i = 0; i < s->n; i++) {
        const rm_nlayer_spec *l = &s->l[i], d = layer_default(l->type);
        const char *nm = l->type == RM_NL_CURVE ? rm_act_name(l->act.kind) : rm_nlayer_name(l->type);
        char a[256];
        size_t k = 0;
        a[0] = 0;
#define ARG(...) (k += (size_t)snprintf(a + k, sizeof a - k, "%s", k ? "," : ""), k += (size_t)snprintf(a + k, sizeof a - k, __VA_ARGS__))
        switch (l->type) {
        case RM_NL_CONV:
        case RM_NL_LINEAR:
            ARG("%d", l->out);
            if (l->type == RM_NL_CONV) {
                if (l->k != d.k) ARG("k=%d", l->k);
                if (l->stride != d.stride) ARG("stride=%d", l->stride);
                if (l->pad) ARG("pad=%d", l->pad);
            }
            if (!l->bias) ARG("bias=off");
            if (l->wq == RM_WQ_BINARY) ARG("w=binary");
            if (l->wq == RM_WQ_TERNARY) ARG("w=ternary");
            if (l->wq == RM_WQ_INT) ARG("w=int%d", l->wbits);
            if (l->stochastic) ARG("round=stochastic");
            break;
        case RM_NL_MAXPOOL:
            ARG("%d", l->k);
            if (l->stride != l->k) ARG("stride=%d", l->stride);
            break;
        case RM_NL_DROPOUT: ARG("%g", l->p); break;
        case RM_NL_QUANT:
            ARG("%d", l->bits);
            if (l->range != d.range) ARG("range=%g", l->range);
            break;
        case RM_NL_TERNARY:
            if (l->delta != d.delta) ARG("delta=%g", l->delta);
            break;
        case RM_NL_SIGN:
            if (l->grad == RM_GRAD_RESTE) {
                ARG("grad=reste");
                if (l->o != d.o) ARG("o=%g", l->o);
                if (l->t != d.t) ARG("t=%g", l->t);
            }
            break;
        case RM_NL_CURVE: {
            rm_act_cfg ad = rm_act_default(l->act.kind);
            if (l->act.kind == RM_ACT_LERP_PSA) {
                if (l->act.E != ad.E) ARG("E=%d", l->act.E);
                if (l->act.eps != ad.eps) ARG("eps=%.9g", l->act.eps);
                if (l->act.G != ad.G) ARG("G=%d", l->act.G);
                if (l->act.R != ad.R) ARG("R=%.9g", l->act.R);
            } else {
                if (l->act.K != ad.K) ARG("K=%d", l->act.K);
                if (l->act.spacing != ad.spacing) ARG("spacing=%.9g", l->act.spacing);
            }
            break;
        }
        default: break;
        }
#undef ARG
        if (k) APP(" %s(%s)", nm, a);
        else APP(" %s", nm);
    }
}
#undef APP

/* ---- the command form ------------------------------------------------------------------------- */

#define APP(...) (o += (size_t)snprintf(out + (o < n ? o : n), o < n ? n - o : 0, __VA_ARGS__))

/* the i-th weight quantiser of a comma list (the last one repeats); NULL list = float */
static int wq_item(rm_ctx *ctx, const char *list, int i, int nweights, char *buf, size_t bn) {
    snprintf(buf, bn, "float");
    if (!list || !*list) return RM_OK;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", list);
    int k = 0;
    char *last = NULL;
    for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ","), k++) {
        if (k == i) { snprintf(buf, bn, "%s", t); return RM_OK; }
        last = t;
    }
    if (!last) return rm_err(ctx, "w= is empty");
    snprintf(buf, bn, "%s", last);
    (void)nweights;
    return RM_OK;
}

static int count_items(const char *list) {
    if (!list || !*list) return 0;
    int k = 1;
    for (const char *p = list; *p; p++) k += *p == ',';
    return k;
}

/* more entries than weight layers: fine only when the extras repeat the last one used
 * (`layers=6-32-32-3 w=int16,binary,binary,binary` names 4 widths and 4 quantisers) */
static int check_wlist(rm_ctx *ctx, const char *list, int nw) {
    int k = count_items(list);
    if (k <= nw) return RM_OK;
    char last[32], x[32];
    wq_item(ctx, list, nw - 1, nw, last, sizeof last);
    for (int i = nw; i < k; i++) {
        wq_item(ctx, list, i, nw, x, sizeof x);
        if (strcmp(x, last)) return rm_err(ctx, "w= lists %d quantisers for %d weight layers", k, nw);
    }
    return RM_OK;
}

static int act_text(rm_ctx *ctx, const char *act, char *buf, size_t bn) {
    if (!act || !*act || !strcmp(act, "relu")) snprintf(buf, bn, "relu");
    else if (!strcmp(act, "sign") || !strcmp(act, "sign_ste")) snprintf(buf, bn, "sign");
    else if (!strcmp(act, "sign_reste")) snprintf(buf, bn, "sign(grad=reste)");
    else if (!strcmp(act, "ternary")) snprintf(buf, bn, "ternary");
    else if (!strcmp(act, "hardtanh") || !strcmp(act, "lerp_psa") || !strcmp(act, "bspline")) snprintf(buf, bn, "%s", act);
    else if (!strncmp(act, "quant", 5) && atoi(act + 5) >= 2 && atoi(act + 5) <= 16) snprintf(buf, bn, "quant(%d,range=1)", atoi(act + 5));
    else return rm_err(ctx, "unknown activation '%s' (relu, hardtanh, sign, sign_ste, sign_reste, ternary, lerp_psa, bspline, quantN)", act);
    return RM_OK;
}

/* a BN after the classifier layer whose weight quantiser is wq (see out_bn in net.h) */
static int out_bn_on(const rm_net_form *g, const char *wq, int always) {
    if (g->out_bn) return g->out_bn > 0;
    if (!g->bn) return 0;             /* bn=off: no BatchNorm anywhere unless out_bn=on */
    return always || !strcmp(wq, "binary") || !strcmp(wq, "ternary");
}

int rm_net_compose(rm_ctx *ctx, const rm_net_form *f, char *out, size_t n) {
    size_t o = 0;
    char act[64], wq[32];
    const char *kind = f->kind ? f->kind : "mlp";
    int nw = 0, wi = 0;   /* weight layers, index of the next */
    rm_net_form g = *f;
    if (!strcmp(kind, "cnv")) {
        if (g.bits != 1 && g.bits != 2 && g.bits != 4 && g.bits != 8) return rm_err(ctx, "cnv: bits=%d (1, 2, 4 or 8)", g.bits);
        static char wb[16], ab[16];
        snprintf(wb, sizeof wb, g.bits == 1 ? "binary" : "int%d", g.bits);
        snprintf(ab, sizeof ab, g.bits == 1 ? "sign" : "quant%d", g.bits);
        if (!g.w || !*g.w) g.w = wb;
        if (!g.act || !*g.act) g.act = ab;
        if (!g.in_bits) g.in_bits = 8;
        g.bn = 1;
        if (g.in_c <= 0) { g.in_c = 3; g.in_h = 32; g.in_w = 32; }
        if (g.classes <= 0) g.classes = 10;
    }
    if (act_text(ctx, g.act, act, sizeof act)) return RM_ERR;
    if (!strcmp(kind, "mlp")) {
        if (!g.layers || !*g.layers) return rm_err(ctx, "kind=mlp needs layers=IN-H1-...-CLASSES (e.g. layers=6-32-32-3)");
        int w[RM_NET_MAXL], k = 0;
        for (const char *p = g.layers; *p;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 1 || v > 1 << 20 || k >= RM_NET_MAXL / 4) return rm_err(ctx, "layers=%s: bad width at '%s'", g.layers, p);
            w[k++] = (int)v;
            p = end;
            if (*p == '-') p++;
            else if (*p) return rm_err(ctx, "layers=%s: expected '-' at '%s'", g.layers, p);
        }
        if (k < 2) return rm_err(ctx, "layers=%s: give at least inputs and classes (e.g. 784-10)", g.layers);
        if (g.in_c > 0 && (long)g.in_c * g.in_h * g.in_w != w[0])
            return rm_err(ctx, "layers=%s starts with %d inputs but the data has %d", g.layers, w[0], g.in_c * g.in_h * g.in_w);
        nw = k - 1;
        if (check_wlist(ctx, g.w, nw)) return RM_ERR;
        APP("input=%d", w[0]);
        if (g.in_bits > 0) APP(" quant(%d)", g.in_bits);
        for (int i = 1; i < k; i++) {
            if (wq_item(ctx, g.w, wi++, nw, wq, sizeof wq)) return RM_ERR;
            APP(" linear(%d,w=%s)", w[i], wq);
            if (i == k - 1 && out_bn_on(&g, wq, 0)) APP(" bn");
            if (i < k - 1) {
                if (g.bn) APP(" bn");
                APP(" %s", act);
                if (g.dropout > 0) APP(" dropout(%g)", g.dropout);
            }
        }
    } else if (!strcmp(kind, "cnn") || !strcmp(kind, "cnv")) {
        if (g.in_c <= 0 || g.in_h <= 1) return rm_err(ctx, "kind=%s needs an image input (data= an image set, or input=CxHxW)", kind);
        if (g.classes < 2) return rm_err(ctx, "kind=%s: number of classes unknown (give data= or classes=)", kind);
        const char *conv = !strcmp(kind, "cnv") ? "64,64p2,128,128p2,256,256" : g.conv;
        const char *fc = !strcmp(kind, "cnv") ? "512,512" : g.fc;
        int pad = !strcmp(kind, "cnv") ? 0 : 1;
        if (!conv || !*conv) return rm_err(ctx, "kind=cnn needs conv=N[pK],... (e.g. conv=16,32p2)");
        nw = count_items(conv) + count_items(fc) + 1;
        if (check_wlist(ctx, g.w, nw)) return RM_ERR;
        APP("input=%dx%dx%d", g.in_c, g.in_h, g.in_w);
        if (g.in_bits > 0) APP(" quant(%d)", g.in_bits);
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", conv);
        char *save = NULL;
        for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *end;
            long c = strtol(t, &end, 10);
            long pool = 0;
            if (end == t || c < 1 || c > 2048) return rm_err(ctx, "conv=%s: bad channel count '%s'", conv, t);
            if (*end == 'p') { pool = strtol(end + 1, &end, 10); if (pool < 2 || pool > 8) return rm_err(ctx, "conv=%s: bad pool in '%s' (p2..p8)", conv, t); }
            if (*end) return rm_err(ctx, "conv=%s: bad entry '%s' (N or NpK)", conv, t);
            if (wq_item(ctx, g.w, wi++, nw, wq, sizeof wq)) return RM_ERR;
            APP(pad ? " conv(%ld,pad=1,w=%s)" : " conv(%ld,w=%s)", c, wq);
            if (g.bn) APP(" bn");
            APP(" %s", act);
            if (pool) APP(" maxpool(%ld)", pool);
        }
        if (fc && *fc) {
            snprintf(tmp, sizeof tmp, "%s", fc);
            for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *end;
                long c = strtol(t, &end, 10);
                if (end == t || *end || c < 1 || c > 2048) return rm_err(ctx, "fc=%s: bad width '%s'", fc, t);
                if (wq_item(ctx, g.w, wi++, nw, wq, sizeof wq)) return RM_ERR;
                APP(" linear(%ld,w=%s)", c, wq);
                if (g.bn) APP(" bn");
                APP(" %s", act);
                if (g.dropout > 0) APP(" dropout(%g)", g.dropout);
            }
        }
        if (wq_item(ctx, g.w, wi++, nw, wq, sizeof wq)) return RM_ERR;
        APP(" linear(%d,w=%s)", g.classes, wq);
        if (out_bn_on(&g, wq, !strcmp(kind, "cnv"))) APP(" bn");
    } else return rm_err(ctx, "unknown kind '%s' (resmlp, mlp, cnn, cnv)", kind);
    if (o >= n) return rm_err(ctx, "network description too long");
    return RM_OK;
}
#undef APP

static void shape_str(char *b, size_t n, int c, int h, int w, int spatial) {
    if (spatial) snprintf(b, n, "%dx%dx%d", c, h, w);
    else snprintf(b, n, "%d", c);
}

int rm_net_shapes(rm_ctx *ctx, rm_net_spec *s, int (*outs)[3]) {
    int c = s->in_c, h = s->in_h, w = s->in_w, spatial = h * w > 1;
    char sh[64];
    for (int i = 0; i < s->n; i++) {
        rm_nlayer_spec *l = &s->l[i];
        const char *nm = l->type == RM_NL_CURVE ? rm_act_name(l->act.kind) : rm_nlayer_name(l->type);
        shape_str(sh, sizeof sh, c, h, w, spatial);
        if (l->type == RM_NL_LINEAR && spatial) {
            /* a linear after a spatial tensor: insert the flatten nn.Sequential would need */
            if (s->n >= RM_NET_MAXL) return rm_err(ctx, "net: more than %d layers with the inserted flatten", RM_NET_MAXL);
            memmove(&s->l[i + 1], &s->l[i], sizeof *l * (size_t)(s->n - i));
            s->n++;
            s->l[i] = layer_default(RM_NL_FLATTEN);
            l = &s->l[i];
            nm = "flatten";
        }
        switch (l->type) {
        case RM_NL_LINEAR:
            if ((long)c > (1 << 22)) return rm_err(ctx, "net: layer %d (linear): input of %d features is too large", i, c);
            c = l->out;
            break;
        case RM_NL_CONV: {
            if (!spatial) return rm_err(ctx, "net: layer %d (conv) needs an image input (CxHxW), got %s features", i, sh);
            int oh = (h + 2 * l->pad - l->k) / l->stride + 1, ow = (w + 2 * l->pad - l->k) / l->stride + 1;
            if (h + 2 * l->pad < l->k || w + 2 * l->pad < l->k)
                return rm_err(ctx, "net: layer %d (conv k=%d pad=%d) does not fit its input %s", i, l->k, l->pad, sh);
            c = l->out; h = oh; w = ow;
            break;
        }
        case RM_NL_MAXPOOL:
            if (!spatial) return rm_err(ctx, "net: layer %d (maxpool) needs an image input (CxHxW), got %s features", i, sh);
            if (h < l->k || w < l->k) return rm_err(ctx, "net: layer %d (maxpool %d) does not fit its input %s", i, l->k, sh);
            h = (h - l->k) / l->stride + 1; w = (w - l->k) / l->stride + 1;
            break;
        case RM_NL_FLATTEN:
            c = c * h * w; h = w = 1; spatial = 0;
            break;
        case RM_NL_BN: case RM_NL_CURVE:
            if (c > 2048) return rm_err(ctx, "net: layer %d (%s): %d channels (at most 2048)", i, nm, c);
            if (!spatial && h * w != 1) return rm_err(ctx, "net: layer %d (%s): internal shape error", i, nm);
            break;
        default: break;
        }
        if (l->type == RM_NL_LINEAR && c > 2048) return rm_err(ctx, "net: layer %d (linear): %d outputs (at most 2048)", i, c);
        if (l->type == RM_NL_CONV && c > 2048) return rm_err(ctx, "net: layer %d (conv): %d channels (at most 2048)", i, c);
        if (outs) { outs[i][0] = c; outs[i][1] = spatial ? h : 1; outs[i][2] = spatial ? w : 1; }
    }
    shape_str(sh, sizeof sh, c, h, w, spatial);
    if (spatial) return rm_err(ctx, "net: the last layer gives %s (an image); end with linear(classes)", sh);
    if (c < 2 || c > 256) return rm_err(ctx, "net: the last layer gives %d class scores (2..256)", c);
    return RM_OK;
}

/* ---- quantisers --------------------------------------------------------------------------------- */

int rm_quant_fixed(float *q, const float *w, size_t n, int bits, const float *u) {
    float mx = 0;   /* max|w| (compares instead of fmaxf, NaN skipped as fmaxf does, so the loops vectorise) */
#pragma omp simd reduction(max : mx)
    for (size_t i = 0; i < n; i++) { float a = fabsf(w[i]); mx = a > mx ? a : mx; }
    int f = bits - 1;
    if (mx > 0) f = bits - 1 - (int)ceilf(log2f(mx));
    if (f > 24) f = 24;
    float s = ldexpf(1, f), inv = ldexpf(1, -f), lo = -ldexpf(1, bits - 1), hi = ldexpf(1, bits - 1) - 1;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float v = w[i] * s;
        v = u ? floorf(v + u[i]) : rintf(v);   /* rintf = nearbyintf (round to nearest even) */
        v = v > lo ? v : lo;
        q[i] = (v < hi ? v : hi) * inv;
    }
    return f;
}

void rm_quant_ternary(float *q, float *alpha, const float *w, int rows, int cols) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
    for (int r = 0; r < rows; r++) {
        const float *wr = w + (size_t)r * cols;
        double s = 0;
        for (int j = 0; j < cols; j++) s += fabsf(wr[j]);
        float delta = (float)(0.75 * s / cols);
        double sa = 0;
        int na = 0;
        for (int j = 0; j < cols; j++) if (fabsf(wr[j]) > delta) { sa += fabsf(wr[j]); na++; }
        float a = na ? (float)(sa / na) : 0;
        if (alpha) alpha[r] = a;
        float *qr = q + (size_t)r * cols;
        for (int j = 0; j < cols; j++) qr[j] = wr[j] > delta ? a : wr[j] < -delta ? -a : 0;
    }
}

float rm_reste_grad(float x, float o, float t) {
    const float interval = 0.1f;
    float ax = fabsf(x);
    if (ax > t) return 0;
    if (ax > interval) return (1 / o) * powf(ax, (1 - o) / o);
    return powf(interval, 1 / o) / interval;
}
