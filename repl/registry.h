/* registry.h - the one table of commands shared by the `resmlp>` prompt, the `resmlp` Lua module and
 * completion/help. A command is a name, positional arguments and options (each with a type, a
 * default and a help line) and a handler. `train epochs=5` and `resmlp.train{epochs=5}` both become a
 * Lua argument table that rm_cmd_invoke checks against the specs (unknown names and bad values get
 * "did you mean" suggestions) before the handler runs. Adding a command (plots, quantisation, HLS) is
 * one entry in commands.c plus its handler. */
#ifndef RM_REGISTRY_H
#define RM_REGISTRY_H
#include "app.h"
#include <stdio.h>

typedef enum {
    A_STR, A_INT, A_NUM, A_BOOL,
    A_CHOICE,   /* one of choices "a|b|c" */
    A_PATH,     /* a file name (completes paths) */
    A_MODEL,    /* a Model userdata or a workspace name; default "@" = the current model */
    A_DATA,     /* a Dataset userdata or a workspace name */
    A_FUNC,     /* a Lua function (Lua calls only) */
    A_LAYER,    /* an activation/layer name of the model (completes them) */
    A_BLOCK,    /* a block index of the model */
    A_CHAN,     /* a channel index of a layer */
    A_TENSOR,   /* a parameter tensor name of the model */
    A_NAME,     /* a workspace name (completes them) */
    A_QMODEL,   /* a QModel userdata or a workspace name; default "@" = the current quantized model */
} rm_argtype;

typedef struct rm_opt {
    const char *name;
    rm_argtype type;
    const char *def;      /* default as text (NULL: unset); A_MODEL "@" = current model */
    const char *help;
    const char *choices;  /* A_CHOICE: "a|b|c" */
    const char *alias_of; /* this name is another spelling of that option */
} rm_opt;

typedef struct rm_val {
    int set;              /* given by the caller (1) or from the default (2); 0 = unset */
    const char *s;        /* string form (strings, choices, names) */
    long long i;
    double d;
    void *ud;             /* A_MODEL: lmodel*, A_DATA: ldata*, A_QMODEL: the QModel (cmd_quant.c) */
    int idx;              /* stack index of the value (userdata, functions) */
} rm_val;

#define RM_MAXOPTS 40
#define RM_MAXPOS 4
struct rm_command;
typedef struct rm_call {
    lua_State *L;
    const struct rm_command *cmd;
    int line;             /* typed as a command line: print for a person */
    int npos;             /* positionals given */
    rm_val pos[RM_MAXPOS];
    rm_val opt[RM_MAXOPTS];
} rm_call;

/* handler: returns the number of Lua results it pushed; errors through rm_cmd_error */
typedef int (*rm_cmd_fn)(rm_call *c);

typedef struct rm_command {
    const char *name;
    const char *usage;    /* positional part of the usage line, e.g. "[NAME] PATH" */
    const char *summary;  /* one line for `help` */
    const rm_opt *pos;    /* positional specs ({NULL} terminated); all optional at parse time */
    const rm_opt *opts;   /* option specs ({NULL} terminated) */
    rm_cmd_fn fn;
    const char *more;     /* longer help text or NULL */
} rm_command;

extern const rm_command rm_commands[];   /* commands.c, {NULL} terminated */
const rm_command *rm_cmd_find(const char *name);
int rm_cmd_count(void);

/* run cmd with the argument table at index tab (Lua stack); line = typed at the prompt. Raises Lua
 * errors; returns the number of results. */
int rm_cmd_invoke(lua_State *L, const rm_command *cmd, int tab, int line);
/* the Lua function for cmd (a closure) */
void rm_cmd_pushfunction(lua_State *L, const rm_command *cmd);
/* parse "name a b key=value ..." after the command word into an argument table (pushed) */
int rm_cmd_parse_line(lua_State *L, const char *args, char *err, size_t errn);
/* argument table of a Lua call from stack slots [first, last]: a plain table is used as is; otherwise
 * positionals in order, a trailing plain table supplies options. Pushes the table. */
void rm_cmd_args_from_stack(lua_State *L, int first, int last);

/* value of an option / positional by name (NULL if the command has none) */
rm_val *rm_arg(rm_call *c, const char *name);
rm_val *rm_posarg(rm_call *c, const char *name);
/* raise "cmd: message" as a Lua error, located at the Lua caller. Free what you own before calling. */
int rm_cmd_error(rm_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* resolve the model a command works on (option "model", else the current one); raises if none */
lmodel *rm_call_model(rm_call *c, int *stack_idx);
lmodel *rm_call_resmlp(rm_call *c, int *stack_idx);   /* the same, with an error for layer-list nets */

/* nearest candidate to s among n names (NULL if none is close) */
const char *rm_suggest(const char *s, const char *const *names, int n);
void rm_cmd_help(const rm_command *cmd, FILE *f);   /* usage, positionals and options table */
const char *rm_argtype_name(rm_argtype t);
#endif
