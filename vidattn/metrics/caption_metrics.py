"""Caption scores as video-captioning papers report them (coco-caption).

BLEU-1..4, METEOR, ROUGE-L and CIDEr (CIDEr-D) from `pycocoevalcap==1.2`'s
scorers, each generated sentence scored against all reference captions of its
video (about 40 per MSVD video), after coco-caption's PTB tokenization
(lower case, punctuation removed). The scorers are called one by one:
`COCOEvalCap.evaluate()` also runs SPICE, which downloads Stanford CoreNLP.

Two departures from calling pycocoevalcap by hand, both invisible in the
scores:

- The PTB tokenizer is the same jar with the same options, but it reads the
  sentences from standard input. pycocoevalcap's `PTBTokenizer` writes them to
  a temporary file beside its own module, which fails where the installed
  package is read-only (a system or container site-packages).
- METEOR's Java process runs under a time limit and is always shut down: if
  it dies or stops answering (it prints an error line instead of statistics
  for some malformed inputs and then crashes), pycocoevalcap's wrapper either
  waits for ever or raises while holding a lock that its destructor then
  waits on at interpreter exit.

pycocoevalcap and Java are needed only when `caption_scores` is called:
`pip install "vidattn[captions]"` and a Java runtime on `PATH`.
"""

import collections.abc
import os
import shutil
import subprocess
import threading

from vidattn.metrics.java_not_found_error import JavaNotFoundError

CAPTIONS_INSTALL_HINT = 'pip install "vidattn[captions]"'

METRICS = ("bleu", "meteor", "rouge_l", "cider")
"""The metric names `caption_scores` knows, in the order papers list them."""

METEOR_TIMEOUT_S = 600.0
"""How long METEOR's Java process may take (start-up included) to score."""

_SCORE_NAMES = {
    "bleu": ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"),
    "meteor": ("METEOR",),
    "rouge_l": ("ROUGE-L",),
    "cider": ("CIDEr",),
}

_PTB_TOKENIZER = "the PTB tokenizer (run before every caption metric)"


def import_scorers():
    """Imports pycocoevalcap's scorers, or says how to install them.

    Returns:
        A dict: `"bleu"`, `"meteor"`, `"rouge_l"`, `"cider"` (the scorer
        classes), `"tokenizer_module"` (the PTB tokenizer's module).

    Raises:
        ImportError: if pycocoevalcap is not installed, with the install hint.
    """
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
        from pycocoevalcap.rouge.rouge import Rouge
        from pycocoevalcap.tokenizer import ptbtokenizer
    except ImportError as error:
        raise ImportError(
            "vidattn.metrics.caption_scores needs pycocoevalcap (the "
            "coco-caption scorers), which is not installed. Install it with: "
            f"{CAPTIONS_INSTALL_HINT}"
        ) from error
    return {
        "bleu": Bleu,
        "meteor": Meteor,
        "rouge_l": Rouge,
        "cider": Cider,
        "tokenizer_module": ptbtokenizer,
    }


def caption_scores(references, candidates, metrics=METRICS, per_video=False):
    """Scores one generated sentence per video against all its references.

    The scores of coco-caption, as video-captioning papers report them:
    BLEU is corpus-level (n-gram counts and lengths summed over videos, the
    brevity penalty from the closest reference length of each video);
    METEOR is corpus-level from Meteor 1.5's summed statistics; ROUGE-L
    and CIDEr-D are means over videos. CIDEr's IDF comes from the
    references being scored, so a single video, or videos whose references
    all share the same words, score CIDEr 0. Scores lie in [0, 1] (CIDEr in
    [0, 10]); papers print them multiplied by 100 (CIDEr too).

    An empty candidate (a model that emitted only the end token) is a
    legitimate sentence: it scores 0 on every metric.

    Args:
        references: mapping from video id to a non-empty list of str, the
            reference captions of that video.
        candidates: mapping from video id to str, the generated sentence of
            that video; the same video ids as `references`.
        metrics: sequence of str, some of `"bleu"`, `"meteor"`, `"rouge_l"`,
            `"cider"`. Defaults to all four. METEOR adds 8-20 s of Java
            start-up.
        per_video: bool. Also return each video's scores. Defaults to False.

    Returns:
        A dict of floats with the keys of the requested metrics among
        `"BLEU-1"`, `"BLEU-2"`, `"BLEU-3"`, `"BLEU-4"`, `"METEOR"`,
        `"ROUGE-L"`, `"CIDEr"`. With `per_video=True`, a tuple of that dict
        and a dict from video id to such a dict of that video's scores (a
        video's BLEU is coco-caption's smoothed sentence BLEU, so the
        corpus BLEU is not the mean of the videos').

    Raises:
        ValueError: if the video ids differ, a video has no references, a
            reference is blank or only punctuation, a caption is not a str,
            or a metric name is unknown.
        ImportError: if pycocoevalcap is not installed.
        JavaNotFoundError: if there is no `java` on `PATH` (an `OSError`).
        RuntimeError: if a Java scorer fails; TimeoutError if METEOR takes
            longer than `METEOR_TIMEOUT_S`.

    Example:

    >>> scores = vidattn.metrics.caption_scores(
    ...     {"vid1": ["a man is playing a guitar", "someone plays guitar"],
    ...      "vid2": ["a cat is eating", "a kitten eats food"]},
    ...     {"vid1": "a man plays a guitar", "vid2": "a cat eats"},
    ...     metrics=("bleu", "cider"))
    >>> sorted(scores)
    ['BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'CIDEr']

    Reference: K. Papineni et al., "BLEU" (ACL 2002); M. Denkowski and
    A. Lavie, "Meteor Universal" (WMT 2014); C.-Y. Lin, "ROUGE" (2004);
    R. Vedantam et al., "CIDEr" (CVPR 2015); X. Chen et al., "Microsoft COCO
    Captions: Data Collection and Evaluation Server" (2015).
    """
    metrics = _check_metrics(metrics)
    video_ids, references, candidates = _check_captions(references, candidates)
    scorers = import_scorers()
    java = _find_java(metrics)

    sentences = [s for video_id in video_ids for s in references[video_id]]
    sentences += [candidates[video_id] for video_id in video_ids]
    tokenized = iter(ptb_tokenize(sentences, scorers["tokenizer_module"], java))
    gts = {
        video_id: [next(tokenized) for _ in references[video_id]]
        for video_id in video_ids
    }
    res = {video_id: [next(tokenized)] for video_id in video_ids}
    _check_tokenized_references(gts, references)

    corpus = {}
    videos = {video_id: {} for video_id in video_ids}
    for metric in metrics:
        if metric == "meteor":
            score, scores = _meteor_scores(scorers["meteor"], gts, res)
        else:
            scorer = scorers[metric]()
            arguments = {"verbose": 0} if metric == "bleu" else {}
            score, scores = scorer.compute_score(gts, res, **arguments)
        if metric != "bleu":  # BLEU alone gives one score per n.
            score, scores = [score], [scores]
        for name, total, per_video_scores in zip(
            _SCORE_NAMES[metric], score, scores
        ):
            corpus[name] = float(total)
            for video_id, value in zip(video_ids, per_video_scores):
                videos[video_id][name] = float(value)
    return (corpus, videos) if per_video else corpus


def ptb_tokenize(sentences, tokenizer_module, java="java"):
    """coco-caption's PTB tokenization of a list of sentences.

    Stanford's PTBTokenizer from pycocoevalcap's jar, with pycocoevalcap's
    options (one sentence per line, lower case) and punctuation list, fed on
    standard input so that nothing is written beside the installed package.
    Runs of whitespace (line breaks included) become one space first: a line
    break inside a sentence would shift every later sentence by a line.

    Args:
        sentences: list of str.
        tokenizer_module: `pycocoevalcap.tokenizer.ptbtokenizer`.
        java: str. The Java executable. Defaults to `"java"`.

    Returns:
        A list of str, the tokens of each sentence joined by single spaces
        (`""` for a sentence without words).

    Raises:
        RuntimeError: if the tokenizer fails or answers with a different
            number of lines.
    """
    jar = os.path.join(
        os.path.dirname(os.path.abspath(tokenizer_module.__file__)),
        tokenizer_module.STANFORD_CORENLP_3_4_1_JAR,
    )
    command = [java, "-cp", jar, "edu.stanford.nlp.process.PTBTokenizer"]
    command += ["-preserveLines", "-lowerCase"]
    lines = "".join(" ".join(s.split()) + "\n" for s in sentences)
    result = subprocess.run(
        command, input=lines.encode("utf-8"), capture_output=True, check=False
    )
    output = result.stdout.decode("utf-8").split("\n")
    if result.returncode != 0 or len(output) != len(sentences) + 1:
        raise RuntimeError(
            f"The PTB tokenizer ({' '.join(command)}) failed: expected "
            f"{len(sentences)} lines, received {len(output) - 1} and exit "
            f"status {result.returncode}. Its error output: "
            f"{result.stderr.decode('utf-8', 'replace')[-2000:]}"
        )
    punctuation = set(tokenizer_module.PUNCTUATIONS)
    return [
        " ".join(w for w in line.rstrip().split(" ") if w not in punctuation)
        for line in output[:-1]
    ]


def _check_metrics(metrics):
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, collections.abc.Iterable):
        raise ValueError(
            f"Expected `metrics` to be a sequence of names among {METRICS}. "
            f"Received: metrics={metrics!r}"
        )
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"Expected `metrics` to be one or more of {METRICS}. Received: "
            f"metrics={metrics!r}"
            + (f", with unknown names {unknown}." if unknown else ".")
        )
    return tuple(m for m in METRICS if m in metrics)


def _check_captions(references, candidates):
    """Returns the video ids, references as lists, candidates as given."""
    for name, value in (("references", references), ("candidates", candidates)):
        if not isinstance(value, collections.abc.Mapping) or not value:
            raise ValueError(
                f"Expected `{name}` to be a non-empty mapping from video id "
                f"to captions. Received: {name} of type "
                f"{type(value).__name__} with {_size(value)}."
            )
    without_candidate = [v for v in references if v not in candidates]
    without_references = [v for v in candidates if v not in references]
    if without_candidate or without_references:
        raise ValueError(
            "Expected `references` and `candidates` to have the same video "
            f"ids. Received: {len(without_candidate)} videos without a "
            f"candidate {_first_few(without_candidate)} and "
            f"{len(without_references)} candidates without references "
            f"{_first_few(without_references)}. Score the same videos in both."
        )
    checked = {}
    for video_id, captions in references.items():
        if isinstance(captions, str) or not isinstance(
            captions, collections.abc.Sequence
        ):
            raise ValueError(
                f"Expected the references of video {video_id!r} to be a list "
                f"of str. Received: {captions!r}"
            )
        if not captions:
            raise ValueError(
                f"Expected at least one reference caption for video "
                f"{video_id!r}. Received: an empty list. Drop the video or "
                "add its captions."
            )
        for index, caption in enumerate(captions):
            if not isinstance(caption, str) or not caption.strip():
                raise ValueError(
                    f"Expected reference {index} of video {video_id!r} to be "
                    f"a non-blank str. Received: {caption!r}"
                )
        checked[video_id] = list(captions)
    for video_id, caption in candidates.items():
        if not isinstance(caption, str):
            raise ValueError(
                f"Expected the candidate of video {video_id!r} to be one "
                f"sentence (a str, possibly empty). Received: {caption!r}"
            )
    return list(references), checked, candidates


def _check_tokenized_references(gts, references):
    for video_id, tokenized in gts.items():
        for index, words in enumerate(tokenized):
            if not words:
                raise ValueError(
                    f"Expected reference {index} of video {video_id!r} to "
                    "hold words. Received: "
                    f"{references[video_id][index]!r}, only punctuation, "
                    "which PTB tokenization removes. Drop that reference."
                )


def _find_java(metrics):
    java = shutil.which("java")
    if java is None:
        needs = [_PTB_TOKENIZER] + (["METEOR"] if "meteor" in metrics else [])
        raise JavaNotFoundError(needs)
    return java


def _meteor_scores(meteor_class, gts, res):
    """Runs pycocoevalcap's METEOR in a thread, under `METEOR_TIMEOUT_S`."""
    meteor = meteor_class()
    outcome = {}

    def score():
        try:
            outcome["scores"] = meteor.compute_score(gts, res)
        except Exception as error:  # Reported below, with Java's output.
            outcome["error"] = error

    worker = threading.Thread(target=score, daemon=True)
    worker.start()
    worker.join(METEOR_TIMEOUT_S)
    timed_out = worker.is_alive()
    process = meteor.meteor_p
    # Killing the process ends a read that waits on it, so the worker ends.
    process.kill()
    worker.join()
    process.wait()
    java_errors = process.stderr.read().decode("utf-8", "replace")[-2000:]
    for stream in (process.stdin, process.stdout, process.stderr):
        try:
            stream.close()
        except OSError:
            pass
    # A failed `compute_score` keeps the lock; `Meteor.__del__` would wait
    # on it for ever.
    if meteor.lock.locked():
        meteor.lock.release()
    if timed_out:
        raise TimeoutError(
            f"METEOR's Java process gave no score within {METEOR_TIMEOUT_S} "
            f"s for {len(gts)} videos and was stopped. Its error output: "
            f"{java_errors}"
        )
    if "error" in outcome:
        raise RuntimeError(
            f"METEOR's Java process failed ({outcome['error']!r}); its error "
            f"output: {java_errors}"
        ) from outcome["error"]
    return outcome["scores"]


def _first_few(video_ids, count=5):
    shown = ", ".join(repr(v) for v in video_ids[:count])
    return f"[{shown}{', ...' if len(video_ids) > count else ''}]"


def _size(value):
    try:
        return f"{len(value)} items"
    except TypeError:
        return "no length"
