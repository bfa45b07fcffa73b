/* table.h - tabular data: a CSV / whitespace table loader (numeric features, a label column by name or
 * index, header or not, errors naming file, row and column), the UCI Vertebral Column sets, MiniMNIST,
 * stratified train/test splits and k-fold cross-validation over any data set (tabular or images).
 * Tabular sets live in rm_dataset.feat (n, features) with c = features, h = w = 1. */
#ifndef RM_TABLE_H
#define RM_TABLE_H
#include "data.h"

#define RM_TABLE_MAXCLASS 255
typedef struct rm_table_opts {
    const char *label;      /* label column: a header name, or an index ("-1" = last, "0" = first); NULL = last */
    int header;             /* -1 auto (first row has a non-numeric feature cell), 0 no, 1 yes */
    char sep;               /* 0 auto (',' ';' tab, else whitespace runs), or the separator */
    const char *classes;    /* "DH,SL,NO": class names in label order (NULL: order of first appearance;
                               integer labels are used as they are) */
    int standardise;        /* z-score each feature with this set's mean/std (1) */
} rm_table_opts;

typedef struct rm_table_info {
    int nclass;
    char names[RM_TABLE_MAXCLASS][32];   /* class names ("" for integer labels) */
    int nfeat;
    float mean[1024], std[1024];         /* per feature, before standardising (first 1024 features) */
} rm_table_info;

rm_table_opts rm_table_defaults(void);
/* load path into ds (zeroed on error); info may be NULL */
int rm_table_load(rm_ctx *ctx, rm_dataset *ds, const char *path, const rm_table_opts *o, rm_table_info *info);
/* z-score ds's features with the given mean/std (std 0 -> only centred); compute them with
 * rm_table_stats to standardise a test split with the training statistics */
void rm_table_stats(const rm_dataset *ds, float *mean, float *std);
void rm_table_standardise(rm_dataset *ds, const float *mean, const float *std);

/* UCI Vertebral Column: column_3C.dat (6 features, DH/SL/NO -> 0,1,2) or column_2C.dat (AB/NO -> 0,1);
 * features standardised */
int rm_vertebral_load(rm_ctx *ctx, rm_dataset *ds, const char *path, rm_table_info *info);

/* stratified split: each class shuffled with seed, round(frac * class count) of it to `test` (the total
 * adjusted to round(frac * n) on the largest classes); order within each part follows the source */
int rm_split_stratified(rm_ctx *ctx, const rm_dataset *src, double test_frac, uint64_t seed, rm_dataset *train,
                        rm_dataset *test);
/* fold `fold` (0..k-1) of k-fold cross-validation: val = that fold, train = the rest; stratified deals
 * each class's shuffled members round-robin over the folds */
int rm_kfold(rm_ctx *ctx, const rm_dataset *src, int k, int fold, uint64_t seed, int stratified, rm_dataset *train,
             rm_dataset *val);
/* a copy of the samples idx[0..n) of src */
int rm_dataset_pick(rm_ctx *ctx, rm_dataset *dst, const rm_dataset *src, const int *idx, int n);

/* MiniMNIST: the first 4,000 MNIST training images split stratified 3,200 / 800 with seed */
int rm_minimnist_load(rm_ctx *ctx, const char *mnist_dir, uint64_t seed, rm_dataset *train, rm_dataset *test);
#endif
