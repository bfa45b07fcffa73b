/* live.h - the full-screen ncurses training view: progress bar with epoch/step, images/s and ETA,
 * loss/accuracy charts, a panel of activation curves of a chosen layer redrawn as they learn, and a
 * status line with the keys (arrows or [ ] change block/layer/channel page, m canvas mode, p pause,
 * q stop at a safe point). It runs inside the training callback, so it reads a consistent model
 * between steps and holds nothing during a step; redraws are throttled to ~10 Hz. The terminal is
 * restored by rm_live_close (idempotent), also registered with atexit as a last resort. */
#ifndef RM_LIVE_H
#define RM_LIVE_H
#include "core/train.h"

typedef struct rm_live rm_live;

/* opens the view on the terminal (stdin/stdout must be a terminal); NULL with a message otherwise */
rm_live *rm_live_open(rm_ctx *ctx, const rm_model *m, const char *title);
/* call from the training callback; returns 1 when the user asked to stop (q) */
int rm_live_update(rm_live *lv, const rm_train_stats *s, int epoch_end);
/* seconds spent drawing so far (for the overhead benchmark) */
double rm_live_draw_seconds(const rm_live *lv);
void rm_live_close(rm_live *lv);
#endif
