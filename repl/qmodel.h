/* qmodel.h - the QModel userdata ("resmlp.QModel"), shared by cmd_quant.c (INT8 ResMLP: rm_qmodel + rm_qnet)
 * and cmd_qnet.c (integer layer-list nets: a private copy of the float net and its integer engine). One
 * kind is set: q for a ResMLP, nm for a net; both NULL when closed. */
#ifndef RM_QMODEL_H
#define RM_QMODEL_H
#include "registry.h"
#include "core/quant.h"
#include "core/bnn.h"

typedef struct lqmodel {
    rm_qmodel *q;                 /* NULL until made, and after close */
    rm_qnet *net;                 /* exported from q (kept in step with it) */
    rm_model *nm;                 /* integer nets: the model copy the engine was built from (owned) */
    rm_bnet *bn;                  /* integer nets: the engine (owned) */
    rm_bnn_check chk;             /* integer nets: the last verify */
    char source[256];             /* where it came from */
    int qat_epochs;               /* QAT epochs run in this session */
    int verified;                 /* last verify below is valid (cleared when q changes) */
    float int_acc, fq_acc;
    char verified_on[64];
    int busy;                     /* a core loop uses it */
} lqmodel;

/* cmd_quant.c */
lqmodel *rm_qmodel_push(lua_State *L);                       /* an empty QModel on the stack */
void rm_qmodel_bind(lua_State *L, const char *name, int idx); /* workspace name, current quantized model */
void rm_qmodel_name_free(rm_call *c, const char *name);      /* raises if name holds a model or data set */
/* cmd_qnet.c: the layer-list net branches of quantize, verify, info, and the userdata's bookkeeping */
int rm_qnet_quantize(rm_call *c);
int rm_qnet_verify(rm_call *c, lqmodel *m);
int rm_qnet_info(lua_State *L, lqmodel *m);
void rm_qnet_describe(const lqmodel *m, char *buf, size_t n);
double rm_qnet_bytes(const lqmodel *m);
void rm_qnet_release(lqmodel *m);
/* the integer engine of a QModel userdata, or NULL (a ResMLP or closed QModel) */
rm_bnet *rm_qmodel_bnet(void *ud);
#endif
