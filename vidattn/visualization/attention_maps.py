"""Attention maps drawn as in the thesis's figures.

The location softmax of each step is upsampled over its frame; white shows
where the model looks and brightness the strength of its focus. Like the
thesis, the overlay's intensity is scaled uniformly: by the largest weight
over all shown steps of a video, so that maps of different steps compare.
"""

import html
import os

import numpy as np
from PIL import Image
from PIL import ImageDraw

from vidattn.utils.arguments import check_positive_int
from vidattn.utils.atomic_write import atomic_output_path
from vidattn.utils.atomic_write import atomic_write

FRAME_DIMMING = 0.35


def upsample_attention(attention, height, width):
    """Bilinear upsampling of `(K, K)` weights to `(height, width)`, float32."""
    attention = np.asarray(attention, dtype=np.float32)
    if attention.ndim != 2 or attention.shape[0] != attention.shape[1]:
        raise ValueError(
            "Expected one step's attention of shape (K, K). Received: "
            f"shape={attention.shape}"
        )
    image = Image.fromarray(attention, mode="F")
    return np.asarray(image.resize((width, height), Image.BILINEAR))


def attention_overlay(frames, attention, scale=None):
    """Frames dimmed, with white where the model attends.

    Args:
        frames: uint8 `(steps, height, width, 3)` RGB frames.
        attention: `(steps, K, K)` location softmaxes.
        scale: float or `None`. The weight drawn as full white; defaults to
            the largest upsampled weight over all steps (uniform scaling).

    Returns:
        uint8 `(steps, height, width, 3)`.

    Raises:
        ValueError: if the shapes disagree.
    """
    frames = np.asarray(frames)
    attention = np.asarray(attention, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            "Expected frames of shape (steps, height, width, 3). Received: "
            f"shape={frames.shape}"
        )
    if attention.ndim != 3 or len(attention) != len(frames):
        raise ValueError(
            f"Expected attention of shape ({len(frames)}, K, K), one map per "
            f"frame. Received: shape={attention.shape}"
        )
    height, width = frames.shape[1:3]
    maps = [upsample_attention(weights, height, width) for weights in attention]
    scale = max(float(m.max()) for m in maps) if scale is None else float(scale)
    scale = scale if scale > 0 else 1.0
    overlays = []
    for frame, upsampled in zip(frames, maps):
        focus = np.clip(upsampled / scale, 0, 1)
        dimmed = frame.astype(np.float32) * FRAME_DIMMING
        lit = dimmed + (255.0 - dimmed) * focus[..., None]
        overlays.append(np.clip(lit, 0, 255).astype(np.uint8))
    return np.stack(overlays)


def attention_strip(frames, attention, max_steps=8, caption=None):
    """The frames over time (top row) above their attention overlays.

    Args:
        frames: uint8 `(steps, height, width, 3)`.
        attention: `(steps, K, K)`.
        max_steps: int. Equally spaced steps shown. Defaults to `8`.
        caption: str or `None`. A line of text under the strip.

    Returns:
        uint8 image `(rows, columns, 3)`.

    Raises:
        ValueError: if the shapes disagree or `max_steps` is not positive.
    """
    max_steps = check_positive_int("max_steps", max_steps)
    frames = np.asarray(frames)
    steps = len(frames)
    chosen = np.unique(
        np.linspace(0, steps - 1, min(max_steps, steps)).round()
    ).astype(int)
    overlays = attention_overlay(frames, attention)[chosen]
    top = np.concatenate(list(frames[chosen]), axis=1)
    bottom = np.concatenate(list(overlays), axis=1)
    strip = np.concatenate([top, bottom], axis=0)
    if caption:
        canvas = Image.new(
            "RGB", (strip.shape[1], strip.shape[0] + 18), "white"
        )
        canvas.paste(Image.fromarray(strip), (0, 0))
        ImageDraw.Draw(canvas).text(
            (4, strip.shape[0] + 3), caption, fill="black"
        )
        strip = np.asarray(canvas)
    return strip


def save_png(image, path):
    """Writes a uint8 RGB image as PNG, atomically."""
    with atomic_output_path(path, suffix=".png") as temporary:
        Image.fromarray(image).save(temporary, format="PNG")


def png_file_name(video_id):
    """A file name for a video's picture: unsafe characters become `_`."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in video_id)
    return f"{safe}.png"


def _verdict(record):
    verdict = f"predicted <b>{html.escape(record.predicted_name)}</b>"
    verdict += f" ({record.confidence:.2f})"
    if record.true is not None:
        mark = "correct" if record.correct else "wrong"
        verdict += f", true {html.escape(record.true_name)} ({mark})"
    return verdict


PAGE_STYLE = (
    "body{font-family:sans-serif;background:#222;color:#eee;margin:2em}"
    "img{max-width:100%;image-rendering:pixelated}"
    "section{margin-bottom:2em}a{color:#9cf}"
)
PAGE_LEGEND = (
    "Top row: the frames over time. Bottom row: white where the model "
    "attends; brightness is the strength of its focus, scaled by the "
    "largest weight of each video."
)


def write_report_page(output_dir, title, legend, sections, links=None):
    """Writes `output_dir/index.html`: a title, links, a legend, sections.

    The page of every attention report, written atomically.

    Args:
        output_dir: str. An existing folder.
        title: str. The page's title (escaped here).
        legend: str. HTML under the title.
        sections: list of str. HTML of one card each.
        links: dict from text to address (relative to `output_dir`), shown
            under the title, or `None`. Defaults to `None`.

    Returns:
        The path of `index.html`.
    """
    navigation = "".join(
        f'<a href="{html.escape(address)}">{html.escape(text)}</a> '
        for text, address in (links or {}).items()
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>"
        + (f"<nav>{navigation.strip()}</nav>" if navigation else "")
        + f"<p>{legend}</p>"
        + "\n".join(sections)
        + "</body></html>"
    )
    index_path = os.path.join(output_dir, "index.html")
    with atomic_write(index_path) as file:
        file.write(page)
    return index_path


def write_attention_report(
    records, output_dir, title="Where the model looks", links=None
):
    """Writes one PNG strip per video and an `index.html` that shows them all.

    Every file appears whole or not at all (`vidattn.utils.atomic_write`).

    Args:
        records: iterable of `vidattn.analysis.AttentionRecord`: each
            video's frames, attention, prediction and (when known) class
            names and true class, as `vidattn.analysis.attend` returns them.
        output_dir: str. Created if needed.
        title: str. The page's title.
        links: dict from text to address, shown under the title (e.g.
            `{"What the captioner says": "captions/index.html"}` for a
            `vidattn.visualization.write_caption_report` written to
            `output_dir/captions`), or `None`. Defaults to `None`.

    Returns:
        The path of `index.html`.

    Raises:
        TypeError: if a record is not an `AttentionRecord`.

    Example:

    ```python
    records = vidattn.analysis.attention_at_frame_rates(
        model, backbone, "golf.mp4", frame_rates=(6, 30)
    )
    vidattn.visualization.write_attention_report(records, "golf_report")
    ```
    """
    os.makedirs(output_dir, exist_ok=True)
    sections = []
    for record in records:
        if not hasattr(record, "predicted_name"):
            raise TypeError(
                "Expected vidattn.analysis.AttentionRecord objects, as "
                "vidattn.analysis.attend returns them. Received: "
                f"{type(record).__name__}"
            )
        file_name = png_file_name(record.video_id)
        save_png(
            attention_strip(record.frames, record.attention),
            os.path.join(output_dir, file_name),
        )
        video_id = html.escape(record.video_id)
        sections.append(
            f"<section><h2>{video_id}</h2><p>{_verdict(record)}</p>"
            f'<img src="{html.escape(file_name)}" '
            f'alt="attention of {video_id}"></section>'
        )
    return write_report_page(output_dir, title, PAGE_LEGEND, sections, links)
