/* safetensors.h - read and write the safetensors format (8-byte little-endian header length,
 * JSON header via cJSON, raw little-endian data). Writes are atomic (temp file, fsync, rename).
 * Loading validates the header, dtypes, shapes and offsets and names the first problem. */
#ifndef RM_SAFETENSORS_H
#define RM_SAFETENSORS_H
#include "ctx.h"

enum { RM_F32 = 0, RM_I32, RM_I8, RM_U8, RM_I64, RM_F64 };
#define RM_ST_MAXDIM 8

typedef struct rm_st_tensor {
    char name[160];
    int dtype;                   /* RM_F32 ... */
    int ndim;
    int64_t shape[RM_ST_MAXDIM];
    const void *data;            /* save: source; load: points into the file buffer */
    size_t nbytes;
} rm_st_tensor;

typedef struct rm_st_file {
    int n;                       /* number of tensors */
    rm_st_tensor *t;             /* (n) */
    int nmeta;
    char **meta_key, **meta_val; /* __metadata__ string pairs */
    uint8_t *buf;                /* whole file */
    size_t size;
} rm_st_file;

int rm_dtype_size(int dtype);
const char *rm_dtype_name(int dtype);

/* write tensors + metadata atomically to path. Tensors are written in the given order. */
int rm_st_save(rm_ctx *ctx, const char *path, const rm_st_tensor *t, int n,
               const char *const *meta_key, const char *const *meta_val, int nmeta);
/* testing hook: if > 0, rm_st_save fails after writing this many data bytes (simulated crash). */
extern long rm_st_fail_after_bytes;

int rm_st_load(rm_ctx *ctx, const char *path, rm_st_file *f);
void rm_st_free(rm_st_file *f);
/* the path a loaded file was read from, for messages ("(no file)" when not loaded) */
const char *rm_st_path(const rm_st_file *f);
const rm_st_tensor *rm_st_find(const rm_st_file *f, const char *name);
const char *rm_st_meta(const rm_st_file *f, const char *key);
/* find a tensor and check dtype and shape; on mismatch error names the tensor, file and shapes */
int rm_st_get(rm_ctx *ctx, const rm_st_file *f, const char *name, int dtype, int ndim,
              const int64_t *shape, const void **data);
#endif
