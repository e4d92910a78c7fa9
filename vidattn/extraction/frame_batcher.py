"""Full backbone batches drawn from the frames of consecutive videos."""

import collections

import numpy as np


class FrameBatcher:
    """Runs the backbone on full batches of frames drawn from several videos.

    Videos enter in order; a video leaves (its features complete) once every
    one of its frames went through the backbone, in the same order. Every
    forward pass has exactly `batch_size` frames (the last one is padded), so
    the network is traced once per frame size.

    Args:
        backbone: a `vidattn.backbones.Backbone`.
        batch_size: int. Frames per forward pass.
    """

    def __init__(self, backbone, batch_size):
        self.backbone = backbone
        self.batch_size = batch_size
        self._videos = collections.deque()
        self._chunks = collections.deque()
        self._buffered = 0

    def add(self, video):
        """Queues a decoded video's frames; runs every full batch.

        Args:
            video: a `vidattn.extraction.DecodedVideo` with frames.

        Returns:
            The list of videos whose features are now complete, in the
            order they were added; their `features` hold one array per
            batch they took part in.
        """
        self._videos.append(video)
        self._chunks.append((video, video.frames))
        self._buffered += len(video.frames)
        done = []
        while self._buffered >= self.batch_size:
            done += self._run()
        return done

    def flush(self):
        """Runs the frames left (the last batch padded); returns the videos."""
        done = []
        while self._buffered:
            done += self._run()
        return done

    def _run(self):
        pieces, owners = [], []
        need = self.batch_size
        shape = None
        while need and self._chunks:
            video, frames = self._chunks[0]
            if shape is not None and frames.shape[1:] != shape:
                # Frames of another size (no resizing in the decoders)
                # cannot share the batch.
                break
            shape = frames.shape[1:]
            take = frames[:need]
            pieces.append(take)
            owners.append((video, len(take)))
            if len(take) == len(frames):
                self._chunks.popleft()
            else:
                self._chunks[0] = (video, frames[len(take) :])
            need -= len(take)
        count = self.batch_size - need
        if need:
            pieces.append(np.zeros((need,) + shape, dtype=pieces[0].dtype))
        batch = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        features = self.backbone.extract(batch, batch_size=self.batch_size)
        self._buffered -= count
        offset = 0
        for video, taken in owners:
            video.features.append(features[offset : offset + taken])
            video.remaining -= taken
            offset += taken
        done = []
        while self._videos and self._videos[0].remaining == 0:
            video = self._videos.popleft()
            video.frames = None
            done.append(video)
        return done
