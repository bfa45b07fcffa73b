/* fuzz_cmdline.c - fuzz target of the REPL command line: rm_line_command (is this line a command or
 * Lua?), the tokenizer rm_cmd_parse_line (quotes, escapes, key=value) and the argument checking of
 * rm_cmd_invoke for the command named on the line, run as the prompt runs it (under lua_pcall; errors
 * are Lua errors with a message). Input: one line of text (may contain anything). */
#include "fuzz_repl.h"

static int l_run(lua_State *L) {   /* upvalue: command; argument: the text after the command word */
    const rm_command *cmd = lua_touserdata(L, lua_upvalueindex(1));
    char err[128];
    if (rm_cmd_parse_line(L, lua_tostring(L, 1), err, sizeof err)) {
        if (!err[0]) abort();
        return luaL_error(L, "%s: %s", cmd->name, err);
    }
    return rm_cmd_invoke(L, cmd, -1, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lua_State *L = fz_lua();
    fz_in in = {data, size};
    char *line = fz_str(&in);
    int ci = rm_line_command(line);
    if (ci >= 0) {
        rm_command cmd = rm_commands[ci];
        cmd.fn = fz_handler;
        const char *p = line;
        while (*p == ' ' || (*p >= '\t' && *p <= '\r')) p++;
        p += strlen(cmd.name);
        lua_pushlightuserdata(L, &cmd);
        lua_pushcclosure(L, l_run, 1);
        lua_pushstring(L, p);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK && !lua_isstring(L, -1)) abort();   /* an error is a message */
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);   /* what this input allocated is freed now: libFuzzer's per-input leak check stays quiet and exact */
    free(line);
    return 0;
}
