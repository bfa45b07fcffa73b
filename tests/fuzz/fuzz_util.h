/* fuzz_util.h - shared helpers of the fuzz harnesses (tests/fuzz/fuzz_*.c): the loaders under test take
 * file paths, so each input is written to an in-memory file (memfd) and passed as /proc/self/fd/N; a
 * small byte reader splits an input into option bytes and file contents. Deliberately no mocking: the
 * real loaders read real (in-memory) files through the real stdio/zlib/libxml2 paths. */
#ifndef RM_FUZZ_UTIL_H
#define RM_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* write n bytes into in-memory file `slot` (0..3, kept open across runs); returns its path */
static const char *fz_file(int slot, const void *d, size_t n) {
    static int fd[4] = {-1, -1, -1, -1};
    static char path[4][64];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("rm_fuzz", 0);
        if (fd[slot] < 0) { perror("memfd_create"); abort(); }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0) abort();
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(fd[slot], (const char *)d + off, n - off, (off_t)off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    return path[slot];
}

/* a cursor over the input: option bytes come off the front, the rest is file contents */
typedef struct fz_in { const uint8_t *p; size_t n; } fz_in;
static unsigned fz_byte(fz_in *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}
static unsigned fz_u16(fz_in *in) { unsigned a = fz_byte(in); return a | fz_byte(in) << 8; }
/* the next k bytes (fewer at the end) */
static const uint8_t *fz_take(fz_in *in, size_t k, size_t *got) {
    if (k > in->n) k = in->n;
    const uint8_t *p = in->p;
    in->p += k;
    in->n -= k;
    *got = k;
    return p;
}
/* a NUL-terminated copy of the remaining bytes (caller frees) */
static char *fz_str(fz_in *in) {
    char *s = malloc(in->n + 1);
    if (!s) abort();
    memcpy(s, in->p, in->n);
    s[in->n] = 0;
    in->p += in->n;
    in->n = 0;
    return s;
}
#endif
