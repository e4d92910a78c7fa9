"""vidattn: soft-attention LSTMs that recognise actions in videos and show where they look."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from vidattn import backbones  # noqa: E402
from vidattn import data  # noqa: E402
from vidattn import export  # noqa: E402
from vidattn import layers  # noqa: E402
from vidattn import losses  # noqa: E402
from vidattn import metrics  # noqa: E402
from vidattn import models  # noqa: E402
from vidattn import training  # noqa: E402
from vidattn import visualization  # noqa: E402

# vidattn.tuning imports keras-tuner: import it explicitly to search.

__version__ = "0.1.0"
