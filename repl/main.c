/* main.c - entry point of the resmlp program: dispatches to the command-line subcommands. */
#include "cli.h"
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: resmlp COMMAND [options]  (train, eval, info; resmlp --help)\n");
        return 2;
    }
    return cli_main(argc, argv);
}
