"""The soft-attention LSTM recurrence with a hand-written backward pass.

Differentiating a loop over the frames, as autodiff does, computes each
weight gradient step by step: per layer, `frames` outer products of `batch`
rows each, written out and summed. This recurrence keeps what the backward
pass needs from the forward loop, runs the per-step work backwards through
time, and computes every weight gradient once per sequence, as one matmul
over all `frames * batch` rows (as cuDNN does for plain LSTMs).

It is written with `keras.ops` and `keras.ops.custom_gradient`. The weights
enter the custom-gradient function as tensors, and their gradients leave it
as input gradients: TensorFlow's `custom_gradient` would otherwise have to be
told about every variable that the function reads.
"""

import keras
from keras import ops

from vidattn.utils.recurrence_loops import lstm_gate_activations
from vidattn.utils.recurrence_loops import previous_steps
from vidattn.utils.recurrence_loops import split_groups
from vidattn.utils.recurrence_loops import stacked_loop
from vidattn.utils.recurrence_loops import time_batch_rows


def soft_attention_recurrence(
    cell, sequences, initial_states, mask=None, dropout_masks=None, unroll=False
):
    """Runs a `SoftAttentionLSTMCell` over a sequence, with its own gradient.

    Computes what `vidattn.layers.SoftAttentionLSTM` computes by scanning
    `cell.step` over the frames (masked frames keep the states and repeat
    the previous outputs), and defines the gradient with respect to the
    features, the initial states and every weight of the cell by a backward
    loop through time whose weight gradients are one matmul per sequence.

    Args:
        cell: A built `vidattn.layers.SoftAttentionLSTMCell`.
        sequences: Features of shape `(batch, frames, locations, channels)`.
        initial_states: List of `2 * num_layers` tensors `(batch, units)` in
            the compute dtype, `[h_1, c_1, h_2, c_2, ...]`.
        mask: Optional boolean tensor `(batch, frames)`; `False` marks padded
            frames.
        dropout_masks: What `cell.dropout_masks()` returned for this sequence
            (training), or `None`.
        unroll: bool. Run both loops as Python loops (needs a fixed number of
            frames) instead of `keras.ops.scan`. Defaults to `False`.

    Returns:
        A tuple `(hidden_sequence, attention_weights, final_states)`: the top
        layer's `h(t)` `(batch, frames, units)` in the compute dtype, the
        float32 location softmaxes `(batch, frames, locations)`, and the list
        of states after the last frame.
    """
    dtype = cell.compute_dtype
    num_layers = cell.num_layers
    additive = cell.attention == "additive"
    frames = ops.transpose(ops.cast(sequences, dtype), (1, 0, 2, 3))
    if additive:
        attention_weights = [
            ops.cast(cell.attention_feature_kernel, dtype),
            ops.cast(cell.attention_state_kernel, dtype),
            ops.cast(cell.attention_bias, dtype),
            ops.cast(cell.attention_score_kernel, "float32"),
        ]
    else:
        attention_weights = [ops.cast(cell.attention_kernel, "float32")]
    arguments = {
        "frames": [frames],
        "keep": []
        if mask is None
        else [ops.expand_dims(ops.transpose(ops.cast(mask, dtype)), -1)],
        "dropout": [] if dropout_masks is None else list(dropout_masks),
        "attention": attention_weights,
        "kernels": [ops.cast(kernel, dtype) for kernel in cell.kernels],
        "biases": [ops.cast(bias, dtype) for bias in cell.biases],
        "states": [ops.cast(state, dtype) for state in initial_states],
    }
    recurrence = _Recurrence(
        num_layers, additive, dtype, list(arguments), unroll
    )
    flat = [tensor for group in arguments.values() for tensor in group]
    lengths = [len(group) for group in arguments.values()]
    outputs = ops.custom_gradient(
        lambda *tensors: recurrence.forward(split_groups(tensors, lengths))
    )(*flat)
    hidden, weights, *final_states = outputs
    return (
        ops.transpose(hidden, (1, 0, 2)),
        ops.transpose(weights, (1, 0, 2)),
        list(final_states),
    )


class _Recurrence:
    """The forward and backward loops of one configuration of the cell."""

    def __init__(self, num_layers, additive, dtype, groups, unroll):
        self.num_layers = num_layers
        self.additive = additive
        self.dtype = dtype
        self.groups = groups
        self.unroll = unroll

    def forward(self, groups):
        """The loop over the frames; returns its outputs and gradient.

        Besides the states, every step records what the backward pass
        reads: the location softmax, the attended input, each layer's gate
        sigmoids and candidate, and (with a mask) its unmasked new states.
        """
        (
            (frames,),
            keep,
            dropout,
            attention,
            kernels,
            biases,
            initial_states,
        ) = groups
        keep = keep[0] if keep else None
        dropout = dropout or None
        steps = frames.shape[0] if self.unroll else ops.shape(frames)[0]
        if self.unroll and not isinstance(steps, int):
            raise ValueError(
                "Expected a fixed number of frames with `unroll=True`. "
                f"Received: shape={tuple(frames.shape)}"
            )
        batch = ops.shape(frames)[1]
        # The additive form's feature projection is one matmul over every
        # location of every frame.
        projected = (
            ops.einsum("tbld,da->tbla", frames, attention[0])
            if self.additive
            else None
        )
        layers = range(self.num_layers)

        def step(carry, index):
            states, outputs, _ = carry
            frame = frames[index]
            top_hidden = states[-2]
            if self.additive:
                attention_hidden = self._additive_hidden(
                    projected[index], top_hidden, attention
                )
                logits = ops.squeeze(
                    ops.matmul(
                        ops.cast(attention_hidden, "float32"), attention[3]
                    ),
                    -1,
                )
            else:
                logits = ops.matmul(
                    ops.cast(top_hidden, "float32"), attention[0]
                )
            weights = ops.softmax(logits, axis=-1)
            attended = ops.einsum(
                "bl,bld->bd", ops.cast(weights, self.dtype), frame
            )
            layer_input = attended
            new_states, sigmoids, candidates = [], [], []
            for k in layers:
                if dropout is not None:
                    layer_input = layer_input * dropout[k]
                gates = (
                    ops.matmul(
                        ops.concatenate([layer_input, states[2 * k]], -1),
                        kernels[k],
                    )
                    + biases[k]
                )
                gate_sigmoids, g = lstm_gate_activations(gates)
                i, f, _, o = ops.split(gate_sigmoids, 4, -1)
                cell_state = f * states[2 * k + 1] + i * g
                layer_input = o * ops.tanh(cell_state)
                new_states += [layer_input, cell_state]
                sigmoids.append(gate_sigmoids)
                candidates.append(g)
            records = [weights, attended, sigmoids, candidates]
            if keep is None:
                return new_states, [layer_input, weights], records
            # Masked frames keep the states and repeat the outputs; the
            # unmasked new states are what the backward pass differentiates.
            kept = ops.cast(keep[index], "bool")
            records.append(new_states)
            states = [
                ops.where(kept, new, old)
                for new, old in zip(new_states, states)
            ]
            outputs = [
                ops.where(kept, new, old)
                for new, old in zip([layer_input, weights], outputs)
            ]
            return states, outputs, records

        units = initial_states[0].shape[-1]
        channels = frames.shape[-1]
        locations = frames.shape[-2]
        zeros = ops.zeros((batch, units), self.dtype)
        records = [
            ops.zeros((batch, locations), "float32"),
            ops.zeros((batch, channels), self.dtype),
            [ops.zeros((batch, 4 * units), self.dtype) for _ in layers],
            [zeros for _ in layers],
        ]
        if keep is not None:
            records.append([zeros for _ in initial_states])
        carry = (
            list(initial_states),
            [zeros, ops.zeros((batch, locations), "float32")],
            records,
        )
        final, (states_seq, outputs_seq, records_seq) = stacked_loop(
            step, carry, steps, reverse=False, unroll=self.unroll
        )
        saved = {
            "frames": frames,
            "keep": keep,
            "dropout": dropout,
            "attention": attention,
            "kernels": kernels,
            "projected": projected,
            "initial_states": initial_states,
            "states": states_seq,
            "weights": records_seq[0],
            "attended": records_seq[1],
            "sigmoids": records_seq[2],
            "candidates": records_seq[3],
            "new_states": states_seq if keep is None else records_seq[4],
            "steps": steps,
            "groups": groups,
        }
        results = (outputs_seq[0], outputs_seq[1], *final[0])

        def gradient(*upstream):
            upstream = keras.tree.flatten(upstream)
            upstream = [
                ops.zeros_like(result) if grad is None else grad
                for grad, result in zip(upstream, results)
            ]
            return self.backward(saved, upstream)

        return results, gradient

    def _additive_hidden(self, projected_frame, top_hidden, attention):
        query = ops.matmul(top_hidden, attention[1]) + attention[2]
        return ops.tanh(projected_frame + ops.expand_dims(query, 1))

    def backward(self, saved, upstream):
        """Gradients of every argument of the recurrence, in their order.

        The loop runs backwards through time carrying the gradients of the
        states and of the repeated outputs, and records per step what the
        weight gradients need: each layer's gate pre-activation gradients,
        the attended input's gradient and the logits' gradient (the
        additive form's pre-tanh gradient too). The weight gradients are
        then one matmul each over all `frames * batch` rows.
        """
        hidden_grads, weights_grads, *final_grads = upstream
        frames = saved["frames"]
        keep = saved["keep"]
        dropout = saved["dropout"]
        attention = saved["attention"]
        kernels = saved["kernels"]
        sigmoids = saved["sigmoids"]
        candidates = saved["candidates"]
        new_states = saved["new_states"]
        previous = [
            previous_steps(initial, sequence)
            for initial, sequence in zip(
                saved["initial_states"], saved["states"]
            )
        ]
        batch = ops.shape(frames)[1]
        locations = frames.shape[-2]
        layers = range(self.num_layers)
        # Transposed once, outside the loop: a transpose inside it would
        # copy every kernel at every step.
        transposed_kernels = [ops.transpose(kernel) for kernel in kernels]
        # The attention weights that read the top layer's previous state.
        transposed_state_kernel = ops.transpose(
            attention[1] if self.additive else attention[0]
        )
        input_widths = [
            kernel.shape[0] - kernel.shape[1] // 4 for kernel in kernels
        ]

        def step(carry, index):
            state_grads, output_grads, _ = carry
            hidden_grad = hidden_grads[index] + output_grads[0]
            weights_grad = weights_grads[index] + output_grads[1]
            if keep is None:
                new_grads = list(state_grads)
                new_grads[-2] = new_grads[-2] + hidden_grad
                previous_grads = [ops.zeros_like(g) for g in state_grads]
                output_grads = [ops.zeros_like(g) for g in output_grads]
            else:
                kept = ops.cast(keep[index], "bool")
                new_grads = [ops.where(kept, grad, 0.0) for grad in state_grads]
                new_grads[-2] = new_grads[-2] + ops.where(
                    kept, hidden_grad, 0.0
                )
                previous_grads = [
                    ops.where(kept, 0.0, grad) for grad in state_grads
                ]
                output_grads = [
                    ops.where(kept, 0.0, hidden_grad),
                    ops.where(kept, 0.0, weights_grad),
                ]
                weights_grad = ops.where(kept, weights_grad, 0.0)
            gate_grads = [None] * self.num_layers
            layer_output_grad = 0.0
            for k in reversed(layers):
                i, f, _, o = ops.split(sigmoids[k][index], 4, -1)
                g = candidates[k][index]
                cell_tanh = ops.tanh(new_states[2 * k + 1][index])
                hidden_grad_k = new_grads[2 * k] + layer_output_grad
                cell_grad = new_grads[2 * k + 1] + hidden_grad_k * o * (
                    1.0 - cell_tanh * cell_tanh
                )
                gate_grads[k] = ops.concatenate(
                    [
                        cell_grad * g * i * (1.0 - i),
                        cell_grad * previous[2 * k + 1][index] * f * (1.0 - f),
                        cell_grad * i * (1.0 - g * g),
                        hidden_grad_k * cell_tanh * o * (1.0 - o),
                    ],
                    -1,
                )
                input_grads = ops.matmul(gate_grads[k], transposed_kernels[k])
                previous_grads[2 * k] = (
                    previous_grads[2 * k] + input_grads[:, input_widths[k] :]
                )
                previous_grads[2 * k + 1] = (
                    previous_grads[2 * k + 1] + cell_grad * f
                )
                layer_output_grad = input_grads[:, : input_widths[k]]
                if dropout is not None:
                    layer_output_grad = layer_output_grad * dropout[k]
            attended_grad = layer_output_grad
            weights = saved["weights"][index]
            weights_grad = weights_grad + ops.cast(
                ops.einsum("bld,bd->bl", frames[index], attended_grad),
                "float32",
            )
            logits_grad = weights * (
                weights_grad
                - ops.sum(weights * weights_grad, axis=-1, keepdims=True)
            )
            records = [gate_grads, attended_grad, logits_grad]
            top_hidden = previous[-2][index]
            if self.additive:
                attention_hidden = self._additive_hidden(
                    saved["projected"][index], top_hidden, attention
                )
                hidden_score_grad = ops.cast(
                    ops.expand_dims(logits_grad, -1)
                    * ops.squeeze(attention[3], -1),
                    self.dtype,
                )
                pre_tanh_grad = hidden_score_grad * (
                    1.0 - attention_hidden * attention_hidden
                )
                query_grad = ops.sum(pre_tanh_grad, axis=1)
                top_grad = ops.matmul(query_grad, transposed_state_kernel)
                score_kernel_grad = carry[2][4] + ops.einsum(
                    "bla,bl->a",
                    ops.cast(attention_hidden, "float32"),
                    logits_grad,
                )
                records += [pre_tanh_grad, score_kernel_grad, query_grad]
            else:
                top_grad = ops.cast(
                    ops.matmul(logits_grad, transposed_state_kernel),
                    self.dtype,
                )
            previous_grads[-2] = previous_grads[-2] + top_grad
            return previous_grads, output_grads, records

        units = kernels[0].shape[1] // 4
        records = [
            [ops.zeros((batch, 4 * units), self.dtype) for _ in layers],
            ops.zeros((batch, frames.shape[-1]), self.dtype),
            ops.zeros((batch, locations), "float32"),
        ]
        if self.additive:
            width = attention[1].shape[-1]
            records += [
                ops.zeros((batch, locations, width), self.dtype),
                ops.zeros((width,), "float32"),
                ops.zeros((batch, width), self.dtype),
            ]
        carry = (
            list(final_grads),
            [ops.zeros_like(final_grads[0]), ops.zeros((batch, locations))],
            records,
        )
        final, (_, _, records_seq) = stacked_loop(
            step, carry, saved["steps"], reverse=True, unroll=self.unroll
        )
        initial_grads = final[0]
        gate_grads_seq, attended_grads, logits_grads = records_seq[:3]

        kernel_grads, bias_grads = [], []
        for k in layers:
            if k == 0:
                layer_inputs = saved["attended"]
            else:
                layer_inputs = new_states[2 * (k - 1)]
            if dropout is not None:
                layer_inputs = layer_inputs * dropout[k]
            rows = time_batch_rows(
                ops.concatenate([layer_inputs, previous[2 * k]], -1)
            )
            gate_rows = time_batch_rows(gate_grads_seq[k])
            kernel_grads.append(ops.matmul(ops.transpose(rows), gate_rows))
            bias_grads.append(ops.sum(gate_rows, axis=0))

        weights_seq = ops.cast(saved["weights"], self.dtype)
        frames_grad = ops.einsum("tbl,tbd->tbld", weights_seq, attended_grads)
        top_rows = time_batch_rows(previous[-2])
        if self.additive:
            pre_tanh_grads = records_seq[3]
            score_kernel_grad = final[2][4]
            query_rows = time_batch_rows(records_seq[5])
            location_rows = ops.reshape(
                pre_tanh_grads, (-1, pre_tanh_grads.shape[-1])
            )
            frame_rows = ops.reshape(frames, (-1, frames.shape[-1]))
            attention_grads = [
                ops.matmul(ops.transpose(frame_rows), location_rows),
                ops.matmul(ops.transpose(top_rows), query_rows),
                ops.sum(query_rows, axis=0),
                ops.expand_dims(score_kernel_grad, -1),
            ]
            frames_grad = frames_grad + ops.einsum(
                "tbla,da->tbld", pre_tanh_grads, attention[0]
            )
        else:
            attention_grads = [
                ops.matmul(
                    ops.transpose(ops.cast(top_rows, "float32")),
                    time_batch_rows(logits_grads),
                )
            ]

        groups = saved["groups"]
        grads = {
            "frames": [frames_grad],
            "keep": [ops.zeros_like(t) for t in groups[1]],
            "dropout": [ops.zeros_like(t) for t in groups[2]],
            "attention": attention_grads,
            "kernels": kernel_grads,
            "biases": bias_grads,
            "states": list(initial_grads),
        }
        return tuple(grad for name in self.groups for grad in grads[name])
