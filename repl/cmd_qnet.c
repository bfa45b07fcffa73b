/* cmd_qnet.c - integer layer-list nets at the prompt and in Lua: the net branch of `quantize` (a private copy
 * of the float net and its integer engine, core/bnn.h: binary / ternary / n-bit layers, thresholds), of
 * `verify` (engine accuracy, and whether every logit and every hidden bit equals the float forward's on
 * the data set), and the QModel bookkeeping for this kind (qsave/qload go through rm_bnet_save/load in
 * cmd_quant.c). This file prints (the core never does); Lua calls get tables back. */
#include "qmodel.h"
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define SETI(k, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) (lua_pushstring(L, (v)), lua_setfield(L, -2, k))
#define SETB(k, v) (lua_pushboolean(L, (v)), lua_setfield(L, -2, k))

void rm_qnet_release(lqmodel *m) {
    rm_bnet_free(m->bn);
    rm_model_free(m->nm);
    m->bn = NULL;
    m->nm = NULL;
}

rm_bnet *rm_qmodel_bnet(void *ud) {
    lqmodel *m = ud;
    return m && m->nm ? m->bn : NULL;
}

void rm_qnet_describe(const lqmodel *m, char *buf, size_t n) {
    char d[512];
    rm_bnet_describe(m->bn, d, sizeof d);
    size_t k = (size_t)snprintf(buf, n, "%s", d);
    if (m->verified && k < n) snprintf(buf + k, n - k, ", %.2f%% on %s%s", 100 * m->int_acc, m->verified_on,
                                       m->chk.logit_mismatch || m->chk.bit_mismatch ? " (differs from float)" : " (bit-exact)");
}

double rm_qnet_bytes(const lqmodel *m) {
    double b = sizeof *m;
    if (m->nm) b += malloc_usable_size(m->nm->mem) + malloc_usable_size(m->nm->gmem) + malloc_usable_size(m->nm->bmem);
    /* the engine's codes, packed planes and thresholds: about 4 bytes a weight code plus the planes */
    if (m->nm) b += 4.0 * m->nm->nparams;
    return b;
}

int rm_qnet_info(lua_State *L, lqmodel *m) {
    char d[512], net[4096];
    rm_bnet_describe(m->bn, d, sizeof d);
    rm_model_describe(m->nm, net, sizeof net);
    lua_createtable(L, 0, 8);
    SETS("kind", "net"); SETS("net", net); SETS("engine", d); SETS("path", rm_bnn_path_name(rm_bnet_path(m->bn)));
    SETS("source", m->source); SETI("bytes", rm_qnet_bytes(m)); SETI("classes", m->nm->cfg.K);
    if (m->verified) { SETN("int_acc", m->int_acc); SETN("fq_acc", m->fq_acc); SETS("verified_on", m->verified_on); }
    return 1;
}

int rm_qnet_quantize(rm_call *c) {
    lua_State *L = c->L;
    lmodel *lm = rm_call_model(c, NULL);
    if (lm->busy) rm_cmd_error(c, "the model is in use by a running command");
    int quiet = rm_arg(c, "quiet")->i != 0;
    static const char *const resmlp_only[] = {"calib", "percentile", "lut", "path", NULL};
    for (int i = 0; resmlp_only[i]; i++)
        if (rm_arg(c, resmlp_only[i])->set == 1)
            rm_cmd_error(c, "%s= is for INT8 ResMLP models; a net's integer form needs no calibration (its weights and BN are used as trained)",
                         resmlp_only[i]);
    char mname[64], name[64];
    if (!rm_ws_name(L, lm, mname, sizeof mname)) snprintf(mname, sizeof mname, "model");
    rm_val *nv = rm_arg(c, "name");
    if (nv->set) snprintf(name, sizeof name, "%s", nv->s);
    else snprintf(name, sizeof name, "%.58s_int", mname);
    rm_qmodel_name_free(c, name);
    rm_val *ov = rm_arg(c, "out");
    if (ov->set && rm_mkparent(ov->s)) rm_cmd_error(c, "cannot create the directory of %s", ov->s);
    lqmodel *m = rm_qmodel_push(L);
    int idx = lua_gettop(L);
    rm_ctx ctx = {0};
    double t0 = rm_now();
    /* the engine runs from (and points into) its own copy: training the float net later leaves it alone */
    int r = rm_model_new_like(&ctx, &m->nm, lm->m, 1);
    if (!r) r = rm_model_copy_params(&ctx, m->nm, lm->m);
    if (!r) r = rm_bnet_build(&ctx, m->nm, &m->bn);
    if (!r && ov->set) r = rm_bnet_save(&ctx, ov->s, m->bn);
    if (r) { rm_qnet_release(m); rm_cmd_error(c, "%s", ctx.msg); }
    snprintf(m->source, sizeof m->source, "integer form of '%.60s'", mname);
    rm_qmodel_bind(L, name, idx);
    char d[512];
    rm_bnet_describe(m->bn, d, sizeof d);
    if (!quiet) {
        printf("quantized '%s' -> %s'%s'%s: %s (%.2fs)\n", mname, rm_col(0, "1"), name, rm_reset(0), d, rm_now() - t0);
        printf("  `verify test` compares every logit with the float forward; `hls emit DIR` writes the design\n");
        if (ov->set) printf("saved %s\n", ov->s);
        fflush(stdout);
    }
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, idx); lua_setfield(L, -2, "qmodel");
    SETS("name", name); SETS("engine", d); SETN("seconds", rm_now() - t0);
    if (ov->set) SETS("saved", ov->s);
    return 1;
}

int rm_qnet_verify(rm_call *c, lqmodel *m) {
    lua_State *L = c->L;
    rm_val *dv = rm_posarg(c, "data");
    if (!dv->set || !dv->ud) rm_cmd_error(c, "no test data: load it (e.g. `data vertebral`, `data minimnist`) or name a data set");
    ldata *d = dv->ud;
    if (!d->loaded) rm_cmd_error(c, "the data set is closed");
    if (m->busy) rm_cmd_error(c, "the quantized model is in use by a running command");
    long long limit = rm_arg(c, "limit")->i;
    if (limit < 0) rm_cmd_error(c, "limit= must be >= 0");
    const char *pname = rm_arg(c, "path")->s;
    int path = !strcmp(pname, "auto") ? RM_BNN_AUTO : !strcmp(pname, "portable") ? RM_BNN_PORTABLE : !strcmp(pname, "reference") ? RM_BNN_REFERENCE : -1;
    if (path < 0)
        rm_cmd_error(c, "path %s is for INT8 ResMLP models; the net engine has auto (AVX-512 VPOPCNTDQ when present), portable and reference", pname);
    int quiet = rm_arg(c, "quiet")->i != 0;
    rm_dataset part = {0};
    const rm_dataset *ds = &d->ds;
    rm_ctx ctx = {.interrupt = &rm_sigint_flag};
    if (limit > 0 && limit < d->ds.n) {
        if (rm_dataset_slice(&ctx, &part, &d->ds, 0, (int)limit)) rm_cmd_error(c, "%s", ctx.msg);
        ds = &part;
    }
    int used = rm_bnet_set_path(m->bn, path);
    rm_bnn_check ck;
    m->busy++; d->busy++;
    rm_sigint_flag = 0;
    int outer = rm_A.in_core;
    rm_A.in_core = 1;
    double t0 = rm_now();
    int r = rm_bnet_verify(&ctx, m->bn, ds, 256, &ck);
    double dt = rm_now() - t0;
    /* the engine alone, for its throughput */
    double eng = 0;
    if (!r) {
        int B = ds->n < 256 ? ds->n : 256;
        size_t in = rm_model_input_size(m->nm);
        float *x = malloc(sizeof(float) * in * B), *z = malloc(sizeof(float) * (size_t)B * m->nm->cfg.K);
        int *y = malloc(sizeof(int) * B), *ix = malloc(sizeof(int) * B);
        if (x && z && y && ix) {
            for (int i = 0; i < B; i++) ix[i] = i;
            rm_make_batch_flat(ds, ix, B, x, y);
            double t1 = rm_now();
            int reps = 0;
            do { r = rm_bnet_forward(&ctx, m->bn, x, B, z); reps++; } while (!r && rm_now() - t1 < 0.2);
            eng = reps * B / (rm_now() - t1);
        }
        free(x); free(z); free(y); free(ix);
    }
    rm_A.in_core = outer;
    m->busy--; d->busy--;
    rm_dataset_free(&part);
    if (r) rm_cmd_error(c, "%s", ctx.msg);
    char dname[64];
    if (!rm_ws_name(L, d, dname, sizeof dname)) snprintf(dname, sizeof dname, "%.60s", d->ds.name);
    int exact = ck.logit_mismatch == 0 && ck.bit_mismatch == 0;
    double n = ck.n > 0 ? ck.n : 1;
    m->chk = ck;
    m->verified = 1;
    m->int_acc = (float)(ck.correct / n);
    m->fq_acc = (float)(ck.float_correct / n);
    snprintf(m->verified_on, sizeof m->verified_on, "%s", dname);
    if (!quiet) {
        printf("integer engine (%s) on %d images of %s: accuracy %s%.2f%%%s, float forward %.2f%%, predictions agree %d/%d\n",
               rm_bnn_path_name(used), ck.n, dname, rm_col(0, "1"), 100 * ck.correct / n, rm_reset(0), 100 * ck.float_correct / n,
               ck.agree, ck.n);
        printf("  logits %s the float forward's on every image", exact ? "bit-exact with" : "DIFFER from");
        if (ck.logit_mismatch) printf(" (%d images differ, first %d, max |diff| %g)", ck.logit_mismatch, ck.first_mismatch, ck.max_logit_err);
        printf("; hidden activations (bits, n-bit codes) %ld compared, %ld differ; %.0f img/s engine, %.2fs\n", ck.bits, ck.bit_mismatch, eng, dt);
        fflush(stdout);
    }
    lua_createtable(L, 0, 14);
    SETI("n", ck.n); SETS("data", dname); SETS("path", rm_bnn_path_name(used));
    SETN("int_acc", ck.correct / n); SETN("fq_acc", ck.float_correct / n); SETN("fp_acc", ck.float_correct / n);
    SETI("agree", ck.agree); SETB("bit_exact", exact); SETI("logit_mismatch", ck.logit_mismatch);
    SETI("first_mismatch", ck.first_mismatch); SETI("bits", ck.bits); SETI("bit_mismatch", ck.bit_mismatch);
    SETN("err_max", ck.max_logit_err); SETN("imgs_per_s", eng);
    return 1;
}
