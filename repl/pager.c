/* pager.c - long outputs (help, info, layers, who, tables) through a pager when a person reads them:
 * only at the interactive resmlp> prompt with stdout on a terminal that is not TERM=dumb (not `resmlp help` from a shell). $PAGER (default `less -FRX`: quits at
 * once when the text fits one screen, keeps colours, leaves the text on screen). The handler prints
 * to stdout as usual; between rm_page_begin and rm_page_end stdout is the pager's pipe. */
#include "app.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *pipe_;
static int saved_fd = -1;
static void (*saved_pipe)(int);
int rm_page_prompt;   /* set by the prompt (front.c): only what is typed there is paged */

void rm_page_begin(void) {
    if (pipe_ || !rm_page_prompt || !rm_A.interactive || !isatty(1)) return;
    const char *term = getenv("TERM");   /* a dumb terminal (Emacs shell, scripts driving a pty) gets plain output */
    if (!term || !*term || !strcmp(term, "dumb")) return;
    const char *pager = getenv("PAGER");
    if (!pager || !*pager) pager = "less -FRX";
    if (!strcmp(pager, "cat")) return;
    fflush(stdout);
    FILE *p = popen(pager, "w");
    if (!p) return;
    saved_pipe = signal(SIGPIPE, SIG_IGN);   /* quitting the pager early must not kill us (restored after) */
    saved_fd = dup(1);
    if (saved_fd < 0 || dup2(fileno(p), 1) < 0) {
        if (saved_fd >= 0) close(saved_fd);
        saved_fd = -1;
        pclose(p);
        signal(SIGPIPE, saved_pipe);
        return;
    }
    pipe_ = p;
}

void rm_page_end(void) {
    if (!pipe_) return;
    fflush(stdout);
    dup2(saved_fd, 1);
    close(saved_fd);
    saved_fd = -1;
    pclose(pipe_);   /* waits for the reader to quit */
    pipe_ = NULL;
    signal(SIGPIPE, saved_pipe);
    clearerr(stdout);
}
