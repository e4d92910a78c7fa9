"""Scoring a captioner's sentences for validation videos after every epoch."""

import time

import keras
import numpy as np

from vidattn.metrics.caption_metrics import caption_scores
from vidattn.utils.arguments import check_positive_int


class CaptionScoreCallback(keras.callbacks.Callback):
    """Describes validation videos after every epoch and scores the sentences.

    At the end of each epoch the model describes the videos with
    `model.generate` (beam search), and `vidattn.metrics.caption_scores`
    scores each sentence against all references of its video. The scores
    go into the epoch's logs with `prefix` (`val_BLEU-1` ... `val_BLEU-4`,
    `val_ROUGE-L`, `val_CIDEr`, `val_METEOR`), so that callbacks after
    this one (`vidattn.training.BestModelCheckpoint`,
    `keras.callbacks.CSVLogger`, `keras.callbacks.TensorBoard`) and the
    history see them: place it before them. With `verbose`, it prints one
    line per epoch with the losses and the scores.

    Args:
        video_ids: list of str, one per video.
        features: array `(videos, N, K, K, D)`, the videos' feature cubes
            (any float dtype; cast to float32 per batch).
        frame_mask: bool array `(videos, N)`, False for padding frames.
        references: dict from each of `video_ids` to its reference
            captions (a non-empty list of str).
        metrics: the `caption_scores` metrics. Defaults to BLEU, ROUGE-L
            and CIDEr.
        beam_width: int. Defaults to `4`.
        max_length: int. Most words per sentence. Defaults to `30`.
        batch_size: int. Videos described at once. Defaults to `32`.
        prefix: str. Prefix of the logged names. Defaults to `"val_"`.
        verbose: bool. Print a line per epoch. Defaults to `True`.

    Attributes:
        captions: the sentences of the last epoch, `{video_id: str}`.

    Raises:
        ValueError: if the arrays do not hold one entry per video, or a
            video has no references.
    """

    def __init__(
        self,
        video_ids,
        features,
        frame_mask,
        references,
        metrics=("bleu", "rouge_l", "cider"),
        beam_width=4,
        max_length=30,
        batch_size=32,
        prefix="val_",
        verbose=True,
    ):
        super().__init__()
        self.video_ids = list(video_ids)
        if not (len(self.video_ids) == len(features) == len(frame_mask)):
            raise ValueError(
                "Expected one feature cube and one frame mask per video. "
                f"Received: {len(self.video_ids)} video ids, "
                f"{len(features)} feature cubes, {len(frame_mask)} masks."
            )
        without = [v for v in self.video_ids if not references.get(v)]
        if without:
            raise ValueError(
                "Expected reference captions for every video to score. "
                f"Received none for {without[:5]}."
            )
        self.features = features
        self.frame_mask = np.asarray(frame_mask, bool)
        self.references = {v: list(references[v]) for v in self.video_ids}
        self.metrics = tuple(metrics)
        self.beam_width = check_positive_int("beam_width", beam_width)
        self.max_length = check_positive_int("max_length", max_length)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.prefix = prefix
        self.verbose = verbose
        self.captions = {}

    @classmethod
    def from_dataset(cls, dataset, num_videos, **kwargs):
        """Scores the first `num_videos` captioned videos of a dataset.

        The videos are taken in the dataset's (manifest) order, skipping
        videos without captions, so that every epoch, and every run on the
        same data, scores the same ones. Their features stay in memory in
        the storage dtype (float16: 2.6 MB per 26-frame video of 7x7x1024).

        Args:
            dataset: `vidattn.data.FeatureDataset` with captions.
            num_videos: int. How many videos (fewer if the dataset has
                fewer captioned videos).
            **kwargs: the other arguments of `CaptionScoreCallback`.

        Returns:
            A `CaptionScoreCallback`.
        """
        check_positive_int("num_videos", num_videos)
        video_ids, cubes, valid_frames, references = [], [], [], {}
        for video in dataset.videos():
            if not len(video["captions"]):
                continue
            video_ids.append(video["video_id"])
            cubes.append(video["features"])
            valid_frames.append(video["num_frames"] - video["padding_frames"])
            references[video["video_id"]] = list(video["captions"])
            if len(video_ids) == num_videos:
                break
        frames = max(len(cube) for cube in cubes)
        features = np.zeros((len(cubes), frames, *cubes[0].shape[1:]))
        features = features.astype(cubes[0].dtype)
        for index, cube in enumerate(cubes):
            features[index, : len(cube)] = cube
        frame_mask = np.arange(frames)[None] < np.array(valid_frames)[:, None]
        return cls(video_ids, features, frame_mask, references, **kwargs)

    def describe(self):
        """The model's sentence for each video, `{video_id: str}`."""
        captions = {}
        for start in range(0, len(self.video_ids), self.batch_size):
            batch = slice(start, start + self.batch_size)
            result = self.model.generate(
                {
                    "features": self.features[batch].astype("float32"),
                    "frame_mask": self.frame_mask[batch],
                },
                beam_width=self.beam_width,
                max_length=self.max_length,
            )
            captions.update(zip(self.video_ids[batch], result["captions"]))
        return captions

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        started = time.perf_counter()
        self.captions = self.describe()
        scores = caption_scores(self.references, self.captions, self.metrics)
        for name, value in scores.items():
            logs[self.prefix + name] = value
        if self.verbose:
            shown = ", ".join(
                f"{name} {float(value):.4f}" for name, value in logs.items()
            )
            print(
                f"Epoch {epoch + 1}/{self.params.get('epochs')}: {shown} "
                f"({len(self.video_ids)} videos described and scored in "
                f"{time.perf_counter() - started:.1f} s)",
                flush=True,
            )
