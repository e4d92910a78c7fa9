"""An LSTM over precomputed input gates, with a hand-written backward pass.

Also the pieces that the captioner's attending recurrence
(`vidattn.models.caption_decoder_recurrence`) shares with it: one LSTM
step forward and backward, and a backward loop through time that stacks
each step's records but not its running sums.
"""

import keras
from keras import ops

from vidattn.utils.recurrence_loops import lstm_gate_activations
from vidattn.utils.recurrence_loops import previous_steps
from vidattn.utils.recurrence_loops import stacked_loop
from vidattn.utils.recurrence_loops import time_batch_rows


def lstm_step(gates, cell):
    """`(hidden, cell, gate_sigmoids, candidate)` of one LSTM step."""
    sigmoids, candidate = lstm_gate_activations(gates)
    input_gate, forget_gate, _, output_gate = ops.split(sigmoids, 4, -1)
    cell = forget_gate * cell + input_gate * candidate
    return output_gate * ops.tanh(cell), cell, sigmoids, candidate


def lstm_step_gradient(hidden_grad, cell_grad, records, index):
    """`(gate_grads, previous_cell_grad)` of the LSTM step at `index`.

    `records` holds the stacked gate sigmoids, candidates, new cell states
    and the cell states each step read.
    """
    sigmoids, candidates, cells, previous_cells = records
    input_gate, forget_gate, _, output_gate = ops.split(sigmoids[index], 4, -1)
    candidate = candidates[index]
    cell_tanh = ops.tanh(cells[index])
    cell_grad = cell_grad + hidden_grad * output_gate * (
        1.0 - cell_tanh * cell_tanh
    )
    gate_grads = ops.concatenate(
        [
            cell_grad * candidate * input_gate * (1.0 - input_gate),
            cell_grad
            * previous_cells[index]
            * forget_gate
            * (1.0 - forget_gate),
            cell_grad * input_gate * (1.0 - candidate * candidate),
            hidden_grad * cell_tanh * output_gate * (1.0 - output_gate),
        ],
        -1,
    )
    return gate_grads, cell_grad * forget_gate


def reverse_loop(step, carry, accumulators, steps):
    """Runs `carry, accumulators = step(carry, accumulators, t)` backwards.

    Stacks every word's carry, as `stacked_loop` does, but not the accumulators:
    Keras's TensorFlow `scan` would stack them too, keeping a copy of a
    `(batch, locations, attention_units)` sum per word.
    """
    buffers = keras.tree.map_structure(
        lambda value: ops.zeros(
            (steps,) + tuple(ops.shape(value)), value.dtype
        ),
        carry,
    )

    def body(index, carry, accumulators, buffers):
        carry, accumulators = step(carry, accumulators, index)
        position = ops.reshape(index, (1, 1))
        buffers = keras.tree.map_structure(
            lambda buffer, value: ops.scatter_update(
                buffer, position, ops.expand_dims(value, 0)
            ),
            buffers,
            carry,
        )
        return index - 1, carry, accumulators, buffers

    _, carry, accumulators, buffers = ops.while_loop(
        lambda index, *_: index >= 0,
        body,
        (steps - 1, carry, accumulators, buffers),
    )
    return carry, accumulators, buffers


def upstream_or_zeros(upstream, results):
    """The outputs' gradients, zeros for those that got none."""
    return [
        ops.zeros_like(result) if grad is None else grad
        for grad, result in zip(keras.tree.flatten(upstream), results)
    ]


def lstm_recurrence(word_gates, recurrent_kernel, hidden, cell):
    """An LSTM over precomputed input gates, for `keras.ops.custom_gradient`.

    The gates of step `t` are `word_gates[t] + h(t-1) @ recurrent_kernel`;
    the backward loop through time records each step's gate gradients,
    and the kernel's gradient is one matmul over all `steps * batch` rows.

    Args:
        word_gates: `(steps, batch, 4 * units)`, time-major, with the bias.
        recurrent_kernel: `(units, 4 * units)`.
        hidden: The initial `h`, `(batch, units)`.
        cell: The initial `c`, `(batch, units)`.

    Returns:
        A tuple `((hidden_sequence,), gradient)`: `h(t)` of every step,
        `(steps, batch, units)`, and the function of its gradient that
        returns the gradients of the four arguments.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> from vidattn.models.lstm_recurrence import lstm_recurrence
    >>> gates = np.zeros((5, 2, 16), "float32")
    >>> kernel = np.zeros((4, 16), "float32")
    >>> state = np.zeros((2, 4), "float32")
    >>> (hidden,) = ops.custom_gradient(lstm_recurrence)(
    ...     gates, kernel, state, state
    ... )
    >>> tuple(hidden.shape)
    (5, 2, 4)
    """

    def step(carry, index):
        hidden, cell, _, _ = carry
        gates = word_gates[index] + ops.matmul(hidden, recurrent_kernel)
        return lstm_step(gates, cell)

    zeros = ops.zeros_like(hidden)
    carry = (hidden, cell, ops.zeros_like(word_gates[0]), zeros)
    _, (hiddens, cells, sigmoids, candidates) = stacked_loop(
        step, carry, ops.shape(word_gates)[0], reverse=False, unroll=False
    )
    previous_hidden = previous_steps(hidden, hiddens)
    lstm_records = (sigmoids, candidates, cells, previous_steps(cell, cells))
    transposed_kernel = ops.transpose(recurrent_kernel)

    def gradient(*upstream):
        (hidden_grads,) = upstream_or_zeros(upstream, (hiddens,))

        def backward_step(carry, index):
            hidden_grad, cell_grad, _ = carry
            gate_grads, cell_grad = lstm_step_gradient(
                hidden_grad + hidden_grads[index],
                cell_grad,
                lstm_records,
                index,
            )
            hidden_grad = ops.matmul(gate_grads, transposed_kernel)
            return hidden_grad, cell_grad, gate_grads

        carry = (zeros, zeros, ops.zeros_like(word_gates[0]))
        (hidden_grad, cell_grad, _), (_, _, gate_grads) = stacked_loop(
            backward_step,
            carry,
            ops.shape(word_gates)[0],
            reverse=True,
            unroll=False,
        )
        kernel_grad = ops.matmul(
            ops.transpose(time_batch_rows(previous_hidden)),
            time_batch_rows(gate_grads),
        )
        return gate_grads, kernel_grad, hidden_grad, cell_grad

    return (hiddens,), gradient
