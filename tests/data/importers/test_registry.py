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
