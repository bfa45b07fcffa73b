/* recipe.c - KT (block by block) then KD, with per-epoch checkpoints and exact resume. */
#include "recipe.h"
#include <stdio.h>
#include <string.h>

rm_recipe_opts rm_recipe_defaults(void) {
    rm_recipe_opts o = {.kt_epochs = 50, .kd_epochs = 300, .kt_lr = 1e-3f, .kd_lr = 1e-3f, .kd_lr_min = 1e-5f,
                        .spline_lr = 1e-3f, .wd = 0, .alpha = 0.8f, .T = 1.0f, .tv2 = 1e-5f, .batch = 128,
                        .aug = RM_AUG_CROPFLIP, .seed = 2023, .report_s = 1.0};
    return o;
}

/* optimiser settings of a phase: KT constant lr, KD cosine; B-spline coefficients get their own lr */
static rm_optim_cfg phase_cfg(const rm_recipe_opts *o, const rm_model *s, int kd) {
    rm_optim_cfg oc = rm_optim_default();
    int spline = s->cfg.act.kind == RM_ACT_BSPLINE;
    oc.lr = kd ? o->kd_lr : o->kt_lr;
    oc.lr_min = kd ? o->kd_lr_min : o->kt_lr;
    oc.act_lr = spline ? o->spline_lr : oc.lr;
    oc.act_lr_min = spline ? (kd ? o->kd_lr_min : o->spline_lr) : oc.lr_min;
    oc.wd = o->wd;
    oc.cosine = kd;
    return oc;
}

static void phase_name(char *b, size_t n, int ph, int L) { if (ph == L) snprintf(b, n, "kd"); else snprintf(b, n, "kt%d", ph); }

int rm_recipe_student(rm_ctx *ctx, rm_model *s, rm_model *t, const rm_dataset *train, const rm_recipe_opts *o,
                      rm_recipe_result *res) {
    memset(res, 0, sizeof *res);
    const rm_model_cfg *sc = &s->cfg, *tc = &t->cfg;
    if (sc->D != tc->D || sc->L != tc->L || sc->T != tc->T || sc->P != tc->P || sc->K != tc->K)
        return rm_err(ctx, "student (embed %d, %d blocks) and teacher (embed %d, %d blocks) differ in shape", sc->D, sc->L, tc->D, tc->L);
    int L = sc->L;
    int start_phase = 0, start_epoch = 0;
    rm_optim opt = {0};
    if (o->resume) {
        if (!o->ckpt_path) return rm_err(ctx, "resume needs a checkpoint path");
        rm_model *saved = NULL;
        if (rm_checkpoint_load(ctx, o->ckpt_path, &saved)) return RM_ERR;
        int r = rm_model_copy_params(ctx, s, saved);
        rm_model_free(saved);
        if (r) return rm_errprefix(ctx, "resume from %s", o->ckpt_path);
        rm_train_state st = {0};
        rm_optim probe = {0};
        rm_optim_cfg pc = rm_optim_default();
        if (rm_optim_init(ctx, &probe, s, &pc)) return RM_ERR;
        r = rm_checkpoint_load_state(ctx, o->ckpt_path, s, &probe, &st);
        if (r) { rm_optim_free(&probe); return RM_ERR; }
        if (!strcmp(st.phase, "kd")) start_phase = L;
        else if (!strncmp(st.phase, "kt", 2) && st.phase[2] >= '0' && st.phase[2] - '0' < L) start_phase = st.phase[2] - '0';
        else { rm_optim_free(&probe); return rm_err(ctx, "%s: cannot resume phase '%s'", o->ckpt_path, st.phase); }
        start_epoch = st.epoch;
        /* the optimiser of that phase, with the saved moments */
        opt = probe;
        opt.cfg = phase_cfg(o, s, start_phase == L);
    } else {
        /* copy the teacher's embedding (frozen during KT) */
        memcpy(s->p.embed_w, t->p.embed_w, sizeof(float) * sc->D * sc->P);
        memcpy(s->p.embed_b, t->p.embed_b, sizeof(float) * sc->D);
        rm_model_params_changed(s);
    }
    int code = RM_OK;
    for (int ph = start_phase; ph <= L; ph++) {
        int kd = ph == L;
        int epochs = kd ? o->kd_epochs : o->kt_epochs;
        char name[16];
        phase_name(name, sizeof name, ph, L);
        snprintf(res->phase, sizeof res->phase, "%s", name);
        int e0 = ph == start_phase ? start_epoch : 0;
        if (!(o->resume && ph == start_phase)) {
            rm_optim_free(&opt);
            rm_optim_cfg oc = phase_cfg(o, s, kd);
            if (rm_optim_init(ctx, &opt, s, &oc)) { code = RM_ERR; break; }
        }
        if (e0 < epochs) {
            rm_train_opts to = rm_train_defaults();
            to.epochs = epochs; to.start_epoch = e0; to.batch = o->batch; to.aug = o->aug; to.limit = o->limit;
            to.seed = o->seed + 1000003ull * (uint64_t)ph;
            to.teacher = t; to.alpha = o->alpha; to.T = o->T; to.tv2 = o->tv2;
            to.kt_block = kd ? -1 : ph;
            to.test = kd ? o->test : NULL;
            to.cb = o->cb; to.ud = o->ud; to.report_s = o->report_s;
            to.ckpt_path = o->ckpt_path; to.ckpt_with_optimizer = o->ckpt_with_optimizer; to.phase = name;
            rm_model_set_frozen(s, 0, 0, L);
            rm_train_result tr;
            if (rm_train(ctx, s, &opt, train, &to, &tr)) { code = RM_ERR; break; }
            res->epochs_done = tr.epochs_done;
            if (tr.interrupted) { res->interrupted = 1; break; }
        }
        if (o->ckpt_path && !kd) {
            /* the resume point is now the start of the next phase (with its fresh optimiser) */
            rm_optim next = {0};
            rm_optim_cfg nc = phase_cfg(o, s, ph + 1 == L);
            rm_train_state ns = {.epoch = 0, .total_epochs = ph + 1 == L ? o->kd_epochs : o->kt_epochs, .seed = o->seed};
            phase_name(ns.phase, sizeof ns.phase, ph + 1, L);
            int r = rm_optim_init(ctx, &next, s, &nc) || (o->ckpt_with_optimizer ? rm_checkpoint_save_with_optimizer : rm_checkpoint_save)(ctx, o->ckpt_path, s, &next, &ns);
            rm_optim_free(&next);
            if (r) { code = RM_ERR; break; }
        }
    }
    rm_model_set_frozen(s, 0, 0, L);
    if (code == RM_OK && !res->interrupted) snprintf(res->phase, sizeof res->phase, "done");
    rm_optim_free(&opt);
    return code;
}
