"""Refusing the flags of another kind of model than the one a command got."""

from absl import flags

FLAGS = flags.FLAGS


def refuse_flags(names, model_kind, other_kind):
    """Raises if any of the flags `names` was given on the command line.

    Args:
        names: the flags that do not apply to the loaded model.
        model_kind: str. What `--model` is (`"a captioner"`).
        other_kind: str. What those flags are for (`"action models"`).

    Raises:
        ValueError: naming the given flags and what to do.
    """
    given = [f"--{name}" for name in names if FLAGS[name].present]
    if given:
        raise ValueError(
            f"{FLAGS.model} is {model_kind}, and {', '.join(given)} apply "
            f"only to {other_kind}. Expected only the flags of "
            f"{model_kind}: drop {', '.join(given)}."
        )
