/* cmd_misc.c - `who` (the workspace with sizes and memory), `help`, `quit`, `threads` and `precision`. */
#include "registry.h"
#include "core/gemm.h"
#include <stdlib.h>
#include <string.h>

typedef struct who_row { const char *name; int is_model; void *ud; } who_row;   /* is_model: 1 Model, 2 QModel */

static int by_name(const void *a, const void *b) { return strcmp(((const who_row *)a)->name, ((const who_row *)b)->name); }

int rm_cmd_who(rm_call *c) {
    lua_State *L = c->L;
    rm_ws_push(L);
    int ws = lua_gettop(L), n = 0, cap = 0;
    lua_pushnil(L);
    while (lua_next(L, ws)) { cap++; lua_pop(L, 1); }
    who_row *rows = lua_newuserdatauv(L, sizeof(who_row) * (cap + 1), 0);   /* scratch, collected */
    lua_pushnil(L);
    while (lua_next(L, ws)) {                  /* stack: ws, rows, key, value */
        void *m = luaL_testudata(L, -1, RM_MODEL_MT), *d = m ? NULL : luaL_testudata(L, -1, RM_DATA_MT);
        void *q = m || d ? NULL : luaL_testudata(L, -1, RM_QMODEL_MT);
        if (lua_type(L, -2) == LUA_TSTRING && (m || d || q) && n < cap)
            rows[n++] = (who_row){lua_tostring(L, -2), m ? 1 : q ? 2 : 0, m ? m : d ? d : q};   /* keys live in ws */
        lua_pop(L, 1);
    }
    qsort(rows, n, sizeof *rows, by_name);
    double total = 0;
    if (c->line) {
        if (!n) printf("nothing loaded (try `data cifar10`, `model new`, `load NAME PATH`)\n");
        else printf("%s  %-12s %-8s %-58s %10s%s\n", rm_col(0, "1"), "name", "kind", "what", "memory", rm_reset(0));
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        char what[160], mem[32], cnt[32];
        double bytes = 0;
        int cur = (rows[i].is_model == 1 && !strcmp(rows[i].name, rm_A.cur_model)) ||
                  (rows[i].is_model == 2 && !strcmp(rows[i].name, rm_A.cur_qmodel));
        const char *kind = rows[i].is_model == 1 ? "Model" : rows[i].is_model == 2 ? "QModel" : "Dataset";
        if (rows[i].is_model == 2) {
            rm_qmodel_what(rows[i].ud, what, sizeof what, &bytes);
        } else if (rows[i].is_model) {
            lmodel *lm = rows[i].ud;
            if (lm->m) {
                bytes = (double)rm_model_bytes(lm->m);
                if (lm->m->net)
                    snprintf(what, sizeof what, "net, %d classes, %s params, %d epochs", lm->m->cfg.K,
                             rm_fmt_count(cnt, sizeof cnt, (double)lm->m->nparams), lm->epochs);
                else
                    snprintf(what, sizeof what, "%s h=%d, %s params, %d epochs", rm_act_name(lm->m->cfg.act.kind), lm->m->cfg.H,
                             rm_fmt_count(cnt, sizeof cnt, (double)lm->m->nparams), lm->epochs);
                if (lm->evaluated) snprintf(what + strlen(what), sizeof what - strlen(what), ", %.2f%% on %s", 100 * lm->eval_acc, lm->eval_on);
            } else {
                snprintf(what, sizeof what, "(closed)");
            }
        } else {
            ldata *d = rows[i].ud;
            if (d->loaded) {
                bytes = (double)d->ds.n * (d->ds.c * d->ds.h * d->ds.w + 1);
                snprintf(what, sizeof what, "%s images %dx%dx%d", rm_fmt_count(cnt, sizeof cnt, d->ds.n), d->ds.c, d->ds.h, d->ds.w);
            } else {
                snprintf(what, sizeof what, "(closed)");
            }
        }
        total += bytes;
        if (c->line)
            printf("%c %-12s %-8s %-58.58s %10s\n", cur ? '*' : ' ', rows[i].name, kind, what, rm_fmt_bytes(mem, sizeof mem, bytes));
        lua_createtable(L, 0, 5);
        lua_pushstring(L, rows[i].name); lua_setfield(L, -2, "name");
        lua_pushstring(L, kind); lua_setfield(L, -2, "kind");
        lua_pushstring(L, what); lua_setfield(L, -2, "what");
        lua_pushinteger(L, (lua_Integer)bytes); lua_setfield(L, -2, "bytes");
        lua_pushboolean(L, cur); lua_setfield(L, -2, "current");
        lua_rawseti(L, -2, i + 1);
    }
    if (c->line && n) {
        char mem[32];
        printf("  (* current model and quantized model; total %s)\n", rm_fmt_bytes(mem, sizeof mem, total));
    }
    return 1;
}

static const char *lua_help =
    "Lua API (module `resmlp`; every command is also a function: resmlp.train{epochs=5}):\n"
    "  m = resmlp.model{act='lerp_psa', hidden=96}   m = resmlp.load(path)   m:save(path)\n"
    "  train, test = resmlp.data('cifar10', dir, {limit=5000})\n"
    "  m:train{data=train, epochs=5, teacher=t, on_epoch=function(s) ... end}  (return false to stop)\n"
    "  m:train{teacher=t, kt_epochs=1, kd_epochs=10}   the paper's KT-then-KD student recipe\n"
    "  r = m:eval(test) -> {acc=, loss=, n=}   m:layers()   m:info()   m:history()   m:copy()\n"
    "  x, y = m:curve{block=2, layer='mlp.2', ch=5, lo=-4, hi=4, n=33}\n"
    "  t = m:param('classifier.weight') -> Tensor: t:shape(), t[i], t:get(i,j), #t, t:totable(), t:mean(), t:show()\n"
    "  m:params() (tensor names)   m:assign(name, tensor_or_table)   m:close() (or `local m <close> = ...`)\n"
    "  z = m:predict(test) -> Tensor (N,10) of logits   z = m:forward(x) (x: Tensor or table of input rows)\n"
    "  x = m:inputs(test, start, count) (normalised model inputs)   m:export('m.pt')   q:predict(test) (INT8)\n"
    "  Dataset: #ds, ds:shape(), ds:label(i), ds:counts(), ds:slice(start, count)\n"
    "Indices are 0-based everywhere in this API, as in PyTorch: images (ds:label(0), ds:slice(0, 100) = the\n"
    "first 100), blocks and channels (block=0, ch=0), tensor rows and elements (t[0], t:get(0, 0), m:inputs(ds, 0, 8)).\n"
    "Plain Lua tables that functions return (t:totable(), m:history(), result lists) are ordinary 1-based Lua arrays.\n"
    "  r = resmlp.quantize{model=m, calib=5000} -> {qmodel=, name=, percentile=, val_acc=, calib={{pct=, acc=}...}}\n"
    "  q = r.qmodel (or resmlp.qload(path)): q:verify{data=test} -> {int_acc=, fq_acc=, err_mean=, err_std=, err_max=,\n"
    "    bit_exact=, layers={{name=, acc_min=, acc_max=, sat_lo=, sat_hi=, overflow=}...}}   q:qat{teacher=m, epochs=1}\n"
    "    q:save(path)   q:lut{block=0} (64-entry table errors)   q:plot{block=0, layer='act1', ch=3}   q:info()   q:close()\n"
    "  resmlp.ws (named objects)   resmlp.current()   resmlp.args(arg, defaults)   resmlp.markdown(head, rows)\n"
    "  resmlp.write(path, text)   resmlp.mkdir(dir)   resmlp.clock()   resmlp.repr(v)\n"
    "  resmlp.memory() -> {rss=, heap_used=, heap_free=, mmapped=, lua=} (bytes: resident set, malloc's heap, Lua's own)\n"
    "At the prompt, `=expr` or any expression prints its value; `_` holds the last result.";

static const char *net_help =
    "Layer-list nets (model new net=\"...\", resmlp.net{...}, or the command forms kind=mlp|cnn|cnv):\n"
    "  input=F | input=CxHxW     the input: F features, or C channels of HxW images (first item)\n"
    "  linear(OUT) | fc(OUT)     options: w=float|binary|ternary|int2..int16, round=det|stochastic, bias=on|off\n"
    "  conv(OUT)                 3x3 by default; k=, stride=, pad=, and the weight options of linear\n"
    "  maxpool(K) | pool(K)      K x K, stride K (stride=)      flatten (inserted before a linear after images)\n"
    "  bn                        BatchNorm1d / BatchNorm2d by the input shape      dropout(P)\n"
    "  relu  hardtanh            sign(grad=ste|reste, o=3, t=1.5): binary activation, STE or ReSTE gradient\n"
    "  quant(BITS, range=R)      n-bit uniform activation / input quantiser on [-R, R] (STE)\n"
    "  ternary(delta=0.5)        ternary activation: 0 inside [-delta, delta], else sign (STE |x| <= 1)\n"
    "  lerp_psa(G=, R=, E=, eps=) | bspline(K=, spacing=)   learned per-channel curves\n"
    "Binary weights are sign(w) with latent float weights clipped to [-1, 1] (STE where |w| <= 1); ternary\n"
    "weights are TWN's (delta = 0.75 mean|W| per output, alpha = mean |W| above delta).\n"
    "`quantize` turns a net with quantised weights after its first sign or quant (at most 8 bits) into the\n"
    "integer engine: BN + sign -> one threshold per channel, BN + quant(N) -> 2^N-1 (integer codes out).\n"
    "Example: input=1x28x28 quant(8) conv(16,pad=1,w=int16) bn sign(grad=reste) conv(32,pad=1,w=binary) bn\n"
    "         sign(grad=reste) maxpool(2) linear(32,w=binary) bn sign(grad=reste) linear(10,w=binary) bn\n"
    "Layers are numbered from 0 (as `info` lists them) in every message.";

int rm_cmd_help_(rm_call *c) {
    rm_val *tv = rm_posarg(c, "topic");
    if (tv->set) {
        if (!strcmp(tv->s, "lua")) { printf("%s\n", lua_help); return 0; }
        if (!strcmp(tv->s, "net")) { printf("%s\n", net_help); return 0; }
        const rm_command *cmd = rm_cmd_find(tv->s);
        if (!cmd) {
            const char *names[64];
            int n = 0;
            for (const rm_command *k = rm_commands; k->name && n < 64; k++) names[n++] = k->name;
            const char *s = rm_suggest(tv->s, names, n);
            rm_cmd_error(c, "no command '%s'%s%s%s (`help` lists them)", tv->s, s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
        }
        rm_cmd_help(cmd, stdout);
        return 0;
    }
    printf("%scommands%s (`help COMMAND` shows its options; `help lua` the Lua API; `help net` layer lists):\n", rm_col(0, "1"), rm_reset(0));
    for (const rm_command *k = rm_commands; k->name; k++) printf("  %-8s %s\n", k->name, k->summary);
    printf("Command lines are `command [args] [key=value ...]`; anything else runs as Lua (try `resmlp.train{epochs=1}`).\n"
           "Tab completes commands, options, layer names, paths and Lua fields; Ctrl-C stops a running command\n"
           "and clears the line at the prompt; Ctrl-D leaves.\n");
    return 0;
}

int rm_cmd_quit(rm_call *c) {
    int code = (int)rm_posarg(c, "code")->i;
    if (!c->line) rm_raise_quit(c->L, code);
    rm_A.quit = 1;
    rm_A.exit_code = code;
    return 0;
}

int rm_cmd_threads(rm_call *c) {
    rm_val *nv = rm_posarg(c, "n");
    if (nv->set) {
        if (nv->i < 0 || nv->i > 1024) rm_cmd_error(c, "threads %lld out of range 0..1024", nv->i);
        rm_set_threads((int)nv->i);
    }
    if (c->line) printf("threads: %d\n", rm_get_threads());
    lua_pushinteger(c->L, rm_get_threads());
    return 1;
}

int rm_cmd_precision(rm_call *c) {
    rm_val *pv = rm_posarg(c, "p");
    char note[200] = "";
    if (pv->set) rm_gemm_set_precision((rm_precision)rm_precision_parse(pv->s), note, sizeof note);
    if (c->line) {
        char d[300];
        rm_gemm_describe(d, sizeof d);
        printf("precision: %s\n%s\n", rm_precision_name(rm_gemm_precision()), d);
        if (note[0]) printf("(%s)\n", note);
    } else if (note[0]) {
        fprintf(stderr, "resmlp: %s\n", note);
    }
    lua_pushstring(c->L, rm_precision_name(rm_gemm_precision()));
    return 1;
}
