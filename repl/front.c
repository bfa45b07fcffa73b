/* front.c - the `resmlp>` prompt on GNU readline's callback interface: our own SIGINT handler (Ctrl-C
 * clears the line, or drops a pending continuation, at the prompt; while a command runs it only sets
 * the flag the core polls), Ctrl-D leaves with status 0, persistent history (RESMLP_HISTORY, else
 * $XDG_STATE_HOME/resmlp/history, else ~/.resmlp_history; RESMLP_HISTORY= turns it off), tab
 * completion (complete.c) and a coloured prompt on colour terminals. */
#define _POSIX_C_SOURCE 200809L
#include "app.h"
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include <readline/history.h>
#include <readline/readline.h>

#define HISTORY_MAX 1000

static char *g_line;
static int g_have_line;
static volatile sig_atomic_t g_winch;

static void on_line(char *line) {
    g_line = line;
    g_have_line = 1;
    rl_callback_handler_remove();   /* the command runs with the terminal in its normal mode */
}

static void on_winch(int s) { (void)s; g_winch = 1; }

/* history file: NULL when turned off */
static char *history_path(void) {
    static char path[1024];
    const char *e = getenv("RESMLP_HISTORY");
    if (e) return e[0] ? strncpy(path, e, sizeof path - 1) : NULL;
    const char *x = getenv("XDG_STATE_HOME");
    if (x && x[0] == '/') {
        snprintf(path, sizeof path, "%s/resmlp", x);
        if (rm_mkdirs(path)) return NULL;
        snprintf(path, sizeof path, "%s/resmlp/history", x);
        return path;
    }
    const char *h = getenv("HOME");
    if (!h || !h[0]) return NULL;
    snprintf(path, sizeof path, "%s/.resmlp_history", h);
    return path;
}

static void remember(const char *hist, const char *line) {
    if (!line[strspn(line, " \t")]) return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && !strcmp(last->line, line)) return;
    add_history(line);
    if (hist && append_history(1, hist) == ENOENT) write_history(hist);   /* first entry: create the file */
}

static void banner(rm_app *A) {
    printf("%sresmlp %s%s - ResMLP with learned 1-D activations. `help` lists commands; other input is Lua.\n",
           rm_col(0, "1"), RM_VERSION, rm_reset(0));
    (void)A;
}

int rm_repl(rm_app *A) {
    A->interactive = 1;
    rm_page_prompt = 1;
    char prompt[64], cont[64];
    snprintf(prompt, sizeof prompt, "%sresmlp>%s ", A->colour_out ? "\001\033[1;34m\002" : "", A->colour_out ? "\001\033[0m\002" : "");
    snprintf(cont, sizeof cont, "%s   ...>%s ", A->colour_out ? "\001\033[34m\002" : "", A->colour_out ? "\001\033[0m\002" : "");
    rl_readline_name = "resmlp";
    rl_catch_signals = 0;           /* SIGINT is ours (term.c) */
    rl_catch_sigwinch = 0;
    rl_attempted_completion_function = rm_complete;
    rl_initialize();                /* reads inputrc; then our settings win */
    rl_variable_bind("enable-bracketed-paste", "off");   /* its "\r" on leaving the line garbles ^C */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, NULL);
    char *hist = history_path();
    using_history();
    stifle_history(HISTORY_MAX);
    if (hist) read_history(hist);
    banner(A);
    rm_lbuf buf = {0};
    int more = 0;
    while (!A->quit) {
        g_have_line = 0;
        rm_page_end();                  /* a paged command that failed left stdout on the pager */
        rl_callback_handler_install(more ? cont : prompt, on_line);
        while (!g_have_line) {
            fd_set fds;
            FD_ZERO(&fds);
            FD_SET(0, &fds);
            int r = select(1, &fds, NULL, NULL, NULL);
            if (g_winch) { g_winch = 0; rl_resize_terminal(); }
            if (r < 0 && errno == EINTR) {
                if (!rm_sigint_flag) continue;
                rm_sigint_flag = 0;         /* Ctrl-C at the prompt: drop the line and any continuation */
                rl_point = rl_end;          /* show what was dropped, then a fresh line */
                rl_redisplay();
                printf("^C\r\n");       /* readline left the terminal raw (no ONLCR): return to column 0 */
                fflush(stdout);
                rl_callback_sigcleanup();
                rl_callback_handler_remove();
                rl_replace_line("", 0);
                rl_free_line_state();
                more = 0;
                buf.len = 0;
                rl_callback_handler_install(prompt, on_line);
                continue;
            }
            if (r > 0) rl_callback_read_char();
        }
        if (!g_line) { printf("\n"); break; }      /* Ctrl-D */
        remember(hist, g_line);
        int st = rm_feed(A, &buf, g_line, "=stdin");
        more = st == RM_FEED_MORE;
        /* a full collection between commands: models, data sets and tensors no longer referenced free
         * their C memory now (Lua's GC does not see it, so it would otherwise wait for Lua-side garbage) */
        if (!more) {
            /* repeated while it still frees much: Lua returns the call records of a deep recursion
             * (a stack overflow leaves ~300,000) half per collection */
            for (int k = 0, before; k < 32; k++) {
                before = lua_gc(A->L, LUA_GCCOUNT);
                lua_gc(A->L, LUA_GCCOLLECT);
                if (lua_gc(A->L, LUA_GCCOUNT) > before - before / 8) break;
            }
            malloc_trim(0);     /* and the free pages of the brk heap go back to the OS */
        }
        free(g_line);
        g_line = NULL;
        fflush(stdout);
    }
    rl_callback_handler_remove();
    if (hist) history_truncate_file(hist, HISTORY_MAX);
    rm_lbuf_free(&buf);
    return A->quit ? A->exit_code : 0;
}
