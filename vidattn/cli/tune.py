"""`vidattn tune`: search the hyperparameters of the action model or captioner.

    vidattn tune --train_data features/train \\
        --validation_data features/validation --directory tuning_runs \\
        --project_name ucf11 --max_trials 20 --epochs 5

    vidattn tune --task captioning --train_data msvd/train \\
        --validation_data msvd/validation --objective bleu4 \\
        --widths 512 --beam_widths 1,4

or with a saved search configuration of the thesis's settings
(`tuning/*.flags`, each with the command that launches it):

    vidattn tune --flagfile tuning/ucf11.flags \\
        --train_data features/train --validation_data features/validation

keras-tuner (`vidattn.tuning.run_search`; --tuner random, hyperband or
bayesian) searches depth (action), width, lambda (--penalties, or a range
with --penalty_range 0,10), dropout, learning rate, attention form, and
for captioning the embedding size and the beam width of the scored
sentences. The objective is the papers' metric on the validation split,
computed after every epoch: video accuracy under the thesis's protocol
(mAP for multi-label data such as Hollywood2), BLEU-4 or METEOR of the
beam-search sentences (Java), or the validation loss (--objective).

The search resumes after a kill (rerun the same command): finished trials
are kept in --directory/--project_name and the interrupted one runs again.
At the end the trials' table (best first, with each trial's time, epochs
and the process's resident memory after it) is printed and written as
summary.csv there, and the best model is saved as best.keras.
TensorFlow keeps every trial's traced graphs in the process that ran it
(about 30 MiB a trial of a small action model here), so a long search's
memory grows; --trials_per_process N runs the search in successive child
processes (`python -m vidattn tune` with the same flags) of at most N
trials each, and prints each one's trials and memory: the memory stays that
of N trials. A child killed by a signal stops the search (exit status 1);
rerun the command to resume it.
--tensorboard_dir logs every trial with its hyperparameters (TensorBoard's
HParams view).

A distributed search runs one chief and any number of workers, each with
the same flags and a `--directory` they all share, told their role by
keras-tuner's environment variables:

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    FLAGS="--flagfile=tuning/action_model.flags --directory=tuning_runs \\
        --train_data=features/train --validation_data=features/validation"
    KERASTUNER_TUNER_ID=chief vidattn tune $FLAGS &
    KERASTUNER_TUNER_ID=tuner0 vidattn tune $FLAGS &
    KERASTUNER_TUNER_ID=tuner1 vidattn tune $FLAGS

The chief runs no trial: it hands them out, keeps their results and, once
every worker has been told the search is over, saves `best.keras` and
prints the best hyperparameters. A worker prints the trials it ran. A worker
that dies leaves its trial open: restart it with the same
KERASTUNER_TUNER_ID and it runs that trial again. With --trials_per_process
a worker runs its trials in successive processes of the same id; the chief
runs no trials and ignores the flag.
"""

import os
import signal
import subprocess
import sys

from absl import flags

from vidattn.cli.config_flags import check_fps_flag
from vidattn.cli.config_flags import define_data_flags

FLAGS = flags.FLAGS

# Flags that set one task's search only, refused under the other.
TASK_FLAGS = {
    "action": ("window", "stride", "fps", "depths"),
    "captioning": (
        "embedding_dims",
        "beam_widths",
        "validation_videos",
        "max_length",
        "min_count",
    ),
}
DEFAULT_WIDTHS = {"action": "128,256,512,1024", "captioning": "256,512"}
# Set in the child processes of --trials_per_process, which run trials and
# start no processes themselves.
CHILD_PROCESS = "VIDATTN_TUNE_CHILD_PROCESS"
# A child's exit status when it ran its trials and the search goes on.
EXIT_CONTINUE = 75


def define_flags():
    """Defines the flags of this command."""
    from vidattn.tuning.search_objectives import OBJECTIVES

    flags.DEFINE_enum(
        "task",
        "action",
        ["action", "captioning"],
        "What to search: the action recognizer or the video captioner.",
    )
    define_data_flags("the objective is computed on it")
    flags.DEFINE_string(
        "directory", "tuning_runs", "Where keras-tuner keeps the trials."
    )
    flags.DEFINE_string(
        "project_name", None, "Name of this search (default: the task's)."
    )
    flags.DEFINE_enum(
        "tuner",
        "random",
        ["random", "hyperband", "bayesian"],
        "The search algorithm.",
    )
    flags.DEFINE_enum(
        "objective",
        None,
        list(OBJECTIVES),
        "What chooses: video_accuracy (action; default), video_map "
        "(default for multi-label data), bleu4 (captioning; default), "
        "meteor, or val_loss.",
    )
    flags.DEFINE_integer(
        "max_trials", 20, "Trials (random and bayesian).", lower_bound=1
    )
    flags.DEFINE_integer(
        "epochs", 5, "Epochs per trial (at most, for hyperband).", lower_bound=1
    )
    flags.DEFINE_integer(
        "batch_size", 32, "Windows or captions per batch.", lower_bound=1
    )
    flags.DEFINE_integer("window", 30, "Frames per window.", lower_bound=1)
    flags.DEFINE_integer(
        "stride", 1, "Stored frames between window starts.", lower_bound=1
    )
    flags.DEFINE_float("fps", None, "Frame rate of the windows.")
    flags.DEFINE_list("depths", ["1", "2", "3"], "LSTM depths searched.")
    flags.DEFINE_list(
        "widths",
        None,
        "LSTM widths searched (default: "
        + "; ".join(f"{t}: {w}" for t, w in DEFAULT_WIDTHS.items())
        + ").",
    )
    flags.DEFINE_list(
        "penalties", ["0", "1", "10"], "Attention penalties (lambda) searched."
    )
    flags.DEFINE_list(
        "penalty_range",
        None,
        "low,high: lambda searched uniformly over it instead of --penalties.",
    )
    flags.DEFINE_list(
        "dropout_range", ["0", "0.6"], "low,high dropout, in steps of 0.1."
    )
    flags.DEFINE_list(
        "learning_rate_range",
        ["1e-4", "1e-2"],
        "low,high learning rate, on a log scale.",
    )
    flags.DEFINE_list(
        "attentions", ["linear"], "Attention forms: linear and/or additive."
    )
    flags.DEFINE_list(
        "embedding_dims", ["256", "512"], "Word embedding sizes searched."
    )
    flags.DEFINE_list(
        "beam_widths", ["4"], "Beam widths of the scored sentences."
    )
    flags.DEFINE_integer(
        "validation_videos",
        100,
        "Validation videos described and scored after every epoch.",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "max_length", 30, "Words per caption and sentence.", lower_bound=1
    )
    flags.DEFINE_integer(
        "min_count",
        1,
        "Times a word must occur to enter the vocabulary.",
        lower_bound=1,
    )
    flags.DEFINE_string(
        "tensorboard_dir",
        None,
        "TensorBoard logs of every trial, with the HParams view.",
    )
    flags.DEFINE_integer("seed", 0, "Seed of the search and the trials.")
    flags.DEFINE_integer(
        "trials_per_process",
        0,
        "Run the search in successive processes of at most this many "
        "trials each, so that memory does not grow with the trials; 0 runs "
        "every trial in this process.",
        lower_bound=0,
    )


def _list_flag(name, convert, kind, length=None):
    values = FLAGS[name].value
    try:
        converted = [convert(value) for value in values]
    except ValueError:
        converted = None
    if converted is None or (length is not None and len(converted) != length):
        what = f"{length} " if length else "a comma-separated list of "
        raise ValueError(
            f"Expected --{name} to be {what}{kind}, comma-separated. "
            f"Received: --{name}={','.join(values)}"
        )
    return converted


def _print_worker_trials(tuner_id, trials):
    count = f"{len(trials)} trial{'' if len(trials) == 1 else 's'}"
    # With --trials_per_process, each process reports its own trials, and
    # the parent lists every process's ("Trials 0-3 ran in process 1").
    who = "'s last process" if CHILD_PROCESS in os.environ else ""
    print(f"Worker {tuner_id}{who} ran {count}; the chief keeps their results.")
    for trial in trials:
        print(
            f"Trial {trial.trial_id} {trial.status}:",
            trial.hyperparameters.values,
        )


def check_task_flags(task):
    """Refuses a flag that sets the other task's search.

    Raises:
        ValueError: naming the flag and the task it belongs to.
    """
    for other, names in TASK_FLAGS.items():
        for name in names:
            if other != task and FLAGS[name].present:
                raise ValueError(
                    f"Expected no --{name} with --task {task}: it sets the "
                    f"{other} search only. Received: --{name}="
                    f"{FLAGS[name].value}. Leave it out, or pass "
                    f"--task {other}."
                )


def search_arguments():
    """The arguments of `vidattn.tuning.run_search` from the flags."""
    task = FLAGS.task
    check_task_flags(task)
    if FLAGS.widths is None:
        FLAGS.widths = DEFAULT_WIDTHS[task].split(",")
    penalty_range = None
    if FLAGS.penalty_range is not None:
        penalty_range = _list_flag("penalty_range", float, "numbers", 2)
    return dict(
        task=task,
        directory=FLAGS.directory,
        project_name=FLAGS.project_name or f"{task}_model",
        tuner=FLAGS.tuner,
        objective=FLAGS.objective,
        max_trials=FLAGS.max_trials,
        epochs=FLAGS.epochs,
        window=FLAGS.window,
        stride=FLAGS.stride,
        fps=FLAGS.fps,
        batch_size=FLAGS.batch_size,
        depths=_list_flag("depths", int, "integers"),
        widths=_list_flag("widths", int, "integers"),
        penalties=_list_flag("penalties", float, "numbers"),
        penalty_range=penalty_range,
        dropout_range=_list_flag("dropout_range", float, "numbers", 2),
        learning_rate_range=_list_flag(
            "learning_rate_range", float, "numbers", 2
        ),
        attentions=FLAGS.attentions,
        embedding_dims=_list_flag("embedding_dims", int, "integers"),
        beam_widths=_list_flag("beam_widths", int, "integers"),
        validation_videos=FLAGS.validation_videos,
        max_length=FLAGS.max_length,
        min_count=FLAGS.min_count,
        tensorboard_dir=FLAGS.tensorboard_dir,
        seed=FLAGS.seed,
        trials_per_process=FLAGS.trials_per_process,
    )


def _die_with_parent():
    # Linux: a child outlives a killed parent otherwise, and would go on
    # writing the search's folder beside the rerun that resumes it.
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _report_process(number, pid, folder):
    from vidattn.tuning.trial_recorder import process_trials

    trials = process_trials(folder, pid)
    if not trials:
        return
    ids = [trial_id for trial_id, _ in trials]
    span = ids[0] if len(ids) == 1 else f"{ids[0]}-{ids[-1]}"
    peak = max(record["rss_mb"] for _, record in trials)
    print(
        f"Trials {span} ran in process {number} (pid {pid}; resident "
        f"memory after its trials at most {peak:.0f} MiB)",
        flush=True,
    )


def search_in_processes(folder):
    """Runs this command's search in child processes until it is over.

    Each child is `python -m vidattn tune` with this command's flags and
    runs at most --trials_per_process trials; it exits with `EXIT_CONTINUE`
    when the search goes on, and the next one resumes it from its folder.

    Args:
        folder: str. The search's folder, where the children's trials
            record their process ids.

    Returns:
        The exit status: 0 when the search is over, or the failing child's
        (1 for one killed by a signal).
    """
    import vidattn

    package_root = os.path.dirname(os.path.dirname(vidattn.__file__))
    path = os.environ.get("PYTHONPATH")
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, (package_root, path))),
        **{CHILD_PROCESS: "1"},
    )
    # `vidattn.cli.main` has made sys.argv `["vidattn tune", *flags]`.
    command = [sys.executable, "-m", "vidattn", "tune", *sys.argv[1:]]
    number = 0
    while True:
        number += 1
        process = subprocess.Popen(
            command, env=environment, preexec_fn=_die_with_parent
        )
        status = process.wait()
        _report_process(number, process.pid, folder)
        if status == EXIT_CONTINUE:
            continue
        if status < 0:
            print(
                f"Search process {number} (pid {process.pid}) was killed by "
                f"{signal.Signals(-status).name}. Rerun the same command to "
                "resume the search.",
                file=sys.stderr,
                flush=True,
            )
            return 1
        return status


def main(argv):
    del argv
    from vidattn.data.feature_dataset import FeatureDataset
    from vidattn.tuning import DistributedRole
    from vidattn.tuning import TrialsPerProcessReached
    from vidattn.tuning import run_search

    role = DistributedRole.from_environment()
    arguments = search_arguments()
    in_child = CHILD_PROCESS in os.environ
    if arguments["trials_per_process"] and not (in_child or role.is_chief):
        folder = os.path.join(FLAGS.directory, arguments["project_name"])
        sys.exit(search_in_processes(folder))
    if FLAGS.task == "action":
        check_fps_flag(FLAGS.fps, FLAGS.train_data, FLAGS.validation_data)
    if role.is_chief:
        print(
            f"Chief of a distributed search: the oracle listens on "
            f"{role.oracle_address}. Start workers with the same flags and "
            "KERASTUNER_TUNER_ID=tuner0, tuner1, ...; this process waits "
            "until they have run every trial.",
            flush=True,
        )
        arguments["trials_per_process"] = 0
    try:
        best = run_search(
            FeatureDataset(FLAGS.train_data),
            FeatureDataset(FLAGS.validation_data),
            **arguments,
        )
    except TrialsPerProcessReached:
        sys.exit(EXIT_CONTINUE)
    if role.is_worker:
        _print_worker_trials(best["tuner_id"], best["trials"])
        return
    print("Best hyperparameters:", best["hyperparameters"])
    print("Best model:", best["model_path"])
    print("Summary:", best["summary_path"])
    if FLAGS.tensorboard_dir:
        print(f"TensorBoard: tensorboard --logdir {FLAGS.tensorboard_dir}")
