import json

import numpy as np
import pytest

import vidattn
from tests.fixtures.command_line import run_vidattn as run
from tests.fixtures.video_clips import write_clip
from vidattn.layers.caption_tokenizer import UNKNOWN_TOKEN

WORDS = ["a", "square", "moves", "right"]


@pytest.mark.slow
def test_each_video_gets_a_sentence_and_a_bad_one_exits_1(tmp_path):
    # EfficientNet-Lite0 at its own 224x224 gives 7x7x1280 cubes.
    model = vidattn.models.VideoCaptioner(
        vidattn.layers.CaptionTokenizer(WORDS),
        units=8,
        embedding_dim=8,
        attention="additive",
        seed=0,
    )
    model.build({"features": (1, 26, 7, 7, 1280)})
    model.save(tmp_path / "captioner.keras")
    first = write_clip(tmp_path / "first.mp4", num_frames=12, seed=1)
    second = write_clip(tmp_path / "second.mp4", num_frames=20, seed=2)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(2000))
    result = run(
        "describe",
        first,
        str(broken),
        second,
        f"--model={tmp_path / 'captioner.keras'}",
        "--weights=none",
        "--max_length=5",
        f"--json={tmp_path / 'sentences.json'}",
        f"--report_dir={tmp_path / 'report'}",
    )
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "The model does not name its frame sampling: using the thesis's "
        "even:26/240"
    )
    written = json.loads((tmp_path / "sentences.json").read_text())
    videos = written["videos"]
    assert [video["video_id"] for video in videos] == [
        "first",
        "broken",
        "second",
    ]
    for video in (videos[0], videos[2]):
        line = f"{video['path']}: {video['caption']}  (log p "
        line += f"{video['log_probability']:.2f})"
        assert line in lines
        assert set(video["caption"].split()) <= set(WORDS + [UNKNOWN_TOKEN])
    assert f"{broken}: could not be read: " in result.stdout
    assert "error" in videos[1]
    # The per-word pictures of the two readable videos, and a page of both.
    page = (tmp_path / "report" / "index.html").read_text()
    assert f"Per-word attention: {tmp_path / 'report' / 'index.html'}" in lines
    assert sorted(p.name for p in (tmp_path / "report").glob("*.png")) == [
        "first.png",
        "second.png",
    ]
    assert videos[0]["caption"] in page and videos[2]["caption"] in page
    assert (
        f"vidattn describe: error: 1 of 3 videos could not be read: {broken}"
        in result.stderr
    )


def test_no_video_is_refused(tmp_path):
    result = run("describe", f"--model={tmp_path / 'missing.keras'}")
    assert result.returncode == 1
    assert "Expected one or more video files" in result.stderr
