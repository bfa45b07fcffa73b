/* app.h - what the parts of the resmlp program (repl/) share: the one application state, the Lua
 * userdata types (Model, Dataset, Tensor view), the workspace of named objects, terminal helpers.
 * core/ never sees any of this: it reports through rm_ctx and the program decides what to print. */
#ifndef RM_APP_H
#define RM_APP_H
#include "core/model.h"
#include "core/data.h"
#include <lua.h>
#include <lauxlib.h>

#define RM_VERSION "0.1"

typedef struct rm_app {
    lua_State *L;
    int colour_out, colour_err;   /* ANSI colour allowed on stdout / stderr (tty and no NO_COLOR) */
    int interactive;              /* the readline prompt is running */
    int quit, exit_code;          /* `quit` was called */
    char cur_model[64];           /* workspace name of the current model ("" = none) */
    char cur_qmodel[64];          /* workspace name of the current quantized model ("" = none) */
    volatile int lua_running;     /* Lua code is executing: SIGINT also stops it with a hook */
    volatile int in_core;         /* a core loop is running: SIGINT only sets the flag it polls */
} rm_app;
extern rm_app rm_A;

/* ---- terminal and signals (term.c) ---- */
extern volatile int rm_sigint_flag;   /* set by SIGINT; rm_ctx.interrupt points here */
void rm_install_sigint(void);
void rm_term_init(rm_app *A);         /* decide colour from isatty and NO_COLOR */
const char *rm_col(int err, const char *sgr);   /* "\033[<sgr>m" when colour is on, else "" */
const char *rm_reset(int err);
void rm_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* stderr, red on a tty */
char *rm_fmt_count(char *buf, size_t n, double v);   /* 120042 -> "120,042" */
char *rm_fmt_bytes(char *buf, size_t n, double b);   /* "1.5 MiB" */
int rm_mkdirs(const char *dir);                      /* mkdir -p; 0 on success */
int rm_mkparent(const char *path);                   /* mkdir -p of the directory part of path */

/* ---- userdata (lua_model.c, lua_data.c, lua_tensor.c) ---- */
#define RM_MODEL_MT "resmlp.Model"
#define RM_DATA_MT "resmlp.Dataset"
#define RM_TENSOR_MT "resmlp.Tensor"
#define RM_QMODEL_MT "resmlp.QModel"   /* a quantized model (cmd_quant.c) */

typedef struct rm_epoch_rec { float train_loss, train_acc, test_loss, test_acc, lr; int have_test; } rm_epoch_rec;

typedef struct lmodel {
    rm_model *m;                  /* NULL until built/loaded, and after close */
    int epochs;                   /* epochs trained in this session */
    rm_epoch_rec *hist;           /* per-epoch record (for charts), nhist of cap */
    int nhist, caphist;
    int evaluated;                /* last eval below is valid */
    float eval_acc, eval_loss;
    char eval_on[64], source[256];/* data set of the last eval; where the model came from */
    int busy;                     /* a core loop uses it (a Lua callback must not close or retrain it) */
} lmodel;

typedef struct ldata {
    rm_dataset ds;                /* zeroed until loaded, and after close */
    int loaded;
    int busy;                     /* a core loop reads it */
} ldata;

typedef struct ltensor {
    lmodel *owner;                /* the model whose memory this views (kept alive by a user value) */
    const float *data;
    float *own;                   /* non-NULL: data owned by the tensor (results such as logits), freed on close */
    int ndim;
    int64_t shape[2];
    char name[96];
} ltensor;

void rm_open_model(lua_State *L);     /* create the metatables */
void rm_open_data(lua_State *L);
void rm_open_tensor(lua_State *L);
void rm_open_qmodel(lua_State *L);   /* cmd_quant.c */
/* `who` line of a QModel userdata: description into what, heap bytes into *bytes; returns what */
const char *rm_qmodel_what(void *ud, char *what, size_t n, double *bytes);
/* the quantized model and its integer network of a QModel userdata (-1 if closed) */
struct rm_qmodel;
struct rm_qnet;
int rm_qmodel_parts(void *ud, struct rm_qmodel **q, struct rm_qnet **net);
lmodel *rm_model_push(lua_State *L);  /* push an empty Model (m == NULL) */
ldata *rm_data_push(lua_State *L);    /* push an empty Dataset */
lmodel *rm_model_check(lua_State *L, int idx);    /* a Model that is not closed */
ldata *rm_data_check(lua_State *L, int idx);
/* push a read-only view of n-d data owned by the Model at owner_idx */
void rm_tensor_push(lua_State *L, int owner_idx, const char *name, const float *data, int ndim, const int64_t *shape);
/* push a Tensor owning data (malloc'd; taken over, freed when the Tensor is closed or collected) */
void rm_tensor_push_owned(lua_State *L, const char *name, float *data, int ndim, const int64_t *shape);
/* the Tensor at idx (open), or NULL if it is not one */
ltensor *rm_tensor_test(lua_State *L, int idx);
size_t rm_model_bytes(const rm_model *m);        /* heap bytes held by the model */
int rm_model_hist_add(lmodel *lm, const rm_epoch_rec *r);   /* 0 ok, -1 out of memory */
/* the training history as checkpoint metadata "train.history" (one "loss,acc,test_loss,test_acc,lr,have_test"
 * record per epoch, ';' between): text (malloc, NULL when empty), and back into lm (replacing its history) */
char *rm_model_hist_text(const lmodel *lm);
int rm_model_hist_parse(lmodel *lm, const char *text);     /* records read, -1 if malformed */
/* save lm's model (weights) with its history: rm_checkpoint_save + "train.history" */
int rm_model_save_with_hist(rm_ctx *ctx, const char *path, const lmodel *lm);

/* ---- workspace: named models and data sets (lua_state.c); one Lua table in the registry ---- */
void rm_ws_push(lua_State *L);                   /* push the workspace table */
int rm_ws_get(lua_State *L, const char *name);   /* push ws[name] (or nil); returns its Lua type */
void rm_ws_set(lua_State *L, const char *name, int idx);   /* ws[name] = value at idx */
const char *rm_ws_name(lua_State *L, const void *ud, char *buf, size_t n);   /* a name of ud, or NULL */
/* build the Lua state: standard libraries, the `resmlp` module (commands, types, prelude) */
lua_State *rm_lua_new(rm_app *A);

/* ---- evaluation (eval.c) ---- */
enum { RM_FEED_OK = 0, RM_FEED_ERROR = 1, RM_FEED_MORE = 2 };
typedef struct rm_lbuf { char *buf; size_t len, cap; } rm_lbuf;
/* one physical input line as typed at the prompt: a command, or Lua (expression results printed,
 * incomplete chunks accumulate in b). chunkname is used for messages ("=stdin"). */
int rm_feed(rm_app *A, rm_lbuf *b, const char *line, const char *chunkname);
void rm_lbuf_free(rm_lbuf *b);
int rm_run_file(rm_app *A, const char *path, int argc, char **argv);   /* exit status */
int rm_run_chunk(rm_app *A, const char *chunk);                        /* -e: exit status */
int rm_run_stdin(rm_app *A);                                           /* exit status */
int rm_line_command(const char *line);      /* index of the command this line invokes, or -1 */
void rm_raise_quit(lua_State *L, int code) __attribute__((noreturn)); /* unwind Lua, then exit */

/* ---- pager (pager.c): stdout through $PAGER (less -FRX) at the interactive prompt on a terminal ---- */
extern int rm_page_prompt;            /* 1 while the resmlp> prompt runs (front.c) */
void rm_page_begin(void);
void rm_page_end(void);

/* ---- interactive front end (front.c, complete.c) ---- */
int rm_repl(rm_app *A);                     /* exit status */
char **rm_complete(const char *text, int start, int end);
/* workspace name from a file path (base name up to the first dot, [A-Za-z0-9_] only) */
const char *rm_path_stem(const char *path, char *stem, size_t n);

/* call the `plot` command from Lua: args table at index a, the kind string on top of the stack */
int rm_plot_call_kind(lua_State *L, int a);

#endif
