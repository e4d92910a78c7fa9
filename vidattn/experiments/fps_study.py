"""Where a model looks in the same video at several frame rates (thesis Fig. 2.6).

The thesis shows a golf swing at 6 and 30 fps: at 30 fps consecutive frames
barely change and the model stays on the ball and club; at 6 fps it searches
around once they leave. `attention_at_frame_rates` decodes one video at each
rate, runs the model over its first window, and returns what the attention
report draws.
"""

import os

import numpy as np

from vidattn.data.video_reader import VideoReader


def attention_at_frame_rates(
    model, backbone, video_path, frame_rates, window=30
):
    """Attention of `model` over the first `window` frames at each frame rate.

    Args:
        model: a trained `vidattn.models.ActionRecognizer`.
        backbone: the `vidattn.backbones.Backbone` the model's features came
            from (same network, layer and input size).
        video_path: str. A video file.
        frame_rates: iterable of float, e.g. `(6, 30)`.
        window: int. Frames per window. Defaults to `30`.

    Returns:
        A list of dicts, one per frame rate, with `"video_id"`
        (`"<name>@<fps>fps"`), `"frames"`, `"attention"`, `"predicted"`
        (class index) and `"confidence"`: the input of
        `vidattn.visualization.write_attention_report`.
    """
    name = os.path.splitext(os.path.basename(os.fspath(video_path)))[0]
    reader = VideoReader(video_path)
    results = []
    for fps in frame_rates:
        frames = reader.read(fps=float(fps), max_frames=window).frames
        if len(frames) < window:
            # Shorter than a window: repeat the last frame, as in training.
            frames = np.concatenate(
                [frames, np.repeat(frames[-1:], window - len(frames), 0)]
            )
        features = backbone.extract(frames)[None]
        outputs = model.predict_on_batch(features)
        predicted = int(outputs["probabilities"][0].argmax())
        results.append(
            {
                "video_id": f"{name}@{fps:g}fps",
                "frames": frames,
                "attention": outputs["attention"][0],
                "predicted": predicted,
                "confidence": float(outputs["probabilities"][0, predicted]),
            }
        )
    return results
