/* complete.c - tab completion at the prompt: command names; a command's option names (`train ep` ->
 * `epochs=`) and option values (choices, true/false, workspace names, block/layer/channel and tensor
 * names of the model, file paths); Lua globals, keywords and fields, following metatable __index
 * tables (and the __methods table of types whose __index is a function), never calling Lua code. */
#include "registry.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>

static char **cands;
static int ncand, capcand;

static void cand_clear(void) {
    for (int i = 0; i < ncand; i++) free(cands[i]);
    ncand = 0;
}

static void cand_add(const char *s) {
    for (int i = 0; i < ncand; i++) if (!strcmp(cands[i], s)) return;
    if (ncand == capcand) {
        int cap = capcand ? 2 * capcand : 64;
        char **p = realloc(cands, sizeof *p * cap);
        if (!p) return;
        cands = p;
        capcand = cap;
    }
    char *d = strdup(s);
    if (d) cands[ncand++] = d;
}

static char *gen(const char *text, int state) {
    static int i;
    static size_t len;
    if (!state) { i = 0; len = strlen(text); }
    while (i < ncand) {
        const char *c = cands[i++];
        if (!strncmp(c, text, len)) return strdup(c);
    }
    return NULL;
}

static int matches(const char *text) {
    int n = 0;
    for (int i = 0; i < ncand; i++) n += !strncmp(cands[i], text, strlen(text));
    return n;
}

/* ---- Lua ------------------------------------------------------------------------------------ */

static const char *keywords[] = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
                                 "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL};

static int ident(const char *s) {
    if (!isalpha((unsigned char)*s) && *s != '_') return 0;
    for (; *s; s++) if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

/* the table that holds the methods of the value at idx (metatable __index table, or __methods) */
static int push_index_table(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx)) return 0;
    if (lua_getfield(L, -1, "__index") == LUA_TTABLE) { lua_remove(L, -2); return 1; }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "__methods") == LUA_TTABLE) { lua_remove(L, -2); return 1; }
    lua_pop(L, 2);
    return 0;
}

/* push t[key] without metamethod calls (following __index tables); nil if none */
static void safe_get(lua_State *L, int idx, const char *key) {
    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    for (int depth = 0; depth < 8; depth++) {       /* stack: cur */
        if (lua_istable(L, -1)) {
            lua_pushstring(L, key);
            if (lua_rawget(L, -2) != LUA_TNIL) { lua_remove(L, -2); return; }
            lua_pop(L, 1);
        }
        if (!push_index_table(L, -1)) break;
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

static void add_keys(lua_State *L, int idx, const char *prefix, int only_functions) {
    char buf[512];
    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    for (int depth = 0; depth < 8; depth++) {       /* stack: cur */
        if (lua_istable(L, -1)) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) == LUA_TSTRING && ident(lua_tostring(L, -2)) &&
                    (!only_functions || lua_isfunction(L, -1)) && strncmp(lua_tostring(L, -2), "__", 2)) {
                    snprintf(buf, sizeof buf, "%s%s", prefix, lua_tostring(L, -2));
                    cand_add(buf);
                }
                lua_pop(L, 1);
            }
        }
        if (!push_index_table(L, -1)) break;
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

static int collect_lua(lua_State *L) {   /* protected; arg: text */
    const char *text = lua_tostring(L, 1);
    const char *dot = NULL;
    for (const char *p = text; *p; p++) if (*p == '.' || *p == ':') dot = p;
    lua_pushglobaltable(L);
    if (!dot) {
        add_keys(L, -1, "", 0);
        for (int i = 0; keywords[i]; i++) cand_add(keywords[i]);
        return 0;
    }
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)(dot - text), text);
    for (char *part = strtok(path, "."); part; part = strtok(NULL, ".")) {
        if (!ident(part)) return 0;
        safe_get(L, -1, part);
        lua_remove(L, -2);
        if (lua_isnil(L, -1)) return 0;
    }
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - text + 1), text);
    add_keys(L, -1, prefix, *dot == ':');
    return 0;
}

static void lua_candidates(const char *text) {
    lua_State *L = rm_A.L;
    lua_pushcfunction(L, collect_lua);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
}

/* ---- commands ------------------------------------------------------------------------------- */

static void ws_candidates(const char *mt) {
    lua_State *L = rm_A.L;
    rm_ws_push(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && (!mt || luaL_testudata(L, -1, mt))) cand_add(lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* value of key= in the line (first occurrence) into buf; 0 if absent */
static int line_value(const char *line, const char *key, char *buf, size_t n) {
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)); p++) {
        if ((p == line || isspace((unsigned char)p[-1])) && p[kl] == '=') {
            p += kl + 1;
            size_t l = strcspn(p, " \t");
            snprintf(buf, n, "%.*s", (int)l, p);
            return 1;
        }
    }
    return 0;
}

/* the model the line talks about: model=NAME, else the current one */
static const rm_model *line_model(const char *line) {
    char name[64];
    if (!line_value(line, "model", name, sizeof name)) snprintf(name, sizeof name, "%s", rm_A.cur_model);
    if (!name[0]) return NULL;
    lua_State *L = rm_A.L;
    rm_ws_get(L, name);
    lmodel *lm = luaL_testudata(L, -1, RM_MODEL_MT);
    lua_pop(L, 1);   /* the workspace keeps it alive */
    return lm ? lm->m : NULL;
}

static void number_candidates(int n) {
    char b[16];
    for (int i = 0; i < n && i < 4096; i++) { snprintf(b, sizeof b, "%d", i); cand_add(b); }
}

/* candidates for a value of spec o; returns 1 when file-name completion should be used instead */
static int value_candidates(const rm_command *cmd, const rm_opt *o, const char *line) {
    const rm_model *m = line_model(line);
    switch (o->type) {
    case A_CHOICE: {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", o->choices);
        for (char *p = strtok(buf, "|"); p; p = strtok(NULL, "|")) cand_add(p);
        return 0;
    }
    case A_BOOL: cand_add("true"); cand_add("false"); return 0;
    case A_MODEL: ws_candidates(RM_MODEL_MT); return 0;
    case A_DATA: ws_candidates(RM_DATA_MT); return 0;
    case A_QMODEL: ws_candidates(RM_QMODEL_MT); return 0;
    case A_NAME:
        if (!strcmp(cmd->name, "model")) { cand_add("new"); ws_candidates(RM_MODEL_MT); }
        else ws_candidates(NULL);
        return 0;
    case A_PATH: return 1;
    case A_STR:
        if (!strcmp(cmd->name, "help")) {
            for (const rm_command *k = rm_commands; k->name; k++) cand_add(k->name);
            cand_add("lua");
            cand_add("net");
        } else if (!strcmp(cmd->name, "data") && !strcmp(o->name, "kind")) {
            cand_add("cifar10"); cand_add("mnist"); cand_add("fashion");
        }
        return 0;
    default: break;
    }
    if (!m) return 0;
    char buf[128];
    int learned = rm_act_has_params(m->cfg.act.kind);
    switch (o->type) {
    case A_LAYER:
        if (learned) { cand_add("mlp.0"); cand_add("mlp.2"); } else cand_add("mlp.1");
        for (int b = 0; b < m->cfg.L; b++)
            for (int s = learned ? 0 : 1; s < 2; s++) { rm_model_act_name(m, b, s, buf, sizeof buf); cand_add(buf); }
        break;
    case A_BLOCK: number_candidates(m->cfg.L); break;
    case A_CHAN: {   /* mlp.0 (the default layer of learned kinds) has D channels, the others H */
        int has = line_value(line, "layer", buf, sizeof buf);
        size_t l = has ? strlen(buf) : 0;
        int first = has ? !strcmp(buf, "mlp.0") || (l > 9 && !strcmp(buf + l - 9, ".layers.0")) : learned;
        number_candidates(first ? m->cfg.D : m->cfg.H);
        break;
    }
    case A_TENSOR:
        for (int i = 0; i < m->ntensors; i++) cand_add(m->tensors[i].name);
        for (int i = 0; i < m->nbuftensors; i++) cand_add(m->buftensors[i].name);
        break;
    default: break;
    }
    return 0;
}

static char **command_complete(const rm_command *cmd, const char *text, int start, const char *line) {
    if (start > 0 && line[start - 1] == '=') {          /* key=<value> */
        int e = start - 1, b = e;
        while (b > 0 && (isalnum((unsigned char)line[b - 1]) || line[b - 1] == '_')) b--;
        char key[64];
        snprintf(key, sizeof key, "%.*s", e - b, line + b);
        const rm_opt *o = NULL;
        for (const rm_opt *k = cmd->opts; k && k->name; k++) if (!strcmp(k->name, key)) o = k;
        for (const rm_opt *k = cmd->pos; k && k->name; k++) if (!strcmp(k->name, key)) o = k;
        if (o && o->alias_of)
            for (const rm_opt *k = cmd->opts; k->name; k++) if (!strcmp(k->name, o->alias_of)) o = k;
        if (!o) return NULL;
        if (value_candidates(cmd, o, line)) { rl_attempted_completion_over = 0; return NULL; }
        return rl_completion_matches(text, gen);
    }
    /* which positional is being typed: count earlier words without '=' after the command word */
    const char *p = line;
    while (isspace((unsigned char)*p)) p++;
    p += strlen(cmd->name);
    int posi = 0;
    while (p < line + start) {
        while (p < line + start && isspace((unsigned char)*p)) p++;
        if (p >= line + start) break;
        const char *w = p;
        while (p < line + start && !isspace((unsigned char)*p)) p++;
        if (p < line + start && !memchr(w, '=', p - w)) posi++;
    }
    char buf[80];
    for (const rm_opt *k = cmd->opts; k && k->name; k++) { snprintf(buf, sizeof buf, "%s=", k->name); cand_add(buf); }
    int npos = 0;
    while (cmd->pos && cmd->pos[npos].name) npos++;
    if (posi < npos) {
        if (value_candidates(cmd, &cmd->pos[posi], line) && (strchr(text, '/') || strchr(text, '.') || !matches(text))) {
            rl_attempted_completion_over = 0;   /* a path: readline's file-name completion */
            return NULL;
        }
    }
    int eq = 1;
    for (int i = 0; i < ncand; i++)
        if (!strncmp(cands[i], text, strlen(text)) && cands[i][strlen(cands[i]) - 1] != '=') eq = 0;
    rl_completion_suppress_append = eq;
    return rl_completion_matches(text, gen);
}

static int in_string(const char *line, int upto) {
    char q = 0;
    for (int i = 0; i < upto; i++) {
        if (q && line[i] == '\\') { i++; continue; }
        if (!q && (line[i] == '"' || line[i] == '\'')) q = line[i];
        else if (q && line[i] == q) q = 0;
    }
    return q != 0;
}

char **rm_complete(const char *text, int start, int end) {
    (void)end;
    rl_attempted_completion_over = 1;
    rl_completion_suppress_append = 0;
    cand_clear();
    const char *line = rl_line_buffer;
    int w0 = 0;
    while (isspace((unsigned char)line[w0])) w0++;
    if (start <= w0) {                                   /* first word: commands and Lua */
        if (!strpbrk(text, ".:")) for (const rm_command *k = rm_commands; k->name; k++) cand_add(k->name);
        int ncmd = matches(text);
        lua_candidates(text);
        rl_completion_suppress_append = ncmd == 0 || matches(text) > ncmd;
        return rl_completion_matches(text, gen);
    }
    int ci = rm_line_command(line);
    if (ci >= 0) return command_complete(&rm_commands[ci], text, start, line);
    if (in_string(line, start)) { rl_attempted_completion_over = 0; return NULL; }
    lua_candidates(text);
    rl_completion_suppress_append = 1;
    return rl_completion_matches(text, gen);
}
