"""Feature extraction: video files in, per-video feature TFRecords out.

`FeatureExtractor` reads the `VideoEntry`s that the importers of
`vidattn.data.importers` list and only orchestrates: decoder threads
(`decode_entries`) decode each video with PyAV and sample its frames by a
`vidattn.data.FrameSampling` rule, a `FrameBatcher` runs a
`vidattn.backbones.Backbone` over the frames in full batches (frames of
consecutive videos share a batch, so short videos do not waste padded
forward passes), and a `SplitRecorder` writes each video's K×K×D cubes
through `vidattn.data.ShardWriter` into a folder that
`vidattn.data.FeatureDataset` reads, keeping `failures.json` and the
progress display.

Decoding runs ahead of the backbone in a bounded queue, so that the network
rarely waits for the decoder and memory holds at most a few decoded videos. A
run is resumable: videos the folder already holds are skipped, and a video
that cannot be decoded is reported in `failures.json` and skipped while the
run goes on.
"""

import contextlib
import os
import random
import time

from absl import logging

from vidattn.backbones.backbone import Backbone
from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.importers import SPLITS
from vidattn.data.importers import DatasetIndex
from vidattn.data.schema import STORAGE_DTYPES
from vidattn.data.shard_writer import ShardWriter
from vidattn.extraction.dataset_settings import dataset_settings
from vidattn.extraction.decoding import decode_entries
from vidattn.extraction.entry_selection import select_entries
from vidattn.extraction.extraction_progress import ExtractionProgress
from vidattn.extraction.extraction_summary import ExtractionSummary
from vidattn.extraction.frame_batcher import FrameBatcher
from vidattn.extraction.split_recorder import SplitRecorder
from vidattn.utils.arguments import check_int
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.folder_lock import FolderLock

INDEX_FILENAME = "index.json"
"""The file, in an output folder, that `extract_splits` saves the index as."""

OUTPUT_LOCK_FILENAME = ".extract.lock"
"""The lock file that `extract_splits` holds in its output folder."""


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
      `max_videos_per_shard` to lose less). A rerun first checks the shards
      it keeps (sizes and SHA-256, see `ShardWriter`): the videos of a
      damaged shard are extracted again.
    - A video that cannot be decoded (missing, empty, corrupt, no video
      stream, or truncated: it decodes to less than its file declares, see
      `vidattn.data.VideoReader`) or written is logged with its file and
      reason, listed in `<folder>/failures.json` (rewritten atomically as
      the run goes) and skipped; the run goes on. A rerun tries it again.
      With `allow_partial=True` a truncated video is kept instead, the part
      that decodes, marked `partial` in its record.
    - A progress display (`vidattn.extraction.ExtractionProgress`, a
      `keras.utils.Progbar`) shows videos/s, frames/s and the ETA on
      stdout: a bar redrawn in place on a terminal, a line every
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
        allow_partial: bool. Keep a video that decodes only in part (a
            truncated or damaged file), marked in its record, rather than
            list it as a failure. Defaults to `False`.
        verify_checksums: bool. Whether a rerun checks the SHA-256 of the
            shards it keeps, or only their sizes. See `ShardWriter`.
            Defaults to `True`.
        verbose: int. 0 silent, 1 a progress display. Defaults to 1.
        progress_interval: float. Seconds between progress lines when
            stdout is not a terminal. Defaults to 30.

    Raises:
        ValueError: if an argument is invalid.

    Example:

    ```python
    import vidattn.data.importers as importers
    from vidattn.backbones import EfficientNetLite0Backbone
    from vidattn.extraction import FeatureExtractor

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
        allow_partial=False,
        verify_checksums=True,
        verbose=1,
        progress_interval=30.0,
    ):
        if not isinstance(backbone, Backbone):
            raise ValueError(
                "Expected `backbone` to be a vidattn.backbones.Backbone (e.g. "
                "EfficientNetLite0Backbone()). Received: "
                f"backbone={backbone!r}"
            )
        check_positive_int("batch_size", batch_size)
        check_positive_int("workers", workers)
        if prefetch is None:
            prefetch = 2 * workers
        check_positive_int("prefetch", prefetch)
        check_positive_int("max_frames", max_frames, allow_none=True)
        check_one_of("dtype", dtype, STORAGE_DTYPES)
        check_int("shuffle_seed", shuffle_seed, allow_none=True)
        if isinstance(verbose, bool):
            verbose = int(verbose)
        check_one_of("verbose", verbose, (0, 1))
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
        self.allow_partial = bool(allow_partial)
        self.verify_checksums = bool(verify_checksums)
        self.verbose = int(verbose)
        self.progress_interval = float(progress_interval)

    def __repr__(self):
        return (
            f"FeatureExtractor(backbone={self.backbone!r}, "
            f"sampling={self.sampling.spec!r}, batch_size={self.batch_size}, "
            f"workers={self.workers}, dtype={self.dtype!r}"
            + (", allow_partial=True" if self.allow_partial else "")
            + ")"
        )

    @property
    def decode_size(self):
        """The size decoders resize frames to, or None (the backbone does)."""
        if self.resize_in_decoder and not self.backbone.crop_to_aspect_ratio:
            return self.backbone.input_size
        return None

    def extract_splits(
        self, index, output_dir, splits=None, *, on_video=None, save_index=False
    ):
        """Extracts several splits of an index, one folder per split.

        The output folder is locked for the whole run before anything is
        written in it (`vidattn.utils.FolderLock`, `.extract.lock`), so that
        a second run into the same folder is refused at once.

        Args:
            index: a `DatasetIndex`.
            output_dir: str. Split `s` goes to `<output_dir>/<s>/`.
            splits: sequence of str or None. Defaults to `None`: every split
                that holds a video, in the order train, validation, test.
            on_video: callable or None. See `extract_dataset`.
            save_index: bool. Whether to save the index as
                `<output_dir>/index.json` (`INDEX_FILENAME`). Defaults to
                `False`.

        Returns:
            A dict mapping each split extracted to its `ExtractionSummary`.

        Raises:
            vidattn.utils.FolderLockedError: (an `OSError`) if another run
                holds the output folder.
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
        with FolderLock(output_dir, OUTPUT_LOCK_FILENAME):
            if save_index:
                index.to_json(os.path.join(output_dir, INDEX_FILENAME))
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
            vidattn.utils.FolderLockedError: (an `OSError`) if another
                writer holds the folder.
        """
        started = time.perf_counter()
        entries, class_names, multi_label = select_entries(
            index_or_entries, split, class_names, multi_label
        )
        output_dir = os.path.abspath(os.fspath(output_dir))
        if not entries:
            logging.warning(
                "FeatureExtractor: no video in split %r; nothing written "
                "to %s.",
                split,
                output_dir,
            )
            return ExtractionSummary(split, output_dir, 0, 0, 0, (), 0, 0.0)
        entries = list(entries)
        if self.shuffle_seed is not None:
            random.Random(self.shuffle_seed).shuffle(entries)
        with self._open_writer(
            output_dir, split, class_names, multi_label
        ) as writer:
            todo = [e for e in entries if not writer.has(e.video_id)]
            skipped = len(entries) - len(todo)
            progress = ExtractionProgress(
                split,
                total=len(todo),
                skipped=skipped,
                verbose=self.verbose,
                interval=self.progress_interval,
            )
            recorder = SplitRecorder(writer, progress, on_video=on_video)
            try:
                self._extract(todo, recorder)
            finally:
                recorder.close()
        return recorder.summary(skipped, time.perf_counter() - started)

    def _open_writer(self, output_dir, split, class_names, multi_label):
        """The `ShardWriter` of a split's folder, for this backbone."""
        settings = dataset_settings(
            self.backbone,
            self.sampling,
            split=split,
            dtype=self.dtype,
            class_names=class_names,
            multi_label=multi_label,
        )
        return ShardWriter(
            output_dir,
            **settings,
            max_videos_per_shard=self.max_videos_per_shard,
            max_shard_bytes=self.max_shard_bytes,
            verify_checksums=self.verify_checksums,
        )

    def _extract(self, entries, recorder):
        """Decodes, runs the backbone on, and records every entry."""
        batcher = FrameBatcher(self.backbone, self.batch_size)
        videos = decode_entries(
            entries,
            self.sampling,
            size=self.decode_size,
            max_frames=self.max_frames,
            allow_partial=self.allow_partial,
            workers=self.workers,
            prefetch=self.prefetch,
        )
        # Closed at once on an error, so that the decoders stop.
        with contextlib.closing(videos):
            for decoded in videos:
                if decoded.reason is not None:
                    recorder.record(decoded)
                    continue
                for video in batcher.add(decoded):
                    recorder.record(video)
        for video in batcher.flush():
            recorder.record(video)
