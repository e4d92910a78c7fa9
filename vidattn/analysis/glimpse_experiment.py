"""The glimpse experiment of thesis Fig. 2.8 on one video of a dataset.

`run_glimpse_experiment` picks the video from a dataset folder, searches
for glimpses under which the model predicts the chosen class
(`vidattn.analysis.search_glimpse`), and writes what `vidattn glimpse`
shows: the attention report of the three glimpses (the model's own, a
random one, the one found), `glimpse.json` and the found location weights.
"""

import dataclasses
import os

import numpy as np

from vidattn.analysis.glimpse_search import search_glimpse
from vidattn.analysis.model_metadata import class_names_of
from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.video_reader import VideoReader
from vidattn.utils.arguments import check_positive_int
from vidattn.visualization.attention_maps import write_attention_report

# Drawn under the glimpses when the video file is not given.
PLACEHOLDER_FRAME = (112, 112, 3)
PLACEHOLDER_GREY = 110


@dataclasses.dataclass(frozen=True, eq=False)
class GlimpseExperiment:
    """What `run_glimpse_experiment` found and wrote.

    Attributes:
        video_id: str. The video searched.
        class_names: tuple of str or `None`.
        search: the `vidattn.analysis.GlimpseSearchResult`.
        records: the three glimpses as `vidattn.analysis.AttentionRecord`s,
            in the order of `search.titles`.
        report_path: str. The report's `index.html`.
        result_path: str. `glimpse.json`.
    """

    video_id: str
    class_names: tuple
    search: object
    records: tuple
    report_path: str
    result_path: str

    @property
    def target_name(self):
        """str. The name (or index) of the class searched for."""
        return self.records[0].class_name(self.search.target_class)


def run_glimpse_experiment(
    model,
    data_dir,
    output_dir,
    video_id=None,
    target_class=None,
    video_path=None,
    fps=None,
    window=30,
    max_steps=500,
):
    """Searches glimpses for one video of a dataset folder and reports them.

    Args:
        model: a trained `vidattn.models.ActionRecognizer`.
        data_dir: str. A dataset folder (`vidattn extract` output) holding
            the video's features.
        output_dir: str. Where the PNG strips, `index.html`, `glimpse.json`
            and `location_weights.npz` go.
        video_id: str or `None`. The video; defaults to the folder's first.
        target_class: int or `None`. The class to reach; defaults to the
            video's label.
        video_path: str or `None`. The video file, to draw the glimpses
            over its frames; without it they are drawn over grey frames.
        fps: float or `None`. The frame rate to decode `video_path` at;
            defaults to the folder's stored frame rate.
        window: int. Frames of the video used. Defaults to `30`.
        max_steps: int. Optimisation steps at most. Defaults to `500`.

    Returns:
        A `GlimpseExperiment`. Not finding a glimpse is an outcome
        (`search.found` is `False`), not an error.

    Raises:
        ValueError: if the folder has no video `video_id`, or an argument
            is out of range.
    """
    window = check_positive_int("window", window)
    data = FeatureDataset(data_dir)
    video = next(
        (v for v in data.videos() if video_id in (None, v["video_id"])), None
    )
    if video is None:
        raise ValueError(
            "Expected `video_id` to name a video of "
            f"{data.directory}. Received: video_id={video_id!r}"
        )
    features = video["features"][:window].astype("float32")
    if target_class is None:
        target_class = int(video["labels"][0])
    class_names = class_names_of(model, fallback=data.class_names)
    search = search_glimpse(model, features, target_class, max_steps=max_steps)
    if video_path:
        frames = (
            VideoReader(video_path)
            .read(fps=fps or data.stored_fps)
            .frames[: len(features)]
        )
    else:
        frames = np.full(
            (len(features),) + PLACEHOLDER_FRAME, PLACEHOLDER_GREY, np.uint8
        )
    records = search.records(frames, video["video_id"], class_names)
    report_path = write_attention_report(
        records,
        output_dir,
        title=f"Glimpses for {records[0].class_name(search.target_class)}",
    )
    result_path = search.save(
        output_dir, video_id=video["video_id"], class_names=class_names
    )
    return GlimpseExperiment(
        video_id=video["video_id"],
        class_names=class_names,
        search=search,
        records=tuple(records),
        report_path=report_path,
        result_path=os.fspath(result_path),
    )
