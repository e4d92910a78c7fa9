import numpy as np
import pytest
from PIL import Image

from vidattn.analysis import AttentionRecord
from vidattn.analysis import CaptionAttentionRecord
from vidattn.visualization import caption_attention_strip
from vidattn.visualization import write_caption_report
from vidattn.visualization.attention_maps import FRAME_DIMMING
from vidattn.visualization.caption_attention_maps import BACKGROUND
from vidattn.visualization.caption_attention_maps import BAR_COLOUR
from vidattn.visualization.caption_attention_maps import HEADER_HEIGHT
from vidattn.visualization.caption_attention_maps import LABEL_WIDTH
from vidattn.visualization.caption_attention_maps import SHARE_HEIGHT
from vidattn.visualization.caption_attention_maps import TILE_GAP

FRAMES, HEIGHT, WIDTH, GRID = 5, 16, 20, 2
FRAME_MASK = np.array([True, True, True, False, True])
# Of the valid frames 0, 1, 2, 4, three evenly spaced: positions 0, 1.5 -> 2
# (NumPy rounds half to even) and 3, so frames 0, 2 and 4.
SHOWN = [0, 2, 4]


def uniform_attention(words):
    attention = np.zeros((words, FRAMES, GRID, GRID), np.float32)
    attention[:, FRAME_MASK] = 1 / (FRAME_MASK.sum() * GRID * GRID)
    return attention


def focused_record(frames, words=("a", "red", "disk"), focus_word=1):
    """Word `focus_word` puts all its attention on frame 4, cell (1, 0)."""
    attention = uniform_attention(len(words))
    attention[focus_word] = 0
    attention[focus_word, 4, 1, 0] = 1.0
    return CaptionAttentionRecord(
        "clip",
        frames=frames,
        frame_mask=FRAME_MASK,
        words=list(words),
        attention=attention,
        beta=np.linspace(0.9, 0.1, len(words)),
        log_probability=-4.25,
    )


def random_frames(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)


def tile(strip, top, row, column, height, width):
    """The tile of word `row` (or of the frames, row -1) and `column`."""
    y = top + row * (height + SHARE_HEIGHT)
    x = LABEL_WIDTH + column * (width + TILE_GAP)
    return strip[y : y + height, x : x + width], y, x


def test_strip_has_a_row_per_word_under_the_shown_frames():
    frames = random_frames()
    strip = caption_attention_strip(focused_record(frames), max_frames=3)
    top = HEADER_HEIGHT + HEIGHT
    assert strip.shape == (
        top + 3 * (HEIGHT + SHARE_HEIGHT),
        LABEL_WIDTH + 3 * (WIDTH + TILE_GAP),
        3,
    )
    for column, frame in enumerate(SHOWN):
        shown, _, _ = tile(strip, HEADER_HEIGHT, 0, column, HEIGHT, WIDTH)
        np.testing.assert_array_equal(shown, frames[frame])
    # The label column holds text only: no frame pixels.
    assert set(map(tuple, strip[:, 0])) == {BACKGROUND}


def test_a_cell_with_all_the_weight_is_the_brightest_spot_of_its_row():
    frames = np.full((FRAMES, HEIGHT, WIDTH, 3), 200, np.uint8)
    strip = caption_attention_strip(focused_record(frames), max_frames=3)
    top = HEADER_HEIGHT + HEIGHT
    brightness = {}
    for row in range(3):
        for column in range(3):
            pixels, _, _ = tile(strip, top, row, column, HEIGHT, WIDTH)
            brightness[row, column] = pixels.astype(int).sum(-1)
    # The focused word (row 1) at frame 4 (column 2): white in cell (1, 0),
    # the bottom-left quarter, and the brightest pixel of all tiles.
    focused = brightness[1, 2]
    assert focused[HEIGHT - 1, 0] == 3 * 255
    assert focused.max() == max(b.max() for b in brightness.values())
    assert focused[: HEIGHT // 4, WIDTH * 3 // 4 :].max() < 3 * 120
    # Its other frames get nothing: the frame dimmed and unlit.
    dimmed = int(200 * FRAME_DIMMING)
    for column in (0, 1):
        assert brightness[1, column].max() == 3 * dimmed
    # One scale for the whole picture: uniform words are far from white.
    for row in (0, 2):
        assert brightness[row, 0].max() < 3 * (dimmed + 20)


def test_share_bars_show_when_each_word_looked():
    strip = caption_attention_strip(
        focused_record(random_frames()), max_frames=3
    )
    top = HEADER_HEIGHT + HEIGHT

    def bar_width(row, column):
        _, y, x = tile(strip, top, row, column, HEIGHT, WIDTH)
        bar = strip[y + HEIGHT, x : x + WIDTH]
        return int(np.all(bar == BAR_COLOUR, axis=-1).sum())

    # The focused word: its whole attention (the largest share) in frame 4.
    assert [bar_width(1, column) for column in range(3)] == [0, 0, WIDTH]
    # Uniform words: a quarter in each valid frame, a quarter of the width.
    assert [bar_width(0, column) for column in range(3)] == [5, 5, 5]


def test_large_frames_are_shrunk_to_fit_max_frame_size():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (FRAMES, 40, 30, 3), dtype=np.uint8)
    record = focused_record(frames)
    strip = caption_attention_strip(record, max_frames=3, max_frame_size=20)
    # Height 40 -> 20, width 30 -> 15.
    assert strip.shape == (
        HEADER_HEIGHT + 20 + 3 * (20 + SHARE_HEIGHT),
        LABEL_WIDTH + 3 * (15 + TILE_GAP),
        3,
    )
    shown, _, _ = tile(strip, HEADER_HEIGHT, 0, 1, 20, 15)
    expected = Image.fromarray(frames[SHOWN[1]]).resize((15, 20), Image.LANCZOS)
    np.testing.assert_array_equal(shown, np.asarray(expected))
    # Frames that fit are drawn as they are.
    assert caption_attention_strip(record, max_frame_size=40).shape == (
        caption_attention_strip(record, max_frame_size=1000).shape
    )


def test_without_frames_the_maps_are_drawn_as_grey_grids():
    strip = caption_attention_strip(focused_record(None), max_frames=3)
    cell = 24  # max(12 pixels, 48 / K) per cell.
    size = GRID * cell
    assert strip.shape == (
        HEADER_HEIGHT + 3 * (size + SHARE_HEIGHT),
        LABEL_WIDTH + 3 * (size + TILE_GAP),
        3,
    )
    grid, _, _ = tile(strip, HEADER_HEIGHT, 1, 2, size, size)
    expected = np.zeros((size, size, 3), np.uint8)
    expected[cell:, :cell] = 255
    np.testing.assert_array_equal(grid, expected)
    # Uniform weight 1/16 against the largest weight 1: grey 255/16.
    grid, _, _ = tile(strip, HEADER_HEIGHT, 0, 0, size, size)
    np.testing.assert_array_equal(grid, np.full((size, size, 3), 16))


def test_a_sentence_without_words_draws_only_the_frames():
    record = CaptionAttentionRecord(
        "empty",
        frames=random_frames(),
        frame_mask=None,
        words=[],
        attention=np.zeros((0, FRAMES, GRID, GRID)),
        beta=np.zeros(0),
        log_probability=-0.5,
    )
    strip = caption_attention_strip(record, max_frames=8)
    assert strip.shape == (
        HEADER_HEIGHT + HEIGHT,
        LABEL_WIDTH + FRAMES * (WIDTH + TILE_GAP),
        3,
    )


def test_strip_refuses_other_records():
    record = AttentionRecord(
        "clip",
        frames=random_frames(),
        attention=uniform_attention(FRAMES)[0],
        probabilities=np.array([1.0]),
    )
    with pytest.raises(TypeError, match="CaptionAttentionRecord"):
        caption_attention_strip(record)
    with pytest.raises(ValueError, match="max_frames"):
        caption_attention_strip(focused_record(None), max_frames=0)


def test_report_writes_a_strip_per_video_and_a_page(tmp_path):
    scored = CaptionAttentionRecord(
        "video/1",
        frames=random_frames(),
        frame_mask=FRAME_MASK,
        words=["a", "<red>", "disk"],
        attention=uniform_attention(3),
        beta=np.ones(3),
        log_probability=-4.25,
        references=("a red disk moves left", "a disk & a square"),
        scores={"BLEU-4": 0.4123, "METEOR": 0.3},
    )
    silent = CaptionAttentionRecord(
        "v2",
        frames=None,
        frame_mask=None,
        words=[],
        attention=np.zeros((0, FRAMES, GRID, GRID)),
        beta=np.zeros(0),
        log_probability=-0.5,
    )
    index = write_caption_report(
        [scored, silent],
        tmp_path / "captions",
        title="Captions",
        links={"Action report": "../index.html"},
        max_frames=3,
    )
    page = open(index, encoding="utf-8").read()
    assert "<title>Captions</title>" in page
    assert '<nav><a href="../index.html">Action report</a></nav>' in page
    assert "<h2>video/1</h2>" in page
    assert (
        "&ldquo;<b>a &lt;red&gt; disk</b>&rdquo; (log probability -4.25)"
        in (page)
    )
    assert "<p>BLEU-4 0.412, METEOR 0.300</p>" in page
    assert "<li>a disk &amp; a square</li>" in page
    assert "(no words: the end token came first)" in page
    assert sorted(p.name for p in (tmp_path / "captions").iterdir()) == [
        "index.html",
        "v2.png",
        "video_1.png",
    ]
    assert '<img src="video_1.png"' in page
    for record, name in ((scored, "video_1.png"), (silent, "v2.png")):
        saved = np.asarray(Image.open(tmp_path / "captions" / name))
        np.testing.assert_array_equal(
            saved, caption_attention_strip(record, max_frames=3)
        )
    with pytest.raises(TypeError, match="CaptionAttentionRecord"):
        write_caption_report(["not a record"], tmp_path / "other")
