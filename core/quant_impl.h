/* quant_impl.h - internals shared by quant.c (fake-quant, QAT, calibration, export) and quant_io.c
 * (model file, verify, curves). Not part of the public API. */
#ifndef RM_QUANT_IMPL_H
#define RM_QUANT_IMPL_H
#include "quant.h"

struct rm_fq_blk {                 /* one block of the fake-quant forward; codes (c) and unrounded q (q) */
    float *Ac, *Aq;                /* affine_1 out (N,D) */
    float *At;                     /* affine_1 codes as (T, B*D) */
    float *Vc, *Vq;                /* token linear out (T, B*D) */
    float *Vn;                     /* token linear codes (N,D) */
    float *Uc, *Uq, *Rc, *Rq;      /* affine_2 out, res_affine out (N,D) */
    float *Mc, *Mq;                /* stream after the token mixer; Mq = Uc + Rc */
    float *R2c, *R2q;              /* mlp res_affine out (N,D) */
    float *P1c;                    /* act1 out (N,D) */
    float *Hc, *Hq, *P2c;          /* fc1 out, act2 out (N,H) */
    float *Oc, *Oq;                /* fc2 out (N,D) */
    int8_t *lut[2], *l64[2];       /* tables used in the last forward: (C,256), (C,64) */
    float *tq[2], *z[2];           /* unrounded table outputs (C,256); act inputs at the codes (256,C) */
};

struct rm_fq_cache {
    int B;
    float *xf, *xc;                /* input values and codes (N,P) */
    float *X[RM_MAXL + 1], *Xq[RM_MAXL + 1];   /* stream codes; unrounded (embed q, then O + R2) */
    struct rm_fq_blk b[RM_MAXL];
    float *Pc, *Pq, *Zc, *Zq;      /* pooled (B,D), logits (B,K) */
    float *Wc[RM_QL_MAX], *bc[RM_QL_MAX], *swc[RM_QL_MAX];   /* quantised weights of the last forward */
    float *g[6];                   /* backward scratch */
    float *work, *lsum;
    float *mem;
};

void rm_fq_free(rm_qmodel *q);
void rm_q_tables(rm_qmodel *q, int l, int slot, int8_t *lut, int8_t *l64, int8_t *e, float *tq, float *z, float *work);
#endif
