"""vidattn: video models that show where they look (soft-attention LSTMs).

`import vidattn` loads the Keras side of the package (`layers`, `losses`,
`models`, `metrics`: pure `keras.ops` and NumPy, so they run under every
Keras backend, and their classes are registered for `keras.models.load_model`).
The subpackages that need TensorFlow or other heavy libraries (`data`,
`extraction`, `training`, `export`, ...) load on first use, so that
`KERAS_BACKEND=jax python -c "import vidattn"` imports no TensorFlow.
Importing vidattn sets no environment variable.
"""

import importlib

from vidattn import layers
from vidattn import losses
from vidattn import metrics
from vidattn import models

__version__ = "0.1.0"

_LAZY_SUBPACKAGES = (
    "analysis",
    "backbones",
    "data",
    "datasets",
    "evaluation",
    "examples",
    "export",
    "extraction",
    "training",
    "tuning",
    "utils",
    "visualization",
)


def __getattr__(name):
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f"vidattn.{name}")
    raise AttributeError(f"module 'vidattn' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY_SUBPACKAGES))
