import numpy as np
import pytest
from PIL import Image

from vidattn.analysis import AttentionRecord
from vidattn.visualization import attention_overlay
from vidattn.visualization import attention_strip
from vidattn.visualization import upsample_attention
from vidattn.visualization import write_attention_report


def focused_attention(steps, grid, location):
    attention = np.full((steps, grid, grid), 0.01, np.float32)
    attention[:, location[0], location[1]] = 1.0
    return attention / attention.sum((1, 2), keepdims=True)


def test_the_attended_cell_is_lit_and_the_rest_dimmed():
    frames = np.full((3, 56, 56, 3), 120, np.uint8)
    overlay = attention_overlay(frames, focused_attention(3, 7, (1, 5)))
    cell = 56 // 7
    attended = overlay[:, cell * 1 + cell // 2, cell * 5 + cell // 2]
    far = overlay[:, cell * 6 + cell // 2, cell * 0 + cell // 2]
    assert np.all(attended > 240)
    assert np.all(far < 60)


def test_upsampling_keeps_the_mass_where_it_was():
    weights = np.zeros((2, 2), np.float32)
    weights[0, 1] = 1.0
    up = upsample_attention(weights, 40, 40)
    assert up.shape == (40, 40)
    assert up[:20, 20:].sum() > 3 * up[20:, :20].sum()


def test_shapes_that_disagree_are_refused():
    with pytest.raises(
        ValueError, match=r"Expected attention of shape \(2, K, K\)"
    ):
        attention_overlay(np.zeros((2, 8, 8, 3), np.uint8), np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="Expected frames of shape"):
        attention_overlay(np.zeros((2, 8, 8), np.uint8), np.zeros((2, 2, 2)))


def test_report_writes_a_strip_per_video_and_a_page(tmp_path):
    frames = np.random.default_rng(0).integers(
        0, 255, (10, 32, 32, 3), dtype=np.uint8
    )
    records = [
        AttentionRecord(
            "v_biking/01",
            frames=frames,
            attention=focused_attention(10, 4, (0, 0)),
            probabilities=np.array([0.9, 0.1]),
            class_names=("biking", "diving"),
            true=0,
        ),
        AttentionRecord(
            "v2",
            frames=frames,
            attention=focused_attention(10, 4, (3, 3)),
            probabilities=np.array([0.3, 0.7]),
            true=0,
        ),
    ]
    index = write_attention_report(records, tmp_path / "report")
    page = open(index, encoding="utf-8").read()
    assert "<h2>v_biking/01</h2>" in page
    assert "predicted <b>biking</b> (0.90), true biking (correct)" in page
    # Without class names, classes are named by their index.
    assert "predicted <b>1</b> (0.70), true 0 (wrong)" in page
    strip = np.asarray(Image.open(tmp_path / "report" / "v_biking_01.png"))
    # 8 equally spaced steps of 10: the frames above their overlays.
    assert strip.shape == (64, 8 * 32, 3)
    chosen = np.linspace(0, 9, 8).round().astype(int)
    np.testing.assert_array_equal(
        strip[:32], np.concatenate(list(frames[chosen]), axis=1)
    )
    np.testing.assert_array_equal(
        strip[32:],
        np.concatenate(
            list(attention_overlay(frames, records[0].attention)[chosen]),
            axis=1,
        ),
    )
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "index.html",
        "v2.png",
        "v_biking_01.png",
    ]


def test_report_refuses_what_is_not_a_record(tmp_path):
    with pytest.raises(TypeError, match="Expected vidattn.analysis"):
        write_attention_report(
            [{"video_id": "v", "frames": None, "attention": None}], tmp_path
        )


def test_strip_with_caption_adds_a_text_line():
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    strip = attention_strip(
        frames, focused_attention(4, 2, (0, 0)), caption="hello"
    )
    assert strip.shape == (32 + 18, 64, 3)
    # Black text on a white line.
    line = strip[32:]
    assert (line == 255).all(-1).mean() > 0.7
    assert (line < 100).all(-1).sum() > 10
    plain = attention_strip(frames, focused_attention(4, 2, (0, 0)))
    np.testing.assert_array_equal(strip[:32], plain)


def test_report_links_to_sibling_pages(tmp_path):
    record = AttentionRecord(
        "v",
        frames=np.zeros((2, 8, 8, 3), np.uint8),
        attention=focused_attention(2, 2, (0, 0)),
        probabilities=np.array([1.0]),
    )
    links = {"What the captioner says": "captions/index.html"}
    index = write_attention_report([record], tmp_path, links=links)
    page = open(index, encoding="utf-8").read()
    assert (
        '<h1>Where the model looks</h1><nav><a href="captions/index.html">'
        "What the captioner says</a></nav>"
    ) in page
    plain = write_attention_report([record], tmp_path / "plain")
    assert "<nav>" not in open(plain, encoding="utf-8").read()
