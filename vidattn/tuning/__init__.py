"""keras-tuner search spaces of the vidattn models."""

from vidattn.tuning.action_hypermodel import ActionHyperModel
