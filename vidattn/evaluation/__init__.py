"""The thesis's test protocols (sections 2.2.2 and 3.2) and their reports."""

from vidattn.evaluation.action_evaluation import AGGREGATION_TEXT
from vidattn.evaluation.action_evaluation import evaluate_action_model
from vidattn.evaluation.action_evaluation import predict_videos
from vidattn.evaluation.caption_evaluation import coco_results
from vidattn.evaluation.caption_evaluation import evaluate_caption_model
from vidattn.evaluation.caption_evaluation import format_caption_report
from vidattn.evaluation.feature_matching import check_features
from vidattn.evaluation.report import format_report
