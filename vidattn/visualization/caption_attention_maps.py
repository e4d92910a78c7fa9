"""Where a captioner looks for each word, as in the thesis's Figs. 3.2-3.4.

A strip has one row per generated word: the word and its gate `beta_t` at
the left, then the same few frames of the video with that word's attention
over each (white where it looks), and under each frame the share of the
word's attention that falls in that frame, as a number and a bar. The
frames' intensities share one scale over the whole strip, and so do the
bars, so that rows compare: a bright spot is where, a long bar is when, and
a small beta says that the word hardly used what it saw.
"""

import html
import math
import os

import numpy as np
from PIL import Image
from PIL import ImageDraw

from vidattn.analysis.caption_attention import CaptionAttentionRecord
from vidattn.utils.arguments import check_positive_int
from vidattn.visualization.attention_maps import attention_overlay
from vidattn.visualization.attention_maps import png_file_name
from vidattn.visualization.attention_maps import save_png
from vidattn.visualization.attention_maps import upsample_attention
from vidattn.visualization.attention_maps import write_report_page

LABEL_WIDTH = 88
HEADER_HEIGHT = 14
SHARE_HEIGHT = 16
SHARE_BAR_HEIGHT = 4
TILE_GAP = 2
GRID_CELL_PIXELS = 12
MIN_GRID_TILE_SIZE = 48
BACKGROUND = (34, 34, 34)
TEXT_COLOUR = (238, 238, 238)
BAR_COLOUR = (230, 120, 0)

CAPTION_PAGE_LEGEND = (
    "For each generated word (left, with its gate &beta;: near 0, the word "
    "hardly used what the model saw): the video's frames with white where "
    "the model looked for that word, one brightness scale per video. Under "
    "each frame: the share of the word's attention in that frame (the bar "
    "is scaled by the largest share of the video)."
)


def shown_frames(frame_mask, max_frames):
    """Up to `max_frames` evenly spaced indices of the valid frames."""
    valid = np.flatnonzero(frame_mask)
    count = min(max_frames, len(valid))
    positions = np.unique(np.linspace(0, len(valid) - 1, count).round())
    return valid[positions.astype(int)]


def _check_record(record):
    if not isinstance(record, CaptionAttentionRecord):
        raise TypeError(
            "Expected vidattn.analysis.CaptionAttentionRecord objects, as "
            "vidattn.analysis.caption_attention_records returns them. "
            f"Received: {type(record).__name__}"
        )


def _shrunk_frames(frames, max_frame_size):
    """`frames` shrunk to fit `max_frame_size` squared, aspect kept."""
    height, width = frames.shape[1:3]
    factor = min(1.0, max_frame_size / max(height, width))
    if factor == 1.0:
        return frames
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.stack(
        [
            np.asarray(Image.fromarray(frame).resize(size, Image.LANCZOS))
            for frame in frames
        ]
    )


def _attention_tiles(attention, frames):
    """`(words, frames shown)` tiles, uint8 `(tile_h, tile_w, 3)` each.

    `attention`: `(words, shown, K, K)`; `frames`: the shown frames, or
    `None` for grey grids.
    """
    if frames is None:
        grid = attention.shape[-1]
        pixels = max(GRID_CELL_PIXELS, math.ceil(MIN_GRID_TILE_SIZE / grid))
        scale = float(attention.max()) if attention.size else 0.0
        grey = attention / (scale if scale > 0 else 1.0) * 255.0
        grey = np.repeat(np.repeat(grey, pixels, axis=-2), pixels, axis=-1)
        return np.repeat(grey.round().astype(np.uint8)[..., None], 3, axis=-1)
    height, width = frames.shape[1:3]
    scale = max(
        (
            float(upsample_attention(weights, height, width).max())
            for weights in attention.reshape((-1,) + attention.shape[2:])
        ),
        default=0.0,
    )
    overlays = [
        attention_overlay(frames, maps, scale=scale) for maps in attention
    ]
    return np.array(overlays, np.uint8).reshape(
        attention.shape[:2] + frames.shape[1:]
    )


def _fitted(draw, text, width):
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "..") > width:
        text = text[:-1]
    return text + ".."


def caption_attention_strip(record, max_frames=8, max_frame_size=112):
    """One video's sentence as a picture: where and when it looked per word.

    Layout, top to bottom (`LABEL_WIDTH` pixels of labels at the left, then
    one column per shown frame, `TILE_GAP` pixels apart):

    - a header line (`HEADER_HEIGHT`): the shown frames' numbers (from 1);
    - when the record has frames, the frames themselves;
    - one row per word: the word and `beta_t`, then the frames with that
      word's attention overlaid (`vidattn.visualization.attention_overlay`,
      one scale for the whole picture), or without frames the `(K, K)`
      attention maps as grey grids (white = the largest weight of the
      picture, `GRID_CELL_PIXELS` or more per cell); under them a band of
      `SHARE_HEIGHT` pixels: a bar of the word's share of attention in that
      frame (scaled by the largest share of the picture) and the share.

    The shown frames are up to `max_frames` evenly spaced valid frames;
    padding frames are skipped. Frames larger than `max_frame_size` are
    shrunk to fit it (a 10-word sentence over 224x224 frames would
    otherwise make a 1900x2600 picture).

    Args:
        record: a `vidattn.analysis.CaptionAttentionRecord`.
        max_frames: int. The most frames shown. Defaults to `8`.
        max_frame_size: int. The most pixels of a shown frame's height and
            width. Defaults to `112`.

    Returns:
        uint8 image `(height, width, 3)`.

    Raises:
        TypeError: if `record` is not a `CaptionAttentionRecord`.
        ValueError: if `max_frames` or `max_frame_size` is not a positive
            integer.

    Example:

    >>> import numpy as np, vidattn
    >>> record = vidattn.analysis.CaptionAttentionRecord(
    ...     "clip", frames=None, frame_mask=None, words=["a", "cat"],
    ...     attention=np.full((2, 3, 2, 2), 1 / 12), beta=np.ones(2),
    ...     log_probability=-1.0,
    ... )
    >>> vidattn.visualization.caption_attention_strip(record).shape
    (142, 238, 3)
    """
    _check_record(record)
    max_frames = check_positive_int("max_frames", max_frames)
    max_frame_size = check_positive_int("max_frame_size", max_frame_size)
    chosen = shown_frames(record.frame_mask, max_frames)
    frames = None
    if record.frames is not None:
        frames = _shrunk_frames(record.frames[chosen], max_frame_size)
    tiles = _attention_tiles(record.attention[:, chosen], frames)
    if frames is not None:
        tile_height, tile_width = frames.shape[1:3]
    else:
        tile_height, tile_width = tiles.shape[2:4]
    stride = tile_width + TILE_GAP
    top = HEADER_HEIGHT + (tile_height if frames is not None else 0)
    row_height = tile_height + SHARE_HEIGHT
    canvas = Image.new(
        "RGB",
        (
            LABEL_WIDTH + len(chosen) * stride,
            top + len(record.words) * row_height,
        ),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(canvas)
    for column, frame in enumerate(chosen):
        x = LABEL_WIDTH + column * stride
        draw.text((x + 1, 1), f"frame {frame + 1}", fill=TEXT_COLOUR)
        if frames is not None:
            canvas.paste(Image.fromarray(frames[column]), (x, HEADER_HEIGHT))
    if frames is not None:
        draw.text((2, HEADER_HEIGHT + 2), "video", fill=TEXT_COLOUR)
    shares = record.frame_shares[:, chosen]
    largest_share = float(shares.max()) if shares.size else 0.0
    for row, (word, beta) in enumerate(zip(record.words, record.beta)):
        y = top + row * row_height
        draw.text(
            (2, y + 2), _fitted(draw, word, LABEL_WIDTH - 4), fill=TEXT_COLOUR
        )
        draw.text((2, y + 15), f"beta {beta:.2f}", fill=TEXT_COLOUR)
        for column in range(len(chosen)):
            x = LABEL_WIDTH + column * stride
            canvas.paste(Image.fromarray(tiles[row, column]), (x, y))
            share = float(shares[row, column])
            if share > 0:
                bar = max(1, round(share / largest_share * tile_width))
                draw.rectangle(
                    (
                        x,
                        y + tile_height,
                        x + bar - 1,
                        y + tile_height + SHARE_BAR_HEIGHT - 1,
                    ),
                    fill=BAR_COLOUR,
                )
            draw.text(
                (x + 1, y + tile_height + SHARE_BAR_HEIGHT),
                f"{share:.2f}",
                fill=TEXT_COLOUR,
            )
    return np.asarray(canvas)


def _card(record, file_name):
    video_id = html.escape(record.video_id)
    if record.words:
        sentence = f"&ldquo;<b>{html.escape(record.sentence)}</b>&rdquo;"
    else:
        sentence = "<b>(no words: the end token came first)</b>"
    parts = [
        f"<section><h2>{video_id}</h2>",
        f"<p>{sentence} (log probability {record.log_probability:.2f})</p>",
    ]
    if record.scores:
        scores = ", ".join(
            f"{html.escape(name)} {value:.3f}"
            for name, value in record.scores.items()
        )
        parts.append(f"<p>{scores}</p>")
    if record.references:
        items = "".join(
            f"<li>{html.escape(reference)}</li>"
            for reference in record.references
        )
        parts.append(f"<p>References:</p><ul>{items}</ul>")
    parts.append(
        f'<img src="{html.escape(file_name)}" '
        f'alt="attention per word of {video_id}"></section>'
    )
    return "".join(parts)


def write_caption_report(
    records,
    output_dir,
    title="What the captioner says, and where it looks",
    links=None,
    max_frames=8,
    max_frame_size=112,
):
    """Writes one PNG strip per video and an `index.html` that shows them all.

    The page looks like `vidattn.visualization.write_attention_report`'s:
    one card per video with its sentence, log probability, scores (when the
    records have them), references and `caption_attention_strip`. Every
    file appears whole or not at all (`vidattn.utils.atomic_write`). To
    link it from an action report, write it to a subfolder and pass
    `links={"What the captioner says": "captions/index.html"}` to
    `write_attention_report` (and `{"Action report": "../index.html"}`
    here).

    Args:
        records: iterable of `vidattn.analysis.CaptionAttentionRecord`, as
            `vidattn.analysis.caption_attention_records` returns them.
        output_dir: str. Created if needed.
        title: str. The page's title.
        links: dict from text to address, shown under the title, or `None`.
            Defaults to `None`.
        max_frames: int. The most frames per strip. Defaults to `8`.
        max_frame_size: int. The most pixels of a shown frame's height and
            width. Defaults to `112`.

    Returns:
        The path of `index.html`.

    Raises:
        TypeError: if a record is not a `CaptionAttentionRecord`.

    Example:

    ```python
    records = vidattn.analysis.caption_attention_records(
        model, features, frames=frames, video_ids=ids, references=references
    )
    vidattn.visualization.write_caption_report(records, "caption_report")
    ```
    """
    os.makedirs(output_dir, exist_ok=True)
    sections = []
    for record in records:
        _check_record(record)
        file_name = png_file_name(record.video_id)
        save_png(
            caption_attention_strip(
                record, max_frames=max_frames, max_frame_size=max_frame_size
            ),
            os.path.join(output_dir, file_name),
        )
        sections.append(_card(record, file_name))
    return write_report_page(
        output_dir, title, CAPTION_PAGE_LEGEND, sections, links
    )
