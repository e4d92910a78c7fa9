"""The `vidattn` command: `vidattn <command> [--flags]`."""

import importlib
import sys

from absl import flags

COMMANDS = {
    "demo": (
        "vidattn.cli.demo",
        "the whole pipeline on bundled generated videos: render, extract, "
        "train, evaluate, report, export",
    ),
    "extract": (
        "vidattn.cli.extract",
        "decode a video dataset, run an ImageNet backbone over its frames and "
        "write the feature cubes as TFRecord shards, one folder per split",
    ),
    "train": ("vidattn.cli.train", "train an action model on feature datasets (resumable)"),
    "evaluate": ("vidattn.cli.evaluate", "score a model under the thesis's protocol"),
    "attention": (
        "vidattn.cli.attention",
        "draw where a model looks in videos, at one or more frame rates",
    ),
    "glimpse": (
        "vidattn.cli.glimpse",
        "find the glimpses under which a model predicts a chosen class (Fig. 2.8)",
    ),
    "check": (
        "vidattn.cli.check",
        "the learning check: soft attention against average pooling on "
        "generated feature cubes",
    ),
}


def usage():
    lines = ["usage: vidattn <command> [--flags]   (vidattn <command> --help)", ""]
    lines += [f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def run():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        received = sys.argv[1] if len(sys.argv) > 1 else "nothing"
        print(f"Expected a command. Received: {received}\n\n{usage()}", file=sys.stderr)
        sys.exit(2)
    module_name, _ = COMMANDS[sys.argv[1]]
    sys.argv = [f"vidattn {sys.argv[1]}"] + sys.argv[2:]
    module = importlib.import_module(module_name)
    # `--help` lists the key flags of the program (`vidattn train`, ...),
    # which absl does not know as a module: register the command's flags.
    for defining_module, module_flags in flags.FLAGS.flags_by_module_dict().items():
        if defining_module.startswith("vidattn.cli"):
            for flag in module_flags:
                flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    module.run()


if __name__ == "__main__":
    run()
