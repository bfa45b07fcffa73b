/* registry.c - checking a command's arguments against its specs, for command lines and Lua calls
 * alike: the line tokenizer, the argument table, type conversion with defaults, workspace look-ups,
 * "did you mean" suggestions, help text and command errors located at the Lua caller. */
#include "registry.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const rm_command *rm_cmd_find(const char *name) {
    for (const rm_command *c = rm_commands; c->name; c++) if (!strcmp(c->name, name)) return c;
    return NULL;
}
int rm_cmd_count(void) { int n = 0; while (rm_commands[n].name) n++; return n; }

static int nspecs(const rm_opt *o) { int n = 0; while (o && o[n].name) n++; return n; }

/* ---- suggestions ------------------------------------------------------------------------------ */

static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *rm_suggest(const char *s, const char *const *names, int n) {
    const char *best = NULL;
    int bd = 99, len = (int)strlen(s);
    for (int i = 0; i < n; i++) {
        int d = edit_distance(s, names[i]);
        if (len >= 2 && !strncmp(names[i], s, len)) d = 1;    /* a prefix is as good as one typo */
        if (d < bd) { bd = d; best = names[i]; }
    }
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    return bd <= limit ? best : NULL;
}

/* ---- errors ----------------------------------------------------------------------------------- */

int rm_cmd_error(rm_call *c, const char *fmt, ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    luaL_where(c->L, 1);                 /* the Lua line that called the command, if any */
    lua_pushfstring(c->L, "%s: %s", c->cmd->name, msg);
    lua_concat(c->L, 2);
    lua_error(c->L);
    abort(); /* not reached */
}

/* comma-separated workspace names holding a value of metatable mt (NULL: all) */
static void ws_names(lua_State *L, const char *mt, char *out, size_t n, const char **arr, int *na, int max) {
    out[0] = 0;
    *na = 0;
    rm_ws_push(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {   /* stack: ws, key, value */
        if (lua_type(L, -2) == LUA_TSTRING && (!mt || luaL_testudata(L, -1, mt))) {
            const char *k = lua_tostring(L, -2);
            size_t l = strlen(out);
            snprintf(out + l, n - l, "%s%s", l ? ", " : "", k);
            if (*na < max) arr[(*na)++] = k;   /* keys stay alive in the workspace table */
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* ---- conversion ------------------------------------------------------------------------------- */

static int parse_int(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end && !errno) { *out = v; return 0; }
    double d = strtod(s, &end);   /* 5e3 */
    if (*s && !*end && isfinite(d) && d == floor(d) && fabs(d) < 9e18) { *out = (long long)d; return 0; }
    return -1;
}

static int parse_bool(const char *s, int *b) {
    static const char *t[] = {"true", "yes", "on", "1"}, *f[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, t[i])) { *b = 1; return 0; }
        if (!strcmp(s, f[i])) { *b = 0; return 0; }
    }
    return -1;
}

static void choice_check(rm_call *c, const rm_opt *o, const char *s) {
    char buf[256];
    const char *names[32];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", o->choices);
    for (char *p = strtok(buf, "|"); p && n < 32; p = strtok(NULL, "|")) {
        if (!strcmp(p, s)) return;
        names[n++] = p;
    }
    const char *sug = rm_suggest(s, names, n);
    char list[256];
    snprintf(list, sizeof list, "%s", o->choices);
    for (char *p = list; *p; p++) if (*p == '|') *p = '/';
    if (sug) rm_cmd_error(c, "unknown %s '%s' (did you mean '%s'? choices: %s)", o->name, s, sug, list);
    rm_cmd_error(c, "unknown %s '%s' (choices: %s)", o->name, s, list);
}

static const char *ws_mt(rm_argtype t) { return t == A_MODEL ? RM_MODEL_MT : t == A_QMODEL ? RM_QMODEL_MT : RM_DATA_MT; }

/* look a name up in the workspace for an A_MODEL/A_DATA/A_QMODEL value; leaves the object on the stack */
static void *ws_object(rm_call *c, const rm_opt *o, const char *name, int required, int *idx) {
    lua_State *L = c->L;
    const char *mt = ws_mt(o->type);
    const char *what = o->type == A_MODEL ? "model" : o->type == A_QMODEL ? "quantized model" : "data set";
    rm_ws_get(L, name);
    void *ud = luaL_testudata(L, -1, mt);
    if (ud) { *idx = lua_gettop(L); return ud; }
    lua_pop(L, 1);
    if (!required) return NULL;
    char list[512];
    const char *arr[64];
    int na;
    ws_names(L, mt, list, sizeof list, arr, &na, 64);
    const char *sug = rm_suggest(name, arr, na);
    if (sug) rm_cmd_error(c, "no %s named '%s' (did you mean '%s'?)", what, name, sug);
    if (na) rm_cmd_error(c, "no %s named '%s' (loaded: %s)", what, name, list);
    rm_cmd_error(c, "no %s named '%s' (none loaded; see `help %s`)", what, name,
                 o->type == A_MODEL ? "model" : o->type == A_QMODEL ? "quantize" : "data");
}

/* convert the value at idx (or the default text when idx == 0) into v */
static void convert(rm_call *c, rm_val *v, const rm_opt *o, int idx) {
    lua_State *L = c->L;
    int type = idx ? lua_type(L, idx) : LUA_TSTRING;
    const char *s = idx ? NULL : o->def;
    if (idx && (type == LUA_TSTRING || type == LUA_TNUMBER)) s = lua_tostring(L, idx);
    v->set = idx ? 1 : 2;
    v->idx = idx;
    v->s = s;
    const char *want = NULL;
    switch (o->type) {
    case A_INT: case A_BLOCK: case A_CHAN:
        if (type == LUA_TNUMBER && lua_isinteger(L, idx)) { v->i = lua_tointeger(L, idx); break; }
        if (type == LUA_TNUMBER || type == LUA_TSTRING) {
            if (!parse_int(s, &v->i)) break;
        }
        want = "an integer";
        break;
    case A_NUM:
        if (type == LUA_TNUMBER) { v->d = lua_tonumber(L, idx); break; }
        if (type == LUA_TSTRING) {
            char *end;
            v->d = strtod(s, &end);
            if (*s && !*end && !isnan(v->d)) break;
        }
        want = "a number";
        break;
    case A_BOOL:
        if (type == LUA_TBOOLEAN) { v->i = lua_toboolean(L, idx); break; }
        if (type == LUA_TSTRING || type == LUA_TNUMBER) {
            int b;
            if (!parse_bool(s, &b)) { v->i = b; break; }
        }
        want = "true or false";
        break;
    case A_CHOICE:
        if (type != LUA_TSTRING) { want = "a string"; break; }
        choice_check(c, o, s);
        break;
    case A_STR: case A_PATH: case A_LAYER: case A_TENSOR: case A_NAME:
        if (type != LUA_TSTRING && type != LUA_TNUMBER) want = "a string";
        break;
    case A_MODEL: case A_DATA: case A_QMODEL: {
        const char *mt = ws_mt(o->type);
        if (idx && type == LUA_TUSERDATA && (v->ud = luaL_testudata(L, idx, mt))) break;
        if (type != LUA_TSTRING) {
            want = o->type == A_MODEL ? "a Model or a model name" : o->type == A_QMODEL ? "a QModel or a quantized model name"
                                                                                        : "a Dataset or a data set name";
            break;
        }
        if (!idx && !strcmp(s, "@")) {      /* the current (quantized) model */
            s = o->type == A_QMODEL ? rm_A.cur_qmodel : rm_A.cur_model;
            v->s = s;
            if (!s[0]) { v->set = 0; break; }
        }
        v->ud = ws_object(c, o, s, idx != 0, &v->idx);
        if (!v->ud) v->set = 0;
        break;
    }
    case A_FUNC:
        if (type != LUA_TFUNCTION) want = "a Lua function (pass it from Lua: resmlp.<command>{...})";
        break;
    }
    if (want) {
        if (s) rm_cmd_error(c, "bad value '%s' for %s= (expected %s)", s, o->name, want);
        rm_cmd_error(c, "bad value (%s) for %s= (expected %s)", luaL_typename(L, idx), o->name, want);
    }
}

/* ---- invocation ------------------------------------------------------------------------------- */

static const rm_opt *find_spec(const rm_opt *o, const char *name) {
    for (; o && o->name; o++) if (!strcmp(o->name, name)) return o;
    return NULL;
}

static void unknown_key(rm_call *c, const char *key) {
    const char *names[RM_MAXOPTS + RM_MAXPOS];
    int n = 0;
    for (const rm_opt *o = c->cmd->opts; o && o->name; o++) names[n++] = o->name;
    for (const rm_opt *o = c->cmd->pos; o && o->name; o++) names[n++] = o->name;
    const char *sug = rm_suggest(key, (const char *const *)names, n);
    if (sug) rm_cmd_error(c, "unknown option '%s' (did you mean '%s'?)", key, sug);
    rm_cmd_error(c, "unknown option '%s' (see `help %s`)", key, c->cmd->name);
}

int rm_cmd_invoke(lua_State *L, const rm_command *cmd, int tab, int line) {
    tab = lua_absindex(L, tab);
    rm_call c;
    memset(&c, 0, sizeof c);
    c.L = L; c.cmd = cmd; c.line = line;
    int np = nspecs(cmd->pos), no = nspecs(cmd->opts);
    luaL_checkstack(L, 2 * (np + no) + 20, "command arguments");
    lua_pushnil(L);
    while (lua_next(L, tab)) {             /* stack: ..., key, value */
        if (lua_type(L, -2) == LUA_TNUMBER) {
            lua_Integer k = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
            if (k < 1 || k > np)
                rm_cmd_error(&c, "too many arguments (usage: %s %s)", cmd->name, cmd->usage ? cmd->usage : "");
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            if (!find_spec(cmd->opts, k) && !find_spec(cmd->pos, k)) unknown_key(&c, k);
        } else {
            rm_cmd_error(&c, "argument keys must be option names");
        }
        lua_pop(L, 1);
    }
    for (int i = 0; i < np; i++) {
        const rm_opt *o = &cmd->pos[i];
        if (lua_rawgeti(L, tab, i + 1) == LUA_TNIL) { lua_pop(L, 1); lua_getfield(L, tab, o->name); }
        if (!lua_isnil(L, -1)) { convert(&c, &c.pos[i], o, lua_gettop(L)); c.npos = i + 1; continue; }
        lua_pop(L, 1);
        if (o->def) convert(&c, &c.pos[i], o, 0);
    }
    for (int j = 0; j < no; j++) {
        const rm_opt *o = &cmd->opts[j];
        if (o->alias_of) continue;
        lua_getfield(L, tab, o->name);
        for (const rm_opt *a = cmd->opts; lua_isnil(L, -1) && a->name; a++)
            if (a->alias_of && !strcmp(a->alias_of, o->name)) { lua_pop(L, 1); lua_getfield(L, tab, a->name); }
        if (!lua_isnil(L, -1)) { convert(&c, &c.opt[j], o, lua_gettop(L)); continue; }
        lua_pop(L, 1);
        if (o->def) convert(&c, &c.opt[j], o, 0);
    }
    /* long outputs typed at the prompt go through the pager (pager.c; ended by the prompt on errors) */
    static const char *const paged[] = {"help", "info", "layers", "who", "lut", "report", NULL};
    int page = 0;
    for (int i = 0; line && paged[i]; i++) page |= !strcmp(cmd->name, paged[i]);
    if (page) rm_page_begin();
    int nres = cmd->fn(&c);
    if (page) rm_page_end();
    return nres;
}

rm_val *rm_arg(rm_call *c, const char *name) {
    for (int j = 0; c->cmd->opts && c->cmd->opts[j].name; j++)
        if (!strcmp(c->cmd->opts[j].name, name)) return &c->opt[j];
    return NULL;
}
rm_val *rm_posarg(rm_call *c, const char *name) {
    for (int j = 0; c->cmd->pos && c->cmd->pos[j].name; j++)
        if (!strcmp(c->cmd->pos[j].name, name)) return &c->pos[j];
    return NULL;
}

lmodel *rm_call_model(rm_call *c, int *idx) {
    rm_val *v = rm_arg(c, "model");
    if (!v || !v->set || !v->ud) {
        rm_val *p = rm_posarg(c, "model");
        if (p && p->set && p->ud) v = p;
    }
    if (!v || !v->set || !v->ud)
        rm_cmd_error(c, "no model: create one with `model new` or load one with `load NAME PATH`");
    lmodel *lm = v->ud;
    if (!lm->m) rm_cmd_error(c, "the model is closed");
    if (idx) *idx = v->idx;
    return lm;
}

lmodel *rm_call_resmlp(rm_call *c, int *idx) {
    lmodel *lm = rm_call_model(c, idx);
    if (lm->m->net)
        rm_cmd_error(c, "`%s` works on ResMLP models; this one is a layer-list net (see `info`)", c->cmd->name);
    return lm;
}

static int l_cmd(lua_State *L) {
    const rm_command *cmd = lua_touserdata(L, lua_upvalueindex(1));
    rm_cmd_args_from_stack(L, 1, lua_gettop(L));
    return rm_cmd_invoke(L, cmd, -1, 0);
}

void rm_cmd_pushfunction(lua_State *L, const rm_command *cmd) {
    lua_pushlightuserdata(L, (void *)cmd);
    lua_pushcclosure(L, l_cmd, 1);
}

static int plain_table(lua_State *L, int i) {
    if (lua_type(L, i) != LUA_TTABLE) return 0;
    if (!lua_getmetatable(L, i)) return 1;
    lua_pop(L, 1);
    return 0;
}

void rm_cmd_args_from_stack(lua_State *L, int first, int last) {
    lua_newtable(L);                        /* always a copy: callers add keys (model=self) */
    int t = lua_gettop(L), k = 1;
    for (int i = first; i <= last; i++) {
        if (i == last && plain_table(L, i)) {
            lua_pushnil(L);
            while (lua_next(L, i)) {        /* stack: args, key, value */
                if (lua_isinteger(L, -2)) {
                    lua_rawseti(L, t, k - 1 + lua_tointeger(L, -2));
                } else {
                    lua_pushvalue(L, -2);
                    lua_insert(L, -2);      /* stack: args, key, key, value */
                    lua_rawset(L, t);
                }
            }
        } else {
            lua_pushvalue(L, i);
            lua_rawseti(L, t, k++);
        }
    }
}

/* ---- command lines ---------------------------------------------------------------------------- */

int rm_cmd_parse_line(lua_State *L, const char *p, char *err, size_t errn) {
    lua_newtable(L);
    int t = lua_gettop(L), k = 1;
    luaL_Buffer b;
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        luaL_buffinit(L, &b);              /* stack: args, buffer... */
        int keylen = -1, quoted_start = *p == '"' || *p == '\'';
        size_t n = 0;
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q) {
                    if (*p == '\\' && p[1]) p++;
                    luaL_addchar(&b, *p++);
                    n++;
                }
                if (*p != q) { snprintf(err, errn, "unterminated %c quote", q); lua_settop(L, t - 1); return -1; }
                p++;
                continue;
            }
            if (*p == '=' && keylen < 0 && !quoted_start && n > 0) keylen = (int)n;
            luaL_addchar(&b, *p++);
            n++;
        }
        luaL_pushresult(&b);               /* stack: args, token */
        const char *tok = lua_tostring(L, -1);
        int ident = keylen > 0 && (isalpha((unsigned char)tok[0]) || tok[0] == '_');
        for (int i = 0; ident && i < keylen; i++) ident = isalnum((unsigned char)tok[i]) || tok[i] == '_';
        if (ident) {
            lua_pushlstring(L, tok, keylen);
            lua_pushstring(L, tok + keylen + 1);
            lua_rawset(L, t);
            lua_pop(L, 1);
        } else {
            lua_rawseti(L, t, k++);
        }
    }
    return 0;
}

/* ---- help ------------------------------------------------------------------------------------- */

const char *rm_argtype_name(rm_argtype t) {
    switch (t) {
    case A_STR: return "STR"; case A_INT: return "INT"; case A_NUM: return "NUM"; case A_BOOL: return "BOOL";
    case A_CHOICE: return "CHOICE"; case A_PATH: return "PATH"; case A_MODEL: return "MODEL";
    case A_DATA: return "DATA"; case A_FUNC: return "FUNC"; case A_LAYER: return "LAYER";
    case A_BLOCK: return "BLOCK"; case A_CHAN: return "CH"; case A_TENSOR: return "TENSOR"; case A_NAME: return "NAME";
    case A_QMODEL: return "QMODEL";
    }
    return "?";
}

static void help_rows(const rm_opt *o, FILE *f, int eq) {
    for (; o && o->name; o++) {
        char lhs[64], def[96] = "";
        snprintf(lhs, sizeof lhs, "%s%s%s", o->name, eq ? "=" : " ", o->type == A_CHOICE ? "" : rm_argtype_name(o->type));
        if (o->type == A_CHOICE) snprintf(lhs + strlen(lhs), sizeof lhs - strlen(lhs), "%s", o->choices);
        if (o->alias_of) snprintf(def, sizeof def, " (same as %s=)", o->alias_of);
        else if (o->def && !strcmp(o->def, "@"))
            snprintf(def, sizeof def, " [current %smodel]", o->type == A_QMODEL ? "quantized " : "");
        else if (o->def && o->def[0]) snprintf(def, sizeof def, " [%s]", o->def);
        fprintf(f, "  %-28s %s%s\n", lhs, o->help ? o->help : "", def);
    }
}

void rm_cmd_help(const rm_command *cmd, FILE *f) {
    fprintf(f, "%susage:%s %s%s%s%s\n  %s\n", rm_col(0, "1"), rm_reset(0), cmd->name, cmd->usage && cmd->usage[0] ? " " : "",
            cmd->usage ? cmd->usage : "", cmd->opts && cmd->opts[0].name ? " [option=value ...]" : "", cmd->summary);
    if (cmd->pos && cmd->pos[0].name) { fprintf(f, "arguments:\n"); help_rows(cmd->pos, f, 0); }
    if (cmd->opts && cmd->opts[0].name) { fprintf(f, "options:\n"); help_rows(cmd->opts, f, 1); }
    if (cmd->more) fprintf(f, "%s\n", cmd->more);
    fprintf(f, "Lua: resmlp.%s{...} takes the same names (positionals first or by name) and returns values.\n", cmd->name);
}
