"""Video-level metrics and the thesis's test protocol, and caption scores.

`caption_scores` imports pycocoevalcap only when called, so that
`import vidattn` does not need it.
"""

from vidattn.metrics.caption_metrics import caption_scores
from vidattn.metrics.classification_metrics import average_precision
from vidattn.metrics.classification_metrics import classification_scores
from vidattn.metrics.classification_metrics import confusion_matrix
from vidattn.metrics.classification_metrics import multilabel_scores
from vidattn.metrics.java_not_found_error import JavaNotFoundError
from vidattn.metrics.video_aggregation import aggregate_video_predictions
