"""Tests for vidattn.data.schema: the format's fields, names and docs."""

import os

from vidattn.data import schema

README = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, "tfrecords", "README.md"
)


def test_shard_names():
    assert schema.shard_filename("train", 3) == "train-00003.tfrecord"
    assert schema.shard_index("train", "train-00003.tfrecord") == 3
    assert schema.shard_index("train", "test-00003.tfrecord") is None
    assert schema.shard_index("train", "train-00003.tfrecord.tmp") is None


def test_readme_documents_every_field():
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    # The tables are generated from schema.py: regenerate them with
    # `python -m vidattn.data.schema` when this fails.
    assert schema.schema_markdown() in readme
    for field in schema.RECORD_FIELDS + schema.MANIFEST_FIELDS:
        assert (
            f"| {field.location} | `{field.name}` | {field.dtype} |" in readme
        )
    for topic in ("Shard naming", "Resume", "manifest.json", ".tmp"):
        assert topic in readme
