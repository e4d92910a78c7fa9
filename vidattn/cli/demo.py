"""`vidattn demo`: the whole pipeline on bundled generated videos.

Renders the moving-region videos to MP4 (the class is the shape inside a
moving white ring), extracts EfficientNet-Lite0 features into TFRecords,
trains soft attention and the average-pooled LSTM, evaluates them under the
thesis's protocol, prints their accuracy beside how much attention falls on
the ringed shape, writes the attention report and exports a SavedModel.
Then it describes videos (thesis ch. 3): clips of moving shapes with
templated sentences, the soft-attention captioner against
STA-first-time-step, a few held-out clips described from their MP4 files
with their references and scores, and the per-word attention report.
Rerun after a kill to resume.
"""

from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string("output_dir", "vidattn_demo", "Where everything goes.")
    flags.DEFINE_integer("epochs", 10, "Training epochs of each action model.")
    flags.DEFINE_integer("train_videos", 240, "Rendered training videos.")
    flags.DEFINE_integer("seed", 0, "Seed of the videos, weights and shuffles.")


def main(argv):
    del argv
    from vidattn.examples.demo import DemoSettings
    from vidattn.examples.demo import format_results_table
    from vidattn.examples.demo import run_demo

    settings = DemoSettings(
        epochs=FLAGS.epochs, train_videos=FLAGS.train_videos, seed=FLAGS.seed
    )
    summary = run_demo(FLAGS.output_dir, settings)
    paths = summary["paths"]
    print("\n== Done in {:.0f} s".format(summary["seconds"]))
    print("Held-out videos (video-level accuracy, thesis protocol):")
    print(format_results_table(summary))
    captioning = summary["captioning"]
    print("Describing held-out clips (corpus scores, beam search of width 4):")
    for name, scores in captioning["scores"].items():
        print(
            f"  {name.replace('_', ' '):<24} BLEU-4 {scores['BLEU-4']:.3f}   "
            f"METEOR {scores.get('METEOR', float('nan')):.3f}"
        )
    focus = captioning["attention_on_named_object"]
    if focus["named"] is None:
        print("  soft attention's sentences name no object")
    else:
        print(
            "  soft attention puts {:.3f} of each object word's attention on "
            "the object it names ({:.1f}x uniform {:.3f}; {:.3f} on the "
            "other objects)".format(
                focus["named"],
                focus["named"] / focus["uniform"],
                focus["uniform"],
                focus["other"],
            )
        )
    print("Where everything went:")
    print(f"  videos             {paths['videos']}")
    print(f"  TFRecord features  {paths['features']}")
    print(
        f"  training runs      {paths['runs']}  "
        f"(tensorboard --logdir {paths['runs']})"
    )
    print(f"  evaluation reports {paths['evaluation']}")
    print(f"  attention report   {paths['report_html']}")
    print(f"  captioning check   {paths['captions']}")
    print(f"  per-word attention {paths['caption_report_html']}")
    print(f"  SavedModel         {paths['export']}")
