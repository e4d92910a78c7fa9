"""The thesis's test protocol (section 2.2.2) and its report."""

from vidattn.evaluation.action_evaluation import AGGREGATION_TEXT
from vidattn.evaluation.action_evaluation import evaluate_action_model
from vidattn.evaluation.action_evaluation import predict_videos
from vidattn.evaluation.report import format_report
