/* fault_shim.c - LD_PRELOAD fault injection for the checkpoint writer (tests/e2e_faults.sh).
 * Makes one I/O step of files whose path contains RM_FAULT_PATH fail the way a full or broken disk does:
 *   RM_FAULT=fwrite:ENOSPC[:BYTES]  fwrite fails with ENOSPC once BYTES (default 0) were written to the file
 *   RM_FAULT=fflush:EIO | fsync:EIO | fclose:ENOSPC   that call fails (fclose still closes the stream)
 *   RM_FAULT=rename:EIO             rename() onto a matching path fails
 * Each injected failure prints "fault_shim: <op> -> <errno name>" on stderr, so a test can tell that the
 * fault really fired. Only the FILE* streams opened by fopen on a matching path are affected. glibc's
 * stdio writes through internal calls that LD_PRELOAD cannot see, so the shim works at the stdio level
 * (fwrite/fflush/fclose) plus fsync and rename, which is where resmlp's writer checks every status. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXF 16
static FILE *tracked[MAXF];
static int tracked_fd[MAXF];
static size_t written[MAXF];
static char op[128];
static int err_no;
static long after;
static int inited;

static void init(void) {
    if (inited) return;
    inited = 1;
    const char *f = getenv("RM_FAULT");
    if (!f) return;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", f);
    char *e = strchr(buf, ':');
    if (!e) return;
    *e++ = 0;
    char *a = strchr(e, ':');
    if (a) { *a++ = 0; after = atol(a); }
    snprintf(op, sizeof op, "%s", buf);
    err_no = !strcmp(e, "ENOSPC") ? ENOSPC : !strcmp(e, "EIO") ? EIO : !strcmp(e, "EDQUOT") ? EDQUOT : EIO;
}
static int matches(const char *path) {
    const char *p = getenv("RM_FAULT_PATH");
    return path && p && *p && strstr(path, p);
}
static int slot_of(FILE *f) {
    for (int i = 0; i < MAXF; i++) if (f && tracked[i] == f) return i;
    return -1;
}
static int fire(const char *what) {
    fprintf(stderr, "fault_shim: %s -> %s\n", what, err_no == ENOSPC ? "ENOSPC" : err_no == EIO ? "EIO" : "EDQUOT");
    errno = err_no;
    return -1;
}

FILE *fopen(const char *path, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    if (!real) real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
    init();
    FILE *f = real(path, mode);
    if (f && op[0] && matches(path) && strchr(mode, 'w'))
        for (int i = 0; i < MAXF; i++)
            if (!tracked[i]) { tracked[i] = f; tracked_fd[i] = fileno(f); written[i] = 0; break; }
    return f;
}
FILE *fopen64(const char *path, const char *mode) { return fopen(path, mode); }

size_t fwrite(const void *p, size_t size, size_t n, FILE *f) {
    static size_t (*real)(const void *, size_t, size_t, FILE *);
    if (!real) real = (size_t(*)(const void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fwrite");
    int s = slot_of(f);
    if (s >= 0 && !strcmp(op, "fwrite")) {
        size_t want = size * n;
        if (written[s] + want > (size_t)after) {   /* the disk fills up inside this write */
            size_t room = (size_t)after > written[s] ? (size_t)after - written[s] : 0;
            size_t k = room ? real(p, 1, room, f) : 0;
            written[s] += k;
            fire("fwrite");
            return size ? k / size : 0;
        }
        written[s] += want;
    }
    return real(p, size, n, f);
}

int fflush(FILE *f) {
    static int (*real)(FILE *);
    if (!real) real = (int (*)(FILE *))dlsym(RTLD_NEXT, "fflush");
    if (slot_of(f) >= 0 && !strcmp(op, "fflush")) { real(f); fire("fflush"); return EOF; }
    return real(f);
}

int fclose(FILE *f) {
    static int (*real)(FILE *);
    if (!real) real = (int (*)(FILE *))dlsym(RTLD_NEXT, "fclose");
    int s = slot_of(f);
    if (s >= 0) tracked[s] = NULL;
    int r = real(f);
    if (s >= 0 && !strcmp(op, "fclose")) return fire("fclose"), EOF;
    return r;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (!strcmp(op, "fsync"))
        for (int i = 0; i < MAXF; i++) if (tracked[i] && tracked_fd[i] == fd) return fire("fsync");
    return real(fd);
}

int rename(const char *from, const char *to) {
    static int (*real)(const char *, const char *);
    if (!real) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    init();
    if (!strcmp(op, "rename") && matches(to)) return fire("rename");
    return real(from, to);
}
