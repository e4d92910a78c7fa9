"""Task models of vidattn."""

from vidattn.models.action_model_factory import ACTION_MODELS
from vidattn.models.action_model_factory import action_model_hyperparameters
from vidattn.models.action_model_factory import build_action_model
from vidattn.models.action_model_factory import (
    check_action_model_hyperparameters,
)
from vidattn.models.action_recognizer import ActionRecognizer
from vidattn.models.caption_decoding import beam_search
from vidattn.models.caption_decoding import greedy_search
from vidattn.models.caption_decoding import tile_beams
from vidattn.models.caption_generator import CaptionGenerator
from vidattn.models.caption_model_factory import CAPTION_MODELS
from vidattn.models.caption_model_factory import build_video_captioner
from vidattn.models.pooled_lstm_recognizer import PooledLSTMRecognizer
from vidattn.models.softmax_regression_recognizer import (
    SoftmaxRegressionRecognizer,
)
from vidattn.models.video_captioner import VideoCaptioner
from vidattn.models.video_classifier import VideoClassifier
