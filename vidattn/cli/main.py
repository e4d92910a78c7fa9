"""The `vidattn` command: `vidattn <command> [--flags]`.

Each command is a module of `vidattn.cli` with two functions:
`define_flags()`, which defines the command's absl flags (called once, only
for the command that runs, so commands may reuse flag names), and
`main(argv)`, which parses nothing itself and calls the library. The
module's docstring is its `--help` text, above the flags.

What a user can get wrong (arguments, data, files: `ValueError`, `OSError`
and TensorFlow's data errors, which the library raises with the file, the
record, what was expected and what was received) reaches the command line as
that message and exit status 1, without a traceback; `--verbosity=1`
(absl's debug level) shows the traceback too. Anything else is a bug and
keeps its traceback.
"""

import importlib
import importlib.util
import logging
import os
import re
import sys

from absl import app
from absl import flags

COMMANDS = {
    "demo": (
        "vidattn.cli.demo",
        "the whole pipeline on bundled generated videos: render, extract, "
        "train, evaluate, report, export",
    ),
    "extract": (
        "vidattn.cli.extract",
        "decode a video dataset, run an ImageNet backbone over its frames and "
        "write the feature cubes as TFRecord shards, one folder per split",
    ),
    "train": (
        "vidattn.cli.train",
        "train an action model or a video captioner (--task captioning) "
        "on feature datasets (resumable)",
    ),
    "evaluate": (
        "vidattn.cli.evaluate",
        "score an action model or a captioner under the thesis's protocol",
    ),
    "describe": (
        "vidattn.cli.describe",
        "describe video files in sentences with a trained captioner",
    ),
    "tune": (
        "vidattn.cli.tune",
        "search the attention model's depth, width and penalty with "
        "keras-tuner (resumable)",
    ),
    "export": (
        "vidattn.cli.export",
        "write a model as a versioned SavedModel folder for TF Serving",
    ),
    "attention": (
        "vidattn.cli.attention",
        "draw where a model looks in videos, at one or more frame rates",
    ),
    "glimpse": (
        "vidattn.cli.glimpse",
        "find the glimpses under which a model predicts a chosen class "
        "(Fig. 2.8)",
    ),
    "check": (
        "vidattn.cli.check",
        "the learning checks: soft attention against average pooling on "
        "generated feature cubes, or (--task captioning) against "
        "STA-first-time-step on rendered clips",
    ),
}

_HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull")

# The Keras backends a command may choose with `--backend`.
BACKENDS = ("tensorflow", "jax")

# What TensorFlow wraps around the message of an error raised in a graph.
_ASSERTION = re.compile(r"assertion failed: \[(.*)\]\s*$")
_GRAPH_NOISE = re.compile(
    r"^\s*(Graph execution error:|Detected at node .*|<stack traces "
    r"unavailable>|\[\[.*\]\].*|\[Op:.*\])\s*$"
)
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")
_OP_SUFFIX = re.compile(r"\s*\[Op:[^\]]*\]\s*$")


def quiet_tensorflow():
    """Hides TensorFlow's start-up notices, unless the user asked for them.

    TensorFlow's C++ core prints a dozen lines when it loads (CPU features,
    CUDA plugins, TensorRT), and its Python logger reports every export step:
    noise at a command line. Only the command-line entry point calls this,
    before TensorFlow loads; the library sets nothing.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tensorflow_logger = logging.getLogger("tensorflow")
    if tensorflow_logger.level == logging.NOTSET:
        tensorflow_logger.setLevel(logging.ERROR)
    # TensorFlow's SavedModel code logs its steps through absl (renamed
    # inputs, sharding, fingerprints), which the commands' own progress
    # lines also use: only TensorFlow's and Keras's info lines are dropped.
    absl_logger = logging.getLogger("absl")
    if _library_info_line not in absl_logger.filters:
        absl_logger.addFilter(_library_info_line)
    # JAX reports each accelerator plugin it did not find (CUDA, ROCm, TPU).
    jax_platforms_logger = logging.getLogger("jax._src.xla_bridge")
    if jax_platforms_logger.level == logging.NOTSET:
        jax_platforms_logger.setLevel(logging.WARNING)


def _library_info_line(record):
    """False for an info line that TensorFlow or Keras logged through absl."""
    path = record.pathname.replace(os.sep, "/")
    library = "/tensorflow/" in path or "/keras/" in path
    return not (library and record.levelno < logging.WARNING)


def backend_from_arguments(arguments):
    """The value of `--backend` among a command's arguments, or `None`.

    Keras fixes its backend when it is first imported, which `import
    vidattn` does before absl parses any flag: the `vidattn` command reads
    this one flag from the raw arguments (`--backend=jax` or `--backend
    jax`), before the package loads Keras.
    """
    for index, argument in enumerate(arguments):
        if argument.startswith("--backend="):
            return argument[len("--backend=") :]
        if argument == "--backend" and index + 1 < len(arguments):
            return arguments[index + 1]
    return None


def choose_backend(arguments):
    """Sets `KERAS_BACKEND` from `--backend`, before Keras is imported.

    Only the command-line entry point calls this. An unknown name is left
    for absl to refuse with the command's usage.
    """
    backend = backend_from_arguments(arguments)
    # A backend that is not installed is left to `check_backend`, which
    # says how to install it, rather than failing inside Keras's import.
    if backend in BACKENDS and importlib.util.find_spec(backend) is not None:
        os.environ["KERAS_BACKEND"] = backend


def check_backend(backend):
    """Raises unless Keras runs on `backend` (the `--backend` flag's value).

    Args:
        backend: str or `None` (the flag was not given: any backend).

    Raises:
        ValueError: Keras was loaded with another backend, as when
            `--backend` comes from a flagfile, read after Keras loaded.
    """
    import keras

    if backend is not None and importlib.util.find_spec(backend) is None:
        raise ValueError(
            f"Expected the {backend} package for --backend={backend}. "
            f"Received: it is not installed. Install it (for JAX: pip "
            f"install 'jax[cpu]==0.4.30', or jax with CUDA for a GPU), or "
            "leave --backend out to train on TensorFlow."
        )
    if backend is not None and keras.backend.backend() != backend:
        raise ValueError(
            f"Expected Keras to run on the {backend} backend (--backend="
            f"{backend}). Received: Keras loaded {keras.backend.backend()}. "
            "Give --backend on the command line itself, not in a flagfile, "
            "or set KERAS_BACKEND: Keras chooses its backend once, when it "
            "loads."
        )


def expected_errors():
    """The exception types that report a user's mistake, not a bug."""
    errors = (ValueError, OSError)
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        errors += (tensorflow.errors.OpError,)
    return errors


def error_message(error):
    """The message of an expected error, without TensorFlow's graph context.

    An assertion that a `tf.data` pipeline fails (a record that does not
    match its manifest, non-finite features) reaches Python wrapped in the
    graph's node names and stack notes; only the assertion's own message is
    for the user.
    """
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, KeyError) or not message:
        message = repr(error)
    lines = []
    for line in message.strip().splitlines():
        line = _FUNCTION_NODE.sub("", line)
        assertion = _ASSERTION.search(line)
        if assertion:
            return assertion.group(1).strip()
        if not _GRAPH_NOISE.match(line):
            lines.append(_OP_SUFFIX.sub("", line))
    return "\n".join(lines).strip() or type(error).__name__


def usage():
    """The list of commands, as `vidattn` without a command prints it."""
    lines = [
        "usage: vidattn <command> [--flags]   (vidattn <command> --help)",
        "",
    ]
    lines += [
        f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items()
    ]
    return "\n".join(lines)


def load_command(name):
    """Imports the command's module and defines its flags.

    Args:
        name: str. A key of `COMMANDS`.

    Returns:
        The command's module.
    """
    module = importlib.import_module(COMMANDS[name][0])
    program = f"vidattn {name}"
    defined_before = set(flags.FLAGS)
    module.define_flags()
    # `--help` lists the key flags of the program (`vidattn train`, ...),
    # which absl does not know as a module.
    for flag_name in sorted(set(flags.FLAGS) - defined_before):
        flags.FLAGS.register_key_flag_for_module(
            program, flags.FLAGS[flag_name]
        )
    return module


def run_command(name, module, argv):
    """Runs a command's `main`, turning expected errors into messages."""
    try:
        return module.main(argv)
    except expected_errors() as error:
        if flags.FLAGS["verbosity"].value >= 1:
            raise
        print(
            f"vidattn {name}: error: {error_message(error)}\n"
            "(--verbosity=1 shows where it happened)",
            file=sys.stderr,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        print(
            f"vidattn {name}: interrupted. What was finished is kept: rerun "
            "the same command to resume.",
            file=sys.stderr,
        )
        sys.exit(130)


def run():
    """Runs `vidattn <command> [--flags]` from `sys.argv`."""
    if len(sys.argv) == 2 and sys.argv[1] in _HELP_FLAGS:
        print(usage())
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        received = sys.argv[1] if len(sys.argv) > 1 else "nothing"
        print(
            f"Expected a command. Received: {received}\n\n{usage()}",
            file=sys.stderr,
        )
        sys.exit(2)
    name = sys.argv[1]
    choose_backend(sys.argv[2:])
    quiet_tensorflow()
    sys.argv = [f"vidattn {name}"] + sys.argv[2:]
    module = load_command(name)

    def parse_flags(argv):
        if any(arg in _HELP_FLAGS for arg in argv[1:]) and module.__doc__:
            print(module.__doc__)
        return app.parse_flags_with_usage(argv)

    app.run(
        lambda argv: run_command(name, module, argv), flags_parser=parse_flags
    )


if __name__ == "__main__":
    run()
