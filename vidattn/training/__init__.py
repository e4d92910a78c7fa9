"""Training, resuming and evaluating action models on TFRecord datasets."""

from vidattn.training.action_training import build_action_model
from vidattn.training.action_training import evaluate_action_model
from vidattn.training.action_training import format_report
from vidattn.training.action_training import predict_videos
from vidattn.training.action_training import train_action_model
from vidattn.training.attention_image_logger import AttentionImageLogger
from vidattn.training.best_model_checkpoint import BestModelCheckpoint
from vidattn.training.epoch_seeding import EpochSeeding
from vidattn.training.training_config import TrainingConfig
