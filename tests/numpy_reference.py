"""An independent NumPy implementation of thesis eqs. 2.1-2.7, for the tests."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def lstm_step(layer_input, hidden, cell, kernel, bias):
    """Eqs. 2.1-2.3 with the gates laid out (i, f, g, o)."""
    units = hidden.shape[-1]
    z = np.concatenate([layer_input, hidden], axis=-1) @ kernel + bias
    i = sigmoid(z[:, :units])
    f = sigmoid(z[:, units : 2 * units])
    g = np.tanh(z[:, 2 * units : 3 * units])
    o = sigmoid(z[:, 3 * units :])
    cell = f * cell + i * g
    return o * np.tanh(cell), cell


def location_softmax(frame, top_hidden, weights, attention):
    """Eq. 2.4 (linear) or the additive form of Show, Attend and Tell."""
    if attention == "linear":
        return softmax(top_hidden @ weights["attention_kernel"])
    projected = np.tanh(
        frame @ weights["attention_feature_kernel"]
        + (top_hidden @ weights["attention_state_kernel"])[:, None, :]
        + weights["attention_bias"]
    )
    return softmax((projected @ weights["attention_score_kernel"])[..., 0])


def soft_attention_lstm(features, states, weights, attention, mask=None):
    """Runs the attention LSTM stack over `features` (batch, T, L, D).

    Returns `(top_hidden (batch, T, units), attention (batch, T, L),
    final_states)`. Masked steps keep every state and repeat the previous
    output, as `keras.layers.RNN` does.
    """
    batch, steps = features.shape[:2]
    num_layers = len(states) // 2
    states = [s.copy() for s in states]
    hiddens, attentions = [], []
    previous_hidden = np.zeros_like(states[-2])
    previous_attention = np.zeros(features.shape[:1] + features.shape[2:3])
    for t in range(steps):
        frame = features[:, t]
        weights_t = location_softmax(frame, states[2 * (num_layers - 1)], weights, attention)
        layer_input = np.einsum("bl,bld->bd", weights_t, frame)  # eq. 2.5
        new_states = []
        for k in range(num_layers):
            h, c = lstm_step(
                layer_input, states[2 * k], states[2 * k + 1],
                weights["kernels"][k], weights["biases"][k],
            )
            new_states += [h, c]
            layer_input = h
        if mask is not None:
            keep = mask[:, t][:, None]
            new_states = [np.where(keep, n, o) for n, o in zip(new_states, states)]
            h = np.where(keep, layer_input, previous_hidden)
            weights_t = np.where(keep, weights_t, previous_attention)
        states = new_states
        previous_hidden, previous_attention = h, weights_t
        hiddens.append(h)
        attentions.append(weights_t)
    return np.stack(hiddens, 1), np.stack(attentions, 1), states


def initial_states(features, hidden_dense, cell_dense, num_layers, mask=None):
    """Eq. 2.6 with one tanh affine layer per MLP: `[h0_1, c0_1, ...]`."""
    per_frame = features.mean(axis=2)
    if mask is None:
        mean = per_frame.mean(axis=1)
    else:
        m = mask[..., None].astype(features.dtype)
        mean = (per_frame * m).sum(1) / m.sum(1)
    h0 = np.tanh(mean @ hidden_dense[0] + hidden_dense[1])
    c0 = np.tanh(mean @ cell_dense[0] + cell_dense[1])
    states = []
    for hk, ck in zip(np.split(h0, num_layers, -1), np.split(c0, num_layers, -1)):
        states += [hk, ck]
    return states


def doubly_stochastic_penalty(attention, mask=None):
    """Sum over locations of (1 - sum_t l_t,i)^2 (eq. 2.7), per example."""
    attention = attention.reshape(attention.shape[0], attention.shape[1], -1)
    if mask is not None:
        attention = attention * mask[..., None]
    return ((1.0 - attention.sum(axis=1)) ** 2).sum(axis=-1)


def cross_entropy_per_step(labels, step_logits, multi_label):
    if multi_label:
        p = sigmoid(step_logits)
        y = labels[:, None, :]
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(-1)
    log_p = np.log(softmax(step_logits))
    return -np.take_along_axis(log_p, labels[:, None, None], axis=-1)[..., 0]
