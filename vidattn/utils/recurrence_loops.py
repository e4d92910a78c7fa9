"""Loops over time shared by the hand-written recurrences.

`vidattn.layers.soft_attention_recurrence` (the action model's attention
LSTM) and `vidattn.models.caption_decoder_recurrence` (the captioner's word
loop) run their forward and backward loops with these.
"""

import keras
from keras import ops


def split_groups(tensors, lengths):
    """Splits a flat sequence of tensors into lists of `lengths` each."""
    groups, start = [], 0
    for length in lengths:
        groups.append(list(tensors[start : start + length]))
        start += length
    return groups


def stacked_loop(step, carry, steps, reverse, unroll):
    """Runs `carry = step(carry, t)` over the frames; stacks every carry.

    Keras's TensorFlow `scan` stacks outputs of the carry's structure, so
    what each step records for later travels in the carry.
    """
    if unroll:
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        carries = [None] * steps
        for index in order:
            carry = step(carry, index)
            carries[index] = carry
        stacked = keras.tree.map_structure(
            lambda *values: ops.stack(values, 0), *carries
        )
        return carry, stacked

    def scan_step(carry, index):
        carry = step(carry, index)
        return carry, carry

    indices = ops.arange(steps, dtype="int32")
    return ops.scan(scan_step, carry, indices, reverse=reverse)


def time_batch_rows(tensor):
    """Merges the frame and batch axes: one row per (frame, example)."""
    return ops.reshape(tensor, (-1,) + tuple(tensor.shape[2:]))


def previous_steps(initial, sequence):
    """`[initial, sequence[0], ..., sequence[-2]]`: each step's previous."""
    return ops.concatenate([ops.expand_dims(initial, 0), sequence[:-1]], 0)


def lstm_gate_activations(gates):
    """`(sigmoids, candidate)`: all four gates' sigmoids, the tanh of `g`.

    The sigmoids of all four gates in one op, rather than of three slices
    concatenated, are what the backward pass keeps: one tensor per layer
    and step without a copy (the candidate's sigmoid is not used).
    """
    units = gates.shape[-1] // 4
    return ops.sigmoid(gates), ops.tanh(gates[:, 2 * units : 3 * units])
