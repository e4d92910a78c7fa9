"""Tests for vidattn.extraction.beam_pipeline on the DirectRunner."""

import functools
import os
import sys

import numpy as np
import pytest

from tests.fixtures.extraction import FLOAT16_ATOL
from tests.fixtures.extraction import FLOAT16_RTOL
from tests.fixtures.extraction import INPUT_SIZE
from tests.fixtures.extraction import stored_videos
from tests.fixtures.video_clips import SHORT_CLIP_PADDING
from tests.fixtures.video_clips import THESIS_SAMPLING
from tests.fixtures.video_clips import make_clip_folder
from tests.fixtures.video_clips import make_short_clip_folder
from vidattn.backbones import EfficientNetLite0Backbone
from vidattn.backbones import build_backbone
from vidattn.data import FeatureDataset
from vidattn.data import Manifest
from vidattn.data import ShardWriter
from vidattn.data import schema
from vidattn.data.importers import load_folder
from vidattn.extraction import FeatureExtractor
from vidattn.extraction import read_failures

FPS = 5


def assert_same_records(beam_dir, extractor_dir):
    """Both folders hold the same videos, field by field."""
    beam_videos = stored_videos(beam_dir)
    extractor_videos = stored_videos(extractor_dir)
    assert sorted(beam_videos) == sorted(extractor_videos)
    for video_id, video in extractor_videos.items():
        other = beam_videos[video_id]
        for key, value in video.items():
            if key == "features":
                np.testing.assert_allclose(
                    other[key].astype(np.float32),
                    value.astype(np.float32),
                    rtol=FLOAT16_RTOL,
                    atol=FLOAT16_ATOL,
                )
            elif key == "video_index":
                continue  # the position in the manifest, not a property
            elif key == "labels":
                np.testing.assert_array_equal(other[key], value)
            else:
                assert other[key] == value, key
    return extractor_videos


def test_missing_beam_gives_the_install_hint(monkeypatch):
    from vidattn.extraction import beam_pipeline

    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(ImportError, match=r'pip install "vidattn\[beam\]"'):
        beam_pipeline.import_beam()
    with pytest.raises(ImportError, match=r"vidattn\[beam\]"):
        beam_pipeline.extract_dataset_with_beam(
            [], "/tmp/unused", backbone_factory=None, sampling=FPS
        )


def test_beam_writes_the_same_dataset_as_the_extractor(tmp_path):
    import apache_beam  # noqa: F401  (the test extra installs it)

    from vidattn.extraction.beam_pipeline import STAGING_FOLDER
    from vidattn.extraction.beam_pipeline import extract_dataset_with_beam

    root = make_clip_folder(tmp_path / "clips", corrupt=True)
    index = load_folder(root, fractions=(1.0, 0.0, 0.0))
    factory = functools.partial(
        build_backbone, "efficientnet_lite0", input_size=INPUT_SIZE
    )
    beam_dir = tmp_path / "beam" / "train"
    summary = extract_dataset_with_beam(
        index,
        beam_dir,
        backbone_factory=factory,
        sampling=FPS,
        batch_size=8,
        num_shards=3,
    )

    assert (summary.written, summary.skipped, summary.failed) == (4, 0, 3)
    assert sorted(f.video_id for f in read_failures(str(beam_dir))) == [
        "broken/empty",
        "broken/noise",
        "broken/truncated",
    ]
    assert sorted(os.listdir(beam_dir)) == [
        "failures.json",
        "manifest.json",
        *sorted(
            schema.shard_filename("train", i)
            for i in range(len(Manifest.read(str(beam_dir))["shards"]))
        ),
    ]
    assert not os.path.exists(beam_dir / STAGING_FOLDER)

    backbone = EfficientNetLite0Backbone(input_size=INPUT_SIZE)
    extractor_dir = tmp_path / "extractor" / "train"
    FeatureExtractor(backbone, FPS, batch_size=8, verbose=0).extract_dataset(
        index, extractor_dir
    )
    beam_manifest = Manifest.read(str(beam_dir))
    extractor_manifest = Manifest.read(str(extractor_dir))
    assert beam_manifest.settings == extractor_manifest.settings
    for key in ("num_videos", "num_frames", "num_captions", "finalized"):
        assert beam_manifest[key] == extractor_manifest[key], key

    assert_same_records(beam_dir, extractor_dir)

    # The Beam folder is an ordinary dataset: windows, and appending.
    windows = FeatureDataset(str(beam_dir)).windows(
        batch_size=4, window_length=3, shuffle=False
    )
    inputs, labels = next(iter(windows))
    assert inputs["features"].shape == (4, 3, 2, 2, 1280)
    with ShardWriter(
        str(beam_dir),
        backbone="efficientnet_lite0",
        layer="top_activation",
        input_size=(INPUT_SIZE, INPUT_SIZE),
        grid_size=2,
        channels=1280,
        class_names=["broken", "cars", "streets"],
        stored_fps=float(FPS),
    ) as writer:
        assert writer.has("streets/bikes")


@pytest.mark.slow
def test_beam_records_the_black_padding_as_the_extractor(tmp_path):
    from vidattn.extraction.beam_pipeline import extract_dataset_with_beam

    index = load_folder(
        make_short_clip_folder(tmp_path / "clips"), fractions=(1.0, 0.0, 0.0)
    )
    beam_dir = tmp_path / "beam" / "train"
    extract_dataset_with_beam(
        index,
        beam_dir,
        backbone_factory=functools.partial(
            build_backbone, "efficientnet_lite0", input_size=INPUT_SIZE
        ),
        sampling=THESIS_SAMPLING,
        batch_size=8,
    )
    extractor_dir = tmp_path / "extractor" / "train"
    FeatureExtractor(
        EfficientNetLite0Backbone(input_size=INPUT_SIZE),
        THESIS_SAMPLING,
        batch_size=8,
        verbose=0,
    ).extract_dataset(index, extractor_dir)
    videos = assert_same_records(beam_dir, extractor_dir)
    assert {k: v["padding_frames"] for k, v in videos.items()} == (
        SHORT_CLIP_PADDING
    )


def test_beam_refuses_a_folder_that_holds_a_dataset(tmp_path):
    import apache_beam  # noqa: F401  (the test extra installs it)

    from vidattn.extraction.beam_pipeline import extract_dataset_with_beam

    root = make_clip_folder(tmp_path / "clips", real=False)
    index = load_folder(root, fractions=(1.0, 0.0, 0.0))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="does not resume"):
        extract_dataset_with_beam(
            index,
            tmp_path / "out",
            backbone_factory=EfficientNetLite0Backbone,
            sampling=FPS,
        )
