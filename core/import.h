/* import.h - `import`: convert a PyTorch checkpoint of the paper's reference code into a resmlp
 * checkpoint by running tools/import_torch.py (it needs torch to unpickle; resmlp itself never does).
 * The core does not print: the converter's output is returned in a buffer for the host to show. */
#ifndef RM_IMPORT_H
#define RM_IMPORT_H
#include "ctx.h"

/* Run `python script src dst [args...]`. python NULL: $RESMLP_PYTHON or /usr/bin/python3 (Debian's,
 * which has python3-torch); script NULL: $RESMLP_TOOLS/import_torch.py or tools/import_torch.py.
 * args: NULL-terminated extra options (e.g. "--act", "gelu", NULL) or NULL. The converter's stdout and
 * stderr go to out (NUL-terminated, truncated to cap) when out != NULL. On failure the error names the
 * converter's last line of output. */
int rm_import_torch(rm_ctx *ctx, const char *python, const char *script, const char *src, const char *dst,
                    const char *const *args, char *out, size_t cap);
#endif
