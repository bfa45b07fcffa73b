/* term.c - terminal policy and small output helpers: colour only on a tty and never with NO_COLOR,
 * the SIGINT handler (a flag the core polls between batches; a Lua hook when Lua code is running),
 * number and byte formatting, mkdir -p. */
#define _POSIX_C_SOURCE 200809L
#include "app.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

rm_app rm_A;
volatile int rm_sigint_flag = 0;

/* lua.c's trick: a count hook set from the handler stops running Lua code at the next instruction */
static void lstop(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_sigint(int sig) {
    (void)sig;
    rm_sigint_flag = 1;
    if (rm_A.L && rm_A.lua_running && !rm_A.in_core)
        lua_sethook(rm_A.L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void rm_install_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;   /* no SA_RESTART: the prompt's select() must see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

static int want_colour(int fd) {
    const char *nc = getenv("NO_COLOR");
    if (nc && nc[0]) return 0;
    const char *t = getenv("TERM");
    if (t && !strcmp(t, "dumb")) return 0;
    return isatty(fd);
}

void rm_term_init(rm_app *A) {
    A->colour_out = want_colour(1);
    A->colour_err = want_colour(2);
}

const char *rm_col(int err, const char *sgr) {
    static char buf[2][32];
    if (!(err ? rm_A.colour_err : rm_A.colour_out)) return "";
    snprintf(buf[err != 0], sizeof buf[0], "\033[%sm", sgr);
    return buf[err != 0];
}
const char *rm_reset(int err) { return (err ? rm_A.colour_err : rm_A.colour_out) ? "\033[0m" : ""; }

void rm_errorf(const char *fmt, ...) {
    fflush(stdout);
    fputs(rm_col(1, "31"), stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(rm_reset(1), stderr);
    fflush(stderr);
}

char *rm_fmt_count(char *buf, size_t n, double v) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.0f", v < 0 ? -v : v);
    size_t len = strlen(tmp), o = 0;
    char out[96];
    if (v < 0) out[o++] = '-';
    for (size_t i = 0; i < len; i++) {
        out[o++] = tmp[i];
        if ((len - i - 1) % 3 == 0 && i + 1 < len) out[o++] = ',';
    }
    out[o] = 0;
    snprintf(buf, n, "%s", out);
    return buf;
}

char *rm_fmt_bytes(char *buf, size_t n, double b) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) { b /= 1024; i++; }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
    return buf;
}

int rm_mkdirs(const char *dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(p, 0777) && errno != EEXIST) return -1;
    return 0;
}

int rm_mkparent(const char *path) {
    char d[1024];
    snprintf(d, sizeof d, "%s", path);
    char *s = strrchr(d, '/');
    if (!s || s == d) return 0;
    *s = 0;
    return rm_mkdirs(d);
}
