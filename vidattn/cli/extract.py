"""`vidattn extract`: a video dataset's feature cubes into TFRecord shards.

    vidattn extract --dataset ucf11 --root /data/UCF11_updated_mpg \\
        --output_dir /data/ucf11_features --fps 30
    vidattn extract --dataset hmdb51 --root /data/hmdb51 --split_number 2 \\
        --output_dir /data/hmdb51_split2 --evenly_spaced 26/240
    vidattn extract --dataset msvd --root /data/msvd \\
        --output_dir /data/msvd_features
    vidattn extract --dataset folder --root /data/my_videos \\
        --captions /data/my_videos/captions.csv --output_dir /data/my_features
    vidattn extract --index my_index.json --output_dir /data/mine \\
        --backbone InceptionV3 --layer mixed10

Frames: without --fps or --evenly_spaced, captioning data (msvd, folder
with --captions, an --index without classes) gets the thesis's rule, 26
frames evenly spaced over the first 240 with black frames after a shorter
video's end (even:26/240), and every other dataset 30 frames a second. The
rule used is printed.

Your own videos with sentences: --dataset folder --captions FILE, where FILE
is a CSV with the columns video,sentence (other columns ignored) or JSON
lines ({"video": ..., "sentence": ...} a line; .jsonl or .json), several
rows per video. `video` is a file's path under --root with or without its
extension (cooking/a, cooking/a.mp4) or its bare name when unique (a.mp4).
The videos may lie in any subfolders; split folders train/, validation/ (or
val/), test/ fix the split, else it is drawn by --split_fractions and
--split_seed. A video without a sentence is left out with a warning.

Each split goes to `<output_dir>/<split>/` (a folder that
`vidattn.data.FeatureDataset` reads); the index used is saved as
`<output_dir>/index.json`. Rerunning the same command resumes: videos already
extracted are skipped, after checking the shards kept (a damaged one is set
aside as `<shard>.damaged` and its videos extracted again). One run at a time
in an output folder: a second is refused before it writes anything.

Videos that cannot be used (unreadable, or truncated: decoding to less than
the file declares) are listed in `<output_dir>/<split>/failures.json`, the
others are written, and the command exits with status 1, or 0 with
--allow_failures. It exits 1 whenever a split ends up holding no video.
--allow_partial keeps a truncated video's frames that decode instead,
marked `partial` in its record.
"""

import os
import sys

from absl import app
from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    from vidattn.data.importers import SPLITS
    from vidattn.data.importers import get_importer
    from vidattn.data.importers import importer_names

    names = importer_names()
    flags.DEFINE_enum(
        "dataset",
        None,
        names,
        "The dataset layout under --root: "
        + "; ".join(f"{n}: {get_importer(n).description}" for n in names)
        + ".",
    )
    flags.DEFINE_string("root", None, "The dataset's folder (with --dataset).")
    flags.DEFINE_string(
        "index",
        None,
        "A DatasetIndex JSON file (DatasetIndex.to_json), instead of "
        "--dataset.",
    )
    flags.DEFINE_string(
        "output_dir", None, "Where the features go: one subfolder per split."
    )
    flags.DEFINE_list(
        "splits",
        None,
        "Splits to extract (train, validation, test). Default: every split "
        "that holds a video.",
    )
    flags.DEFINE_boolean(
        "save_index", True, "Save the index used as <output_dir>/index.json."
    )
    # Dataset-specific options.
    flags.DEFINE_integer("split_number", 1, "hmdb51: official split 1, 2 or 3.")
    flags.DEFINE_string(
        "splits_dir",
        None,
        "hmdb51: folder of the split files "
        "(default <root>/testTrainMulti_7030_splits).",
    )
    flags.DEFINE_enum(
        "train_set",
        "train",
        ["train", "autotrain"],
        "hollywood2: the training set.",
    )
    flags.DEFINE_string(
        "captions",
        None,
        "msvd: the description corpus CSV (default: found in --root). "
        "folder: your captions file, CSV with the columns video,sentence or "
        'JSON lines {"video": ..., "sentence": ...} (.jsonl or .json); '
        "without it, folder wants one folder per class.",
    )
    flags.DEFINE_alias("captions_csv", "captions")
    flags.DEFINE_string(
        "mapping_file",
        None,
        "msvd: youtube_mapping.txt (default <root>/youtube_mapping.txt).",
    )
    flags.DEFINE_string(
        "videos_dir",
        None,
        "msvd: the clips' folder (default <root>/YouTubeClips or --root).",
    )
    flags.DEFINE_enum(
        "missing",
        "error",
        ["error", "skip"],
        "hmdb51, hollywood2, msvd, folder with --captions: listed videos "
        "without a file stop the run (error) or are left out with a warning "
        "(skip).",
    )
    flags.DEFINE_list(
        "split_fractions",
        None,
        "folder: train,validation,test shares of a random split (default "
        "0.8,0.1,0.1; not with train/validation/test folders).",
    )
    flags.DEFINE_integer("split_seed", 0, "folder: seed of the random split.")
    # Backbone and sampling.
    flags.DEFINE_string(
        "backbone",
        "efficientnet_lite0",
        "efficientnet_lite0 (offline ImageNet weights) or a keras.applications "
        "name such as InceptionV3 or ResNet50.",
    )
    flags.DEFINE_string(
        "layer", None, "Backbone layer to store (default: its last conv map)."
    )
    flags.DEFINE_string(
        "weights", "imagenet", "imagenet, none (random), or a weights file."
    )
    flags.DEFINE_integer(
        "input_size",
        None,
        "Square input size of the backbone (default: its own).",
        lower_bound=1,
    )
    flags.DEFINE_string(
        "fps",
        None,
        "Sample frames at this rate (e.g. 30), or 'all' for every frame. "
        "Default, unless --evenly_spaced is given: the dataset's rule, "
        "even:26/240 for captioning data (msvd, folder with --captions), "
        "else 30.",
    )
    flags.DEFINE_string(
        "evenly_spaced",
        None,
        "N/M: N frames evenly spaced over the first M (the thesis: 26/240).",
    )
    flags.DEFINE_integer(
        "max_frames",
        None,
        "Keep at most this many frames a video.",
        lower_bound=1,
    )
    flags.DEFINE_boolean(
        "allow_partial",
        False,
        "Keep a truncated or damaged video (one that decodes to less than "
        "its file declares): its frames that decode, marked partial in its "
        "record. By default it fails and is listed in failures.json.",
    )
    # Running.
    flags.DEFINE_integer(
        "batch_size", 32, "Frames per backbone forward pass.", lower_bound=1
    )
    flags.DEFINE_integer("workers", 2, "Decoder threads.", lower_bound=1)
    flags.DEFINE_enum(
        "dtype", "float16", ["float16", "float32"], "Storage dtype."
    )
    flags.DEFINE_integer(
        "max_videos_per_shard",
        None,
        "Start a new shard after this many videos (a kill loses at most one "
        "shard).",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "shuffle_seed", 0, "Seed of the order videos are written in."
    )
    flags.DEFINE_boolean(
        "allow_failures",
        False,
        "Skip the videos that cannot be used and exit 0 (they are still "
        "counted and listed in failures.json). By default any failed video "
        "makes the exit status 1.",
    )
    flags.DEFINE_boolean(
        "verify_checksums",
        True,
        "On a rerun, check the SHA-256 of the shards kept (reads them once); "
        "--noverify_checksums checks their sizes only.",
    )

    flags.register_validator(
        "splits",
        lambda splits: splits is None or set(splits) <= set(SPLITS),
        message=f"--splits takes {', '.join(SPLITS)}.",
    )
    flags.mark_flags_as_mutual_exclusive(["dataset", "index"], required=True)
    flags.mark_flags_as_mutual_exclusive(["fps", "evenly_spaced"])
    flags.mark_flag_as_required("output_dir")
    flags.register_validator(
        "root",
        lambda root: root is not None or FLAGS.dataset is None,
        message="--root is required with --dataset.",
    )


def load_index():
    """The DatasetIndex that the flags name."""
    from vidattn.data.importers import DatasetIndex
    from vidattn.data.importers import load_dataset

    if FLAGS.index:
        return DatasetIndex.from_json(FLAGS.index)
    fractions = FLAGS.split_fractions
    if fractions:
        try:
            fractions = tuple(float(f) for f in fractions)
        except ValueError:
            raise ValueError(
                "Expected --split_fractions to be three shares "
                "train,validation,test, e.g. 0.8,0.1,0.1. Received: "
                f"--split_fractions={','.join(fractions)}"
            ) from None
    # Every dataset option; the importer takes its own.
    return load_dataset(
        FLAGS.dataset,
        FLAGS.root,
        split_number=FLAGS.split_number,
        splits_dir=FLAGS.splits_dir,
        train_set=FLAGS.train_set,
        videos_dir=FLAGS.videos_dir,
        captions_path=FLAGS.captions,
        mapping_path=FLAGS.mapping_file,
        missing=FLAGS.missing,
        fractions=fractions or None,
        seed=FLAGS.split_seed,
    )


def sampling_from_flags():
    """The FrameSampling that --fps or --evenly_spaced names, or None."""
    from vidattn.data import FrameSampling

    if FLAGS.evenly_spaced:
        spec = FLAGS.evenly_spaced.removeprefix("even:")
        try:
            return FrameSampling.parse(f"even:{spec}")
        except ValueError:
            raise ValueError(
                "Expected --evenly_spaced=N/M: N frames evenly spaced over "
                "the first M, 1 <= N <= M (the thesis: 26/240). Received: "
                f"--evenly_spaced={FLAGS.evenly_spaced}"
            ) from None
    if FLAGS.fps:
        try:
            return FrameSampling.parse(FLAGS.fps)
        except ValueError:
            raise ValueError(
                "Expected --fps to be a frame rate > 0 (e.g. 30) or 'all' "
                f"(every frame). Received: --fps={FLAGS.fps}"
            ) from None
    return None


def default_sampling(index):
    """The FrameSampling of a dataset when no flag names one, and why.

    With --dataset, the importer's rule (`DatasetImporter.sampling_for`);
    with --index, the thesis's captioning rule for an index without
    classes, else 30 frames a second.
    """
    from vidattn.data import FrameSampling
    from vidattn.data.importers import ACTION_SAMPLING
    from vidattn.data.importers import CAPTION_SAMPLING
    from vidattn.data.importers import get_importer

    if FLAGS.dataset is None:
        captioning = not index.class_names
        spec = CAPTION_SAMPLING if captioning else ACTION_SAMPLING
        source = f"--index of {'captions' if captioning else 'classes'}"
    else:
        importer = get_importer(FLAGS.dataset)
        spec = importer.sampling_for(captions_path=FLAGS.captions)
        source = f"--dataset {FLAGS.dataset}"
        if spec != importer.default_sampling:
            source += " with --captions"
    why = f"the default for {source}"
    if spec == CAPTION_SAMPLING:
        why += (
            ": the thesis's rule for video description (section 3.2.2), 26 "
            "frames evenly spaced over the first 240, black frames after a "
            "shorter video's end"
        )
    return FrameSampling.parse(spec), why


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from vidattn.backbones import build_backbone
    from vidattn.extraction import FAILURES_FILENAME
    from vidattn.extraction import FeatureExtractor
    from vidattn.extraction import check_extraction

    sampling = sampling_from_flags()
    index = load_index()
    print(index, flush=True)
    if sampling is None:
        sampling, why = default_sampling(index)
    else:
        why = "--evenly_spaced" if FLAGS.evenly_spaced else "--fps"
    print(
        f"Frames: {sampling.spec} ({why}; --fps or --evenly_spaced picks "
        "another rule).",
        flush=True,
    )
    backbone = build_backbone(
        FLAGS.backbone,
        weights=FLAGS.weights,
        layer_name=FLAGS.layer,
        input_size=FLAGS.input_size,
    )
    extractor = FeatureExtractor(
        backbone,
        sampling,
        batch_size=FLAGS.batch_size,
        workers=FLAGS.workers,
        dtype=FLAGS.dtype,
        max_frames=FLAGS.max_frames,
        shuffle_seed=FLAGS.shuffle_seed,
        max_videos_per_shard=FLAGS.max_videos_per_shard,
        allow_partial=FLAGS.allow_partial,
        verify_checksums=FLAGS.verify_checksums,
    )
    print(f"{extractor}\n", flush=True)
    # Takes the output folder's lock before writing anything in it.
    summaries = extractor.extract_splits(
        index, FLAGS.output_dir, FLAGS.splits, save_index=FLAGS.save_index
    )
    for summary in summaries.values():
        print(summary)
        if summary.failed:
            print(
                f"  {summary.failed} video(s) could not be used: see "
                f"{os.path.join(summary.output_dir, FAILURES_FILENAME)}"
                + (
                    " (accepted: --allow_failures)"
                    if FLAGS.allow_failures
                    else ""
                )
            )
    sys.stdout.flush()
    check_extraction(summaries, allow_failures=FLAGS.allow_failures)
