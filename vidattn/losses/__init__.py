"""Losses of vidattn."""

from vidattn.losses.doubly_stochastic_penalty import doubly_stochastic_penalty
from vidattn.losses.training_loss import training_loss
