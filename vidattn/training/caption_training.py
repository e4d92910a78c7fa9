"""Training the video captioners on captioned feature datasets, resumably."""

import math
import os
import shutil

import keras
import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.layers.caption_tokenizer import END_ID
from vidattn.layers.caption_tokenizer import START_ID
from vidattn.layers.caption_tokenizer import UNKNOWN_ID
from vidattn.metrics.caption_metrics import import_scorers
from vidattn.metrics.java_not_found_error import JavaNotFoundError
from vidattn.models.caption_model_factory import build_video_captioner
from vidattn.training.action_training import feature_metadata
from vidattn.training.caption_attention_image_logger import (
    CaptionAttentionImageLogger,
)
from vidattn.training.caption_inputs import build_caption_tokenizer
from vidattn.training.caption_inputs import caption_batches
from vidattn.training.caption_score_callback import CaptionScoreCallback
from vidattn.training.run_folder import BACKUP_FOLDER
from vidattn.training.run_folder import CONFIG_FILE
from vidattn.training.run_folder import epoch_pipelines
from vidattn.training.run_folder import fit_resumably
from vidattn.training.run_folder import previous_configuration
from vidattn.training.run_folder import resume_epoch
from vidattn.training.run_folder import resume_note
from vidattn.training.run_folder import run_callbacks
from vidattn.utils.atomic_write import atomic_write

VOCABULARY_FILE = "vocabulary.txt"


def records_sampling(data):
    """How the frames of a dataset's videos were drawn, e.g. `even:26/240`.

    The records keep it (their `sampling` field), not the manifest; the
    videos of a dataset that `vidattn extract` wrote share it, so the
    first record's is read.

    Args:
        data: a `vidattn.data.FeatureDataset`.

    Returns:
        The `vidattn.data.FrameSampling` spec, a str.
    """
    return next(iter(data.videos()))["sampling"]


def caption_feature_metadata(data, sampling):
    """What a captioner trained on `data` reads, for its config.

    What `vidattn describe` needs to turn a new video into the same
    features: the backbone and its layer, the frames' size, the feature
    grid, and the frame sampling of the records.

    Args:
        data: the training `vidattn.data.FeatureDataset`.
        sampling: str. The records' frame sampling (`records_sampling`).

    Returns:
        The `feature_metadata` dict of `vidattn.models.VideoCaptioner`.
    """
    metadata = feature_metadata(data, window=None)
    # The captioner reads whole videos, not windows at a frame rate.
    del metadata["fps"], metadata["window"]
    return dict(metadata, sampling=sampling, train_split=data.split)


# What a captioner trained on a dataset depends on, as config.json keeps it.
def _data_description(data, sampling):
    return {
        "backbone": data.backbone,
        "layer": data.layer,
        "feature_shape": [data.grid_size, data.grid_size, data.channels],
        "sampling": sampling,
    }


def _check_compatible(train, validation, config):
    samplings = records_sampling(train), records_sampling(validation)
    expected = _data_description(train, samplings[0])
    received = _data_description(validation, samplings[1])
    for name, value in received.items():
        if value != expected[name]:
            raise ValueError(
                f"Expected training and validation data of the same "
                f"features. The training data ({train.directory}) and the "
                f"validation data ({validation.directory}) disagree on "
                f"{name}: {expected[name]!r} and {value!r}."
            )
    if config.model == "average_pool" or config.attention != "linear":
        return samplings[0]
    # The linear location softmax has one weight per space-time location.
    for data in (train, validation):
        counts = sorted(set(data.num_frames.tolist()) | {train.num_frames[0]})
        if len(counts) > 1:
            raise ValueError(
                "Expected every video of both splits to have the same "
                "number of frames: the linear attention has one weight per "
                f"space-time location. Received videos of {counts} frames "
                f"in {train.directory} and {data.directory}. Extract the "
                "features with a fixed frame count (`vidattn extract "
                "--evenly_spaced 26/240`, thesis section 3.2.2), or train "
                "with attention='additive'."
            )
    return samplings[0]


def _check_resumable(previous, description, config_path, train):
    # A run resumed on other data would go on training its weights under
    # other words or features.
    for name, value in description.items():
        if name in previous and previous[name] != value:
            raise ValueError(
                f"Expected training data like the run's to resume it: "
                f"{config_path} has {name}={previous[name]!r}. Received "
                f"{name}={value!r} in {train.directory}. Use a new output "
                "folder for a run on other data."
            )


def _check_scoring_available(config):
    if not config.score_metrics:
        return
    import_scorers()
    if shutil.which("java") is None:
        error = JavaNotFoundError(
            ["coco-caption's PTB tokenizer (run before every caption metric)"]
            + (["METEOR"] if config.best_metric == "METEOR" else [])
        )
        error.args = (
            f"{error} Or train without scoring sentences, choosing the best "
            "model on the validation loss: best_metric='loss', "
            "validation_videos=0 (--best_metric loss --validation_videos 0).",
        )
        raise error


def _save_vocabulary(tokenizer, path, train):
    words = "".join(word + "\n" for word in tokenizer.vocabulary)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            saved = file.read()
        if saved != words:
            raise ValueError(
                f"Expected the training captions of the run to resume it: "
                f"its vocabulary ({path}, {saved.count(chr(10))} words) "
                f"differs from the one of the captions in {train.directory} "
                f"({len(tokenizer.vocabulary)} words). Use a new output "
                "folder for a run on other captions."
            )
        return
    with atomic_write(path) as file:
        file.write(words)


def _attention_image_callbacks(config, validation, log_dir):
    """Per-word attention of `config.attention_images` validation videos.

    The first captioned videos of the validation split are described
    (greedily) after every epoch, and each word's attention maps and the
    sentence go to TensorBoard under `log_dir/attention`.
    """
    sample = CaptionScoreCallback.from_dataset(
        validation, config.attention_images
    )
    return [
        CaptionAttentionImageLogger(
            log_dir,
            {"features": sample.features, "frame_mask": sample.frame_mask},
            max_length=config.max_length,
            video_ids=sample.video_ids,
        )
    ]


def train_caption_model(
    config, train_dir, validation_dir, output_dir, verbose="auto", callbacks=()
):
    """Trains a video captioner; resumes from `output_dir` if it was killed.

    The vocabulary comes from the training captions only
    (`vidattn.training.build_caption_tokenizer` with `config.max_length`
    and `config.min_count`); the model carries it (and `vocabulary.txt`
    lists it, one word a line, for people). Each epoch trains on every
    training caption once, paired with all frames of its video; the
    validation loss is the captions' loss under teacher forcing. After
    every epoch the first `config.validation_videos` captioned validation
    videos (in the dataset's order) are described by beam search
    (`config.beam_width`) and scored against all their references
    (`vidattn.training.CaptionScoreCallback`): `val_BLEU-1` ...
    `val_BLEU-4`, `val_ROUGE-L`, `val_CIDEr`, and `val_METEOR` when it
    chooses the best model. `best.keras` is the model of the best
    `config.best_metric` on those, never on test data.

    Writes into `output_dir`: `config.json` (the configuration and the data
    it ran on), `vocabulary.txt`, `backup/` (`keras.callbacks.
    BackupAndRestore`), `best.keras` with `best.json`, `final.keras`,
    `history.csv` (losses and scores per epoch) and TensorBoard logs in
    `logs/`. The models carry `feature_metadata` (backbone, layer, input
    size, grid, channels, the records' frame `sampling` such as
    `"even:26/240"`, and the training split's name), so that new videos
    can be turned into the same features. Rerunning the same call after a
    kill continues from the last finished epoch; the caption order and
    dropout masks of every epoch depend only on `(config.seed, epoch)`, so
    it ends with the weights an unkilled run would have. A loss or weight
    that becomes NaN or inf stops the run with
    `vidattn.training.NonFiniteLossError` before anything of that epoch is
    saved.

    Args:
        config: a `vidattn.training.CaptionTrainingConfig`.
        train_dir, validation_dir: captioned dataset folders
            (`vidattn extract` output).
        output_dir: str. The run's folder.
        verbose: Keras `fit` verbosity; when true, a first line says what
            is trained and each epoch's scores are printed.
        callbacks: extra Keras callbacks, after the run's own.

    Returns:
        A dict with the paths written (`"best_model"` is `None` when no
        best model was written; `"best"` is its `best.json` record:
        `monitor`, `value`, `epoch`), `"vocabulary"` (the path of
        `vocabulary.txt`), `"resumed_from_epoch"`, the epochs' `"history"`
        in this call and `"seconds"`.

    Raises:
        ValueError: if the datasets have no captions or disagree, the
            linear attention meets videos of different frame counts, or the
            folder holds the run of another configuration or other data.
        vidattn.metrics.JavaNotFoundError: (an `OSError`) if sentences are
            to be scored and there is no Java, before anything is trained.
        ImportError: if they are to be scored and pycocoevalcap is missing.
        vidattn.training.NonFiniteLossError: (a `ValueError`) if the loss
            or the weights stop being finite.

    Example:

    ```python
    config = vidattn.training.CaptionTrainingConfig(units=512)
    summary = vidattn.training.train_caption_model(
        config, "/data/msvd/train", "/data/msvd/validation", "/runs/msvd"
    )
    summary["best"]  # {"monitor": "val_METEOR", "value": ..., "epoch": ...}
    ```
    """
    os.makedirs(output_dir, exist_ok=True)
    config_path = os.path.join(output_dir, CONFIG_FILE)
    train = FeatureDataset(train_dir)
    validation = FeatureDataset(validation_dir)
    sampling = _check_compatible(train, validation, config)
    _check_scoring_available(config)
    description = _data_description(train, sampling)
    previous = previous_configuration(output_dir, config)
    if previous is not None:
        _check_resumable(previous, description, config_path, train)
    tokenizer = build_caption_tokenizer(
        train, max_length=config.max_length, min_count=config.min_count
    )
    vocabulary_path = os.path.join(output_dir, VOCABULARY_FILE)
    _save_vocabulary(tokenizer, vocabulary_path, train)
    num_captions = int(train.num_captions.sum())
    config.save(
        config_path,
        train_data=os.path.abspath(train_dir),
        validation_data=os.path.abspath(validation_dir),
        train_split=train.split,
        train_videos=len(train.video_ids),
        train_captions=num_captions,
        vocabulary_size=tokenizer.vocabulary_size,
        **description,
    )

    keras.mixed_precision.set_global_policy(config.precision)
    keras.utils.set_random_seed(config.seed)
    first_epoch = resume_epoch(os.path.join(output_dir, BACKUP_FOLDER))
    steps_per_epoch = math.ceil(num_captions / config.batch_size)
    if verbose:
        print(
            f"Training {config.model} ({keras.backend.backend()} backend) "
            f"on {num_captions} captions of "
            f"{int((train.num_captions > 0).sum())} videos "
            f"({steps_per_epoch} steps per epoch), "
            f"{tokenizer.vocabulary_size} word ids; validating on "
            f"{int(validation.num_captions.sum())} captions, choosing the "
            f"best model on validation {config.best_metric}."
            + resume_note(first_epoch, config.epochs),
            flush=True,
        )
    train_data = epoch_pipelines(
        lambda epoch: caption_batches(
            train,
            tokenizer,
            config.batch_size,
            seed=config.seed * 10_007 + epoch,
            shuffle_buffer_size=config.shuffle_buffer,
        ),
        first_epoch,
        config.epochs,
    )
    validation_data = caption_batches(
        validation, tokenizer, config.batch_size, shuffle=False
    )

    model = build_video_captioner(
        config.model,
        tokenizer=tokenizer,
        feature_metadata=caption_feature_metadata(train, sampling),
        **config.model_hyperparameters(),
    )
    frames = int(train.num_frames.max())
    shape = (1, frames, train.grid_size, train.grid_size, train.channels)
    model(
        {
            "features": np.zeros(shape, "float32"),
            "frame_mask": np.ones((1, frames), bool),
            "caption_ids": np.array([[START_ID, UNKNOWN_ID, END_ID]], "int32"),
        }
    )
    model.compile(
        optimizer=keras.optimizers.get(
            {
                "class_name": config.optimizer,
                "config": {"learning_rate": config.learning_rate},
            }
        )
    )

    scoring = []
    if config.score_metrics:
        scoring.append(
            CaptionScoreCallback.from_dataset(
                validation,
                config.validation_videos,
                metrics=config.score_metrics,
                beam_width=config.beam_width,
                # The end token is a word of the search.
                max_length=config.max_length + 1,
                batch_size=config.batch_size,
                verbose=bool(verbose),
            )
        )
    if config.best_metric == "loss":
        monitor, mode = "val_loss", "min"
    else:
        monitor, mode = f"val_{config.best_metric}", "max"
    callbacks_of_run = run_callbacks(
        output_dir, config.seed, scoring, monitor=monitor, mode=mode
    )
    if config.attention_images > 0 and config.model != "average_pool":
        callbacks_of_run += _attention_image_callbacks(
            config, validation, os.path.join(output_dir, "logs")
        )
    callbacks_of_run += list(callbacks)
    summary = fit_resumably(
        model,
        train_data,
        validation_data,
        output_dir=output_dir,
        epochs=config.epochs,
        first_epoch=first_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks_of_run,
        verbose=verbose,
    )
    summary["vocabulary"] = vocabulary_path
    return summary
