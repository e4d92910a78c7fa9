"""keras-tuner search spaces of the vidattn models, and the search."""

from vidattn.tuning.action_hypermodel import ActionHyperModel
from vidattn.tuning.distributed_role import DistributedRole
from vidattn.tuning.search import TUNERS
from vidattn.tuning.search import run_search
