/* fuzz_repl.h - shared set-up of the two REPL fuzz targets: one real resmlp Lua state (the `resmlp`
 * module, workspace, metatables, as the program starts it) with a Model "m" and a Dataset "d" in the
 * workspace, and a stand-in handler. The command table is the real one (repl/commands.c); only the
 * handler of the invoked copy is replaced, so the real argument checking runs (specs, types, defaults,
 * workspace look-ups, suggestions) without training, writing files or running synthesis tools. */
#ifndef RM_FUZZ_REPL_H
#define RM_FUZZ_REPL_H
#include "fuzz_util.h"
#include "repl/registry.h"

/* reads every value the checker produced, as a handler would */
static int fz_handler(rm_call *c) {
    volatile size_t t = 0;
    for (int i = 0; i < RM_MAXPOS; i++) if (c->pos[i].set && c->pos[i].s) t += strlen(c->pos[i].s);
    for (int j = 0; c->cmd->opts && c->cmd->opts[j].name; j++) {
        rm_val *v = &c->opt[j];
        if (v->set && v->s) t += strlen(v->s);
        if (v->set) { unsigned long long bits; memcpy(&bits, &v->d, sizeof bits); t += (size_t)v->i + bits; }
    }
    return 0;
}

static lua_State *fz_lua(void) {
    static lua_State *L;
    if (L) return L;
    rm_A.colour_out = rm_A.colour_err = 0;
    if (!rm_lua_new(&rm_A)) abort();
    L = rm_A.L;
    rm_model_push(L);
    rm_ws_set(L, "m", -1);
    rm_data_push(L);
    rm_ws_set(L, "d", -1);
    lua_settop(L, 0);
    return L;
}
#endif
