/* cmd_interop.c - moving models to and from the paper's PyTorch code: `export` (the reference
 * state_dict, exactly its keys, as a torch.save file or safetensors; core/export.c). The converter
 * behind `import` is in cmd_quant.c. */
#include "registry.h"
#include "core/export.h"
#include <string.h>

static int ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int rm_cmd_export(rm_call *c) {
    lmodel *lm = rm_call_model(c, NULL);
    rm_val *pv = rm_posarg(c, "path");
    if (!pv->set) rm_cmd_error(c, "missing PATH (usage: export PATH [format=pytorch|safetensors])");
    const char *fmt = rm_arg(c, "format")->s;
    int f;
    if (!strcmp(fmt, "pytorch")) f = RM_EXPORT_PYTORCH;
    else if (!strcmp(fmt, "safetensors")) f = RM_EXPORT_SAFETENSORS;
    else if (ends(pv->s, ".safetensors")) f = RM_EXPORT_SAFETENSORS;
    else if (ends(pv->s, ".pt") || ends(pv->s, ".pth") || ends(pv->s, ".bin")) f = RM_EXPORT_PYTORCH;
    else rm_cmd_error(c, "%s: say format=pytorch or format=safetensors (or name it .pt/.pth/.bin or .safetensors)", pv->s);
    if (rm_mkparent(pv->s)) rm_cmd_error(c, "cannot create the directory of %s", pv->s);
    rm_ctx ctx = {0};
    if (rm_export_reference(&ctx, lm->m, pv->s, f, 0)) rm_cmd_error(c, "%s", ctx.msg);
    if (c->line)
        printf("wrote %s (%s; the paper's state_dict keys for load_state_dict)\n", pv->s,
               f == RM_EXPORT_PYTORCH ? "torch.save zip" : "safetensors, safetensors.torch.load_file");
    lua_pushstring(c->L, pv->s);
    return 1;
}
