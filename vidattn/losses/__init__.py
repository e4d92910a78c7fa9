"""Losses of vidattn."""

from vidattn.losses.doubly_stochastic_penalty import doubly_stochastic_penalty
