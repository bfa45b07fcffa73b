/* commands.c - the command table: every command of the prompt and of the `resmlp` Lua module, with
 * its arguments, options, defaults and help. Handlers live in cmd_*.c. A new command (plot, quant,
 * hls ...) is one entry here and one handler. */
#include "registry.h"

int rm_cmd_data(rm_call *c);
int rm_cmd_model(rm_call *c);
int rm_cmd_load(rm_call *c);
int rm_cmd_save(rm_call *c);
int rm_cmd_train(rm_call *c);
int rm_cmd_evaluate(rm_call *c);
int rm_cmd_eval(rm_call *c);
int rm_cmd_info(rm_call *c);
int rm_cmd_layers(rm_call *c);
int rm_cmd_curve(rm_call *c);
int rm_cmd_param(rm_call *c);
int rm_cmd_who(rm_call *c);
int rm_cmd_help_(rm_call *c);
int rm_cmd_quit(rm_call *c);
int rm_cmd_threads(rm_call *c);
int rm_cmd_precision(rm_call *c);
int rm_cmd_plot(rm_call *c);

#define MODEL_OPT {"model", A_MODEL, "@", "model to use (workspace name or Model)", NULL, NULL}

static const rm_opt data_pos[] = {
    {"kind", A_STR, "cifar10", "cifar10 | mnist | fashion | vertebral | minimnist | csv", NULL, NULL},
    {"path", A_PATH, NULL, "directory in the official layout, or one CIFAR-10 .bin file "
                           "[$RESMLP_DATA or ../shared/data/cifar-10-batches-bin]", NULL, NULL},
    {NULL}};
static const rm_opt data_opts[] = {
    {"split", A_CHOICE, "both", "which split(s) to load", "both|train|test", NULL},
    {"limit", A_INT, "0", "keep only the first N training images (0 = all)", NULL, NULL},
    {"test_limit", A_INT, "0", "keep only the first N test images (0 = all)", NULL, NULL},
    {"name", A_NAME, NULL, "workspace name (one split only) [the split's name]", NULL, NULL},
    {"test_frac", A_NUM, "0.2", "vertebral/csv: stratified test fraction (0 = everything in `train`)", NULL, NULL},
    {"seed", A_INT, "1", "vertebral/csv/minimnist: seed of the stratified split", NULL, NULL},
    {"label", A_STR, NULL, "csv: label column, a header name or an index (-1 = last) [last]", NULL, NULL},
    {"header", A_CHOICE, "auto", "csv: first row is a header", "auto|yes|no", NULL},
    {"classes", A_STR, NULL, "csv: class names in label order, e.g. DH,SL,NO [order of appearance]", NULL, NULL},
    {NULL}};

static const rm_opt model_pos[] = {{"action", A_NAME, NULL, "`new`, or the name of a loaded model to make current", NULL, NULL}, {NULL}};
static const rm_opt model_opts[] = {
    {"name", A_NAME, "model", "workspace name of the new model", NULL, NULL},
    {"kind", A_CHOICE, "resmlp", "model kind: the paper's ResMLP, or a layer-list net (mlp, cnn, the FINN cnv preset)", "resmlp|mlp|cnn|cnv", NULL},
    {"act", A_CHOICE, "relu", "activation (ResMLP: relu|gelu|lerp_psa|bspline; nets also hardtanh, sign, sign_reste, ternary, quantN)",
     "relu|gelu|lerp_psa|bspline|hardtanh|sign|sign_ste|sign_reste|ternary|quant2|quant4|quant8", NULL},
    {"hidden", A_INT, "96", "channel-MLP hidden width h", NULL, NULL},
    {"seed", A_INT, "2023", "initialisation seed", NULL, NULL},
    {"embed", A_INT, "96", "embedding width", NULL, NULL},
    {"layers", A_STR, "4", "ResMLP: blocks; kind=mlp: widths IN-H1-...-CLASSES (e.g. 6-32-32-3)", NULL, NULL},
    {"grid", A_INT, "64", "LERP-PSA grid points G", NULL, NULL},
    {"range", A_NUM, "4", "LERP-PSA grid range [-R, R]", NULL, NULL},
    {"keys", A_INT, "8", "PSA keys E", NULL, NULL},
    {"eps", A_NUM, "1", "PSA epsilon", NULL, NULL},
    {"spline_size", A_INT, "65", "B-spline coefficients (odd)", NULL, NULL},
    {"spacing", A_NUM, "0.125", "B-spline knot spacing", NULL, NULL},
    {"data", A_DATA, "train", "data set whose image size fixes tokens and patch features (nets: input shape and classes)", NULL, NULL},
    {"net", A_STR, NULL, "a layer list in text form, e.g. \"input=6 linear(32) bn relu linear(3)\" (see `help net`)", NULL, NULL},
    {"conv", A_STR, NULL, "kind=cnn: 3x3 pad-1 conv channels, NpK adds maxpool K (e.g. 16,32p2)", NULL, NULL},
    {"fc", A_STR, NULL, "kind=cnn: hidden fully connected widths (e.g. 32,32)", NULL, NULL},
    {"w", A_STR, NULL, "nets: weight quantiser per weight layer: float|binary|ternary|intN (a short list repeats its last)", NULL, NULL},
    {"in_bits", A_INT, "0", "nets: quantise the input to N bits (0 = off)", NULL, NULL},
    {"out_bn", A_CHOICE, "auto", "nets: BatchNorm after the classifier layer (auto: when its weights are binary/ternary and bn=on, and for cnv)", "auto|on|off", NULL},
    {"bn", A_BOOL, "on", "nets: BatchNorm after each hidden weight layer", NULL, NULL},
    {"dropout", A_NUM, "0", "nets: dropout after each hidden activation", NULL, NULL},
    {"bits", A_INT, "1", "kind=cnv: weight and activation bits (1, 2, 4, 8)", NULL, NULL},
    {"input", A_STR, NULL, "nets: input shape F or CxHxW when no data= is loaded", NULL, NULL},
    {"classes", A_INT, "0", "nets: classes when no data= is loaded", NULL, NULL},
    {NULL}};

static const rm_opt load_pos[] = {
    {"name", A_NAME, NULL, "workspace name [the file name without extension]", NULL, NULL},
    {"path", A_PATH, NULL, "safetensors checkpoint", NULL, NULL},
    {NULL}};
static const rm_opt save_pos[] = {{"path", A_PATH, NULL, "safetensors file to write (atomically)", NULL, NULL}, {NULL}};
static const rm_opt model_only[] = {MODEL_OPT, {NULL}};

static const rm_opt evaluate_opts[] = {
    MODEL_OPT,
    {"data", A_DATA, "train", "training data set (a stratified validation split is held out of it)", NULL, NULL},
    {"test", A_DATA, "test", "test data set", NULL, NULL},
    {"times", A_INT, "10", "runs, with seeds seed, seed+1, ...", NULL, NULL},
    {"seed", A_INT, "1", "seed of the first run (initialisation, shuffling, dropout, validation split)", NULL, NULL},
    {"epochs", A_INT, "15", "epochs per run (at most, with patience=)", NULL, NULL},
    {"batch", A_INT, "32", "batch size", NULL, NULL},
    {"lr", A_NUM, "0.01", "learning rate", NULL, NULL},
    {"lr_min", A_NUM, "0", "cosine annealing floor", NULL, NULL},
    {"schedule", A_CHOICE, "constant", "learning-rate schedule", "cosine|constant", NULL},
    {"wd", A_NUM, "1e-4", "decoupled weight decay", NULL, NULL},
    {"optim", A_CHOICE, "adamw", "optimiser", "adamw|sgd", NULL},
    {"val", A_NUM, "0", "fraction of the training data held out for validation / early stopping (0 = none)", NULL, NULL},
    {"patience", A_INT, "0", "stop a run after N epochs without a better validation accuracy (best weights kept)", NULL, NULL},
    {"csv", A_PATH, NULL, "write the runs and the summary as CSV", NULL, NULL},
    {"quiet", A_BOOL, "false", "no table", NULL, NULL},
    {NULL}};

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
    {"precision", A_CHOICE, NULL, "matmul precision of this run [the session's, see `precision`]", "fp32|bf16", NULL},
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
    {"kind", A_CHOICE, NULL, "what to plot", "act|hist|train|heatmap|lut", NULL},
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
    {"share_y", A_BOOL, "false", "act grids (ch=A:B): one y range for every cell instead of one per cell", NULL, NULL},
    {"out", A_PATH, NULL, "write FILE.svg (vector) or FILE.txt (the text) instead of printing", NULL, NULL},
    {"quiet", A_BOOL, "false", "Lua: only return the text", NULL, NULL},
    {"qmodel", A_QMODEL, "@", "lut: the quantized model (layer=act1|act2, ch=N)", NULL, NULL},
    {NULL}};
static const rm_opt param_pos[] = {{"name", A_TENSOR, NULL, "tensor name (reference state_dict key)", NULL, NULL}, {NULL}};
static const rm_opt help_pos[] = {{"topic", A_STR, NULL, "a command, `lua` (the Lua API) or `net` (layer lists)", NULL, NULL}, {NULL}};
static const rm_opt quit_pos[] = {{"code", A_INT, "0", "exit status", NULL, NULL}, {NULL}};
static const rm_opt precision_pos[] = {{"p", A_CHOICE, NULL, "fp32, or bf16 (bf16 inputs, fp32 accumulation; where the CPU has bf16 units)", "fp32|bf16", NULL}, {NULL}};
static const rm_opt threads_pos[] = {{"n", A_INT, NULL, "threads for OpenMP and OpenBLAS (0 = RESMLP_THREADS or all cores)", NULL, NULL}, {NULL}};
/* hls, synth, report (cmd_hls.c) */
int rm_cmd_hls(rm_call *c);
int rm_cmd_synth(rm_call *c);
int rm_cmd_report(rm_call *c);
static const rm_opt hls_pos[] = {
    {"action", A_CHOICE, NULL, "what to do (rtl: Verilog of the learned-activation units, simulated; yosys: their "
                               "synthesis report)", "emit|csim|estimate|fold|rtl|yosys", NULL},
    {"dir", A_PATH, NULL, "the HLS project directory", NULL, NULL},
    {NULL}};
static const rm_opt hls_opts[] = {
    MODEL_OPT,
    {"qmodel", A_QMODEL, "@", "emit: the quantized model (`quantize`, `qload`)", NULL, NULL},
    {"qfile", A_PATH, NULL, "emit: a quantized model file instead (as `qsave` writes it)", NULL, NULL},
    {"ptq", A_BOOL, "false", "emit: quantize model= now (PTQ on the first calib= images of train=)", NULL, NULL},
    {"calib", A_INT, "500", "emit ptq=true: training images for calibration (split 80/20)", NULL, NULL},
    {"train", A_DATA, "train", "emit ptq=true: the data set to calibrate on", NULL, NULL},
    {"qsave", A_PATH, NULL, "emit ptq=true: also save the quantized model here", NULL, NULL},
    {"lut_edge", A_CHOICE, "extend", "emit ptq=true: top segment of the 64-entry tables (see `help quantize`)", "extend|paper_hls|clamp", NULL},
    {"data", A_DATA, "test", "emit: images for quant_samples.h (train= when this one is not loaded)", NULL, NULL},
    {"samples", A_INT, "8", "emit: test images run through the integer engine into quant_samples.h", NULL, NULL},
    {"design", A_CHOICE, "stream", "emit, estimate: the hardware design (stream: a stage per layer; simd: one 16x16 "
                                   "MAC tile shared by all layers)", "stream|simd", NULL},
    {"interface", A_CHOICE, "axis", "emit: top for synthesis: axis (AXI-Stream data, ap_ctrl_chain: images overlap) or "
                                    "m_axi (the paper's kernel: images and logits in device memory, s_axilite control)",
     "axis|m_axi", NULL},
    {"fifo", A_CHOICE, "emitted", "emit: FIFO depths: the emitter's (emitted), or the occupancies the concurrent csim "
                                  "measures (auto: csim, trim, csim again)", "emitted|auto", NULL},
    {"part", A_STR, "xcu50-fsvh2104-2-e", "emit: FPGA part (the paper's Alveo U50)", NULL, NULL},
    {"clock_ns", A_NUM, "5", "emit, estimate: clock period in ns", NULL, NULL},
    {"fold", A_STR, NULL, "emit: fold the parallelism to a budget first (lut:N,dsp:M)", NULL, NULL},
    {"sim", A_CHOICE, "auto", "rtl: simulator for the units (auto: Icarus, else Verilator)", "auto|icarus|verilator|none", NULL},
    {"calibrate", A_CHOICE, "none", "estimate: yosys = synthesise one generated PE of each stage kind (matmul, affine, "
                                    "resadd, pool, LERP; synth_xilinx, family=) and estimate with their cells", "none|yosys", NULL},
    {"family", A_STR, "xc7", "yosys: synth_xilinx family (xc7, xcu, xcup), or generic (6-input LUTs)", NULL, NULL},
    {"budget", A_STR, NULL, "fold: resource budget lut:N,dsp:M[,ff:K][,bram:B] (k/M suffixes)", NULL, NULL},
    {"pe", A_STR, NULL, "estimate of a layer-list net: PE (output lanes) per weight layer, e.g. 4,8,2 (a short list "
                        "repeats its last; default 1)", NULL, NULL},
    {"simd", A_STR, NULL, "estimate of a layer-list net: SIMD (input lanes) per weight layer (default: the pruning "
                          "SIMD, else the largest divisor <= 16)", NULL, NULL},
    {"target_fps", A_NUM, "0", "fold: stop once this many images/s are reached (0: as fast as fits)", NULL, NULL},
    {"quiet", A_BOOL, "false", "print nothing (Lua: the result table only)", NULL, NULL},
    {NULL}};
static const rm_opt dir_pos[] = {{"dir", A_PATH, NULL, "the HLS project directory (from `hls emit`)", NULL, NULL}, {NULL}};
static const rm_opt synth_opts[] = {
    {"tool", A_PATH, NULL, "vitis_hls / vitis-run / vivado_hls executable or install directory "
                           "[PATH, $XILINX_HLS, $XILINX_VIVADO]", NULL, NULL},
    {"steps", A_STR, "csim,csynth", "steps of build.tcl: csim, csynth, cosim, export (comma separated)", NULL, NULL},
    {"timeout", A_NUM, "0", "stop the tool after this many seconds (0: no limit)", NULL, NULL},
    {"quiet", A_BOOL, "false", "do not print the log and the table", NULL, NULL},
    {NULL}};
static const rm_opt report_opts[] = {
    {"top", A_STR, NULL, "top function [the project's]", NULL, NULL},
    {"quiet", A_BOOL, "false", "Lua: only return the table", NULL, NULL},
    {NULL}};
/* quantize, qat, verify, qsave, qload, lut, import (cmd_quant.c); `plot lut` is in cmd_plot.c */
int rm_cmd_quantize(rm_call *c);
int rm_cmd_qat(rm_call *c);
int rm_cmd_verify(rm_call *c);
int rm_cmd_qsave(rm_call *c);
int rm_cmd_qload(rm_call *c);
int rm_cmd_lut(rm_call *c);
int rm_cmd_import(rm_call *c);
#define QMODEL_OPT {"qmodel", A_QMODEL, "@", "quantized model (workspace name or QModel)", NULL, NULL}
#define PATH_OPT(what) {"path", A_CHOICE, "auto", what, "auto|reference|portable|avx2|vnni|amx", NULL}
static const rm_opt quantize_opts[] = {
    MODEL_OPT,
    {"data", A_DATA, "train", "training data (no augmentation)", NULL, NULL},
    {"calib", A_INT, "0", "the first N images of data= (0 = all), split 80/20: per-sample abs-max ranges from the 80%, "
                          "percentile chosen on the 20%", NULL, NULL},
    {"mode", A_CHOICE, "ptq", "post-training quantization (then `qat` for quantization-aware training)", "ptq", NULL},
    {"lut", A_CHOICE, "64", "activation tables: the 64-entry hardware form or all 256 codes", "64|256", NULL},
    {"lut_edge", A_CHOICE, "extend", "64-entry tables, top segment u >= 252: extend (last segment extended, "
                                     "exact on linear curves), paper_hls (entry 64 = code 126, the paper's HLS), "
                                     "clamp (segment 62 reused: reads u-4; resmlp before lut_edge)", "extend|paper_hls|clamp", NULL},
    {"percentile", A_STR, "auto", "auto: best of 10,20,..,90,92,95,97,100 (integer accuracy on the 20%); or a fixed NN", NULL, NULL},
    PATH_OPT("integer engine for the validation runs"),
    {"name", A_NAME, NULL, "workspace name of the quantized model [MODEL_int8]", NULL, NULL},
    {"out", A_PATH, NULL, "also save the quantized model here (as qsave)", NULL, NULL},
    {"quiet", A_BOOL, "false", "print nothing (Lua: the result table only)", NULL, NULL},
    {NULL}};
static const rm_opt qat_opts[] = {
    QMODEL_OPT,
    {"teacher", A_MODEL, NULL, "fp32 teacher for knowledge distillation (none: cross-entropy)", NULL, NULL},
    {"data", A_DATA, "train", "training data set", NULL, NULL},
    {"test", A_DATA, NULL, "data set whose integer-engine accuracy is measured after each epoch", NULL, NULL},
    {"epochs", A_INT, "50", "epochs", NULL, NULL},
    {"batch", A_INT, "128", "batch size (last partial batch dropped)", NULL, NULL},
    {"lr", A_NUM, "1e-4", "AdamW learning rate (cosine schedule)", NULL, NULL},
    {"lr_min", A_NUM, "1e-5", "cosine annealing floor", NULL, NULL},
    {"wd", A_NUM, "0", "decoupled weight decay", NULL, NULL},
    {"alpha", A_NUM, "0.8", "KD weight of the teacher term", NULL, NULL},
    {"temp", A_NUM, "1", "KD temperature", NULL, NULL},
    {"limit", A_INT, "0", "use only the first N training images (0 = all)", NULL, NULL},
    {"aug", A_CHOICE, "cropflip", "augmentation", "none|cropflip", NULL},
    {"seed", A_INT, "2023", "shuffling and augmentation seed", NULL, NULL},
    PATH_OPT("integer engine for the per-epoch test"),
    {"quiet", A_BOOL, "false", "no progress output", NULL, NULL},
    {NULL}};
static const rm_opt verify_pos[] = {{"data", A_DATA, "test", "data set", NULL, NULL}, {NULL}};
static const rm_opt verify_opts[] = {
    QMODEL_OPT,
    {"limit", A_INT, "0", "only the first N images (0 = all)", NULL, NULL},
    PATH_OPT("integer engine (forcing one that this CPU lacks is an error)"),
    {"stats", A_INT, "100", "images for the per-layer report (reference engine; 0 = none)", NULL, NULL},
    {"quiet", A_BOOL, "false", "print nothing (Lua: the result table only)", NULL, NULL},
    {NULL}};
static const rm_opt qsave_pos[] = {{"path", A_PATH, NULL, "quantized model file to write (safetensors)", NULL, NULL}, {NULL}};
static const rm_opt qmodel_only[] = {QMODEL_OPT, {NULL}};
static const rm_opt qload_pos[] = {
    {"name", A_NAME, NULL, "workspace name [the file name without extension]", NULL, NULL},
    {"path", A_PATH, NULL, "quantized model file (from qsave or quantize out=)", NULL, NULL},
    {NULL}};
static const rm_opt lut_pos[] = {{"what", A_CHOICE, "errors", "what to show", "errors", NULL}, {NULL}};
static const rm_opt lut_opts[] = {
    QMODEL_OPT,
    {"block", A_BLOCK, NULL, "one block, with the per-channel table [all blocks, summary lines]", NULL, NULL},
    {"layer", A_STR, NULL, "act1 (mlp.0, before fc1) or act2 (mlp.2 / mlp.1, after fc1) [both]", NULL, NULL},
    {"quiet", A_BOOL, "false", "print nothing (Lua: the table only)", NULL, NULL},
    {NULL}};
static const rm_opt import_pos[] = {{"file", A_PATH, NULL, "PyTorch checkpoint of the paper's code (.bin)", NULL, NULL}, {NULL}};
static const rm_opt import_opts[] = {
    {"out", A_PATH, NULL, "resmlp checkpoint to write [FILE with .safetensors]", NULL, NULL},
    {"act", A_CHOICE, "auto", "activation of the checkpoint (auto: from its tensors)", "auto|relu|gelu|lerp_psa|bspline", NULL},
    {"pythonpath", A_PATH, NULL, "whole pickled models: the paper's source tree (added to PYTHONPATH)", NULL, NULL},
    {"grid", A_INT, NULL, "LERP grid points when the file has no psa.grid [64, with a notice]", NULL, NULL},
    {"range", A_NUM, NULL, "LERP grid range R when the file has no psa.grid [4, with a notice]", NULL, NULL},
    {"eps", A_NUM, NULL, "PSA epsilon when the file has no psa.epsilon [1, with a notice]", NULL, NULL},
    {"name", A_NAME, NULL, "also load the result as this model", NULL, NULL},
    {"quiet", A_BOOL, "false", "do not print the converter's output", NULL, NULL},
    {NULL}};
/* export, predict (cmd_interop.c) */
int rm_cmd_export(rm_call *c);
int rm_cmd_predict(rm_call *c);
static const rm_opt predict_pos[] = {{"data", A_DATA, "test", "data set", NULL, NULL}, {NULL}};
static const rm_opt predict_opts[] = {
    MODEL_OPT,
    {"qmodel", A_QMODEL, NULL, "a quantized model instead: its integer engine's logits (int8 code / scale)", NULL, NULL},
    {"logits", A_PATH, NULL, "also write them: FILE.npy (float32 (N,classes), np.load) or FILE.csv", NULL, NULL},
    {"batch", A_INT, "256", "batch size (fp32)", NULL, NULL},
    {"path", A_CHOICE, "auto", "integer engine (qmodel=)", "auto|reference|portable|avx2|vnni", NULL},
    {"quiet", A_BOOL, "false", "no summary line", NULL, NULL},
    {NULL}};
static const rm_opt export_pos[] = {{"path", A_PATH, NULL, "file to write (atomically)", NULL, NULL}, {NULL}};
static const rm_opt export_opts[] = {
    MODEL_OPT,
    {"format", A_CHOICE, "auto", "torch.save zip (torch.load) or safetensors [from the extension: .pt/.pth/.bin, .safetensors]",
     "auto|pytorch|safetensors", NULL},
    {NULL}};
/* gpfq (cmd_gpfq.c) */
int rm_cmd_gpfq(rm_call *c);
static const rm_opt gpfq_pos[] = {{"action", A_STR, NULL, "`sweep`: bits x scalars, both methods, CSV, table and plot", NULL, NULL}, {NULL}};
static const rm_opt gpfq_opts[] = {
    MODEL_OPT,
    {"method", A_CHOICE, "gpfq", "GPFQ (greedy path following) or MSQ (rounding to the same alphabet)", "gpfq|msq", NULL},
    {"bits", A_STR, "ternary", "alphabet: ternary {-rad,0,rad} or N bits (2^N levels); sweep: a list [ternary,2,3,4]", NULL, NULL},
    {"scalar", A_STR, "2", "rad = scalar * median|W| per layer; sweep: a list or range [1:6]", NULL, NULL},
    {"samples", A_INT, "5000", "calibration samples m (a seeded random subset of data=; 0 = all)", NULL, NULL},
    {"chunk", A_INT, "256", "calibration samples per streamed chunk", NULL, NULL},
    {"data", A_DATA, "train", "calibration data (sweep: a validation split is held out of it)", NULL, NULL},
    {"test", A_DATA, "test", "test data for the accuracies", NULL, NULL},
    {"val", A_NUM, "0.1", "sweep: validation fraction of data= that picks the best scalar per bits (0 = pick on test)", NULL, NULL},
    {"seed", A_INT, "1", "calibration subset and validation split seed", NULL, NULL},
    {"name", A_NAME, NULL, "workspace name of the quantized model [MODEL_gpfq / MODEL_msq]", NULL, NULL},
    {"csv", A_PATH, NULL, "sweep: write bits,scalar,samples,fp32_acc,gpfq_acc,msq_acc,seconds,... here", NULL, NULL},
    {"plot", A_PATH, NULL, "sweep: also write the accuracy-vs-bits plot as SVG here", NULL, NULL},
    {"quiet", A_BOOL, "false", "no tables", NULL, NULL},
    {NULL}};

/* lump (cmd_lump.c) */
int rm_cmd_lump(rm_call *c);
static const rm_opt lump_opts[] = {
    MODEL_OPT,
    {"tol", A_NUM, "0", "0: exact (float rounding); > 0: approximate, relative residual ||v_j - lambda v_i|| / ||v_j||", NULL, NULL},
    {"zero", A_BOOL, "on", "also remove neurons with zero outgoing (any act) or zero incoming weights (ReLU)", NULL, NULL},
    {"test", A_DATA, "test", "data for accuracy before/after and the largest logit difference", NULL, NULL},
    {"name", A_NAME, NULL, "workspace name of the lumped model [MODEL_lumped]", NULL, NULL},
    {"quiet", A_BOOL, "false", "no table", NULL, NULL},
    {NULL}};

/* sweep (cmd_sweep.c) */
int rm_cmd_sweep(rm_call *c);
static const rm_opt sweep_pos[] = {{"dir", A_PATH, "runs/sweep", "directory of the sweep: sweep.cfg, cells/, results.csv", NULL, NULL}, {NULL}};
static const rm_opt sweep_opts[] = {
    {"act", A_STR, NULL, "grid axis: activations, comma separated (relu,gelu,lerp_psa,bspline) [relu]", NULL, NULL},
    {"hidden", A_STR, NULL, "grid axis: channel-MLP widths, e.g. 96,384 [96]", NULL, NULL},
    {"lr", A_STR, NULL, "grid axis: learning rates, e.g. 1e-3,3e-3 [1e-3]", NULL, NULL},
    {"seed", A_STR, NULL, "grid axis: seeds, e.g. 1,2,3 [2023]", NULL, NULL},
    {"quant", A_STR, NULL, "grid axis: none | ptq (INT8 PTQ, 64-entry tables) | ptq256; adds the integer engine's test accuracy [none]", NULL, NULL},
    {"dataset", A_CHOICE, NULL, "data set of every cell [cifar10]", "cifar10|mnist|fashion", NULL},
    {"data", A_PATH, NULL, "data directory [$RESMLP_DATA or ../shared/data/cifar-10-batches-bin]", NULL, NULL},
    {"epochs", A_INT, NULL, "epochs per cell [10]", NULL, NULL},
    {"batch", A_INT, NULL, "batch size [128]", NULL, NULL},
    {"limit", A_INT, NULL, "first N training images (0 = all) [0]", NULL, NULL},
    {"test_limit", A_INT, NULL, "first N test images (0 = all) [0]", NULL, NULL},
    {"calib", A_INT, NULL, "quant cells: training images for calibration [2000]", NULL, NULL},
    {"aug", A_CHOICE, NULL, "augmentation [cropflip]", "none|cropflip|randaug", NULL},
    {"precision", A_CHOICE, NULL, "matmul precision of every cell [fp32]", "fp32|bf16", NULL},
    {"wd", A_NUM, NULL, "decoupled weight decay [0]", NULL, NULL},
    {"backend", A_CHOICE, "local", "run cells as local processes, or as a Slurm job array", "local|slurm", NULL},
    {"jobs", A_INT, "0", "local: processes at once (0 = cores / threads); slurm: array tasks at once (0 = no limit)", NULL, NULL},
    {"threads", A_INT, "1", "threads per cell", NULL, NULL},
    {"partition", A_STR, NULL, "slurm: partition", NULL, NULL},
    {"time", A_STR, NULL, "slurm: time limit per cell (e.g. 2:00:00)", NULL, NULL},
    {"sbatch", A_STR, NULL, "slurm: extra sbatch arguments (e.g. \"--account=x --qos=y\")", NULL, NULL},
    {"wait", A_BOOL, "true", "slurm: wait for the cells and gather them (false: submit and return)", NULL, NULL},
    {"poll", A_NUM, "2", "slurm: seconds between looks at the queue and the result files", NULL, NULL},
    {"quiet", A_BOOL, "false", "print nothing (Lua: the result table only)", NULL, NULL},
    {NULL}};
/* prune (cmd_prune.c) */
int rm_cmd_prune(rm_call *c);
static const rm_opt prune_opts[] = {
    MODEL_OPT,
    {"sparsity", A_STR, "0.5", "fraction of each layer's SIMD blocks to zero (one step)", NULL, NULL},
    {"steps", A_STR, NULL, "rising sparsities, e.g. 0.5,0.6,0.7,0.8 (fine-tuning between them with epochs=)", NULL, NULL},
    {"simd", A_STR, NULL, "SIMD per weight layer, e.g. 16 or 9,16,16,12,8,6 (a short list repeats) [largest divisor <= 16]", NULL, NULL},
    {"norm", A_CHOICE, "l1", "block norm that ranks blocks", "l1|l2", NULL},
    {"epochs", A_INT, "0", "fine-tuning epochs after each step (the `train` command; masks hold)", NULL, NULL},
    {"lr", A_NUM, "1e-4", "fine-tuning learning rate", NULL, NULL},
    {"aug", A_CHOICE, "none", "fine-tuning augmentation", "none|cropflip|randaug", NULL},
    {"data", A_DATA, "train", "fine-tuning data", NULL, NULL},
    {"test", A_DATA, "test", "accuracy after each step", NULL, NULL},
    {"name", A_NAME, NULL, "workspace name of the pruned copy [MODEL_pruned]", NULL, NULL},
    {"inplace", A_BOOL, "false", "prune the model itself instead of a copy", NULL, NULL},
    {"quiet", A_BOOL, "false", "no tables", NULL, NULL},
    {NULL}};

/* chart (cmd_chart.c) */
int rm_cmd_chart(rm_call *c);
static const rm_opt chart_opts[] = {
    {"series", A_STR, NULL, "name:x/y,x/y;name2:x/y,... (up to 12 series)", NULL, NULL},
    {"title", A_STR, NULL, "title", NULL, NULL},
    {"xlabel", A_STR, NULL, "x axis label", NULL, NULL},
    {"ylabel", A_STR, NULL, "y axis label", NULL, NULL},
    {"style", A_CHOICE, "line", "lines or unconnected markers", "line|markers", NULL},
    {"width", A_INT, "72", "columns (SVG: x10 pixels)", NULL, NULL},
    {"height", A_INT, "20", "rows (SVG: x22 pixels)", NULL, NULL},
    {"out", A_PATH, NULL, "write FILE.svg or FILE.txt instead of printing", NULL, NULL},
    {"quiet", A_BOOL, "false", "Lua: only return the text", NULL, NULL},
    {NULL}};

static const rm_opt none[] = {{NULL}};

const rm_command rm_commands[] = {
    {"data", "[KIND] [PATH]", "load CIFAR-10, MNIST, Fashion-MNIST, UCI Vertebral, MiniMNIST or a CSV table as `train` and `test`", data_pos, data_opts, rm_cmd_data,
     "example: data cifar10 ../shared/data/cifar-10-batches-bin limit=5000"},
    {"model", "[new|NAME]", "create a model (`model new act=lerp_psa hidden=96`), or pick the current one", model_pos,
     model_opts, rm_cmd_model, "`model` alone shows the current model; Lua: resmlp.model{...} creates one."},
    {"load", "[NAME] PATH", "load a checkpoint as NAME and make it the current model", load_pos, none, rm_cmd_load, NULL},
    {"save", "PATH", "save a model's weights as safetensors (reference PyTorch names, resmlp metadata)", save_pos,
     model_only, rm_cmd_save, NULL},
    {"export", "PATH", "write a model as the paper's PyTorch state_dict: exactly its keys (load_state_dict takes it)",
     export_pos, export_opts, rm_cmd_export,
     "example: export runs/lerp.pt    export runs/bs.safetensors    export out.bin format=pytorch\n"
     "Keys: the reference names plus BatchNorm num_batches_tracked; B-spline coefficients as DeepSplines'\n"
     "flat _coefficients_vect; LERP-PSA with its psa.grid, psa.epsilon and psa.grid_ifeat_offset buffers.\n"
     "format=pytorch is torch.save's zip format (written without torch). `import` reads both back."},
    {"train", "", "train a model (cross-entropy, KD with teacher=, or KT with kt_block=)", none, train_opts, rm_cmd_train,
     "Ctrl-C stops after the current batch and keeps the model. On a terminal the live view shows progress, "
     "charts and curves\n(arrows/[ ] pick block, layer, channels; m mode; p pause; q stop and save to out= or "
     "runs/NAME.safetensors)."},
    {"eval", "[DATA]", "accuracy and loss of a model on a data set [test]", eval_pos, eval_opts, rm_cmd_eval, NULL},
    {"predict", "[DATA]", "the logits (N,classes) of a model on a data set: a Tensor, and .npy/.csv with logits=",
     predict_pos, predict_opts, rm_cmd_predict,
     "examples: predict test logits=runs/z.npy    predict qmodel=m_int8 logits=z8.csv\n"
     "Lua: z = m:predict(test) or resmlp.predict{...} (a Tensor (N,10)); z = m:forward(x) on inputs x, a Tensor\n"
     "or a table of rows in the model's input layout; q:predict(test) for a QModel. Shell: resmlp predict MODEL DATA\n"
     "--logits out.npy."},
    {"evaluate", "", "train the model's architecture N times (seeds), early stopping, test max/mean/std", none, evaluate_opts,
     rm_cmd_evaluate,
     "example: evaluate times=10 epochs=15 lr=0.01 wd=1e-4 batch=32 val=0.1 patience=5 csv=runs/eval.csv\n"
     "Each run starts from a fresh initialisation (the model itself is not changed). std is the population std.\n"
     "Lua: r = resmlp.evaluate{...} -> {runs={{seed=, epochs=, best_epoch=, val_acc=, test_acc=, test_loss=, seconds=}...},\n"
     "max=, mean=, std=, min=, n=, complete=}"},
    {"info", "[MODEL]", "architecture, parameters, memory and training state of a model", info_pos, none, rm_cmd_info, NULL},
    {"layers", "[MODEL]", "the layers of a model with shapes, parameters and recorded input ranges", info_pos, none,
     rm_cmd_layers, NULL},
    {"curve", "", "sample a learned activation: curve block=2 layer=mlp.2 ch=5", none, curve_opts, rm_cmd_curve,
     "Lua: x, y = resmlp.curve{...} (or m:curve{...})"},
    {"plot", "act|hist|train|heatmap|lut [weights|inputs]", "plot curves, histograms, training history, token heatmaps, LUTs",
     plot_pos, plot_opts, rm_cmd_plot,
     "examples: plot act block=2 layer=mlp.2 ch=5    plot act layer=mlp.2 ch=0:15 (grid)\n"
     "          plot hist weights block=0 layer=mlp.1    plot hist inputs layer=mlp.0 (after `eval`)\n"
     "          plot train    plot heatmap block=0 layer=token    plot act ch=3 out=curve.svg\n"
     "          plot lut block=1 layer=act2 ch=7 (a quantized model: fp32 curve vs 256- and 64-entry tables)\n"
     "Lua: resmlp.plot.act{...}, .hist{...}, .train{...}, .heatmap{...}, .lut{...} return the text (quiet=true: no printing)."},
    {"param", "NAME", "show a parameter tensor (Lua: a read-only Tensor view)", param_pos, model_only, rm_cmd_param, NULL},
    {"chart", "", "an x-y chart of named series (series=\"GPFQ:2/97.9,3/98.1;MSQ:2/96,3/97\")", none, chart_opts, rm_cmd_chart,
     "Lua: resmlp.chart{series=..., out=\"c.svg\"} returns the text (or SVG)."},
    {"prune", "", "SIMD-block structured pruning (FINN folding aware), step-wise with fine-tuning; masks persist",
     none, prune_opts, rm_cmd_prune,
     "examples: prune sparsity=0.5 simd=16    prune steps=0.5,0.6,0.7 epochs=1 simd=16,8 name=p\n"
     "A block is SIMD consecutive inputs of every output of a layer; pruned weights stay zero in training, in\n"
     "checkpoints (metadata 'prune'), in GPFQ and the integer engine; `hls estimate model=` counts only kept inputs.\n"
     "Lua: resmlp.prune{...} -> {model=, name=, sparsity=, acc_before=, steps={{target=, sparsity=, acc_pruned=,\n"
     "acc_finetuned=}...}, layers={{layer=, simd=, blocks=, pruned=}...}, hls={paper={ii=, ii_pruned=, ...}, folded=}}"},
    {"lump", "", "merge provably redundant neurons (ReLU: proportional, lambda > 0; else identical) into a smaller model",
     none, lump_opts, rm_cmd_lump,
     "examples: lump    lump tol=0.01 name=approx\n"
     "Layer-list nets: linear [bn] act linear; the ResMLP: every block's channel MLP (one common width after).\n"
     "Lua: resmlp.lump{...} -> {model=, name=, params_before=, params_after=, acc_before=, acc_after=, max_logit_diff=,\n"
     "layers={{layer=, act=, before=, after=, merged=, zero_in=, zero_out=}...}}"},
    {"gpfq", "[sweep]", "GPFQ / MSQ quantisation of every Linear to a ternary or N-bit alphabet (new model)", gpfq_pos,
     gpfq_opts, rm_cmd_gpfq,
     "examples: gpfq bits=ternary scalar=2 samples=5000    gpfq method=msq bits=3 scalar=3 name=m3\n"
     "          gpfq sweep bits=ternary,2,3,4 scalar=1:6 csv=runs/gpfq.csv plot=runs/gpfq.svg\n"
     "Lua: resmlp.gpfq{...} -> {model=, name=, acc=, fp32_acc=, seconds=, layers={{layer=, rad=, err=, err_msq=}...}};\n"
     "sweep -> {rows={{bits=, scalar=, samples=, fp32_acc=, gpfq_acc=, msq_acc=, seconds=}...}, best={...}, plot=}"},
    {"quantize", "", "post-training INT8 quantization of a model (fold, 80/20 split, percentile search); a net: its integer engine", none,
     quantize_opts, rm_cmd_quantize,
     "examples: quantize model=m calib=5000    quantize lut=256 percentile=99 name=q out=runs/m_int8.safetensors\n"
     "A layer-list net (binary/ternary/intN weights; sign or n-bit quant(bits) activations, BN folded into integer\n"
     "thresholds, 2^bits-1 per channel for n-bit) becomes its integer engine (name=, out= apply; no calibration):\n"
     "`verify` then checks every logit and hidden bit / code against the float forward, `hls emit` writes its design.\n"
     "The result is a quantized model (QModel) in the workspace, the current one for qat, verify, lut, qsave and\n"
     "plot lut. Lua: r = resmlp.quantize{...} -> {qmodel=, name=, percentile=, val_acc=, calib={{pct=, acc=}...}}."},
    {"qat", "", "quantization-aware training of a quantized model (LSQ, KD from teacher=)", none, qat_opts, rm_cmd_qat,
     "example: qat teacher=m epochs=5 test=test    Ctrl-C stops after the current batch and keeps the state.\n"
     "Shifts are re-derived after each epoch; the integer network is re-exported at the end."},
    {"verify", "[DATA]", "integer engine vs fake-quant vs fp32: accuracy, logit errors, per-layer ranges", verify_pos,
     verify_opts, rm_cmd_verify,
     "example: verify test limit=1000 path=avx2\n"
     "Lua: {int_acc=, fq_acc=, fp_acc=, bit_exact=, err_mean=, err_std=, err_max=, layers={{name=, acc_min=, acc_max=,\n"
     "acc_bound=, out_min=, out_max=, sat_lo=, sat_hi=, overflow=}...}, text=}"},
    {"qsave", "PATH", "save a quantized model (int8 network + fake-quant state, safetensors)", qsave_pos, qmodel_only,
     rm_cmd_qsave, NULL},
    {"qload", "[NAME] PATH", "load a quantized model file as NAME and make it the current one", qload_pos, none,
     rm_cmd_qload, NULL},
    {"lut", "[errors]", "max error of the 64-entry activation tables per channel (lut errors block=0 layer=act1)",
     lut_pos, lut_opts, rm_cmd_lut, "Without block= one summary line per block and table; `plot lut` draws a channel."},
    {"import", "FILE", "convert a PyTorch checkpoint of the paper's code (torch.save .bin/.pt or .safetensors)",
     import_pos, import_opts, rm_cmd_import,
     "example: import ref/lerp_psa_64/h_mul_1_model.bin out=runs/lerp.safetensors name=lerp\n"
     "Runs tools/import_torch.py with /usr/bin/python3 (or $RESMLP_PYTHON): numpy reads zip-format torch.save files\n"
     "and safetensors; torch (python3-torch) is needed only for legacy files and whole pickled models, which\n"
     "also need the paper's source tree on PYTHONPATH (pythonpath=DIR). Also: resmlp import FILE -o OUT."},
    {"hls", "emit|csim|estimate|fold [DIR]", "HLS project from a quantized model; C simulation; estimates and folding",
     hls_pos, hls_opts, rm_cmd_hls,
     "examples: hls emit out/hls (the current quantized model)    hls emit out/hls qfile=runs/m_int8.safetensors\n"
     "          hls emit out/hls model=m ptq=true samples=8\n"
     "          hls csim out/hls (host g++, bit-exact with the integer engine)    hls estimate out/hls\n"
     "          hls estimate model=m    hls fold out/hls budget=lut:200k,dsp:1000 [target_fps=20000]\n"     "          hls estimate model=net pe=4,2 simd=9,16 (a layer-list net: FINN MVAU folding cycles per layer,\n"
     "          dense and with its SIMD-block pruned folds skipped)\n"
     "          hls emit out/hls_net samples=800 (a quantized layer-list net: net_params.h, one stage per layer;\n"
     "          sign stages write bits, n-bit activation stages multi-threshold int16 codes)\n"
     "emit writes quant_params.h, lerp_psa_params.h, quant_samples.h, the streaming HLS C++, its testbench,\n"
     "build.tcl and README.md; fold rewrites DIR/hls_parallelism.h. Lua returns tables."},
    {"synth", "DIR", "run Vitis HLS (or Vivado HLS) on an emitted project; Ctrl-C stops it", dir_pos, synth_opts,
     rm_cmd_synth, "The log streams with elapsed time; a failure prints the end of the log. Then the report table "
     "(Lua: {ok=, report=, summary={lut=, dsp=, ...}})."},
    {"report", "DIR", "latency, interval and resources of a synthesis report (Lua: a table)", dir_pos, report_opts,
     rm_cmd_report, NULL},
    {"sweep", "[DIR]", "grid of training runs (act, hidden, lr, seed, quant) on local processes or a Slurm job array; resumable",
     sweep_pos, sweep_opts, rm_cmd_sweep,
     "example: sweep runs/s1 act=relu,lerp_psa hidden=48,96 lr=1e-3,3e-3 seed=1,2 epochs=5 limit=10000\n"
     "         sweep runs/s1 (resume: finished cells are kept, the rest run)    sweep runs/s2 backend=slurm ...\n"
     "Each cell is a `resmlp sweep-cell DIR N` process writing DIR/cells/cell-N.csv (atomically) and its log;\n"
     "rows print as cells finish and DIR/results.csv gathers them. CLI: resmlp sweep DIR --act relu,gelu ...\n"
     "Lua: r = resmlp.sweep{dir=, act=\"relu,gelu\", ...} -> {cells=, finished=, failed=, complete=, csv=,\n"
     "rows={{cell=, act=, hidden=, lr=, seed=, quant=, test_acc=, int8_acc=, seconds=, ...}...}}"},
    {"who", "", "what is loaded: models, quantized models and data sets with sizes and memory", none, none, rm_cmd_who, NULL},
    {"threads", "[N]", "show or set the number of threads", threads_pos, none, rm_cmd_threads, NULL},
    {"precision", "[fp32|bf16]", "show or set the matmul precision and the CPU path in use", precision_pos, none,
     rm_cmd_precision, "bf16 trains with fp32 master weights and optimizer state, bf16 matmul inputs and fp32 "
     "accumulation; on a CPU without AVX-512 BF16 or AMX it stays fp32 and says so. RESMLP_ISA=amx|avx512_bf16|"
     "avx512|avx2|openblas lowers the path at start. Lua: resmlp.precision(\"bf16\") returns the precision in effect."},
    {"help", "[COMMAND|lua]", "list commands, or show one command's options", help_pos, none, rm_cmd_help_, NULL},
    {"quit", "[CODE]", "leave resmlp (Ctrl-D does too)", quit_pos, none, rm_cmd_quit, NULL},
    {NULL}};
