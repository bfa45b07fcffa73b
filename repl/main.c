/* main.c - entry point of the resmlp program. `resmlp train|eval|info ...` are the classic
 * non-interactive commands (cli.c); `resmlp run FILE.lua [args]` and `resmlp FILE.lua` run a script,
 * `resmlp -e CHUNK` runs a chunk or a command line; with no arguments a terminal gets the `resmlp>`
 * prompt and piped stdin runs non-interactively. Exit status: 0 ok, 1 Lua or core error, 2 usage. */
#include "cli.h"
#include "registry.h"
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: resmlp                      the resmlp> prompt (a terminal), or run piped stdin\n"
            "       resmlp run FILE.lua [ARGS]  run a Lua script (ARGS in `arg`); also: resmlp FILE.lua\n"
            "       resmlp -e CHUNK [-e ...]    run Lua (or a command line such as 'info'); -i: prompt after\n"
            "       resmlp train|eval|info ...  non-interactive training, evaluation, checkpoint info\n"
            "       resmlp import FILE -o OUT   convert a checkpoint of the paper's PyTorch code\n"
            "       resmlp sweep [DIR] ...      a grid of training runs, local or on Slurm (--help)\n"
            "       resmlp predict MODEL DATA --logits out.npy|out.csv   logits of a model on a data set\n"
            "                                   (`resmlp train --help` lists the options)\n"
            "       resmlp help [COMMAND]       the prompt's commands and their options\n"
            "Threads: RESMLP_THREADS=N. History: RESMLP_HISTORY, else $XDG_STATE_HOME/resmlp/history,\n"
            "else ~/.resmlp_history. NO_COLOR=1 turns colour off.\n");
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int start(void) {
    rm_term_init(&rm_A);
    rm_set_threads(0);
    rm_install_sigint();
    return rm_lua_new(&rm_A) ? 0 : 1;
}

int rm_sweep_cli(int argc, char **argv);        /* cmd_sweep.c */
int rm_sweep_cell_main(int argc, char **argv);

int main(int argc, char **argv) {
    /* Buffers of 128 KiB and more (data sets, models, activations, a long training history) are mmapped
     * and go back to the OS when freed. 128 KiB is glibc's starting value, but glibc raises it each time
     * such a buffer is freed (up to 32 MiB), after which the next ones land in the brk heap and stay
     * resident after their free: a session that loads and drops models grew by tens of MiB of free heap
     * (tests/soak.py). Setting it fixes it. */
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif
    if (argc >= 2 && !strcmp(argv[1], "sweep-cell")) return rm_sweep_cell_main(argc - 2, argv + 2);
    if (argc >= 2 && (!strcmp(argv[1], "train") || !strcmp(argv[1], "eval") || !strcmp(argv[1], "info") ||
                      !strcmp(argv[1], "import") || !strcmp(argv[1], "predict")))
        return cli_main(argc, argv);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) { usage(stdout); return 0; }
    if (argc >= 2 && !strcmp(argv[1], "--version")) { printf("resmlp %s (%s)\n", RM_VERSION, LUA_RELEASE); return 0; }
    if (start()) return 1;
    int status = 0, ran = 0, interactive = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-e")) {
            if (i + 1 >= argc) { fprintf(stderr, "resmlp: -e needs a chunk\n"); status = 2; goto out; }
            ran = 1;
            if ((status = rm_run_chunk(&rm_A, argv[++i])) || rm_A.quit) goto out;
        } else if (!strcmp(argv[i], "-i")) {
            interactive = 1;
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else {
            fprintf(stderr, "resmlp: unknown option '%s'\n", argv[i]);
            usage(stderr);
            status = 2;
            goto out;
        }
    }
    if (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "run")) {
            if (i + 1 >= argc) { fprintf(stderr, "resmlp run: missing FILE.lua\n"); status = 2; goto out; }
            status = rm_run_file(&rm_A, argv[i + 1], argc - i - 2, argv + i + 2);
        } else if (ends_with(a, ".lua") || !strcmp(a, "-")) {
            status = rm_run_file(&rm_A, a, argc - i - 1, argv + i + 1);
        } else if (!strcmp(a, "sweep")) {
            status = rm_sweep_cli(argc - i - 1, argv + i + 1);
        } else if (!strcmp(a, "help")) {
            rm_A.interactive = 1;   /* messages without the "resmlp:" prefix */
            status = rm_run_chunk(&rm_A, argc > i + 1 ? lua_pushfstring(rm_A.L, "help %s", argv[i + 1]) : "help");
        } else {
            const char *names[] = {"run", "train", "eval", "info", "help", "import", "sweep", "predict"};
            const char *s = rm_suggest(a, names, (int)(sizeof names / sizeof names[0]));
            fprintf(stderr, "resmlp: unknown command '%s'%s%s%s (see resmlp --help)\n", a, s ? "; did you mean '" : "",
                    s ? s : "", s ? "'?" : "");
            status = 2;
        }
        goto out;
    }
    if (!ran || interactive) {
        if (isatty(0)) status = rm_repl(&rm_A);
        else if (!ran) status = rm_run_stdin(&rm_A);
    }
out:
    fflush(stdout);
    lua_close(rm_A.L);
    rm_A.L = NULL;
    return status;
}
