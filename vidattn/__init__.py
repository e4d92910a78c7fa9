"""vidattn: video models that show where they look (soft-attention LSTMs).

`import vidattn` loads the Keras side of the package (`layers`, `losses`,
`models`, `metrics`: pure `keras.ops` and NumPy, so they run under every
Keras backend, and their classes are registered for `keras.models.load_model`).
The subpackages that need TensorFlow or other heavy libraries (`data`,
`extraction`, `training`, `export`, ...) load on first use, so that
`KERAS_BACKEND=jax python -c "import vidattn"` imports no TensorFlow.
Importing vidattn sets no environment variable. Only when this package is
started as the `vidattn` command (`python -m vidattn`, or the `vidattn`
script), which imports it before the command-line code runs, does the
command set Keras's backend from `--backend` and quiet TensorFlow's start-up
notices here, before Keras loads (`vidattn.cli.main.choose_backend`,
`vidattn.cli.main.quiet_tensorflow`).
"""

import importlib
import os
import sys


def _command_arguments():
    """The arguments after `vidattn`, when started as the command, or None."""
    if sys.argv[:1] == ["-m"]:  # `python -m <module>`, being located.
        argv = list(getattr(sys, "orig_argv", ()))
        if "-m" in argv and argv[argv.index("-m") + 1 :][:1] == ["vidattn"]:
            return argv[argv.index("-m") + 2 :]
        return None
    if sys.argv and os.path.basename(sys.argv[0]) == "vidattn":
        return sys.argv[1:]
    return None


def _prepare_command_line():
    arguments = _command_arguments()
    if arguments is not None:
        from vidattn.cli.main import choose_backend
        from vidattn.cli.main import quiet_tensorflow

        choose_backend(arguments)
        quiet_tensorflow()


_prepare_command_line()

from vidattn import layers  # noqa: E402
from vidattn import losses  # noqa: E402
from vidattn import metrics  # noqa: E402
from vidattn import models  # noqa: E402

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
