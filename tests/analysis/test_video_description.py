import numpy as np
import pytest

import vidattn
from tests.fixtures.video_clips import write_clip
from vidattn.analysis.video_description import describe_videos
from vidattn.analysis.video_description import description_record
from vidattn.analysis.video_description import sampling_for
from vidattn.backbones import EfficientNetLite0Backbone
from vidattn.data import VideoDecodeError
from vidattn.data import VideoReader

WORDS = ["a", "square", "moves", "right", "yellow"]


class _Named:
    feature_metadata = {"sampling": "even:8/16"}


def test_the_sampling_is_given_else_the_models_else_the_thesiss():
    assert sampling_for(_Named(), "fps=5") == (
        vidattn.data.FrameSampling.at_fps(5.0),
        "given",
    )
    assert sampling_for(_Named()) == (
        vidattn.data.FrameSampling.evenly_spaced(8, 16),
        "model",
    )
    assert sampling_for(object()) == (
        vidattn.data.FrameSampling.evenly_spaced(26, 240),
        "default",
    )


@pytest.mark.slow
def test_files_are_described_as_their_extracted_features_would_be(tmp_path):
    clips = [
        write_clip(tmp_path / "first.mp4", num_frames=12, seed=1),
        write_clip(tmp_path / "second.mp4", num_frames=30, seed=2),
    ]
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    backbone = EfficientNetLite0Backbone(weights=None, input_size=64)
    model = vidattn.models.VideoCaptioner(
        vidattn.layers.CaptionTokenizer(WORDS),
        units=8,
        embedding_dim=8,
        attention="additive",
        seed=0,
    )
    paths = [clips[0], str(tmp_path / "broken.mp4"), clips[1]]
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        describe_videos(model, paths, backbone, max_length=6)
    first, broken, second = describe_videos(
        model, paths, backbone, max_length=6, skip_unreadable=True
    )
    assert broken["video_id"] == "broken" and "FFmpeg" in broken["error"]
    # Of round(linspace(0, 239, 26)) = 0, 10, 19, 29, ..., a 12-frame clip
    # holds 2 frames and a 30-frame clip 4; black frames stand in for the
    # rest, masked.
    for video, real in ((first, 2), (second, 4)):
        assert video["frames"].shape == (26, 64, 64, 3)
        assert video["frame_mask"].tolist() == [True] * real + [False] * (
            26 - real
        )
        assert not video["frames"][real:].any()
        expected = VideoReader(video["path"], size=64).read_evenly_spaced()
        np.testing.assert_array_equal(video["frames"], expected.frames)
        np.testing.assert_allclose(
            video["features"], backbone.extract(expected.frames), atol=1e-5
        )
        alone = model.generate(
            {
                "features": video["features"][None],
                "frame_mask": video["frame_mask"][None],
            },
            max_length=6,
        )
        assert video["caption"] == alone["captions"][0]
        length = int(alone["length"][0])
        assert len(video["words"]) == length
        assert video["attention"].shape == (length, 26, 2, 2)
        np.testing.assert_allclose(
            video["attention"], alone["attention"][0, :length], atol=1e-5
        )
        # No attention on the black frames; one map per word sums to 1.
        assert not video["attention"][:, real:].any()
        np.testing.assert_allclose(
            video["attention"].sum(axis=(1, 2, 3)), 1.0, atol=1e-5
        )
        assert video["beta"].shape == (length,)
        # As the pictures draw it: the sentence's words, without the end.
        record = description_record(video)
        ended = video["words"][-1] == "<end>"
        assert record.words == video["words"][: length - ended]
        assert record.sentence == video["caption"]
        np.testing.assert_array_equal(
            record.attention, video["attention"][: len(record.words)]
        )
        np.testing.assert_array_equal(record.frames, video["frames"])
    with pytest.raises(ValueError, match="broken.mp4, which could not be"):
        description_record(broken)


def test_a_sampling_of_other_frames_than_a_linear_model_reads_is_refused():
    model = vidattn.models.VideoCaptioner(
        vidattn.layers.CaptionTokenizer(WORDS), units=8, embedding_dim=8
    )
    model.build({"features": (1, 26, 2, 2, 4)})
    with pytest.raises(ValueError, match="reads videos of 26 frames"):
        describe_videos(model, ["unused.mp4"], sampling="even:10/100")
