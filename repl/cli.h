/* cli.h - the non-interactive command line: `resmlp train|eval|info ...` with --help.
 * Unknown options and bad values print one line and return exit status 2. */
#ifndef RM_CLI_H
#define RM_CLI_H
extern volatile int rm_sigint_flag;
void rm_install_sigint(void);
int cli_main(int argc, char **argv);   /* returns the process exit status */
#endif
