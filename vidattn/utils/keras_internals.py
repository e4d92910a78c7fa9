"""The pieces of Keras that vidattn needs and Keras does not export.

This is the only module of vidattn that imports from `keras.src`; pin Keras
(setup.py does) and check this file when upgrading it.

- `DropoutRNNCell`: the mixin that `keras.layers.RNN` recognises to reset a
  cell's dropout masks at the start of every sequence, so that a mask is
  fixed over the steps of one sequence and new for the next. Keras's own
  `LSTMCell` uses it; there is no public base class for custom cells.
- `scale_loss_for_distribution`: divides a loss by the number of replicas
  under `tf.distribute`, as every Keras loss does before the gradients are
  summed over replicas. A model that computes its own loss in
  `compute_loss` must do the same, and Keras keeps the helper private.
- `AutocastScope`: reads float32 variables in a mixed policy's compute
  dtype, as `Layer.__call__` does around `call`. A serving function that
  runs a cell's `step` outside any layer call needs it.
"""

from keras.src.backend import AutocastScope  # noqa: F401
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell  # noqa: F401
from keras.src.losses.loss import scale_loss_for_distribution  # noqa: F401
