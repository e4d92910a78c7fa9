import json
import os

import pytest

from vidattn.examples.caption_check import CaptionCheckSettings
from vidattn.examples.caption_check import format_caption_check
from vidattn.examples.caption_check import run_caption_check


@pytest.mark.slow
@pytest.mark.skip(
    reason="Does not hold yet: at the default settings (240 training "
    "videos, 12 epochs, seed 0) soft attention's BLEU-4 was 0.745 against "
    "first-time-step's 0.676 with the penalty at 1, but its attention on "
    "the named object was uniform (0.023 against 0.020); with the penalty "
    "at 0 its attention left the objects (3e-7) and BLEU-4 fell to 0.666. "
    "The run also takes ~11 minutes here, not 2.5."
)
def test_soft_attention_describes_better_and_looks_at_the_named_object(
    tmp_path,
):
    settings = CaptionCheckSettings()
    summary = run_caption_check(str(tmp_path), settings)
    soft = summary["results"]["soft_attention"]
    first = summary["results"]["first_time_step"]
    assert soft["scores"]["BLEU-4"] > first["scores"]["BLEU-4"] + 0.1, summary
    focus = soft["attention"]
    assert focus["named"] > 3 * focus["uniform"], summary
    assert focus["named"] > 3 * focus["other"], summary
    assert "attention" not in first

    # A rerun resumes: the videos, features and models are kept.
    stamps = {
        path: os.path.getmtime(path)
        for folder in ("videos/train", "models")
        for path in (
            os.path.join(tmp_path, folder, name)
            for name in os.listdir(tmp_path / folder)
        )
    }
    again = run_caption_check(str(tmp_path), settings)
    assert again["results"]["soft_attention"]["scores"] == soft["scores"]
    assert stamps == {path: os.path.getmtime(path) for path in stamps}
    with open(tmp_path / "summary.json") as file:
        assert json.load(file)["results"].keys() == summary["results"].keys()


def test_the_table_shows_scores_attention_and_examples():
    result = {
        "scores": {"BLEU-1": 0.9, "BLEU-4": 0.5, "METEOR": 0.4},
        "examples": [
            {"video_id": "test_0000", "generated": "a", "reference": "b"}
        ],
        "seconds": 3.0,
    }
    summary = {
        "results": {
            "soft_attention": dict(
                result,
                attention={
                    "named": 0.2,
                    "other": 0.01,
                    "uniform": 0.02,
                    "words": 5,
                    "unmatched_words": 0,
                },
            ),
            "first_time_step": result,
        },
        "notes": ["a note"],
        "seconds": 7.0,
    }
    text = format_caption_check(summary)
    assert "0.200 (10.0x uniform 0.020; other objects 0.010)" in text
    assert "(attends at the first word only)" in text
    assert "  0.500   0.400" in text
    assert "test_0000: a" in text and "reference: b" in text
    assert text.endswith("a note\nTotal 7 s.")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=0), "`epochs`"),
        (dict(attention="uniform"), "`attention` to be one of"),
        (dict(models=("first_step",)), "`models` to be one of"),
        (dict(models=()), "at least one model"),
        (dict(validation_videos=-1), "`validation_videos`"),
        (dict(learning_rate=0), "`learning_rate`"),
    ],
)
def test_settings_out_of_range_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CaptionCheckSettings(**kwargs)


def test_settings_of_another_kind_are_refused(tmp_path):
    with pytest.raises(ValueError, match="CaptionCheckSettings"):
        run_caption_check(str(tmp_path), {"epochs": 1})
