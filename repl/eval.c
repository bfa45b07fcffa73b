/* eval.c - running input: a prompt line (a command, or Lua the way lua.c does it: `return <line>`
 * first, continuation while the parse error ends at <eof>, results printed and kept in `_`), a script
 * file, a -e chunk, or piped stdin. Every chunk runs under a message handler (with a traceback for Lua
 * code); SIGINT stops running Lua through a hook and long core loops through the rm_ctx flag. */
#include "registry.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char quit_sentinel;   /* error object `quit` raises from Lua to unwind to the top level */

void rm_raise_quit(lua_State *L, int code) {
    rm_A.quit = 1;
    rm_A.exit_code = code;
    lua_pushlightuserdata(L, &quit_sentinel);
    lua_error(L);
    abort(); /* not reached */
}

static int msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (lua_touserdata(L, 1) == &quit_sentinel) return 1;
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int msgplain(lua_State *L) {   /* command errors: the message says it all */
    if (lua_touserdata(L, 1) == &quit_sentinel || lua_type(L, 1) == LUA_TSTRING) return 1;
    if (!luaL_callmeta(L, 1, "__tostring")) lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* call the function below narg arguments; SIGINT in Lua code raises "interrupted" */
static int docall(lua_State *L, int narg, int nres, int traceback) {
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, traceback ? msghandler : msgplain);
    lua_insert(L, base);
    rm_sigint_flag = 0;
    lua_sethook(L, NULL, 0, 0);
    rm_A.lua_running = 1;
    int st = lua_pcall(L, narg, nres, base);
    rm_A.lua_running = 0;
    lua_sethook(L, NULL, 0, 0);
    lua_remove(L, base);
    return st;
}

/* print the error at the top (unless it is `quit`) and pop it */
static void report(lua_State *L, const char *prefix) {
    if (lua_touserdata(L, -1) != &quit_sentinel) {
        const char *msg = lua_tostring(L, -1);
        rm_errorf("%s%s\n", prefix, msg ? msg : "(error)");
    }
    lua_pop(L, 1);
}

static int status_of(int st) { return rm_A.quit ? RM_FEED_OK : st == LUA_OK ? RM_FEED_OK : RM_FEED_ERROR; }

/* run the chunk on the stack top; print its results when print is set */
static int run(lua_State *L, int print, const char *prefix) {
    int base = lua_gettop(L);
    int st = docall(L, 0, LUA_MULTRET, 1);
    if (st != LUA_OK) { report(L, prefix); return status_of(st); }
    int n = lua_gettop(L) - base + 1;
    if (print && n > 0) {
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_getfield(L, -1, "resmlp");
        lua_getfield(L, -1, "_show");           /* stack: results..., loaded, resmlp, show */
        lua_replace(L, -3);
        lua_pop(L, 1);
        lua_insert(L, base);
        if ((st = docall(L, n, 0, 1)) != LUA_OK) { report(L, prefix); return status_of(st); }
    }
    lua_settop(L, base - 1);
    return RM_FEED_OK;
}

static int l_line(lua_State *L) {   /* upvalue: command; argument: the text after the command word */
    const rm_command *cmd = lua_touserdata(L, lua_upvalueindex(1));
    char err[128];
    if (rm_cmd_parse_line(L, lua_tostring(L, 1), err, sizeof err)) return luaL_error(L, "%s: %s", cmd->name, err);
    return rm_cmd_invoke(L, cmd, -1, 1);
}

static int run_command(lua_State *L, const rm_command *cmd, const char *args, const char *prefix) {
    lua_pushlightuserdata(L, (void *)cmd);
    lua_pushcclosure(L, l_line, 1);
    lua_pushstring(L, args);
    int st = docall(L, 1, 0, 0);
    rm_sigint_flag = 0;
    if (st != LUA_OK) report(L, prefix);
    fflush(stdout);
    return status_of(st);
}

int rm_line_command(const char *line) {
    const char *p = line;
    while (isspace((unsigned char)*p)) p++;
    const char *w = p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    if (p == w || p - w > 31 || (*p && !isspace((unsigned char)*p))) return -1;
    char word[32];
    snprintf(word, sizeof word, "%.*s", (int)(p - w), w);
    const rm_command *c = rm_cmd_find(word);
    if (!c) return -1;
    while (isspace((unsigned char)*p)) p++;
    /* a path argument (`synth /tmp/x`, `load ./m.st`, `load ../m`, `load ~/m`) is never Lua there */
    int path = (p[0] == '/' && p[1] && p[1] != '/' && !isspace((unsigned char)p[1])) || !strncmp(p, "./", 2) ||
               !strncmp(p, "../", 3) || !strncmp(p, "~/", 2);
    if (*p && !path && strchr("=(.:[{,+*/%^<>~;", *p)) return -1;   /* `train = 1`, `help(x)`: Lua */
    return (int)(c - rm_commands);
}

/* `traain epochs=5`: a word that is neither a command nor a Lua global, followed by command-like
 * text (or alone, when a command name is close): say so instead of a Lua syntax error or nil */
static int unknown_command(lua_State *L, const char *p, const char *prefix) {
    static const char *kw[] = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
                               "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"};
    while (isspace((unsigned char)*p)) p++;
    const char *w = p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    if (p == w || p - w > 31 || isdigit((unsigned char)*w) || (*p && !isspace((unsigned char)*p))) return 0;
    char word[32];
    snprintf(word, sizeof word, "%.*s", (int)(p - w), w);
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++) if (!strcmp(word, kw[i])) return 0;
    while (isspace((unsigned char)*p)) p++;
    if (*p && strchr("=(.:[{,+*/%^<>~;\"'-", *p)) return 0;
    int t = lua_getglobal(L, word);
    lua_pop(L, 1);
    if (t != LUA_TNIL) return 0;
    const char *names[64];
    int n = 0;
    for (const rm_command *c = rm_commands; c->name && n < 64; c++) names[n++] = c->name;
    const char *s = rm_suggest(word, names, n);
    if (!*p && !s) return 0;
    rm_errorf("%sunknown command '%s'%s%s%s (`help` lists commands; other input is Lua)\n", prefix, word,
              s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
    return 1;
}

static void lbuf_add(rm_lbuf *b, const char *s) {
    size_t n = strlen(s), need = b->len + n + 2;
    if (need > b->cap) {
        size_t cap = need * 2;
        char *p = realloc(b->buf, cap);
        if (!p) { b->len = 0; return; }
        b->buf = p;
        b->cap = cap;
    }
    if (b->len) b->buf[b->len++] = '\n';
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
}
void rm_lbuf_free(rm_lbuf *b) { free(b->buf); memset(b, 0, sizeof *b); }

static int incomplete(lua_State *L, int st) {
    if (st != LUA_ERRSYNTAX) return 0;
    size_t n;
    const char *msg = lua_tolstring(L, -1, &n);
    return n >= 5 && !strcmp(msg + n - 5, "<eof>");
}

/* try `return <s>`; on success the chunk is on the stack */
static int load_return(lua_State *L, const char *s, const char *chunkname) {
    const char *r = lua_pushfstring(L, "return %s;", s);
    int st = luaL_loadbuffer(L, r, strlen(r), chunkname);
    lua_remove(L, st == LUA_OK ? -2 : -1);
    if (st != LUA_OK) lua_pop(L, 1);
    return st;
}

int rm_feed(rm_app *A, rm_lbuf *b, const char *line, const char *chunkname) {
    lua_State *L = A->L;
    const char *prefix = A->interactive ? "" : "resmlp: ";
    if (b->len == 0) {
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) return RM_FEED_OK;
        int ci = rm_line_command(p);
        if (ci >= 0) {
            const char *args = p + strlen(rm_commands[ci].name);
            return run_command(L, &rm_commands[ci], args, prefix);
        }
        if (unknown_command(L, p, prefix)) return RM_FEED_ERROR;
        if (*p == '=') p++;                    /* `=expr` prints expr, as in Lua 5.1 */
        if (load_return(L, p, chunkname) == LUA_OK) return run(L, 1, prefix);
    }
    lbuf_add(b, line);
    int st = luaL_loadbuffer(L, b->buf ? b->buf : "", b->len, chunkname);
    if (incomplete(L, st)) { lua_pop(L, 1); return RM_FEED_MORE; }
    b->len = 0;
    if (st != LUA_OK) { report(L, prefix); return RM_FEED_ERROR; }
    return run(L, 1, prefix);
}

static void set_arg(lua_State *L, const char *script, int argc, char **argv) {
    lua_createtable(L, argc, 2);
    lua_pushstring(L, "resmlp");
    lua_rawseti(L, -2, -1);
    lua_pushstring(L, script);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i + 1); }
    lua_setglobal(L, "arg");
}

static int exit_status(int feed) { return rm_A.quit ? rm_A.exit_code : feed == RM_FEED_OK ? 0 : 1; }

int rm_run_file(rm_app *A, const char *path, int argc, char **argv) {
    lua_State *L = A->L;
    set_arg(L, path, argc, argv);
    if (luaL_loadfile(L, strcmp(path, "-") ? path : NULL) != LUA_OK) { report(L, "resmlp: "); return 1; }
    luaL_checkstack(L, argc + 5, "script arguments");
    for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
    int st = docall(L, argc, 0, 1);
    if (st != LUA_OK) report(L, "resmlp: ");
    return exit_status(status_of(st));
}

int rm_run_chunk(rm_app *A, const char *chunk) {
    lua_State *L = A->L;
    if (!strchr(chunk, '\n')) {
        int ci = rm_line_command(chunk);
        if (ci >= 0) {
            const char *p = chunk;
            while (isspace((unsigned char)*p)) p++;
            return exit_status(run_command(L, &rm_commands[ci], p + strlen(rm_commands[ci].name), "resmlp: "));
        }
    }
    if (!strchr(chunk, '\n') && unknown_command(L, chunk, "resmlp: ")) return 1;
    if (load_return(L, chunk, "=(command line)") == LUA_OK) return exit_status(run(L, 1, "resmlp: "));
    if (luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)") != LUA_OK) { report(L, "resmlp: "); return 1; }
    return exit_status(run(L, 0, "resmlp: "));
}

/* stdin: one Lua chunk when it is valid Lua, otherwise line by line as if typed at the prompt */
int rm_run_stdin(rm_app *A) {
    lua_State *L = A->L;
    luaL_Buffer lb;
    luaL_buffinit(L, &lb);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0) luaL_addlstring(&lb, tmp, n);
    luaL_pushresult(&lb);                      /* stack: text */
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    set_arg(L, "-", 0, NULL);
    if (luaL_loadbuffer(L, text, len, "=stdin") == LUA_OK) {
        int r = exit_status(run(L, 0, "resmlp: "));
        lua_pop(L, 1);
        return r;
    }
    lua_pop(L, 1);                             /* the syntax error: try the prompt's rules */
    rm_lbuf b = {0};
    int st = RM_FEED_OK;
    const char *p = text;
    while (*p && !A->quit) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char *line = malloc(l + 1);
        if (!line) break;
        memcpy(line, p, l);
        line[l] = 0;
        st = rm_feed(A, &b, line, "=stdin");
        free(line);
        if (st == RM_FEED_ERROR) break;
        p = e ? e + 1 : p + l;
    }
    if (st == RM_FEED_MORE && !A->quit) {
        luaL_loadbuffer(L, b.buf, b.len, "=stdin");
        report(L, "resmlp: ");
        st = RM_FEED_ERROR;
    }
    rm_lbuf_free(&b);
    lua_pop(L, 1);                             /* text */
    return exit_status(st);
}
