"""The error of a caption scorer that needs Java where there is none."""


class JavaNotFoundError(OSError):
    """No `java` executable on `PATH`, and a caption scorer needs one.

    coco-caption's PTB tokenizer (run before every caption metric) and its
    METEOR scorer are Java programs. An `OSError` (the system lacks a
    program), so that a command line reports it as one message. The message
    names the scorers that need Java and how to install it.

    Args:
        scorers: list of str. The scorers that need Java, in words.

    Attributes:
        scorers: tuple of str. The scorers that need Java.
    """

    def __init__(self, scorers):
        self.scorers = tuple(scorers)
        needs = " and ".join(self.scorers)
        super().__init__(
            f"Expected a `java` executable on PATH: {needs} run on Java. "
            "Received: no `java` on PATH. Install a Java "
            "runtime (version 8 or later; e.g. `apt-get install "
            "default-jre-headless` on Debian or Ubuntu, or `conda install "
            "openjdk`) and make sure `java -version` works in this shell."
        )
