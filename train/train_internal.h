/*
 * train_internal.h - the trainer's back-propagation of one decision,
 * shared by train.c and its tests (tests/test_train.c checks it against
 * finite differences through a real emulator decision).
 */
#ifndef TRAIN_INTERNAL_H
#define TRAIN_INTERNAL_H

#include "coflow/learned.h"

/* Adds the gradient of Σ_i dscores[i] · score_i of step s (its n rows)
 * into ga and gg: through the scorer, then each row's input back to the
 * encoder node it was gathered from (s->row_node; nodes not scored, the
 * coflows not schedulable yet, get nothing there), then the encoder.
 * dX [n × E] and dOut [n_nodes × E] scratch, E the encoder's output width. */
void train_step_backward(const coflow_learned_step_t *s, const weft_real_t *dscores,
                         weft_real_t *dX, weft_real_t *dOut, gnn_params_t *gg, attn_params_t *ga);

#endif
