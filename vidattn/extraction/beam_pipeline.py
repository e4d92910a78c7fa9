"""Feature extraction as an Apache Beam pipeline, beyond one machine.

`extract_dataset_with_beam` does what `FeatureExtractor.extract_dataset` does
(decode with PyAV, sample, run the backbone, encode each video with
`vidattn.data.records.encode_video`) as a Beam pipeline: every worker builds
its own backbone once (`DoFn.setup`) and processes whole videos; the records
are written by `beam.io.WriteToTFRecord` and the videos that could not be
used by `beam.io.WriteToText`, into a staging folder.

A final step in the launching process then turns the staging folder into a
dataset folder that `vidattn.data.FeatureDataset` (and `ShardWriter`, to
append) reads, with the same records and the same `manifest.json`:

- every shard is read once to list its video ids, frame and caption counts
  in file order (Beam decides which shard holds which video), and hashed
  (SHA-256) and measured;
- empty shards are dropped, the others renamed from Beam's
  `<split>-SSSSS-of-NNNNN.tfrecord` to the schema's `<split>-NNNNN.tfrecord`;
- `manifest.json` (a `vidattn.data.Manifest`), then `failures.json`, are
  written atomically.

What differs from `FeatureExtractor`:

- no resuming: the output folder must not hold a dataset yet (Beam runners
  retry failed work themselves, and a crashed run's staging folder is
  removed by the next run); use `FeatureExtractor` to resume or append;
- the backbone runs on one video at a time (the last batch of each video is
  padded), not on batches shared across videos;
- the output folder must be on a filesystem that the workers and the
  launching process share (local disk for the DirectRunner, a network file
  system otherwise): the final step uses plain file operations.

Apache Beam is optional: `pip install "vidattn[beam]"`.
"""

import functools
import glob
import json
import os
import shutil
import time

import numpy as np

from vidattn.data import records
from vidattn.data import schema
from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.manifest import Manifest
from vidattn.extraction.dataset_settings import dataset_settings
from vidattn.extraction.decoding import decode_entry
from vidattn.extraction.entry_selection import select_entries
from vidattn.extraction.extraction_failure import ExtractionFailure
from vidattn.extraction.extraction_failure import write_failures
from vidattn.extraction.extraction_summary import ExtractionSummary
from vidattn.utils.arguments import check_one_of
from vidattn.utils.atomic_write import publish_file

BEAM_INSTALL_HINT = 'pip install "vidattn[beam]"'

STAGING_FOLDER = ".beam-staging"
"""The folder, inside the output folder, that Beam writes into."""

_FAILURES_TAG = "failures"


def import_beam():
    """Imports Apache Beam, or says how to install it.

    Returns:
        The `apache_beam` module.

    Raises:
        ImportError: if Apache Beam is not installed, with the install hint.
    """
    try:
        import apache_beam
    except ImportError as error:
        raise ImportError(
            "vidattn.extraction.beam_pipeline needs Apache Beam, which is not "
            f"installed. Install it with: {BEAM_INSTALL_HINT}"
        ) from error
    return apache_beam


@functools.lru_cache(maxsize=None)
def _extract_video_fn_class():
    """The DoFn class, defined once Beam is imported."""
    beam = import_beam()

    class ExtractVideoFn(beam.DoFn):
        """Decodes one `VideoEntry`, runs the backbone, yields its record.

        Videos that cannot be decoded or encoded go to the `"failures"`
        output as JSON lines `{"video_id", "path", "reason"}`.
        """

        def __init__(self, backbone_factory, settings):
            self._backbone_factory = backbone_factory
            self._settings = settings
            self._backbone = None

        def setup(self):
            self._backbone = self._backbone_factory()

        def process(self, entry):
            settings = self._settings
            backbone = self._backbone
            sampling = FrameSampling.parse(settings["sampling"])
            decoded = decode_entry(
                entry,
                sampling,
                size=settings["decode_size"],
                max_frames=settings["max_frames"],
            )
            if decoded.reason is None:
                frames = decoded.frames
                count = len(frames)
                batch_size = settings["batch_size"]
                if count < batch_size:
                    # One input shape whatever the video's length: no
                    # retracing of the network for every short video.
                    padding = np.zeros(
                        (batch_size - count,) + frames.shape[1:], frames.dtype
                    )
                    frames = np.concatenate([frames, padding])
                features = backbone.extract(frames, batch_size=batch_size)
                features = features[:count]
                try:
                    record = records.encode_video(
                        entry.video_id,
                        features,
                        backbone=backbone.name,
                        layer=backbone.layer_name,
                        num_classes=settings["num_classes"],
                        multi_label=settings["multi_label"],
                        dtype=settings["dtype"],
                        **decoded.record_fields(bool(settings["num_classes"])),
                    )
                except ValueError as error:
                    decoded.reason = f"could not be written: {error}"
                else:
                    beam.metrics.Metrics.counter("vidattn", "videos").inc()
                    beam.metrics.Metrics.counter("vidattn", "frames").inc(
                        len(features)
                    )
                    yield record
                    return
            beam.metrics.Metrics.counter("vidattn", "failed").inc()
            failure = ExtractionFailure(
                entry.video_id, entry.path, decoded.reason
            )
            yield beam.pvalue.TaggedOutput(
                _FAILURES_TAG, json.dumps(failure.to_json(), ensure_ascii=False)
            )

    return ExtractVideoFn


def extract_dataset_with_beam(
    index_or_entries,
    output_dir,
    *,
    backbone_factory,
    sampling,
    split="train",
    class_names=None,
    multi_label=None,
    dtype="float16",
    batch_size=32,
    max_frames=None,
    resize_in_decoder=True,
    num_shards=0,
    pipeline_options=None,
):
    """Extracts the videos of one split with an Apache Beam pipeline.

    The output folder gets the same records, shards and `manifest.json` as
    `FeatureExtractor.extract_dataset` writes (see the module docstring for
    what differs in how they are made), plus `failures.json`.

    Args:
        index_or_entries: a `DatasetIndex`, or an iterable of `VideoEntry`
            (then `class_names` and `multi_label` describe their labels).
            Only the entries of `split` are used.
        output_dir: str. The split's dataset folder, new or empty of
            datasets.
        backbone_factory: a picklable callable without arguments that
            returns a `vidattn.backbones.Backbone`, e.g.
            `functools.partial(vidattn.backbones.build_backbone,
            "efficientnet_lite0")`. Every worker calls it once; the
            launching process calls it once to read the backbone's
            geometry for the manifest.
        sampling: a `FrameSampling`, or what `FrameSampling.parse` reads.
        split: str. `"train"`, `"validation"` or `"test"`. Defaults to
            `"train"`.
        class_names: sequence of str or None. With plain entries only.
        multi_label: bool or None. With plain entries only.
        dtype: str. `"float16"` or `"float32"`. Defaults to `"float16"`.
        batch_size: int. Frames per forward pass. Defaults to 32.
        max_frames: int or None. See `FeatureExtractor`.
        resize_in_decoder: bool. See `FeatureExtractor`. Defaults to `True`.
        num_shards: int. Shards Beam writes; 0 lets the runner choose.
            Defaults to 0.
        pipeline_options: `apache_beam.options.pipeline_options.
            PipelineOptions`, a list of command-line style options
            (`["--runner=DirectRunner", "--direct_num_workers=2"]`), or
            None: the DirectRunner. Defaults to `None`.

    Returns:
        An `ExtractionSummary` (`skipped` is always 0).

    Raises:
        ImportError: if Apache Beam is not installed.
        ValueError: if an argument is invalid, or `output_dir` already
            holds a dataset.

    Example:

    ```python
    import functools
    import vidattn.data.importers as importers
    from vidattn.backbones import build_backbone
    from vidattn.extraction.beam_pipeline import extract_dataset_with_beam

    index = importers.load_hmdb51("/data/hmdb51", split_number=1)
    summary = extract_dataset_with_beam(
        index, "/shared/hmdb51/train", split="train", sampling=30,
        backbone_factory=functools.partial(build_backbone, "ResNet50"),
        pipeline_options=["--runner=DirectRunner", "--direct_num_workers=2",
                          "--direct_running_mode=multi_processing"])
    data = vidattn.data.FeatureDataset("/shared/hmdb51/train")
    ```
    """
    beam = import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    started = time.perf_counter()
    sampling = FrameSampling.parse(sampling)
    check_one_of("dtype", dtype, schema.STORAGE_DTYPES)
    if not callable(backbone_factory):
        raise ValueError(
            "Expected `backbone_factory` to be a callable that returns a "
            "Backbone, such as functools.partial(build_backbone, "
            f"'efficientnet_lite0'). Received: {backbone_factory!r}"
        )
    entries, class_names, multi_label = select_entries(
        index_or_entries, split, class_names, multi_label
    )
    output_dir = os.path.abspath(os.fspath(output_dir))
    _check_output_dir(output_dir)
    if not entries:
        raise ValueError(
            f"Expected videos in split {split!r}. Received none: nothing to "
            "extract."
        )
    backbone = backbone_factory()
    # Checks the dataset's settings before the pipeline runs.
    manifest = Manifest.create(
        output_dir,
        **dataset_settings(
            backbone,
            sampling,
            split=split,
            dtype=dtype,
            class_names=class_names,
            multi_label=multi_label,
        ),
    )
    decode_size = (
        backbone.input_size
        if resize_in_decoder and not backbone.crop_to_aspect_ratio
        else None
    )
    settings = {
        "sampling": sampling.spec,
        "decode_size": decode_size,
        "max_frames": max_frames,
        "batch_size": int(batch_size),
        "num_classes": len(class_names),
        "multi_label": multi_label,
        "dtype": dtype,
    }
    staging = os.path.join(output_dir, STAGING_FOLDER)
    if os.path.exists(staging):
        shutil.rmtree(staging)
    os.makedirs(staging)

    if pipeline_options is None:
        pipeline_options = PipelineOptions(["--runner=DirectRunner"])
    elif isinstance(pipeline_options, (list, tuple)):
        pipeline_options = PipelineOptions(list(pipeline_options))
    extract_fn = _extract_video_fn_class()(backbone_factory, settings)
    with beam.Pipeline(options=pipeline_options) as pipeline:
        outputs = (
            pipeline
            | "ListVideos" >> beam.Create(list(entries))
            # Spread the videos over the workers.
            | "Distribute" >> beam.Reshuffle()
            | "Extract"
            >> beam.ParDo(extract_fn).with_outputs(
                _FAILURES_TAG, main="records"
            )
        )
        _ = outputs.records | "WriteRecords" >> beam.io.WriteToTFRecord(
            os.path.join(staging, split),
            file_name_suffix=schema.SHARD_SUFFIX,
            num_shards=num_shards,
        )
        _ = outputs[_FAILURES_TAG] | "WriteFailures" >> beam.io.WriteToText(
            os.path.join(staging, _FAILURES_TAG), file_name_suffix=".jsonl"
        )

    manifest = finalize_beam_output(manifest)
    failures = read_staged_failures(staging)
    write_failures(output_dir, split, failures)
    shutil.rmtree(staging)
    return ExtractionSummary(
        split=split,
        output_dir=output_dir,
        written=manifest["num_videos"],
        skipped=0,
        failed=len(failures),
        failures=tuple(failures),
        num_frames=manifest["num_frames"],
        seconds=time.perf_counter() - started,
    )


def _check_output_dir(output_dir):
    if not os.path.isdir(output_dir):
        return
    names = os.listdir(output_dir)
    taken = [
        name
        for name in names
        if name == schema.MANIFEST_FILENAME
        or name.endswith(schema.SHARD_SUFFIX)
    ]
    if taken:
        raise ValueError(
            f"Expected a new or empty output folder for the Beam pipeline. "
            f"Received {output_dir}, which already holds a dataset "
            f"({', '.join(sorted(taken)[:3])}). The Beam pipeline does not "
            "resume: choose a new folder, or resume with "
            "vidattn.extraction.FeatureExtractor."
        )


def finalize_beam_output(manifest):
    """Turns the shards Beam wrote into a dataset folder.

    Reads every staged shard of the manifest's split once (checking each
    record with `vidattn.data.records.decode_video`), moves the non-empty
    ones to `<split>-NNNNN.tfrecord` in the manifest's folder, lists them in
    the manifest and writes it atomically, finalized, as `ShardWriter` does.

    Args:
        manifest: a new `vidattn.data.Manifest` (`Manifest.create`) of the
            output folder, with the dataset's settings; Beam's shards are in
            the folder's `STAGING_FOLDER`.

    Returns:
        The `vidattn.data.Manifest` written, as a reader reads it back.

    Raises:
        ValueError: if a record does not match the settings, a video id
            repeats, or the manifest is invalid.
    """
    import tensorflow as tf

    output_dir, split = manifest.directory, manifest["split"]
    staging = os.path.join(output_dir, STAGING_FOLDER)
    staged = sorted(
        glob.glob(os.path.join(staging, f"{split}-*{schema.SHARD_SUFFIX}"))
    )
    keys = ("backbone", "layer", "grid_size", "channels", "dtype")
    expected = tuple(manifest[key] for key in keys)
    seen = set()
    for path in staged:
        video_ids, frames, captions = [], [], []
        dataset = tf.data.TFRecordDataset(path)
        for number, record in enumerate(dataset.as_numpy_iterator()):
            video = records.decode_video(
                record, source=f"{path}, record {number}"
            )
            received = tuple(video[key] for key in keys)
            if received != expected:
                raise ValueError(
                    f"{path}, record {number}: expected (backbone, layer, K, "
                    f"D, dtype) = {expected}; received {received}."
                )
            if video["video_id"] in seen:
                raise ValueError(
                    f"{path}: expected each video once; received "
                    f"{video['video_id']!r} twice."
                )
            seen.add(video["video_id"])
            video_ids.append(video["video_id"])
            frames.append(int(video["num_frames"]))
            captions.append(len(video["captions"]))
        if not video_ids:
            os.remove(path)
            continue
        name = schema.shard_filename(split, len(manifest.shards))
        publish_file(path, os.path.join(output_dir, name))
        manifest.add_shard(
            name, video_ids=video_ids, num_frames=frames, num_captions=captions
        )
    manifest.mark_finalized()
    manifest.write()
    # The same checks every reader makes.
    return Manifest.read(output_dir)


def read_staged_failures(staging):
    """The `ExtractionFailure`s that the pipeline wrote as JSON lines."""
    failures = []
    pattern = os.path.join(staging, f"{_FAILURES_TAG}*.jsonl")
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    failures.append(ExtractionFailure(**json.loads(line)))
    return sorted(failures, key=lambda failure: failure.video_id)
