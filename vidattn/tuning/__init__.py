"""keras-tuner search spaces of the vidattn models, and the search."""

from vidattn.tuning.action_hypermodel import ActionHyperModel
from vidattn.tuning.caption_hypermodel import CaptionHyperModel
from vidattn.tuning.distributed_role import DistributedRole
from vidattn.tuning.search import TUNERS
from vidattn.tuning.search import make_tuner
from vidattn.tuning.search import run_search
from vidattn.tuning.search_objectives import OBJECTIVES
from vidattn.tuning.search_objectives import default_objective
from vidattn.tuning.search_objectives import search_objective
from vidattn.tuning.search_summary import search_summary
from vidattn.tuning.trial_recorder import TrialRecorder
from vidattn.tuning.trials_per_process_reached import TrialsPerProcessReached
from vidattn.tuning.video_metrics_callback import VideoMetricsCallback
