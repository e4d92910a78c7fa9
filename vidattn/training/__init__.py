"""Training and resuming action models on TFRecord feature datasets."""

from vidattn.training.action_training import feature_metadata
from vidattn.training.action_training import make_strategy
from vidattn.training.action_training import train_action_model
from vidattn.training.attention_image_logger import AttentionImageLogger
from vidattn.training.best_model_checkpoint import BestModelCheckpoint
from vidattn.training.caption_inputs import build_caption_tokenizer
from vidattn.training.caption_inputs import caption_batches
from vidattn.training.caption_inputs import caption_references
from vidattn.training.epoch_seeding import EpochSeeding
from vidattn.training.non_finite_loss_error import NonFiniteLossError
from vidattn.training.stop_on_non_finite_loss import StopOnNonFiniteLoss
from vidattn.training.training_config import TrainingConfig
from vidattn.training.window_padding import report_window_padding
from vidattn.training.window_padding import window_padding_note
