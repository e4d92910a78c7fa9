"""Feature extraction: video files in, per-video feature TFRecords out.

`FeatureExtractor` reads the `VideoEntry`s that the importers of
`vidattn.data.importers` list, decodes each video with PyAV
(`vidattn.data.VideoReader`) in a pool of threads, samples its frames by a
`FrameSampling` rule, runs a `vidattn.backbones.Backbone` over the frames in
full batches (frames of consecutive videos share a batch, so short videos do
not waste padded forward passes), and writes each video's K×K×D cubes through
`vidattn.data.ShardWriter` into a folder that `vidattn.data.FeatureDataset`
reads.

Decoding runs ahead of the backbone in a bounded queue, so that the network
rarely waits for the decoder and memory holds at most a few decoded videos. A
run is resumable: videos the folder already holds are skipped, and a video
that cannot be decoded is reported in `failures.json` and skipped while the
run goes on.
"""

import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import math
import numbers
import os
import random
import re
import sys
import threading
import time
from typing import Optional
from typing import Tuple

import numpy as np
from absl import logging

from vidattn.backbones.backbone import Backbone
from vidattn.data import schema
from vidattn.data.importers import SPLITS
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import VideoEntry
from vidattn.data.shard_writer import ShardWriter
from vidattn.data.video_reader import VideoDecodeError
from vidattn.data.video_reader import VideoReader

FAILURES_FILENAME = "failures.json"
"""The file, in a split's folder, that lists the videos a run could not use."""

_FAILURES_FORMAT = "vidattn.ExtractionFailures"

_FPS_SPEC = re.compile(r"^fps=(?P<fps>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$")
_EVEN_SPEC = re.compile(r"^even:(?P<n>[0-9]+)/(?P<m>[0-9]+)$")


@dataclasses.dataclass(frozen=True)
class FrameSampling:
    """How the frames of a video are drawn before they reach the backbone.

    Three rules, spelled as the records' `sampling` field spells them
    (see `tfrecords/README.md`):

    - `"fps=<rate>"`: resample by timestamp to a constant rate
      (`VideoReader.read(fps=rate)`); every video of the dataset then shares
      `stored_fps = rate`, which `FeatureDataset.windows(target_fps=...)`
      needs.
    - `"all"`: every decoded frame (`VideoReader.read()`); each record keeps
      its source's frame rate and the manifest has `stored_fps` null.
    - `"even:<N>/<M>"`: the thesis's rule (§3.2.2), N frames evenly spaced
      over the first M (`VideoReader.read_evenly_spaced(N, M)`), black frames
      standing in for the frames a shorter video lacks; `stored_fps` is 0.

    Build one with `FrameSampling.parse(...)`, `FrameSampling.at_fps(rate)`,
    `FrameSampling.all_frames()` or `FrameSampling.evenly_spaced(N, M)`.

    Args:
        kind: str. `"fps"`, `"all"` or `"even"`.
        fps: float or None. The rate of `"fps"` sampling.
        num_frames: int or None. N of `"even"` sampling.
        first_frames: int or None. M of `"even"` sampling.

    Raises:
        ValueError: if the fields do not describe one of the three rules.

    Example:

    >>> import vidattn.data.feature_extractor as fe
    >>> fe.FrameSampling.parse(30).spec
    'fps=30'
    >>> fe.FrameSampling.parse("even:26/240").num_frames
    26
    """

    kind: str
    fps: Optional[float] = None
    num_frames: Optional[int] = None
    first_frames: Optional[int] = None

    def __post_init__(self):
        if self.kind == "fps":
            fps = self.fps
            if (
                isinstance(fps, bool)
                or not isinstance(fps, numbers.Real)
                or not math.isfinite(fps)
                or fps <= 0
                or self.num_frames is not None
                or self.first_frames is not None
            ):
                raise ValueError(
                    "Expected `fps` sampling with a positive, finite rate. "
                    f"Received: fps={fps!r}"
                )
            object.__setattr__(self, "fps", float(fps))
        elif self.kind == "all":
            if (
                self.fps is not None
                or self.num_frames is not None
                or self.first_frames is not None
            ):
                raise ValueError(
                    "Expected `all` sampling without fps or frame counts. "
                    f"Received: {self!r}"
                )
        elif self.kind == "even":
            n, m = self.num_frames, self.first_frames
            if (
                self.fps is not None
                or not all(
                    isinstance(v, numbers.Integral)
                    and not isinstance(v, bool)
                    and v > 0
                    for v in (n, m)
                )
                or n > m
            ):
                raise ValueError(
                    "Expected `even` sampling with positive ints "
                    "num_frames <= first_frames (N evenly spaced frames of "
                    f"the first M). Received: num_frames={n!r}, "
                    f"first_frames={m!r}"
                )
            object.__setattr__(self, "num_frames", int(n))
            object.__setattr__(self, "first_frames", int(m))
        else:
            raise ValueError(
                "Expected `kind` to be 'fps', 'all' or 'even'. "
                f"Received: kind={self.kind!r}"
            )

    @classmethod
    def at_fps(cls, fps):
        """Sampling by timestamp at `fps` frames per second."""
        return cls("fps", fps=fps)

    @classmethod
    def all_frames(cls):
        """Every decoded frame."""
        return cls("all")

    @classmethod
    def evenly_spaced(cls, num_frames=26, first_frames=240):
        """N frames evenly spaced over the first M (the thesis: 26 of 240)."""
        return cls("even", num_frames=num_frames, first_frames=first_frames)

    @classmethod
    def parse(cls, value):
        """Reads a sampling rule from a number, a string or a `FrameSampling`.

        Args:
            value: a `FrameSampling`; a positive number (a frame rate); or a
                str: `"all"`, `"fps=<rate>"` (`"fps=30"`), a bare rate
                (`"30"`), `"even:<N>/<M>"` or `"<N>/<M>"` (`"26/240"`).

        Returns:
            A `FrameSampling`.

        Raises:
            ValueError: if `value` is none of these.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return cls.at_fps(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "all":
                return cls.all_frames()
            if re.fullmatch(r"[0-9]+/[0-9]+", text):
                text = "even:" + text
            elif re.fullmatch(r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?", text):
                text = "fps=" + text
            match = _FPS_SPEC.match(text)
            if match:
                return cls.at_fps(float(match.group("fps")))
            match = _EVEN_SPEC.match(text)
            if match:
                return cls.evenly_spaced(
                    int(match.group("n")), int(match.group("m"))
                )
        raise ValueError(
            "Expected a frame sampling rule: a frame rate (30 or 'fps=30'), "
            "'all' (every frame), or N evenly spaced of the first M frames "
            f"('even:26/240' or '26/240'). Received: {value!r}"
        )

    @property
    def spec(self):
        """The rule as the records' `sampling` field spells it."""
        if self.kind == "fps":
            return f"fps={self.fps:g}"
        if self.kind == "all":
            return "all"
        return f"even:{self.num_frames}/{self.first_frames}"

    @property
    def stored_fps(self):
        """The frame rate every video shares after sampling, or None."""
        return self.fps if self.kind == "fps" else None

    def record_stored_fps(self, source_fps):
        """The `stored_fps` of one record, given its source's frame rate."""
        if self.kind == "fps":
            return self.fps
        if self.kind == "all":
            return _known_fps(source_fps)
        return 0.0

    def read(self, reader, max_frames=None):
        """Samples the frames of one video.

        Args:
            reader: a `vidattn.data.VideoReader`.
            max_frames: int or None. For `fps` and `all` sampling, stop after
                this many frames (bounds memory on very long videos).
                Defaults to `None`.

        Returns:
            The reader's `SampledFrames`.

        Raises:
            vidattn.data.VideoDecodeError: if the video cannot be decoded.
        """
        if self.kind == "fps":
            return reader.read(fps=self.fps, max_frames=max_frames)
        if self.kind == "all":
            return reader.read(max_frames=max_frames)
        return reader.read_evenly_spaced(self.num_frames, self.first_frames)

    def __str__(self):
        return self.spec


@dataclasses.dataclass(frozen=True)
class ExtractionFailure:
    """A video that could not be used, and why.

    Attributes:
        video_id: str.
        path: str. The video file.
        reason: str. What went wrong, in words.
    """

    video_id: str
    path: str
    reason: str

    def to_json(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class VideoResult:
    """What happened to one video; passed to the `on_video` callback.

    Attributes:
        video_id: str.
        path: str.
        written: bool. Whether the video's features were written.
        num_frames: int. Frames stored (0 when not written).
        reason: str or None. Why the video was skipped, when it was.
    """

    video_id: str
    path: str
    written: bool
    num_frames: int = 0
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class ExtractionSummary:
    """The outcome of extracting one split.

    Attributes:
        split: str.
        output_dir: str. The split's dataset folder.
        written: int. Videos written by this run.
        skipped: int. Videos the folder already held (not redone).
        failed: int. Videos that could not be decoded or written.
        failures: tuple of `ExtractionFailure`, also in `failures.json`.
        num_frames: int. Frames written by this run.
        seconds: float. Wall time of the run.
    """

    split: str
    output_dir: str
    written: int
    skipped: int
    failed: int
    failures: Tuple[ExtractionFailure, ...]
    num_frames: int
    seconds: float

    @property
    def videos_per_second(self):
        done = self.written + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_second(self):
        return self.num_frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self):
        return (
            f"{self.split}: {self.written} written, {self.skipped} skipped "
            f"(already done), {self.failed} failed, {self.num_frames} frames "
            f"in {self.seconds:.1f} s ({self.videos_per_second:.2f} videos/s, "
            f"{self.frames_per_second:.1f} frames/s) -> {self.output_dir}"
        )


def build_backbone(
    name="efficientnet_lite0",
    *,
    weights="imagenet",
    layer_name=None,
    input_size=None,
):
    """Builds a backbone from its name, as the `vidattn extract` flags give it.

    Args:
        name: str. `"efficientnet_lite0"` (the offline ImageNet
            EfficientNet-Lite0, `vidattn.backbones.EfficientNetLite0Backbone`)
            or the name of a `keras.applications` constructor
            (`"InceptionV3"`, `"ResNet50"`, ...: a
            `vidattn.backbones.KerasApplicationBackbone`). Defaults to
            `"efficientnet_lite0"`.
        weights: `"imagenet"`, `None` (or `"none"`: random), or a weights
            file. Keras applications download `"imagenet"` weights on first
            use; EfficientNet-Lite0 reads them from an installed package.
            Defaults to `"imagenet"`.
        layer_name: str or None. The layer whose maps are stored. Defaults to
            `None`: the backbone's last convolutional map.
        input_size: int, `(height, width)` or None. Defaults to `None`: the
            size the network was trained at (224 for EfficientNet-Lite0).

    Returns:
        A `vidattn.backbones.Backbone`.

    Raises:
        ValueError: if the name is neither, or the other arguments do not
            fit the network.
    """
    from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
    from vidattn.backbones.keras_application_backbone import (
        KerasApplicationBackbone,
    )

    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    if not isinstance(name, str) or not name:
        raise ValueError(
            "Expected `name` to be 'efficientnet_lite0' or a "
            f"keras.applications name. Received: name={name!r}"
        )
    if name.replace("_", "").replace("-", "").lower() == "efficientnetlite0":
        kwargs = {"weights": weights}
        if layer_name is not None:
            kwargs["layer_name"] = layer_name
        if input_size is not None:
            kwargs["input_size"] = input_size
        return EfficientNetLite0Backbone(**kwargs)
    return KerasApplicationBackbone(
        name, weights=weights, layer_name=layer_name, input_size=input_size
    )


def select_entries(index_or_entries, split, class_names=None, multi_label=None):
    """The entries of one split, with the dataset's classes.

    Args:
        index_or_entries: a `DatasetIndex`, or an iterable of `VideoEntry`.
        split: str. `"train"`, `"validation"` or `"test"`.
        class_names: sequence of str or None. The classes, when plain
            entries are given (a `DatasetIndex` carries its own). Defaults to
            `None`: no classes.
        multi_label: bool or None. As `class_names`. Defaults to `None`:
            single-label.

    Returns:
        A tuple `(entries, class_names, multi_label)`: the split's entries in
        their given order, a tuple of str and a bool.

    Raises:
        ValueError: if `split` is unknown, an item is not a `VideoEntry`,
            video ids repeat, labels do not fit the classes, or classes are
            given both by an index and by argument.
    """
    if split not in SPLITS:
        raise ValueError(
            f"Expected `split` to be one of {', '.join(SPLITS)}. "
            f"Received: split={split!r}"
        )
    if isinstance(index_or_entries, DatasetIndex):
        if class_names is not None or multi_label is not None:
            raise ValueError(
                "Expected no `class_names` or `multi_label` with a "
                "DatasetIndex, which carries its own. Received: "
                f"class_names={class_names!r}, multi_label={multi_label!r}"
            )
        index = index_or_entries
    else:
        if isinstance(index_or_entries, (str, bytes, VideoEntry)):
            raise ValueError(
                "Expected a DatasetIndex or an iterable of VideoEntry. "
                f"Received: {index_or_entries!r}"
            )
        # DatasetIndex checks ids and labels against the classes.
        index = DatasetIndex(
            index_or_entries,
            class_names=() if class_names is None else class_names,
            multi_label=bool(multi_label),
        )
    entries = index.split(split)
    return entries, tuple(index.class_names), bool(index.multi_label)


class FeatureExtractor:
    """Extracts a backbone's feature cubes from videos into TFRecord shards.

    For each `VideoEntry` of a split, the video is decoded by PyAV, its
    frames are sampled by `sampling` and reach the backbone as uint8 RGB
    (the backbone resizes and normalises them itself), and the `(frames, K,
    K, D)` cubes are written, with the entry's labels and captions, by a
    `vidattn.data.ShardWriter` into one dataset folder per split.

    How it runs:

    - `workers` threads decode videos ahead of the backbone into a queue of
      at most `prefetch` videos (PyAV and PIL release the GIL, so decoding
      overlaps the network and memory stays bounded).
    - The backbone runs in the calling thread on full batches of
      `batch_size` frames; frames of consecutive videos share a batch.
    - Videos are written in an order shuffled by `shuffle_seed` (readers
      mix only a few shards at a time, so a folder sorted by class would
      train badly).
    - Resumable: videos that the folder already holds
      (`ShardWriter.has`) are skipped, so a rerun after a crash, a kill or
      Ctrl-C redoes only the unfinished shard's videos and stores none twice
      (a kill loses at most the shard being written: lower
      `max_videos_per_shard` to lose less).
    - A video that cannot be decoded (missing, empty, truncated, corrupt,
      no video stream) or written is logged with its file and reason,
      listed in `<folder>/failures.json` (rewritten atomically as the run
      goes) and skipped; the run goes on. A rerun tries it again.
    - A progress line on stderr shows videos/s, frames/s and the ETA,
      redrawn in place on a terminal and printed every
      `progress_interval` seconds otherwise.

    Args:
        backbone: a `vidattn.backbones.Backbone`.
        sampling: a `FrameSampling`, or what `FrameSampling.parse` reads:
            a frame rate (`30`, `"fps=30"`), `"all"`, or `"even:26/240"`.
        batch_size: int. Frames per forward pass. Defaults to 32.
        workers: int. Decoder threads. Defaults to 2.
        prefetch: int or None. Decoded videos waiting for the backbone at
            most. Defaults to `None`: `2 * workers`.
        dtype: str. Storage dtype, `"float16"` or `"float32"`. Defaults to
            `"float16"`.
        max_frames: int or None. For `fps` and `all` sampling, keep at most
            this many frames of a video. Defaults to `None` (all).
        resize_in_decoder: bool. Resize frames to the backbone's input size
            in the decoder threads (PIL, antialiased bilinear), which cuts
            memory and frees the backbone's thread; ignored when the
            backbone crops to its aspect ratio. Defaults to `True`.
        shuffle_seed: int or None. Seed of the writing order; None keeps the
            entries' order. Defaults to 0.
        max_videos_per_shard: int or None. See `ShardWriter`. Defaults to
            `None`.
        max_shard_bytes: int. See `ShardWriter`. Defaults to 256 MiB.
        verbose: int. 0 silent, 1 a progress line. Defaults to 1.
        progress_interval: float. Seconds between progress lines when
            stderr is not a terminal. Defaults to 30.

    Raises:
        ValueError: if an argument is invalid.

    Example:

    ```python
    import vidattn.data.importers as importers
    from vidattn.backbones import EfficientNetLite0Backbone
    from vidattn.data.feature_extractor import FeatureExtractor

    index = importers.load_ucf11("/data/UCF11_updated_mpg")
    extractor = FeatureExtractor(EfficientNetLite0Backbone(), sampling=30)
    summaries = extractor.extract_splits(index, "/data/ucf11_features")
    print(summaries["train"])  # train: 960 written, 0 skipped, 0 failed, ...
    data = vidattn.data.FeatureDataset("/data/ucf11_features/train")
    ```
    """

    def __init__(
        self,
        backbone,
        sampling,
        *,
        batch_size=32,
        workers=2,
        prefetch=None,
        dtype="float16",
        max_frames=None,
        resize_in_decoder=True,
        shuffle_seed=0,
        max_videos_per_shard=None,
        max_shard_bytes=256 * 2**20,
        verbose=1,
        progress_interval=30.0,
    ):
        if not isinstance(backbone, Backbone):
            raise ValueError(
                "Expected `backbone` to be a vidattn.backbones.Backbone (e.g. "
                "EfficientNetLite0Backbone()). Received: "
                f"backbone={backbone!r}"
            )
        for name, value in (("batch_size", batch_size), ("workers", workers)):
            _check_positive_int(name, value)
        if prefetch is None:
            prefetch = 2 * workers
        _check_positive_int("prefetch", prefetch)
        if max_frames is not None:
            _check_positive_int("max_frames", max_frames)
        if dtype not in schema.STORAGE_DTYPES:
            raise ValueError(
                f"Expected `dtype` to be one of {schema.STORAGE_DTYPES}. "
                f"Received: dtype={dtype!r}"
            )
        if shuffle_seed is not None and (
            isinstance(shuffle_seed, bool)
            or not isinstance(shuffle_seed, numbers.Integral)
        ):
            raise ValueError(
                "Expected `shuffle_seed` to be an int or None. "
                f"Received: shuffle_seed={shuffle_seed!r}"
            )
        if verbose not in (0, 1, True, False):
            raise ValueError(
                f"Expected `verbose` to be 0 or 1. Received: verbose={verbose!r}"
            )
        self.backbone = backbone
        self.sampling = FrameSampling.parse(sampling)
        self.batch_size = int(batch_size)
        self.workers = int(workers)
        self.prefetch = int(prefetch)
        self.dtype = dtype
        self.max_frames = max_frames
        self.resize_in_decoder = bool(resize_in_decoder)
        self.shuffle_seed = shuffle_seed
        self.max_videos_per_shard = max_videos_per_shard
        self.max_shard_bytes = max_shard_bytes
        self.verbose = int(verbose)
        self.progress_interval = float(progress_interval)

    def __repr__(self):
        return (
            f"FeatureExtractor(backbone={self.backbone!r}, "
            f"sampling={self.sampling.spec!r}, batch_size={self.batch_size}, "
            f"workers={self.workers}, dtype={self.dtype!r})"
        )

    @property
    def decode_size(self):
        """The size decoders resize frames to, or None (the backbone does)."""
        if self.resize_in_decoder and not self.backbone.crop_to_aspect_ratio:
            return self.backbone.input_size
        return None

    def extract_splits(self, index, output_dir, splits=None, *, on_video=None):
        """Extracts several splits of an index, one folder per split.

        Args:
            index: a `DatasetIndex`.
            output_dir: str. Split `s` goes to `<output_dir>/<s>/`.
            splits: sequence of str or None. Defaults to `None`: every split
                that holds a video, in the order train, validation, test.
            on_video: callable or None. See `extract_dataset`.

        Returns:
            A dict mapping each split extracted to its `ExtractionSummary`.
        """
        if not isinstance(index, DatasetIndex):
            raise ValueError(
                "Expected `index` to be a DatasetIndex. "
                f"Received: {type(index).__name__}"
            )
        if splits is None:
            sizes = index.split_sizes()
            splits = [split for split in SPLITS if sizes[split]]
        summaries = {}
        for split in splits:
            summaries[split] = self.extract_dataset(
                index,
                os.path.join(output_dir, split),
                split=split,
                on_video=on_video,
            )
        return summaries

    def extract_dataset(
        self,
        index_or_entries,
        output_dir,
        split="train",
        *,
        class_names=None,
        multi_label=None,
        on_video=None,
    ):
        """Extracts the videos of one split into a dataset folder.

        Args:
            index_or_entries: a `DatasetIndex`, or an iterable of
                `VideoEntry` (then `class_names` and `multi_label` describe
                their labels). Only the entries of `split` are used.
            output_dir: str. The split's dataset folder; created if missing,
                resumed if it holds an earlier run of the same settings.
            split: str. `"train"`, `"validation"` or `"test"`. Defaults to
                `"train"`.
            class_names: sequence of str or None. With plain entries only.
            multi_label: bool or None. With plain entries only.
            on_video: callable or None. Called with a `VideoResult` after
                each video is written or fails. An exception it raises stops
                the run (the folder keeps what was written and resumes).

        Returns:
            An `ExtractionSummary`.

        Raises:
            ValueError: if the entries are invalid, or the folder holds a
                dataset of other settings (backbone, layer, sampling rate,
                classes, dtype).
            RuntimeError: if another writer holds the folder.
        """
        started = time.perf_counter()
        entries, class_names, multi_label = select_entries(
            index_or_entries, split, class_names, multi_label
        )
        output_dir = os.path.abspath(os.fspath(output_dir))
        if not entries:
            logging.warning(
                "FeatureExtractor: no video in split %r; nothing written to %s.",
                split,
                output_dir,
            )
            return ExtractionSummary(split, output_dir, 0, 0, 0, (), 0, 0.0)
        entries = list(entries)
        if self.shuffle_seed is not None:
            random.Random(self.shuffle_seed).shuffle(entries)
        backbone = self.backbone
        writer = ShardWriter(
            output_dir,
            backbone=backbone.name,
            layer=backbone.layer_name,
            input_size=backbone.input_size,
            grid_size=backbone.grid_size,
            channels=backbone.channels,
            dtype=self.dtype,
            class_names=class_names,
            multi_label=multi_label,
            split=split,
            stored_fps=self.sampling.stored_fps,
            max_videos_per_shard=self.max_videos_per_shard,
            max_shard_bytes=self.max_shard_bytes,
        )
        failures = []
        counts = {"written": 0, "frames": 0}
        with writer:
            todo = [e for e in entries if not writer.has(e.video_id)]
            skipped = len(entries) - len(todo)
            progress = _Progress(
                split,
                total=len(todo),
                skipped=skipped,
                verbose=self.verbose,
                interval=self.progress_interval,
            )

            def report(result):
                if not result.written:
                    failure = ExtractionFailure(
                        result.video_id, result.path, result.reason
                    )
                    failures.append(failure)
                    write_failures(output_dir, split, failures)
                    progress.note(
                        f"Skipped video {result.video_id!r} ({result.path}): "
                        f"{result.reason}"
                    )
                else:
                    counts["written"] += 1
                    counts["frames"] += result.num_frames
                progress.update(
                    counts["written"], len(failures), counts["frames"]
                )
                if on_video is not None:
                    on_video(result)

            def write(video):
                entry = video.entry
                features = (
                    video.features[0]
                    if len(video.features) == 1
                    else np.concatenate(video.features)
                )
                try:
                    writer.write(
                        entry.video_id,
                        features,
                        labels=list(entry.labels) if class_names else None,
                        captions=list(entry.captions) or None,
                        sampling=self.sampling.spec,
                        stored_fps=self.sampling.record_stored_fps(
                            video.source_fps
                        ),
                        source_fps=_known_fps(video.source_fps),
                    )
                except ValueError as error:
                    report(
                        VideoResult(
                            entry.video_id,
                            entry.path,
                            False,
                            reason=f"could not be written: {error}",
                        )
                    )
                    return
                report(
                    VideoResult(entry.video_id, entry.path, True, len(features))
                )

            try:
                batcher = _FrameBatcher(backbone, self.batch_size)
                # Closed at once on an error, so that the decoders stop.
                with contextlib.closing(self._decoded(todo)) as videos:
                    for decoded in videos:
                        if decoded.reason is not None:
                            report(
                                VideoResult(
                                    decoded.entry.video_id,
                                    decoded.entry.path,
                                    False,
                                    reason=decoded.reason,
                                )
                            )
                            continue
                        for video in batcher.add(decoded):
                            write(video)
                for video in batcher.flush():
                    write(video)
            finally:
                write_failures(output_dir, split, failures)
                progress.close()
        return ExtractionSummary(
            split=split,
            output_dir=output_dir,
            written=counts["written"],
            skipped=skipped,
            failed=len(failures),
            failures=tuple(failures),
            num_frames=counts["frames"],
            seconds=time.perf_counter() - started,
        )

    def _decoded(self, entries):
        """Yields `_DecodedVideo`s in entry order, decoded ahead by a pool."""
        stop = threading.Event()
        decode = functools.partial(
            _decode_video,
            sampling=self.sampling,
            size=self.decode_size,
            max_frames=self.max_frames,
            stop=stop,
        )
        pending = collections.deque()
        remaining = iter(entries)
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="vidattn-decoder"
        )
        try:
            while True:
                # The deque is the bounded queue: at most `prefetch` videos
                # are decoded or decoding ahead of the backbone.
                while len(pending) < self.prefetch:
                    entry = next(remaining, None)
                    if entry is None:
                        break
                    pending.append(pool.submit(decode, entry))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            stop.set()
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)


@dataclasses.dataclass
class _DecodedVideo:
    entry: VideoEntry
    frames: Optional[np.ndarray] = None
    source_fps: float = 0.0
    reason: Optional[str] = None
    features: list = dataclasses.field(default_factory=list)
    remaining: int = 0


def _decode_video(entry, *, sampling, size, max_frames, stop):
    """Decodes and samples one video; runs in a decoder thread."""
    if stop.is_set():
        return _DecodedVideo(entry, reason="the run stopped")
    try:
        reader = VideoReader(entry.path, size=size)
        sampled = sampling.read(reader, max_frames=max_frames)
    except VideoDecodeError as error:
        return _DecodedVideo(entry, reason=error.reason)
    except Exception as error:  # noqa: BLE001 - one bad file must not end a run.
        return _DecodedVideo(
            entry, reason=f"decoding failed: {type(error).__name__}: {error}"
        )
    return _DecodedVideo(
        entry,
        frames=sampled.frames,
        source_fps=reader.fps,
        remaining=len(sampled.frames),
    )


class _FrameBatcher:
    """Runs the backbone on full batches of frames drawn from several videos.

    Videos enter in order; a video leaves (its features complete) once every
    one of its frames went through the backbone, in the same order. Every
    forward pass has exactly `batch_size` frames (the last one is padded), so
    the network is traced once per frame size.
    """

    def __init__(self, backbone, batch_size):
        self.backbone = backbone
        self.batch_size = batch_size
        self._videos = collections.deque()
        self._chunks = collections.deque()
        self._buffered = 0

    def add(self, video):
        self._videos.append(video)
        self._chunks.append((video, video.frames))
        self._buffered += len(video.frames)
        done = []
        while self._buffered >= self.batch_size:
            done += self._run()
        return done

    def flush(self):
        done = []
        while self._buffered:
            done += self._run()
        return done

    def _run(self):
        pieces, owners = [], []
        need = self.batch_size
        shape = None
        while need and self._chunks:
            video, frames = self._chunks[0]
            if shape is not None and frames.shape[1:] != shape:
                # Frames of another size (no resizing in the decoders)
                # cannot share the batch.
                break
            shape = frames.shape[1:]
            take = frames[:need]
            pieces.append(take)
            owners.append((video, len(take)))
            if len(take) == len(frames):
                self._chunks.popleft()
            else:
                self._chunks[0] = (video, frames[len(take) :])
            need -= len(take)
        count = self.batch_size - need
        if need:
            pieces.append(np.zeros((need,) + shape, dtype=pieces[0].dtype))
        batch = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        features = self.backbone.extract(batch, batch_size=self.batch_size)
        self._buffered -= count
        offset = 0
        for video, taken in owners:
            video.features.append(features[offset : offset + taken])
            video.remaining -= taken
            offset += taken
        done = []
        while self._videos and self._videos[0].remaining == 0:
            video = self._videos.popleft()
            video.frames = None
            done.append(video)
        return done


class _Progress:
    """A one-line progress report on stderr: redrawn on a TTY, else periodic."""

    def __init__(self, split, total, skipped, verbose, interval, stream=None):
        self.split = split
        self.total = total
        self.verbose = verbose
        self.interval = interval
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.dynamic = bool(isatty and isatty())
        self.started = time.perf_counter()
        self.last_shown = self.started
        self.done = 0
        self.line = ""
        self.values = (0, 0, 0)
        if verbose:
            self._print(
                f"{split}: {total + skipped} videos, {skipped} already "
                f"extracted, {total} to extract."
            )

    def _print(self, text):
        if self.dynamic and self.line:
            self.stream.write("\r" + " " * len(self.line) + "\r")
            self.line = ""
        self.stream.write(text + "\n")
        self.stream.flush()

    def _format(self):
        written, failed, frames = self.values
        done = written + failed
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        videos_rate = done / elapsed
        if done and done < self.total:
            eta = _format_seconds((self.total - done) / videos_rate)
        elif done >= self.total:
            eta = "0s"
        else:
            eta = "?"
        return (
            f"{self.split}: {done}/{self.total} videos"
            f"{f' ({failed} failed)' if failed else ''} | "
            f"{videos_rate:.2f} videos/s | {frames / elapsed:.1f} frames/s | "
            f"{_format_seconds(elapsed)} elapsed, ETA {eta}"
        )

    def update(self, written, failed, frames):
        if not self.verbose:
            return
        self.values = (written, failed, frames)
        now = time.perf_counter()
        if self.dynamic:
            if now - self.last_shown >= 0.1 or written + failed >= self.total:
                line = self._format()
                padding = " " * max(len(self.line) - len(line), 0)
                self.stream.write("\r" + line + padding)
                self.stream.flush()
                self.line = line
                self.last_shown = now
        elif now - self.last_shown >= self.interval:
            self._print(self._format())
            self.last_shown = now

    def note(self, message):
        if self.verbose:
            self._print(message)
            if self.dynamic:
                self.update(*self.values)
        else:
            logging.warning("%s", message)

    def close(self):
        if not self.verbose:
            return
        if self.dynamic and self.line:
            self.stream.write("\n")
            self.stream.flush()
            self.line = ""
        else:
            self._print(self._format())


def _format_seconds(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def write_failures(directory, split, failures):
    """Writes `<directory>/failures.json` atomically (temporary file, rename).

    Args:
        directory: str. The split's dataset folder.
        split: str. Named in the file.
        failures: sequence of `ExtractionFailure`.
    """
    path = os.path.join(directory, FAILURES_FILENAME)
    document = {
        "format": _FAILURES_FORMAT,
        "split": split,
        "num_failures": len(failures),
        "failures": [failure.to_json() for failure in failures],
    }
    tmp = path + schema.TMP_SUFFIX
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_failures(directory):
    """Reads the `failures.json` of a split's folder.

    Args:
        directory: str. The split's dataset folder.

    Returns:
        A list of `ExtractionFailure` (empty when the file is missing).
    """
    path = os.path.join(directory, FAILURES_FILENAME)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    return [ExtractionFailure(**item) for item in document["failures"]]


def _known_fps(fps):
    return float(fps) if fps and math.isfinite(fps) and fps > 0 else 0.0


def _check_positive_int(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value <= 0
    ):
        raise ValueError(
            f"Expected `{name}` to be a positive integer. "
            f"Received: {name}={value!r}"
        )
