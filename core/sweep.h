/* sweep.h - grids of training runs (a "sweep"): the grid (axes act, hidden, lr, seed, quant and the
 * settings every cell shares), its text form stored in DIR/sweep.cfg, the cell <-> index mapping, running
 * one cell in this process (train, evaluate, optionally INT8 post-training quantisation and the integer
 * engine's accuracy) and its result file DIR/cells/cell-NNNN.csv, written atomically so that a cell is
 * either finished (its file exists and parses) or not run at all. That is what makes sweeps resumable.
 * Starting the cells as processes (a local pool or a Slurm job array) is the host's job (repl/); the
 * core never forks, prints or exits. */
#ifndef RM_SWEEP_H
#define RM_SWEEP_H
#include "ctx.h"
#include <stdint.h>

enum { RM_SW_ACT = 0, RM_SW_HIDDEN, RM_SW_LR, RM_SW_SEED, RM_SW_QUANT, RM_SW_NAXES };
#define RM_SW_MAXV 32     /* values per axis */
#define RM_SW_MAXCELLS 100000

typedef struct rm_sweep_spec {
    int nval[RM_SW_NAXES];
    char val[RM_SW_NAXES][RM_SW_MAXV][24];   /* the axis values as text (act names, numbers, quant modes) */
    /* shared by every cell */
    char dataset[16];    /* cifar10 | mnist | fashion */
    char data[512];      /* data directory */
    int epochs, batch, limit, test_limit;    /* limit: first N training images (0 = all); test_limit likewise */
    int calib;           /* quant != none: training images used for PTQ calibration (0 = the training slice) */
    char aug[16];        /* none | cropflip | randaug */
    char precision[8];   /* fp32 | bf16 */
    float wd;
} rm_sweep_spec;

/* one grid point */
typedef struct rm_sweep_cell {
    int idx;
    char act[24];
    int hidden;
    double lr;
    uint64_t seed;
    char quant[24];      /* none | ptq (64-entry tables) | ptq256 (256-entry tables) */
} rm_sweep_cell;

typedef struct rm_sweep_result {
    rm_sweep_cell cell;
    float train_loss, train_acc;
    float test_acc, test_loss;
    float int8_acc;      /* integer-engine test accuracy, -1 when quant = none */
    int train_images, test_images;
    double seconds, imgs_per_s;
    char host[64];       /* where the cell ran */
} rm_sweep_result;

rm_sweep_spec rm_sweep_default_spec(void);
/* set axis `axis` (RM_SW_*) from a comma list ("relu,lerp_psa", "8,16", "1e-3,3e-3"); checks each value */
int rm_sweep_set_axis(rm_ctx *ctx, rm_sweep_spec *s, int axis, const char *list);
const char *rm_sweep_axis_name(int axis);        /* "act", "hidden", "lr", "seed", "quant" */
/* check the shared settings and every axis value; the message names the setting */
int rm_sweep_check(rm_ctx *ctx, const rm_sweep_spec *s);
int rm_sweep_ncells(const rm_sweep_spec *s);
/* cell idx: the last axis (quant) varies fastest */
void rm_sweep_cell_at(const rm_sweep_spec *s, int idx, rm_sweep_cell *c);
/* "act=relu hidden=8 lr=0.001 seed=1 quant=none" */
void rm_sweep_cell_label(const rm_sweep_cell *c, char *buf, size_t n);

/* text form (key = value lines) and back; rm_sweep_parse checks like rm_sweep_check */
int rm_sweep_format(const rm_sweep_spec *s, char *buf, size_t n);
int rm_sweep_parse(rm_ctx *ctx, const char *text, rm_sweep_spec *s);
/* DIR/sweep.cfg: load it; or store spec there (atomically). Storing into a directory whose sweep.cfg
 * holds a different grid is an error (resuming must not mix two grids). Creates DIR and DIR/cells. */
int rm_sweep_load(rm_ctx *ctx, const char *dir, rm_sweep_spec *s);
int rm_sweep_store(rm_ctx *ctx, const char *dir, const rm_sweep_spec *s);

/* paths of a cell's result file and log file */
void rm_sweep_result_path(const char *dir, int idx, char *buf, size_t n);
void rm_sweep_log_path(const char *dir, int idx, char *buf, size_t n);
/* 1 if the cell's result file exists and parses (r filled if non-NULL), 0 if not */
int rm_sweep_read_result(const char *dir, const rm_sweep_spec *s, int idx, rm_sweep_result *r);

/* progress of a running cell (epoch ends); return non-zero to stop */
typedef void (*rm_sweep_progress)(void *ud, const char *line);
/* Run cell idx of the sweep in DIR in this process and write its result file atomically. Ctrl-C through
 * ctx->interrupt stops it without a result file. */
int rm_sweep_run_cell(rm_ctx *ctx, const char *dir, const rm_sweep_spec *s, int idx, rm_sweep_progress cb,
                      void *ud, rm_sweep_result *out);

/* CSV header and one row (no newline) - the format of the cell files and of DIR/results.csv */
const char *rm_sweep_csv_header(void);
void rm_sweep_csv_row(const rm_sweep_result *r, char *buf, size_t n);
/* DIR/results.csv from every finished cell, in index order (atomic). *nfinished receives their count. */
int rm_sweep_gather(rm_ctx *ctx, const char *dir, const rm_sweep_spec *s, int *nfinished);
/* one table line for a terminal: header when r == NULL */
void rm_sweep_table_row(const rm_sweep_result *r, char *buf, size_t n);
#endif
