import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import vidattn


def make_features(frames=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, frames, 2, 2, 8)).astype("float32")


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: vidattn.models.ActionRecognizer(3, units=8, num_layers=2),
        lambda: vidattn.models.PooledLSTMRecognizer(
            3, "max", units=8, num_layers=1
        ),
    ],
    ids=["attention", "max_pooled"],
)
def test_exported_signatures_give_the_outputs_of_predict(make_model, tmp_path):
    model = make_model()
    features = make_features()
    expected = model.predict(features, verbose=0)
    export_dir = vidattn.export.export_action_model(
        model, tmp_path / "model" / "1"
    )
    served = tf.saved_model.load(str(export_dir))
    outputs = served.signatures["serving_default"](
        features=tf.constant(features)
    )
    for key in ("probabilities", "step_probabilities", "attention"):
        if key in expected:
            np.testing.assert_allclose(
                outputs[key].numpy(), expected[key], atol=1e-5
            )
        else:
            assert key not in outputs
    # Any number of frames, and a mask for padded clips.
    longer = make_features(frames=9, seed=1)
    mask = np.ones((2, 9), bool)
    mask[0, 6:] = False
    masked = served.signatures["clip_with_mask"](
        features=tf.constant(longer), frame_mask=tf.constant(mask)
    )
    np.testing.assert_allclose(
        masked["probabilities"].numpy()[0],
        model.predict(longer[:1, :6], verbose=0)["probabilities"][0],
        atol=1e-5,
    )


def test_saved_model_cli_lists_the_serving_signature(tmp_path):
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(make_features())
    export_dir = vidattn.export.export_action_model(model, tmp_path / "1")
    # In a process of its own: the tool defines absl flags when imported,
    # which would clash with the `vidattn` commands' in this one.
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "tensorflow.python.tools.saved_model_cli",
            "show",
            "--dir",
            str(export_dir),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "features" in shown and "(-1, -1, 2, 2, 8)" in shown
    assert "tensorflow/serving/predict" in shown
    assert "attention" in shown


def test_refuses_an_unbuilt_model_and_an_existing_directory(tmp_path):
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    with pytest.raises(ValueError, match="Expected a built model"):
        vidattn.export.export_action_model(model, tmp_path / "1")
    model(make_features())
    (tmp_path / "1").mkdir()
    with pytest.raises(ValueError, match="overwrite=True"):
        vidattn.export.export_action_model(model, tmp_path / "1")
    vidattn.export.export_action_model(model, tmp_path / "1", overwrite=True)
    assert (tmp_path / "1" / "saved_model.pb").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["1"]


@pytest.mark.parametrize(
    "make_model, name",
    [
        (
            lambda: vidattn.models.ActionRecognizer(
                3,
                units=8,
                num_layers=1,
                class_names=["a", "b", "c"],
                feature_metadata={"backbone": "inception_v3", "fps": 10.0},
            ),
            "ActionRecognizer",
        ),
        (
            lambda: vidattn.models.SoftmaxRegressionRecognizer(
                3, multi_label=True
            ),
            "SoftmaxRegressionRecognizer",
        ),
    ],
)
def test_the_saved_model_carries_the_class_names_and_features(
    make_model, name, tmp_path
):
    model = make_model()
    model(make_features())
    export_dir = vidattn.export.export_action_model(model, tmp_path / "1")
    expected = {
        "model": name,
        "vidattn_version": vidattn.__version__,
        "num_classes": 3,
        "multi_label": model.multi_label,
        "class_names": None
        if model.class_names is None
        else list(model.class_names),
        "feature_metadata": model.feature_metadata,
        "backbone": (model.feature_metadata or {}).get("backbone"),
        "layer": None,
        "input_size": None,
        "stored_fps": None,
        "fps": (model.feature_metadata or {}).get("fps"),
        "grid_size": 2,
        "channels": 8,
    }
    assert vidattn.export.export_metadata(model) == expected
    served = tf.saved_model.load(str(export_dir))
    written = vidattn.export.read_export_metadata(served)
    assert {key: written[key] for key in expected} == expected
    assert written["window_length"] == 30 and written["frame_skip"] == 1
    assert vidattn.export.read_export_metadata(export_dir) == written
    # The same JSON in assets/, with the class names beside it.
    assets = export_dir + "/assets/"
    with open(assets + "vidattn_metadata.json") as file:
        assert json.load(file) == written
    with open(assets + "class_names.txt") as file:
        names = file.read().splitlines()
    assert names == list(model.class_names or ["0", "1", "2"])
    # Not a serving signature: TF Serving sees only the signatures. The
    # soft-attention model streams; the others serve clips and videos.
    streams = (
        ["stream_start", "stream_step"] if name == "ActionRecognizer" else []
    )
    assert sorted(served.signatures) == [
        "clip",
        "clip_with_mask",
        "serving_default",
        *streams,
        "video",
        "video_with_mask",
    ]
    assert sorted(written["signatures"]) == sorted(
        set(served.signatures) - {"serving_default"}
    )


def test_reading_metadata_of_another_saved_model_says_what_is_missing(
    tmp_path,
):
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    tf.saved_model.save(module, str(tmp_path / "other"))
    with pytest.raises(ValueError, match="export_action_model"):
        vidattn.export.read_export_metadata(tmp_path / "other")


def make_captioner(attention):
    tokenizer = vidattn.layers.CaptionTokenizer(["a", "man", "is", "cooking"])
    model = vidattn.models.VideoCaptioner(
        tokenizer, units=8, embedding_dim=6, attention=attention, seed=3
    )
    features = make_features(frames=4, seed=1)
    model({"features": features, "caption_ids": np.array([[2, 4, 3]] * 2)})
    # Sentences of several words rather than an untrained model's `<end>`.
    bias = model.word_logits_layer.bias
    bias.assign(bias.numpy() - 5.0 * np.eye(bias.shape[0])[3])
    return model, features


def test_an_exported_captioner_describes_videos_in_words(tmp_path):
    # Additive attention's export is tested in test_serving_round_trip.py.
    model, features = make_captioner("linear")
    mask = np.array([[True, True, False, False], [True] * 4])
    expected = model.generate({"features": features, "frame_mask": mask})
    export_dir = vidattn.export.export_video_captioner(
        model, tmp_path / "captioner" / "1"
    )
    del model
    served = tf.saved_model.load(str(export_dir))
    outputs = served.signatures["caption_with_mask"](
        features=tf.constant(features), frame_mask=tf.constant(mask)
    )
    captions = [c.decode("utf-8") for c in outputs["captions"].numpy()]
    assert captions == expected["captions"]
    assert all(len(caption.split()) > 1 for caption in captions)
    for key in ("token_ids", "length", "log_probability", "beta"):
        np.testing.assert_allclose(outputs[key], expected[key], atol=1e-5)
    np.testing.assert_allclose(
        outputs["attention"], expected["attention"], atol=1e-5
    )
    assert np.all(outputs["attention"].numpy()[0, :, 2:] == 0)
    default = served.signatures["serving_default"](
        features=tf.constant(features)
    )
    assert default["captions"].shape == (2,)
    metadata = vidattn.export.read_export_metadata(export_dir)
    assert metadata["model"] == "VideoCaptioner"
    assert metadata["vocabulary_size"] == 8
    assert metadata["beam_width"] == 4 and metadata["max_length"] == 30
    with open(export_dir + "/assets/vocabulary.txt") as file:
        vocabulary = file.read().split("\n")[:-1]
    assert vocabulary == ["", "[UNK]", "<start>", "<end>", "a", "man", "is"] + [
        "cooking"
    ]


def test_captioner_export_refuses_bad_arguments(tmp_path):
    model, _ = make_captioner("additive")
    with pytest.raises(ValueError, match="Received: beam_width=0"):
        vidattn.export.export_video_captioner(
            model, tmp_path / "a", beam_width=0
        )
    unbuilt = vidattn.models.VideoCaptioner(vocabulary_size=9)
    with pytest.raises(ValueError, match="Expected a built model"):
        vidattn.export.export_video_captioner(unbuilt, tmp_path / "b")
