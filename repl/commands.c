/* commands.c - the command table: every command of the prompt and of the `resmlp` Lua module, with
 * its arguments, options, defaults and help. Handlers live in cmd_*.c. A new command (plot, quant,
 * hls ...) is one entry here and one handler. */
#include "registry.h"

int rm_cmd_data(rm_call *c);
int rm_cmd_model(rm_call *c);
int rm_cmd_load(rm_call *c);
int rm_cmd_save(rm_call *c);
int rm_cmd_train(rm_call *c);
int rm_cmd_eval(rm_call *c);
int rm_cmd_info(rm_call *c);
int rm_cmd_layers(rm_call *c);
int rm_cmd_curve(rm_call *c);
int rm_cmd_param(rm_call *c);
int rm_cmd_who(rm_call *c);
int rm_cmd_help_(rm_call *c);
int rm_cmd_quit(rm_call *c);
int rm_cmd_threads(rm_call *c);
int rm_cmd_plot(rm_call *c);

#define MODEL_OPT {"model", A_MODEL, "@", "model to use (workspace name or Model)", NULL, NULL}

static const rm_opt data_pos[] = {
    {"kind", A_STR, "cifar10", "cifar10 | mnist | fashion", NULL, NULL},
    {"path", A_PATH, NULL, "directory in the official layout, or one CIFAR-10 .bin file "
                           "[$RESMLP_DATA or ../shared/data/cifar-10-batches-bin]", NULL, NULL},
    {NULL}};
static const rm_opt data_opts[] = {
    {"split", A_CHOICE, "both", "which split(s) to load", "both|train|test", NULL},
    {"limit", A_INT, "0", "keep only the first N training images (0 = all)", NULL, NULL},
    {"test_limit", A_INT, "0", "keep only the first N test images (0 = all)", NULL, NULL},
    {"name", A_NAME, NULL, "workspace name (one split only) [the split's name]", NULL, NULL},
    {NULL}};

static const rm_opt model_pos[] = {{"action", A_NAME, NULL, "`new`, or the name of a loaded model to make current", NULL, NULL}, {NULL}};
static const rm_opt model_opts[] = {
    {"name", A_NAME, "model", "workspace name of the new model", NULL, NULL},
    {"act", A_CHOICE, "relu", "channel-MLP activation", "relu|gelu|lerp_psa|bspline", NULL},
    {"hidden", A_INT, "96", "channel-MLP hidden width h", NULL, NULL},
    {"seed", A_INT, "2023", "initialisation seed", NULL, NULL},
    {"embed", A_INT, "96", "embedding width", NULL, NULL},
    {"layers", A_INT, "4", "blocks", NULL, NULL},
    {"grid", A_INT, "64", "LERP-PSA grid points G", NULL, NULL},
    {"range", A_NUM, "4", "LERP-PSA grid range [-R, R]", NULL, NULL},
    {"keys", A_INT, "8", "PSA keys E", NULL, NULL},
    {"eps", A_NUM, "1", "PSA epsilon", NULL, NULL},
    {"spline_size", A_INT, "65", "B-spline coefficients (odd)", NULL, NULL},
    {"spacing", A_NUM, "0.125", "B-spline knot spacing", NULL, NULL},
    {"data", A_DATA, "train", "data set whose image size fixes tokens and patch features (if loaded)", NULL, NULL},
    {NULL}};

static const rm_opt load_pos[] = {
    {"name", A_NAME, NULL, "workspace name [the file name without extension]", NULL, NULL},
    {"path", A_PATH, NULL, "safetensors checkpoint", NULL, NULL},
    {NULL}};
static const rm_opt save_pos[] = {{"path", A_PATH, NULL, "safetensors file to write (atomically)", NULL, NULL}, {NULL}};
static const rm_opt model_only[] = {MODEL_OPT, {NULL}};

static const rm_opt train_opts[] = {
    MODEL_OPT,
    {"data", A_DATA, "train", "training data set", NULL, NULL},
    {"test", A_DATA, NULL, "data set evaluated after each epoch", NULL, NULL},
    {"epochs", A_INT, "1", "epochs", NULL, NULL},
    {"batch", A_INT, "128", "batch size (last partial batch dropped)", NULL, NULL},
    {"lr", A_NUM, "1e-3", "learning rate", NULL, NULL},
    {"lr_min", A_NUM, "1e-5", "cosine annealing floor", NULL, NULL},
    {"schedule", A_CHOICE, "cosine", "learning-rate schedule", "cosine|constant", NULL},
    {"wd", A_NUM, "0", "decoupled weight decay", NULL, NULL},
    {"optim", A_CHOICE, "adamw", "optimiser", "adamw|sgd", NULL},
    {"momentum", A_NUM, "0.9", "SGD momentum", NULL, NULL},
    {"seed", A_INT, "2023", "shuffling and augmentation seed", NULL, NULL},
    {"limit", A_INT, "0", "use only the first N training images (0 = all)", NULL, NULL},
    {"aug", A_CHOICE, "cropflip", "augmentation", "none|cropflip|randaug", NULL},
    {"teacher", A_MODEL, NULL, "teacher for knowledge distillation (KD)", NULL, NULL},
    {"distill", A_MODEL, NULL, NULL, NULL, "teacher"},
    {"alpha", A_NUM, "0.8", "KD weight of the teacher term", NULL, NULL},
    {"temp", A_NUM, "1", "KD temperature", NULL, NULL},
    {"kt_block", A_BLOCK, "-1", "knowledge transfer: match the teacher's stream after this block (MSE)", NULL, NULL},
    {"kt_epochs", A_INT, NULL, "paper recipe: KT epochs per block, then kd_epochs of KD (needs teacher=)", NULL, NULL},
    {"kd_epochs", A_INT, NULL, "paper recipe: KD epochs after KT (cosine lr)", NULL, NULL},
    {"spline_lr", A_NUM, "1e-3", "B-spline coefficients' own Adam learning rate", NULL, NULL},
    {"ckpt", A_PATH, NULL, "save model + optimiser here after every epoch (resumable)", NULL, NULL},
    {"resume", A_BOOL, "false", "recipe: continue from ckpt=", NULL, NULL},
    {"tv2", A_NUM, "1e-5", "B-spline TV2 regulariser weight", NULL, NULL},
    {"on_epoch", A_FUNC, NULL, "Lua: called with a stats table after each epoch; return false to stop", NULL, NULL},
    {"quiet", A_BOOL, "false", "no progress output", NULL, NULL},
    {"live", A_BOOL, NULL, "full-screen live view (q stops and saves) [on when on a terminal]", NULL, NULL},
    {"out", A_PATH, NULL, "save the model here when training ends (also after q or Ctrl-C)", NULL, NULL},
    {"save", A_PATH, NULL, NULL, NULL, "out"},
    {NULL}};

static const rm_opt eval_pos[] = {{"data", A_DATA, "test", "data set", NULL, NULL}, {NULL}};
static const rm_opt eval_opts[] = {
    MODEL_OPT,
    {"batch", A_INT, "256", "batch size", NULL, NULL},
    {"stats", A_BOOL, "true", "record the input range of each activation layer (see `layers`)", NULL, NULL},
    {NULL}};

static const rm_opt info_pos[] = {MODEL_OPT, {NULL}};
static const rm_opt curve_opts[] = {
    MODEL_OPT,
    {"block", A_BLOCK, "0", "block index", NULL, NULL},
    {"layer", A_LAYER, NULL, "activation layer: mlp.0 or mlp.2 (learned), mlp.1 (relu/gelu), or a full name", NULL, NULL},
    {"ch", A_CHAN, "0", "channel", NULL, NULL},
    {"lo", A_NUM, NULL, "first x [-R, or -4]", NULL, NULL},
    {"hi", A_NUM, NULL, "last x [R, or 4]", NULL, NULL},
    {"n", A_INT, "17", "number of points", NULL, NULL},
    {"which", A_CHOICE, "model", "the function the model computes, or the smooth ResPSA", "model|smooth", NULL},
    {NULL}};
static const rm_opt plot_pos[] = {
    {"kind", A_CHOICE, NULL, "what to plot", "act|hist|train|heatmap", NULL},
    {"what", A_CHOICE, NULL, "plot hist: the weights of a layer, or the inputs recorded by the last `eval`", "weights|inputs", NULL},
    {NULL}};
static const rm_opt plot_opts[] = {
    MODEL_OPT,
    {"block", A_BLOCK, "0", "block index", NULL, NULL},
    {"layer", A_LAYER, NULL, "act, inputs: mlp.0|mlp.2 (relu/gelu: mlp.1) [first]; weights: token|mlp.0..3|embed|classifier "
                             "[token]", NULL, NULL},
    {"ch", A_STR, "0", "act: a channel N, or a range A:B for a grid", NULL, NULL},
    {"mode", A_CHOICE, NULL, "canvas [braille on a UTF-8 terminal, else ascii]", "ascii|block|braille", NULL},
    {"width", A_INT, NULL, "columns (pixels for .svg) [the terminal's, else 100]", NULL, NULL},
    {"height", A_INT, NULL, "rows (pixels for .svg) [the terminal's, else 30]", NULL, NULL},
    {"lo", A_NUM, NULL, "act: first x [the recorded data range, else -R]", NULL, NULL},
    {"hi", A_NUM, NULL, "act: last x [the recorded data range, else R]", NULL, NULL},
    {"out", A_PATH, NULL, "write FILE.svg (vector) or FILE.txt (the text) instead of printing", NULL, NULL},
    {"quiet", A_BOOL, "false", "Lua: only return the text", NULL, NULL},
    {NULL}};
static const rm_opt param_pos[] = {{"name", A_TENSOR, NULL, "tensor name (reference state_dict key)", NULL, NULL}, {NULL}};
static const rm_opt help_pos[] = {{"topic", A_STR, NULL, "a command, or `lua`", NULL, NULL}, {NULL}};
static const rm_opt quit_pos[] = {{"code", A_INT, "0", "exit status", NULL, NULL}, {NULL}};
static const rm_opt threads_pos[] = {{"n", A_INT, NULL, "threads for OpenMP and OpenBLAS (0 = RESMLP_THREADS or all cores)", NULL, NULL}, {NULL}};
static const rm_opt none[] = {{NULL}};

const rm_command rm_commands[] = {
    {"data", "[KIND] [PATH]", "load CIFAR-10 (or MNIST) as the data sets `train` and `test`", data_pos, data_opts, rm_cmd_data,
     "example: data cifar10 ../shared/data/cifar-10-batches-bin limit=5000"},
    {"model", "[new|NAME]", "create a model (`model new act=lerp_psa hidden=96`), or pick the current one", model_pos,
     model_opts, rm_cmd_model, "`model` alone shows the current model; Lua: resmlp.model{...} creates one."},
    {"load", "[NAME] PATH", "load a checkpoint as NAME and make it the current model", load_pos, none, rm_cmd_load, NULL},
    {"save", "PATH", "save a model as safetensors (reference PyTorch names)", save_pos, model_only, rm_cmd_save, NULL},
    {"train", "", "train a model (cross-entropy, KD with teacher=, or KT with kt_block=)", none, train_opts, rm_cmd_train,
     "Ctrl-C stops after the current batch and keeps the model. On a terminal the live view shows progress, "
     "charts and curves\n(arrows/[ ] pick block, layer, channels; m mode; p pause; q stop and save to out= or "
     "runs/NAME.safetensors)."},
    {"eval", "[DATA]", "accuracy and loss of a model on a data set [test]", eval_pos, eval_opts, rm_cmd_eval, NULL},
    {"info", "[MODEL]", "architecture, parameters, memory and training state of a model", info_pos, none, rm_cmd_info, NULL},
    {"layers", "[MODEL]", "the layers of a model with shapes, parameters and recorded input ranges", info_pos, none,
     rm_cmd_layers, NULL},
    {"curve", "", "sample a learned activation: curve block=2 layer=mlp.2 ch=5", none, curve_opts, rm_cmd_curve,
     "Lua: x, y = resmlp.curve{...} (or m:curve{...})"},
    {"plot", "act|hist|train|heatmap [weights|inputs]", "plot curves, histograms, training history, token heatmaps",
     plot_pos, plot_opts, rm_cmd_plot,
     "examples: plot act block=2 layer=mlp.2 ch=5    plot act layer=mlp.2 ch=0:15 (grid)\n"
     "          plot hist weights block=0 layer=mlp.1    plot hist inputs layer=mlp.0 (after `eval`)\n"
     "          plot train    plot heatmap block=0 layer=token    plot act ch=3 out=curve.svg\n"
     "Lua: resmlp.plot.act{...}, .hist{...}, .train{...}, .heatmap{...} return the text (quiet=true: no printing)."},
    {"param", "NAME", "show a parameter tensor (Lua: a read-only Tensor view)", param_pos, model_only, rm_cmd_param, NULL},
    {"who", "", "what is loaded: models and data sets with sizes and memory", none, none, rm_cmd_who, NULL},
    {"threads", "[N]", "show or set the number of threads", threads_pos, none, rm_cmd_threads, NULL},
    {"help", "[COMMAND|lua]", "list commands, or show one command's options", help_pos, none, rm_cmd_help_, NULL},
    {"quit", "[CODE]", "leave resmlp (Ctrl-D does too)", quit_pos, none, rm_cmd_quit, NULL},
    {NULL}};
