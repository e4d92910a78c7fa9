"""`vidattn tune`: search depth, width and lambda of the attention model.

    vidattn tune --train_data features/train \\
        --validation_data features/validation --directory tuning_runs \\
        --project_name ucf11 --max_trials 20 --epochs 5

or with the thesis's search space saved in `tuning/action_model.flags`:

    vidattn tune --flagfile tuning/action_model.flags \\
        --train_data features/train --validation_data features/validation

keras-tuner (`vidattn.tuning.run_search`) chooses on the validation loss.
The search resumes after a kill: every finished trial is kept in
`--directory/--project_name` and only the unfinished one runs again. The
best model is saved as `best.keras` there; its hyperparameters are printed.

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
KERASTUNER_TUNER_ID and it runs that trial again.
"""

from absl import flags

from vidattn.cli.config_flags import check_fps_flag
from vidattn.cli.config_flags import define_data_flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    define_data_flags("its loss is the objective")
    flags.DEFINE_string(
        "directory", "tuning_runs", "Where keras-tuner keeps the trials."
    )
    flags.DEFINE_string("project_name", "action_model", "Name of this search.")
    flags.DEFINE_enum(
        "tuner",
        "random",
        ["random", "hyperband", "bayesian"],
        "The search algorithm.",
    )
    flags.DEFINE_integer(
        "max_trials", 20, "Trials (random and bayesian).", lower_bound=1
    )
    flags.DEFINE_integer(
        "epochs",
        5,
        "Epochs per trial (at most, for hyperband).",
        lower_bound=1,
    )
    flags.DEFINE_integer("window", 30, "Frames per window.", lower_bound=1)
    flags.DEFINE_integer(
        "stride", 1, "Stored frames between window starts.", lower_bound=1
    )
    flags.DEFINE_float("fps", None, "Frame rate of the windows.")
    flags.DEFINE_integer("batch_size", 32, "Windows per batch.", lower_bound=1)
    flags.DEFINE_list("depths", ["1", "2", "3"], "LSTM depths searched.")
    flags.DEFINE_list(
        "widths", ["128", "256", "512", "1024"], "LSTM widths searched."
    )
    flags.DEFINE_list(
        "penalties", ["0", "1", "10"], "Attention penalties (lambda) searched."
    )
    flags.DEFINE_integer("seed", 0, "Seed of the search.")


def _list_flag(name, convert, kind):
    try:
        return [convert(value) for value in FLAGS[name].value]
    except ValueError:
        raise ValueError(
            f"Expected --{name} to be a comma-separated list of {kind}. "
            f"Received: --{name}={','.join(FLAGS[name].value)}"
        ) from None


def _print_worker_trials(tuner_id, trials):
    count = f"{len(trials)} trial{'' if len(trials) == 1 else 's'}"
    print(f"Worker {tuner_id} ran {count}; the chief keeps their results.")
    for trial in trials:
        print(
            f"Trial {trial.trial_id} {trial.status}:",
            trial.hyperparameters.values,
        )


def main(argv):
    del argv
    from vidattn.data.feature_dataset import FeatureDataset
    from vidattn.tuning import DistributedRole
    from vidattn.tuning import run_search

    role = DistributedRole.from_environment()
    check_fps_flag(FLAGS.fps, FLAGS.train_data, FLAGS.validation_data)
    if role.is_chief:
        print(
            f"Chief of a distributed search: the oracle listens on "
            f"{role.oracle_address}. Start workers with the same flags and "
            "KERASTUNER_TUNER_ID=tuner0, tuner1, ...; this process waits "
            "until they have run every trial.",
            flush=True,
        )
    best = run_search(
        FeatureDataset(FLAGS.train_data),
        FeatureDataset(FLAGS.validation_data),
        directory=FLAGS.directory,
        project_name=FLAGS.project_name,
        tuner=FLAGS.tuner,
        max_trials=FLAGS.max_trials,
        epochs=FLAGS.epochs,
        window=FLAGS.window,
        stride=FLAGS.stride,
        fps=FLAGS.fps,
        batch_size=FLAGS.batch_size,
        depths=_list_flag("depths", int, "integers"),
        widths=_list_flag("widths", int, "integers"),
        penalties=_list_flag("penalties", float, "numbers"),
        seed=FLAGS.seed,
    )
    if role.is_worker:
        _print_worker_trials(best["tuner_id"], best["trials"])
        return
    print("Best hyperparameters:", best["hyperparameters"])
    print("Best model:", best["model_path"])
