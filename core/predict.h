/* predict.h - logits out of a model for other tools: the float (N,K) logits of an fp32 model or of the
 * INT8 integer engine (its int8 codes divided by the logits' scale), and writers for NumPy .npy
 * (format 1.0, '<f4', C order: np.load reads it) and CSV. Writes are atomic (temporary file, rename). */
#ifndef RM_PREDICT_H
#define RM_PREDICT_H
#include "model.h"
#include "data.h"
#include "quant.h"
#include "int_engine.h"

/* logits (ds->n, K) of m in eval mode (no augmentation), `batch` images at a time (<= 0: 256) */
int rm_predict(rm_ctx *ctx, rm_model *m, const rm_dataset *ds, int batch, float *logits);
/* logits (B, K) of m for inputs x (B, rm_model_input_size(m)) already in the model's layout
 * (normalised patches (B,T,P) for the ResMLP, flat rows for a net); chunks of 256 */
int rm_predict_inputs(rm_ctx *ctx, rm_model *m, const float *x, int B, float *logits);
/* the integer engine on ds (path RM_IE_*): logits (ds->n, K) = int8 code / s_logits */
int rm_predict_int8(rm_ctx *ctx, const rm_qmodel *q, const rm_qnet *net, const rm_dataset *ds, int path, float *logits);

/* data (rows, cols) float32 as a .npy file (version 1.0 header, shape (rows, cols)) */
int rm_write_npy_f32(rm_ctx *ctx, const char *path, const float *data, int rows, int cols);
/* data (rows, cols) as CSV: a header logit_0,...,logit_{cols-1}, then one row per line (%.9g) */
int rm_write_csv_f32(rm_ctx *ctx, const char *path, const float *data, int rows, int cols);
/* .npy or .csv from the extension; anything else is an error naming the path */
int rm_write_logits(rm_ctx *ctx, const char *path, const float *data, int rows, int cols);
/* write n bytes to path through path.tmp.PID + fsync + rename */
int rm_write_atomic(rm_ctx *ctx, const char *path, const void *data, size_t n);
#endif
