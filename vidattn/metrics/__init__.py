"""Video-level metrics and the thesis's test protocol."""

from vidattn.metrics.classification_metrics import average_precision
from vidattn.metrics.classification_metrics import classification_scores
from vidattn.metrics.classification_metrics import confusion_matrix
from vidattn.metrics.classification_metrics import multilabel_scores
from vidattn.metrics.video_aggregation import aggregate_video_predictions
