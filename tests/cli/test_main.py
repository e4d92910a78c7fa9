import importlib
import os
import subprocess
import sys

import pytest
from absl import flags

from vidattn.cli import main

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


@pytest.mark.parametrize("name", sorted(main.COMMANDS))
def test_every_command_defines_its_flags_once_and_is_documented(name):
    module = importlib.import_module(main.COMMANDS[name][0])
    assert module.__doc__ and module.__doc__.startswith(f"`vidattn {name}`")
    assert callable(module.main)
    before = set(flags.FLAGS)
    # A flag defined twice raises absl's DuplicateFlagError here.
    module.define_flags()
    defined = set(flags.FLAGS) - before
    try:
        assert defined, f"vidattn {name} defines no flags"
    finally:
        for flag_name in defined:
            delattr(flags.FLAGS, flag_name)


def test_an_unknown_command_lists_the_commands(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["vidattn", "trian"])
    with pytest.raises(SystemExit) as exit_info:
        main.run()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Expected a command. Received: trian" in error
    for name in main.COMMANDS:
        assert f"  {name} " in error


def test_help_lists_the_commands_and_succeeds(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["vidattn", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        main.run()
    assert exit_info.value.code == 0
    output = capsys.readouterr().out
    for name in main.COMMANDS:
        assert f"  {name} " in output


WHERE = "/data/train-00000.tfrecord, record 3 (video_id=a)"
FAILED_CHECK = f"{WHERE}: expected finite feature values. Received: nan."


@pytest.mark.parametrize(
    "raw",
    [
        # What `model.fit` raises when the pipeline's assertion fails.
        "Graph execution error:\n\nDetected at node Assert_5/Assert defined "
        "at (most recent call last):\n<stack traces unavailable>\n"
        f"assertion failed: [{FAILED_CHECK}]\n\t [[IteratorGetNext]]",
        # What iterating the dataset eagerly raises.
        "{{function_node __wrapped__IteratorGetNext_output_types_1}} "
        f"assertion failed: [{FAILED_CHECK}]\n\t [[{{{{node Assert}}}}]] "
        "[Op:IteratorGetNext]",
        # A message of our own with TensorFlow's op suffix.
        f"{FAILED_CHECK}\n\t [[{{{{node Assert}}}}]] [Op:IteratorGetNext]",
    ],
)
def test_error_message_keeps_only_the_checks_own_words(raw):
    import tensorflow as tf

    error = tf.errors.InvalidArgumentError(None, None, raw)
    assert main.error_message(error) == FAILED_CHECK


def test_error_message_of_a_file_error():
    assert main.error_message(FileNotFoundError(2, "No such file", "x")) == (
        "[Errno 2] No such file: 'x'"
    )


def test_a_users_mistake_is_one_message_without_noise(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    process = subprocess.run(
        [sys.executable, "-m", "vidattn", "evaluate", "--model=m.keras"]
        + [f"--data={tmp_path / 'nowhere'}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert process.returncode == 1
    assert process.stderr.startswith(
        "vidattn evaluate: error: Expected a dataset folder with a "
        "manifest.json"
    ), process.stderr
    assert "Traceback" not in process.stderr
    # TensorFlow's start-up notices stay quiet at the command line.
    assert "tensorflow" not in process.stderr.replace("vidattn", "")
    assert len(process.stderr.strip().splitlines()) == 2


@pytest.mark.parametrize(
    "arguments, backend",
    [
        (["--backend=jax", "--units=8"], "jax"),
        (["--units", "8", "--backend", "tensorflow"], "tensorflow"),
        (["--units=8"], None),
        (["--backend"], None),
    ],
)
def test_the_backend_is_read_from_the_raw_arguments(arguments, backend):
    assert main.backend_from_arguments(arguments) == backend


def test_a_backend_that_keras_did_not_load_is_a_clear_error():
    main.check_backend(None)
    main.check_backend("tensorflow")
    with pytest.raises(ValueError, match="not in a flagfile") as error:
        main.check_backend("jax")
    assert "Received: Keras loaded tensorflow" in str(error.value)


def test_a_backend_that_is_not_installed_says_how_to_install_it(monkeypatch):
    real_find_spec = main.importlib.util.find_spec
    monkeypatch.setattr(
        main.importlib.util,
        "find_spec",
        lambda name: None if name == "jax" else real_find_spec(name),
    )
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    main.choose_backend(["--backend=jax"])
    assert "KERAS_BACKEND" not in main.os.environ
    with pytest.raises(ValueError, match="pip install 'jax") as error:
        main.check_backend("jax")
    assert "Received: it is not installed" in str(error.value)


@pytest.mark.parametrize(
    "path, level, shown",
    [
        ("/site-packages/tensorflow/python/saved_model/save.py", 20, False),
        ("/site-packages/keras/src/export/export_lib.py", 20, False),
        ("/site-packages/tensorflow/python/saved_model/save.py", 30, True),
        ("/work/vidattn/extraction/extraction_progress.py", 20, True),
    ],
)
def test_only_the_libraries_info_lines_are_dropped(path, level, shown):
    import logging

    main.quiet_tensorflow()
    record = logging.LogRecord("absl", level, path, 1, "message", (), None)
    assert logging.getLogger("absl").filter(record) == shown
