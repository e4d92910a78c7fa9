"""The captioner's word recurrence with a hand-written backward pass.

Teacher forcing runs the decoder's LSTM over the caption's words while it
attends over the video's locations. Differentiating that loop, as autodiff
does, computes each weight gradient word by word: `words` outer products of
`batch` rows each. This recurrence keeps what the backward pass needs from
the forward loop, runs the per-word work backwards through time, and
computes every weight gradient once per caption batch, as one matmul over
all `words * batch` rows (as `vidattn.layers.soft_attention_recurrence`
does for the action model).

Where the video enters the LSTM without depending on the hidden state
(`attention="uniform"`, whose expected feature is the same at every word,
and `video_input="first_step"`, where only the first word sees it), the
attention runs once outside the loop and the loop is a plain LSTM.
"""

from keras import ops

from vidattn.models.lstm_recurrence import lstm_recurrence
from vidattn.models.lstm_recurrence import lstm_step
from vidattn.models.lstm_recurrence import lstm_step_gradient
from vidattn.models.lstm_recurrence import reverse_loop
from vidattn.models.lstm_recurrence import upstream_or_zeros
from vidattn.utils.recurrence_loops import previous_steps
from vidattn.utils.recurrence_loops import split_groups
from vidattn.utils.recurrence_loops import stacked_loop
from vidattn.utils.recurrence_loops import time_batch_rows

# Steps of the autodiff scan over the words that may run at once (see
# `vidattn.layers.soft_attention_lstm.SCAN_UNROLL`).
SCAN_UNROLL = 10


def caption_decoder_recurrence(
    model, word_gates, context, initial_states, dropout_masks=None
):
    """Runs a `VideoCaptioner`'s decoder over the words, with its gradient.

    Computes what scanning `model.recurrent_step` over the words computes,
    and defines the gradient with respect to the word gates, the prepared
    context, the initial states and every weight that the loop reads by a
    backward loop through time whose weight gradients are one matmul per
    sequence.

    Args:
        model: A built `vidattn.models.VideoCaptioner`.
        word_gates: What `model.word_gates()` gave for the previous words,
            time-major: `(words, batch, 4 * units)`.
        context: What `model.prepare_context()` returned.
        initial_states: What `model.initial_states()` returned.
        dropout_masks: What `model.dropout_masks()` returned, or `None`.

    Returns:
        A tuple `(hidden, expected_features, attention_weights, beta)`,
        time-major: `h_t` `(words, batch, units)` and `x_t`
        `(words, batch, D)` in the compute dtype, the float32 location
        softmaxes `(words, batch, N*K*K)` and gates `(words, batch)`.
    """
    dtype = model.compute_dtype
    attention_layer = model.attention_layer
    hidden, cell = [ops.cast(state, dtype) for state in initial_states[:2]]
    word_gates = ops.cast(word_gates, dtype)
    context_dropout = (
        None if dropout_masks is None else dropout_masks["lstm_context"]
    )
    recurrent_kernel = ops.cast(model.recurrent_kernel, dtype)
    context_kernel = ops.cast(model.context_kernel, dtype)
    if model.video_input == "first_step" or attention_layer.attention == (
        "uniform"
    ):
        return _fixed_context_recurrence(
            model, word_gates, context, hidden, cell, context_dropout
        )

    additive = attention_layer.attention == "additive"
    if additive:
        attention_weights = [
            ops.cast(attention_layer.attention_state_kernel, dtype),
            ops.cast(attention_layer.attention_bias, dtype),
            ops.cast(attention_layer.attention_score_kernel, "float32"),
        ]
    else:
        attention_weights = [
            ops.cast(attention_layer.attention_kernel, "float32")
        ]
    *hidden_layers, logit_layer = attention_layer.gate
    gate_weights = []
    for dense in hidden_layers:
        gate_weights += [ops.cast(dense.kernel, dtype)]
        gate_weights += [ops.cast(dense.bias, dtype)]
    gate_weights += [
        ops.cast(logit_layer.kernel, "float32"),
        ops.cast(logit_layer.bias, "float32"),
    ]
    location_mask = context.get("location_mask")
    arguments = {
        "word_gates": [word_gates],
        "locations": [ops.cast(context["locations"], dtype)],
        "projected": [ops.cast(context["projected_locations"], dtype)]
        if additive
        else [],
        "mask": []
        if location_mask is None
        else [ops.cast(location_mask, "float32")],
        "dropout": [] if context_dropout is None else [context_dropout],
        "attention": attention_weights,
        "gate": gate_weights,
        "kernels": [recurrent_kernel, context_kernel],
        "states": [hidden, cell],
    }
    recurrence = _AttentionRecurrence(additive, dtype, list(arguments))
    flat = [tensor for group in arguments.values() for tensor in group]
    lengths = [len(group) for group in arguments.values()]
    return tuple(
        ops.custom_gradient(
            lambda *tensors: recurrence.forward(split_groups(tensors, lengths))
        )(*flat)
    )


def scanned_caption_decoder(
    model, word_gates, context, initial_states, dropout_masks=None
):
    """`caption_decoder_recurrence`'s loop, differentiated by autodiff.

    `keras.ops.scan` of `model.recurrent_step` over the words (the
    captioner's `implementation="autodiff"`); same arguments and outputs.
    """

    # `keras.ops.scan` on TensorFlow stacks outputs of the carry's
    # structure, so each step's outputs travel in the carry; its one
    # scanned sequence may have an unknown length.
    def scan_step(carry, step_gates):
        new_states, expected, weights, beta = model.recurrent_step(
            step_gates, carry[0], context, dropout_masks
        )
        carry = (new_states, expected, weights, beta)
        return carry, carry

    locations = context["locations"]
    batch_size, num_locations = ops.shape(locations)[:2]
    start = (
        initial_states,
        ops.zeros((batch_size, locations.shape[-1]), model.compute_dtype),
        ops.zeros((batch_size, num_locations), "float32"),
        ops.zeros((batch_size,), "float32"),
    )
    _, (states, expected, weights, beta) = ops.scan(
        scan_step, start, word_gates, unroll=SCAN_UNROLL
    )
    return states[0], expected, weights, beta


def _fixed_context_recurrence(
    model, word_gates, context, hidden, cell, context_dropout
):
    """The loop when the video's input does not depend on the states.

    The attention reads only the initial state (uniform weights ignore it;
    with `video_input="first_step"` only the first word's attention is
    used), so it runs once, its part of the gates is added to the words',
    and the loop is a plain LSTM.
    """
    expected, weights, beta = model.attention_layer.attend(context, hidden)
    dropped = (
        expected if context_dropout is None else expected * context_dropout
    )
    context_gates = ops.matmul(
        dropped, ops.cast(model.context_kernel, model.compute_dtype)
    )
    steps = ops.shape(word_gates)[0]
    if model.video_input == "first_step":
        # 1 at the first word, 0 after: the video enters once.
        entered = ops.cast(ops.equal(ops.arange(steps), 0), "float32")
    else:
        entered = ops.ones((steps,), "float32")
    entered_gates = ops.cast(entered, word_gates.dtype)[:, None, None]
    word_gates = word_gates + entered_gates * context_gates[None]
    (hidden_sequence,) = ops.custom_gradient(lstm_recurrence)(
        word_gates,
        ops.cast(model.recurrent_kernel, model.compute_dtype),
        hidden,
        cell,
    )
    return (
        hidden_sequence,
        entered_gates * expected[None],
        entered[:, None, None] * weights[None],
        entered[:, None] * beta[None],
    )


class _AttentionRecurrence:
    """The forward and backward loops of the attending decoder."""

    def __init__(self, additive, dtype, groups):
        self.additive = additive
        self.dtype = dtype
        self.groups = groups

    def _location_logits(self, hidden, projected, attention):
        """Float32 logits and (additive) the tanh layer, `(b, l[, a])`."""
        if not self.additive:
            return ops.matmul(ops.cast(hidden, "float32"), attention[0]), None
        query = ops.matmul(hidden, attention[0]) + attention[1]
        attention_hidden = ops.tanh(projected + ops.expand_dims(query, 1))
        logits = ops.matmul(ops.cast(attention_hidden, "float32"), attention[2])
        return ops.squeeze(logits, -1), attention_hidden

    def _gate(self, hidden, gate):
        """`(beta, activations)`: the gate and the inputs of its layers."""
        activations = [hidden]
        for index in range(0, len(gate) - 2, 2):
            hidden = ops.tanh(ops.matmul(hidden, gate[index]) + gate[index + 1])
            activations.append(hidden)
        logit = ops.matmul(ops.cast(hidden, "float32"), gate[-2]) + gate[-1]
        return ops.sigmoid(ops.squeeze(logit, -1)), activations

    def forward(self, groups):
        """The loop over the words; returns its outputs and gradient.

        Besides the states, every word records what the backward pass
        reads: the location softmax, the gate and the unscaled expected
        feature, the gate MLP's hidden activations, and the LSTM's gate
        sigmoids and candidate. The additive tanh layer, `(batch,
        locations, attention_units)` per word, is recomputed instead.
        """
        (
            (word_gates,),
            (locations,),
            projected,
            mask,
            dropout,
            attention,
            gate,
            (recurrent_kernel, context_kernel),
            (hidden, cell),
        ) = groups
        projected = projected[0] if projected else None
        valid = ops.greater(mask[0], 0.0) if mask else None
        dropout = dropout[0] if dropout else None

        def step(carry, index):
            hidden, cell = carry[:2]
            logits, _ = self._location_logits(hidden, projected, attention)
            if valid is not None:
                logits = ops.where(valid, logits, -1e9)
            weights = ops.softmax(logits, axis=-1)
            if valid is not None:
                weights = weights * mask[0]
            beta, activations = self._gate(hidden, gate)
            attended = ops.einsum(
                "bl,bld->bd", ops.cast(weights, self.dtype), locations
            )
            expected = attended * ops.cast(
                ops.expand_dims(beta, -1), self.dtype
            )
            lstm_input = expected if dropout is None else expected * dropout
            gates = (
                word_gates[index]
                + ops.matmul(hidden, recurrent_kernel)
                + ops.matmul(lstm_input, context_kernel)
            )
            hidden, cell, sigmoids, candidate = lstm_step(gates, cell)
            return (
                hidden,
                cell,
                expected,
                weights,
                beta,
                attended,
                sigmoids,
                candidate,
                activations[1:],
            )

        batch = ops.shape(word_gates)[1]
        probe = self._gate(hidden, gate)[1][1:]
        carry = (
            hidden,
            cell,
            ops.zeros((batch, locations.shape[-1]), self.dtype),
            ops.zeros(ops.shape(locations)[:2], "float32"),
            ops.zeros((batch,), "float32"),
            ops.zeros((batch, locations.shape[-1]), self.dtype),
            ops.zeros_like(word_gates[0]),
            ops.zeros_like(hidden),
            [ops.zeros_like(activation) for activation in probe],
        )
        _, records = stacked_loop(
            step, carry, ops.shape(word_gates)[0], reverse=False, unroll=False
        )
        hiddens, cells, expected, weights, beta = records[:5]
        saved = {
            "groups": groups,
            "records": records,
            "projected": projected,
            "dropout": dropout,
            "previous_hidden": previous_steps(hidden, hiddens),
            "previous_cell": previous_steps(cell, cells),
        }
        results = (hiddens, expected, weights, beta)

        def gradient(*upstream):
            return self.backward(saved, upstream_or_zeros(upstream, results))

        return results, gradient

    def backward(self, saved, upstream):
        """Gradients of every argument of the recurrence, in their order.

        The loop runs backwards through the words carrying the states'
        gradients (and, additive, the gradient of the projected locations
        and of the score vector, which every word adds to), and records
        per word what the weight gradients need: the LSTM's gate
        gradients, the attended feature's, the location logits' (linear)
        or the query's (additive), and the gate MLP's pre-activations'.
        The weight gradients are then one matmul each over all `words *
        batch` rows.
        """
        groups = saved["groups"]
        (
            (word_gates,),
            (locations,),
            _,
            mask,
            _,
            attention,
            gate,
            (recurrent_kernel, context_kernel),
            (hidden, cell),
        ) = groups
        projected = saved["projected"]
        dropout = saved["dropout"]
        (
            _,
            cells,
            expected,
            weights,
            beta,
            attended,
            sigmoids,
            candidates,
            activations,
        ) = saved["records"]
        previous_hidden = saved["previous_hidden"]
        lstm_records = (sigmoids, candidates, cells, saved["previous_cell"])
        hidden_grads, expected_grads, weights_grads, beta_grads = upstream
        # Transposed once, outside the loop: a transpose inside it would
        # copy every kernel at every word.
        transposed_recurrent = ops.transpose(recurrent_kernel)
        transposed_context = ops.transpose(context_kernel)
        transposed_query = ops.transpose(attention[0])
        transposed_gate = [
            ops.transpose(gate[i]) for i in range(0, len(gate), 2)
        ]
        hidden_gate_layers = range(len(transposed_gate) - 1)

        def step(carry, accumulators, index):
            hidden_grad, cell_grad = carry[:2]
            gate_grads, previous_cell_grad = lstm_step_gradient(
                hidden_grad + hidden_grads[index],
                cell_grad,
                lstm_records,
                index,
            )
            previous_hidden_grad = ops.matmul(gate_grads, transposed_recurrent)
            expected_grad = ops.matmul(gate_grads, transposed_context)
            if dropout is not None:
                expected_grad = expected_grad * dropout
            expected_grad = expected_grad + expected_grads[index]
            step_beta = beta[index]
            attended_grad = expected_grad * ops.cast(
                ops.expand_dims(step_beta, -1), self.dtype
            )
            beta_grad = beta_grads[index] + ops.sum(
                ops.cast(expected_grad * attended[index], "float32"), -1
            )
            step_weights = weights[index]
            weights_grad = weights_grads[index] + ops.cast(
                ops.einsum("bld,bd->bl", locations, attended_grad), "float32"
            )
            logits_grad = step_weights * (
                weights_grad
                - ops.sum(step_weights * weights_grad, -1, keepdims=True)
            )
            step_hidden = previous_hidden[index]
            if self.additive:
                # With `a = tanh(P + q)` and `s = dlogits * score_kernel`
                # (outer product), the pre-tanh gradient is `s * (1 - a^2)`;
                # its sum over locations (the query's gradient) and its sum
                # over words (the projected locations') are taken from
                # `dlogits` and `dlogits * a^2`, which saves elementwise
                # passes over the (batch, locations, attention_units) tensor.
                _, attention_hidden = self._location_logits(
                    step_hidden, projected, attention
                )
                squared = attention_hidden * attention_hidden
                cast_logits_grad = ops.cast(logits_grad, self.dtype)
                score_vector = ops.cast(
                    ops.squeeze(attention[2], -1), self.dtype
                )
                query_grad = score_vector * (
                    ops.sum(cast_logits_grad, -1, keepdims=True)
                    - ops.einsum("bl,bla->ba", cast_logits_grad, squared)
                )
                previous_hidden_grad = previous_hidden_grad + ops.matmul(
                    query_grad, transposed_query
                )
                accumulators = [
                    accumulators[0] + cast_logits_grad,
                    accumulators[1]
                    + ops.expand_dims(cast_logits_grad, -1) * squared,
                    accumulators[2]
                    + ops.einsum(
                        "bla,bl->a",
                        ops.cast(attention_hidden, "float32"),
                        logits_grad,
                    ),
                ]
                attention_record = query_grad
            else:
                previous_hidden_grad = previous_hidden_grad + ops.cast(
                    ops.matmul(logits_grad, transposed_query), self.dtype
                )
                attention_record = logits_grad
            gate_logit_grad = beta_grad * step_beta * (1.0 - step_beta)
            activation_grad = ops.cast(
                ops.matmul(
                    ops.expand_dims(gate_logit_grad, -1), transposed_gate[-1]
                ),
                self.dtype,
            )
            pre_activation_grads = [None] * len(hidden_gate_layers)
            for layer in reversed(hidden_gate_layers):
                activation = activations[layer][index]
                pre_activation_grads[layer] = activation_grad * (
                    1.0 - activation * activation
                )
                activation_grad = ops.matmul(
                    pre_activation_grads[layer], transposed_gate[layer]
                )
            previous_hidden_grad = previous_hidden_grad + activation_grad
            carry = (
                previous_hidden_grad,
                previous_cell_grad,
                gate_grads,
                attended_grad,
                attention_record,
                gate_logit_grad,
                pre_activation_grads,
            )
            return carry, accumulators

        batch = ops.shape(word_gates)[1]
        accumulators = []
        if self.additive:
            accumulators = [
                ops.zeros(ops.shape(projected)[:2], self.dtype),
                ops.zeros_like(projected),
                ops.zeros((projected.shape[-1],), "float32"),
            ]
            attention_record = ops.zeros(
                (batch, projected.shape[-1]), self.dtype
            )
        else:
            attention_record = ops.zeros(ops.shape(locations)[:2], "float32")
        carry = (
            ops.zeros_like(hidden),
            ops.zeros_like(cell),
            ops.zeros_like(word_gates[0]),
            ops.zeros((batch, locations.shape[-1]), self.dtype),
            attention_record,
            ops.zeros((batch,), "float32"),
            [activation[0] for activation in activations],
        )
        final, accumulators, records = reverse_loop(
            step, carry, accumulators, ops.shape(word_gates)[0]
        )
        hidden_grad, cell_grad = final[:2]
        (
            gate_grads,
            attended_grads,
            attention_records,
            gate_logit_grads,
            pre_activation_grads,
        ) = records[2:]

        gate_rows = time_batch_rows(gate_grads)
        lstm_inputs = expected if dropout is None else expected * dropout
        kernel_grads = [
            ops.matmul(
                ops.transpose(time_batch_rows(previous_hidden)), gate_rows
            ),
            ops.matmul(ops.transpose(time_batch_rows(lstm_inputs)), gate_rows),
        ]
        locations_grad = ops.einsum(
            "tbl,tbd->bld", ops.cast(weights, self.dtype), attended_grads
        )
        hidden_rows = time_batch_rows(previous_hidden)
        if self.additive:
            query_rows = time_batch_rows(attention_records)
            attention_grads = [
                ops.matmul(ops.transpose(hidden_rows), query_rows),
                ops.sum(query_rows, axis=0),
                ops.expand_dims(accumulators[2], -1),
            ]
            logits_grad_sum, weighted_squares = accumulators[:2]
            projected_grads = [
                ops.cast(ops.squeeze(attention[2], -1), self.dtype)
                * (ops.expand_dims(logits_grad_sum, -1) - weighted_squares)
            ]
        else:
            # The number of locations may be unknown in a graph, where
            # merging the axes by a reshape to rows cannot be written.
            attention_grads = [
                ops.einsum(
                    "tbu,tbl->ul",
                    ops.cast(previous_hidden, "float32"),
                    attention_records,
                )
            ]
            projected_grads = []
        gate_inputs = [previous_hidden] + [
            activation for activation in activations
        ]
        gate_grads_by_layer = list(pre_activation_grads) + [
            ops.expand_dims(gate_logit_grads, -1)
        ]
        gate_weight_grads = []
        for inputs, grads in zip(gate_inputs, gate_grads_by_layer):
            rows = time_batch_rows(grads)
            inputs = ops.cast(time_batch_rows(inputs), rows.dtype)
            gate_weight_grads += [
                ops.matmul(ops.transpose(inputs), rows),
                ops.sum(rows, axis=0),
            ]
        grads = {
            "word_gates": [gate_grads],
            "locations": [locations_grad],
            "projected": projected_grads,
            "mask": [ops.zeros_like(tensor) for tensor in mask],
            "dropout": [ops.zeros_like(tensor) for tensor in groups[4]],
            "attention": attention_grads,
            "gate": gate_weight_grads,
            "kernels": kernel_grads,
            "states": [hidden_grad, cell_grad],
        }
        return tuple(grad for name in self.groups for grad in grads[name])
