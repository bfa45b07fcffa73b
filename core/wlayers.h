/* wlayers.h - the weight layers of either model kind as one list, for the compression tools (GPFQ, lumping,
 * pruning): the ResMLP's embedding, token-mixing, channel-MLP fc1/fc2 and classifier Linears, and a
 * layer-list net's linear/conv layers, each with its weight (rows, fan_in), its bias and a way to get
 * its input matrix for a batch. No algorithm lives here. */
#ifndef RM_WLAYERS_H
#define RM_WLAYERS_H
#include "model.h"
#include "data.h"

enum { RM_WL_NET_LINEAR = 0, RM_WL_NET_CONV, RM_WL_EMBED, RM_WL_TOK, RM_WL_FC1, RM_WL_FC2, RM_WL_CLS };

typedef struct rm_wlayer {
    char name[96];     /* weight tensor name ("layers.3.weight", "layers.0.layers.1.layers.0.weight") */
    int kind;          /* RM_WL_* */
    int rows, cols;    /* weight (rows, cols) = (outputs, fan_in), row-major */
    int index;         /* net: layer index; ResMLP: block (-1 embedding, L classifier) */
    int wq;            /* net: the layer's weight quantiser RM_WQ_* (RM_WQ_FLOAT for the ResMLP) */
} rm_wlayer;

#define RM_MAX_WLAYERS 80
/* the weight layers in forward order; returns their count (<= max) */
int rm_wlayers(const rm_model *m, rm_wlayer *out, int max);
float *rm_wlayer_w(rm_model *m, const rm_wlayer *L);   /* (rows, cols) latent float weights */
float *rm_wlayer_b(rm_model *m, const rm_wlayer *L);   /* (rows) bias or NULL */
const char *rm_wlayer_label(const rm_model *m, const rm_wlayer *L, char *buf, size_t n);  /* "fc1 block 2" */

/* Forward a batch x (as rm_model_forward takes it, eval mode) just far enough and point *X at the input
 * matrix of layer L in the model's cache. Linear layers: *trans = 0 and X is (*nrows, cols) row-major;
 * token mixing: *trans = 1 and X is (cols, *nrows) (the cache's (T, B*D) layout). Conv layers are not
 * supported (an error). */
int rm_wlayer_input(rm_ctx *ctx, rm_model *m, const rm_wlayer *L, const float *x, int B, const float **X,
                    int *nrows, int *trans);
/* Conv layer L: forward a batch x just far enough and point *map at the layer's input feature map in the
 * model's cache, (B, C*H*W), NHWC when *nhwc (else CHW); C, H, W its shape. (GPFQ takes im2col patches.) */
int rm_wlayer_conv_input(rm_ctx *ctx, rm_model *m, const rm_wlayer *L, const float *x, int B, const float **map,
                         int *C, int *H, int *W, int *nhwc);
/* build a batch of images idx[0..B) the way the model takes it (patch tensor or flat rows), no augmentation */
void rm_wlayer_batch(const rm_model *m, const rm_dataset *ds, const int *idx, int B, float *x, int *y);
#endif
