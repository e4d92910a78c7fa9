"""Where a model looks in the same video at several frame rates (Fig. 2.6).

The thesis shows a golf swing at 6 and 30 fps: at 30 fps consecutive frames
barely change and the model stays on the ball and club; at 6 fps it searches
around once they leave. `attention_at_frame_rates` decodes one video at each
rate, runs the model over its first window, and returns the records that
the attention report draws.
"""

import os

import numpy as np

from vidattn.analysis.video_attention import attend
from vidattn.data.video_reader import VideoReader
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number


def attention_at_frame_rates(
    model, backbone, video_path, frame_rates, window=30, class_names=None
):
    """Attention of `model` over the first `window` frames at each frame rate.

    Args:
        model: a trained `vidattn.models.ActionRecognizer`.
        backbone: the `vidattn.backbones.Backbone` the model's features came
            from (same network, layer and input size).
        video_path: str. A video file.
        frame_rates: iterable of float, e.g. `(6, 30)`.
        window: int. Frames per window; a shorter video repeats its last
            frame, as in training. Defaults to `30`.
        class_names: tuple of str or `None`: the model's classes. Defaults
            to `None` (classes named by their index).

    Returns:
        A list of `vidattn.analysis.AttentionRecord`, one per frame rate,
        with video ids `"<name>@<fps>fps"`: the input of
        `vidattn.visualization.write_attention_report`.

    Raises:
        ValueError: if `window` or a frame rate is not positive.
    """
    window = check_positive_int("window", window)
    frame_rates = [check_positive_number("fps", fps) for fps in frame_rates]
    name = os.path.splitext(os.path.basename(os.fspath(video_path)))[0]
    reader = VideoReader(video_path)
    records = []
    for fps in frame_rates:
        frames = reader.read(fps=fps, max_frames=window).frames
        if len(frames) < window:
            # Shorter than a window: repeat the last frame, as in training.
            frames = np.concatenate(
                [frames, np.repeat(frames[-1:], window - len(frames), 0)]
            )
        records.append(
            attend(
                model,
                frames,
                f"{name}@{fps:g}fps",
                backbone=backbone,
                class_names=class_names,
            )
        )
    return records
