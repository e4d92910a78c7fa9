"""The README's lines that train a captioner and describe videos run."""

import pathlib
import re

import numpy as np
import pytest

import vidattn
from tests.fixtures.caption_datasets import write_captioned_dataset

README = pathlib.Path(__file__).parents[2] / "README.md"


def readme_captioning_lines():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Describing videos", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_lines_train_a_captioner_and_describe_videos(
    tmp_path, monkeypatch
):
    code = readme_captioning_lines()
    assert len(code.strip().splitlines()) == 5
    write_captioned_dataset(tmp_path / "features" / "train")
    monkeypatch.chdir(tmp_path)
    features = np.random.default_rng(0).normal(size=(2, 3, 2, 2, 3))
    namespace = {"vidattn": vidattn, "features": features.astype("float32")}
    exec(code.replace("epochs=15", "epochs=1"), namespace)
    result = namespace["result"]
    assert len(result["captions"]) == 2
    assert all(isinstance(caption, str) for caption in result["captions"])
    assert result["attention"].shape[:1] + result["attention"].shape[2:] == (
        2,
        3,
        2,
        2,
    )
