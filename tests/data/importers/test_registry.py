"""Tests for vidattn.data.importers.registry: dataset importers by name."""

import pytest

from tests.fixtures.dataset_trees import touch_video
from vidattn.data import importers
from vidattn.data.importers import registry


def test_every_published_layout_is_registered():
    assert importers.importer_names() == (
        "ucf11",
        "hmdb51",
        "hollywood2",
        "msvd",
        "folder",
    )
    hmdb51 = importers.get_importer("hmdb51")
    assert hmdb51.loader is importers.load_hmdb51
    assert set(hmdb51.options) == {"split_number", "splits_dir", "missing"}


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        importers.load_dataset("kinetics", "/data/kinetics")
    message = str(info.value)
    assert "name='kinetics'" in message
    for name in importers.importer_names():
        assert name in message


def test_each_importer_takes_only_its_own_options(tmp_path):
    for name in ("a", "b"):
        touch_video(tmp_path / "cooking" / f"{name}.mp4")
        touch_video(tmp_path / "dancing" / f"{name}.mp4")
    # The options of other datasets (as the command line offers them all)
    # are left out; the folder importer takes `fractions` and `seed`.
    index = importers.load_dataset(
        "folder",
        tmp_path,
        fractions=(0.5, 0.0, 0.5),
        seed=3,
        split_number=2,
        missing="skip",
    )
    assert index == importers.load_folder(
        tmp_path, fractions=(0.5, 0.0, 0.5), seed=3
    )


def test_register_importer(monkeypatch):
    monkeypatch.setattr(registry, "_IMPORTERS", dict(registry._IMPORTERS))
    calls = []

    def load_mine(root, *, depth=1):
        calls.append((root, depth))
        return "index"

    importers.register_importer("mine", load_mine, options=("depth",))
    assert "mine" in importers.importer_names()
    assert importers.load_dataset("mine", "/x", depth=2, seed=0) == "index"
    assert calls == [("/x", 2)]
    with pytest.raises(ValueError, match="already registered"):
        importers.register_importer("mine", load_mine)


def test_default_frame_rule_follows_the_task():
    # Captioning gets the thesis's rule (section 3.2.2), actions 30 fps.
    assert importers.CAPTION_SAMPLING == "even:26/240"
    assert importers.ACTION_SAMPLING == "fps=30"
    assert importers.get_importer("msvd").sampling_for() == "even:26/240"
    assert (
        importers.get_importer("msvd").sampling_for(captions_path="x.csv")
        == "even:26/240"
    )
    folder = importers.get_importer("folder")
    assert folder.sampling_for() == "fps=30"
    assert folder.sampling_for(captions_path=None) == "fps=30"
    assert folder.sampling_for(captions_path="c.csv") == "even:26/240"
    for name in ("ucf11", "hmdb51", "hollywood2"):
        assert importers.get_importer(name).sampling_for() == "fps=30"


def test_folder_with_a_captions_file_reads_captions(tmp_path):
    for name in ("a", "b", "c"):
        touch_video(tmp_path / "videos" / "any" / f"{name}.mp4")
    captions = tmp_path / "captions.jsonl"
    captions.write_text(
        '{"video": "a", "sentence": "one"}\n'
        '{"video": "any/b.mp4", "sentence": "two"}\n'
        '{"video": "gone", "sentence": "three"}\n',
        encoding="utf-8",
    )
    options = dict(fractions=(0.5, 0.5, 0.0), seed=2, missing="skip")
    with pytest.warns(UserWarning):
        index = importers.load_dataset(
            "folder",
            tmp_path / "videos",
            captions_path=captions,
            split_number=2,
            **options,
        )
    with pytest.warns(UserWarning):
        expected = importers.load_captioned_folder(
            tmp_path / "videos", captions, **options
        )
    assert index == expected
    assert {e.video_id: e.captions for e in index} == {
        "any/a": ("one",),
        "any/b": ("two",),
    }
