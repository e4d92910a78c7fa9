"""vidattn: soft-attention LSTMs that recognise actions in videos and describe them."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from vidattn import layers  # noqa: E402
from vidattn import losses  # noqa: E402
from vidattn import export  # noqa: E402
from vidattn import models  # noqa: E402

__version__ = "0.1.0"
