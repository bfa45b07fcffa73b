/* export.h - write a ResMLP as the state_dict of the paper's PyTorch code, with exactly its keys, so
 * `model.load_state_dict(torch.load(f))` (strict) takes it:
 *   - the parameters and BatchNorm statistics under their reference names, plus each BatchNorm's
 *     int64 `num_batches_tracked` (0-dim; resmlp does not count, so it is the value given);
 *   - B-spline activations as DeepSplines stores them: one flat `_coefficients_vect` (C*K) each;
 *   - LERP-PSA activations with the reference module's buffers `psa.grid` (G,C) (linspace(-R, R, G)
 *     per channel), `psa.epsilon` (1,) and `psa.grid_ifeat_offset` (1,C) int64 (c*G).
 * Formats: RM_EXPORT_PYTORCH, the zip archive torch.save writes (torch >= 1.6: ARCHIVE/data.pkl, a
 * protocol-2 pickle of an OrderedDict of torch._utils._rebuild_tensor_v2 calls, ARCHIVE/data/N raw
 * little-endian storages on 64-byte boundaries, ARCHIVE/version, ARCHIVE/byteorder), written without
 * torch; RM_EXPORT_SAFETENSORS, the same keys as safetensors (safetensors.torch.load_file reads it).
 * Writes are atomic (temporary file, then rename). Layer-list nets are refused (not the paper's model). */
#ifndef RM_EXPORT_H
#define RM_EXPORT_H
#include "model.h"

enum { RM_EXPORT_PYTORCH = 0, RM_EXPORT_SAFETENSORS = 1 };

int rm_export_reference(rm_ctx *ctx, const rm_model *m, const char *path, int format, long long batches_tracked);
#endif
