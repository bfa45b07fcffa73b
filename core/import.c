/* import.c - run tools/import_torch.py as a child process (see import.h). */
#include "import.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int rm_import_torch(rm_ctx *ctx, const char *python, const char *script, const char *src, const char *dst,
                    const char *const *args, char *out, size_t cap) {
    char spath[4096];
    if (!python) python = getenv("RESMLP_PYTHON") ? getenv("RESMLP_PYTHON") : "/usr/bin/python3";
    struct stat st;
    if (!script) {
        const char *t = getenv("RESMLP_TOOLS");
        snprintf(spath, sizeof spath, "%s/import_torch.py", t ? t : "tools");
        if (!t && stat(spath, &st) != 0) {   /* not in the source tree: tools/ beside the executable */
            char exe[3000];
            ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
            if (n > 0) {
                exe[n] = 0;
                char *sl = strrchr(exe, '/');
                if (sl) *sl = 0;
                snprintf(spath, sizeof spath, "%s/tools/import_torch.py", exe);
            }
        }
        script = spath;
    }
    if (stat(script, &st) != 0) return rm_err(ctx, "import: converter %s not found (set RESMLP_TOOLS)", script);
    if (stat(src, &st) != 0) return rm_err(ctx, "import: %s: %s", src, strerror(errno));
    const char *argv[64];
    int n = 0;
    argv[n++] = python; argv[n++] = script; argv[n++] = src; argv[n++] = dst;
    for (int i = 0; args && args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int pfd[2];
    if (pipe(pfd) != 0) return rm_err(ctx, "import: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) { close(pfd[0]); close(pfd[1]); return rm_err(ctx, "import: fork: %s", strerror(errno)); }
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]); close(pfd[1]);
        execv(python, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    char buf[8192];
    size_t len = 0;
    char last[512] = "";
    for (;;) {
        ssize_t r = read(pfd[0], buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        if (len == sizeof buf - 1) {   /* keep the tail */
            memmove(buf, buf + len / 2, len - len / 2);
            len -= len / 2;
        }
    }
    close(pfd[0]);
    buf[len] = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (out && cap) snprintf(out, cap, "%s", buf);
    /* last non-empty line */
    char *e = buf + len;
    while (e > buf && (e[-1] == '\n' || e[-1] == ' ')) *--e = 0;
    char *b = strrchr(buf, '\n');
    snprintf(last, sizeof last, "%.500s", b ? b + 1 : buf);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return rm_err(ctx, "import: converter failed (%s %d): %s", WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), last[0] ? last : "no output");
    return RM_OK;
}
