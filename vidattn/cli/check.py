"""`vidattn check`: learning checks of soft attention.

`--task action` (default): the moving-region check on generated features.
Trains soft attention and the average-pooled LSTM on generated feature
cubes whose class is decided by one moving region, and reports held-out
accuracy and how much attention falls on that region.

`--task captioning`: the captioning check on rendered videos. Renders MP4
clips of coloured shapes that move or stay still, with sentences that name
each one ("a red disk moves to the left and a blue square stays still"),
extracts EfficientNet-Lite0 features, trains the soft-attention captioner
and STA-first-time-step, and reports held-out BLEU, METEOR and the
attention on the object each word names. The sizes default to those of
`vidattn.examples.caption_check.CaptionCheckSettings`; the flags given
override them.
"""

from absl import flags

FLAGS = flags.FLAGS

# The flags that the captioning check takes over from the command line when
# they are given; otherwise its own defaults hold.
_CAPTIONING_FLAGS = (
    "train_videos",
    "test_videos",
    "epochs",
    "units",
    "attention",
    "seed",
)


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_enum(
        "task",
        "action",
        ["action", "captioning"],
        "Which check: the action moving-region check on generated features, "
        "or the captioning check on rendered videos.",
    )
    flags.DEFINE_integer("train_videos", 2000, "Generated training videos.")
    flags.DEFINE_integer("test_videos", 500, "Held-out generated videos.")
    flags.DEFINE_integer("epochs", 10, "Training epochs of each model.")
    flags.DEFINE_integer("units", 64, "LSTM width of both models.")
    flags.DEFINE_integer("num_layers", 1, "LSTM depth of both models.")
    flags.DEFINE_enum(
        "attention",
        "linear",
        ["linear", "additive"],
        "Form of the location softmax (captioning: additive unless given).",
    )
    flags.DEFINE_integer("seed", 0, "Seed of the data and the weights.")
    flags.DEFINE_string(
        "output_dir",
        "vidattn_caption_check",
        "Captioning: where the videos, features, models and summary.json "
        "go; a rerun resumes there.",
    )


def _run_action_check():
    from vidattn.examples.moving_region_check import run_moving_region_check

    print(
        "Generated videos: 4 classes; a marked region wanders over a 4x4 grid "
        "of 32-channel features for 10 frames, and what it holds decides the "
        "class; 4 distractor regions hold patterns of random classes.\n"
        f"Training on {FLAGS.train_videos} videos, testing on "
        f"{FLAGS.test_videos} held-out videos.\n",
        flush=True,
    )
    outcome = run_moving_region_check(
        train_videos=FLAGS.train_videos,
        test_videos=FLAGS.test_videos,
        epochs=FLAGS.epochs,
        units=FLAGS.units,
        num_layers=FLAGS.num_layers,
        attention=FLAGS.attention,
        seed=FLAGS.seed,
        verbose=2,
    )
    print(
        "\nHeld-out results (clip prediction = mean of per-step probabilities):"
    )
    for result in outcome["results"]:
        print("  " + result.describe(outcome["uniform"]))
    print(
        f"  chance accuracy 0.250; uniform attention puts "
        f"{outcome['uniform']:.3f} on the region."
    )


def _run_captioning_check():
    from vidattn.examples.caption_check import CaptionCheckSettings
    from vidattn.examples.caption_check import format_caption_check
    from vidattn.examples.caption_check import run_caption_check

    given = {
        name: FLAGS[name].value
        for name in _CAPTIONING_FLAGS
        if FLAGS[name].present
    }
    settings = CaptionCheckSettings(**given)
    print(
        f"Rendered videos: {settings.objects_per_video} coloured shapes each, "
        "moving left, moving right or standing still; the sentences name "
        "each object's colour, shape and motion in a fixed colour order.\n"
        f"Training on {settings.train_videos} videos, testing on "
        f"{settings.test_videos} held-out videos; everything goes to "
        f"{FLAGS.output_dir}.\n",
        flush=True,
    )
    summary = run_caption_check(FLAGS.output_dir, settings, verbose=2)
    print()
    print(format_caption_check(summary))


def main(argv):
    del argv
    if FLAGS.task == "captioning":
        _run_captioning_check()
    else:
        _run_action_check()
