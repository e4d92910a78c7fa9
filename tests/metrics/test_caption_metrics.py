import collections
import math
import os
import subprocess
import sys
import tempfile
import threading

import pytest

from vidattn.metrics import JavaNotFoundError
from vidattn.metrics import caption_metrics
from vidattn.metrics import caption_scores

# Papineni et al. (2002) as given in nltk's BLEU documentation
# (`nltk.translate.bleu_score.sentence_bleu` and `corpus_bleu` doctests).
HYPOTHESIS_1 = (
    "It is a guide to action which ensures that the military always obeys "
    "the commands of the party"
)
REFERENCES_1 = [
    "It is a guide to action that ensures that the military will forever "
    "heed Party commands",
    "It is the guiding principle which guarantees the military forces always "
    "being under the command of the Party",
    "It is the practical guide for the army always to heed the directions of "
    "the party",
]
HYPOTHESIS_2 = "he read the book because he was interested in world history"
REFERENCES_2 = ["he was interested in world history because he read the book"]
NLTK_SENTENCE_BLEU_1 = 0.5045666840058485
NLTK_CORPUS_BLEU = 0.5920778868801042


def independent_bleu(pairs, max_n=4):
    """coco-caption's corpus BLEU-1..max_n, computed afresh.

    `pairs` are (candidate words, list of reference words). Clipped n-gram
    counts and lengths are summed over the pairs; each pair's reference
    length is the closest to its candidate's (the shorter on a tie, as
    coco-caption's `min((abs(l - c), l))`), and the brevity penalty
    exp(1 - r / c) applies to the sums. coco-caption adds 1e-15 and 1e-9 to
    the counts; that changes nothing at the tolerance used here.
    """
    correct, guess = [0] * max_n, [0] * max_n
    candidate_length = reference_length = 0
    for candidate, references in pairs:
        candidate_length += len(candidate)
        reference_length += min(
            (abs(len(r) - len(candidate)), len(r)) for r in references
        )[1]
        for n in range(1, max_n + 1):
            counts = collections.Counter(ngrams(candidate, n))
            most = collections.Counter()
            for reference in references:
                most |= collections.Counter(ngrams(reference, n))
            correct[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            guess[n - 1] += max(0, len(candidate) - n + 1)
    penalty = min(1.0, math.exp(1 - reference_length / candidate_length))
    scores, product = [], 1.0
    for n in range(max_n):
        product *= correct[n] / guess[n]
        scores.append(penalty * product ** (1 / (n + 1)))
    return scores


def ngrams(words, n):
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def words(sentence):
    # The PTB tokenizer lower-cases; these sentences hold no punctuation.
    return sentence.lower().split()


def call_with_timeout(function, seconds):
    """`function()`, failing the test if it has not returned in `seconds`."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: a hang")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_bleu_of_papineni_sentence_matches_an_independent_computation():
    scores = caption_scores(
        {"v": REFERENCES_1}, {"v": HYPOTHESIS_1}, metrics=["bleu"]
    )
    expected = independent_bleu(
        [(words(HYPOTHESIS_1), map_words(REFERENCES_1))]
    )
    got = [scores[f"BLEU-{n}"] for n in range(1, 5)]
    assert got == pytest.approx(expected, rel=1e-8)
    # The published figures: unigram precision 17/18 and nltk's 0.5045. nltk
    # keeps case ("Party" differs from "party"), coco-caption lower-cases;
    # here that adds no match, since "of the party" is in reference 3 anyway.
    # With one sentence, coco-caption's BLEU is nltk's `sentence_bleu`.
    assert scores["BLEU-1"] == pytest.approx(17 / 18, rel=1e-8)
    assert scores["BLEU-4"] == pytest.approx(NLTK_SENTENCE_BLEU_1, rel=1e-8)


def test_bleu_is_corpus_level_as_in_papineni():
    scores = caption_scores(
        {"v1": REFERENCES_1, "v2": REFERENCES_2},
        {"v1": HYPOTHESIS_1, "v2": HYPOTHESIS_2},
        metrics="bleu",
    )
    expected = independent_bleu(
        [
            (words(HYPOTHESIS_1), map_words(REFERENCES_1)),
            (words(HYPOTHESIS_2), map_words(REFERENCES_2)),
        ]
    )
    assert [scores[f"BLEU-{n}"] for n in range(1, 5)] == pytest.approx(
        expected, rel=1e-8
    )
    # nltk's `corpus_bleu` of the same pairs: counts summed over sentences,
    # not the mean of the sentence scores (which would be 0.4507).
    assert scores["BLEU-4"] == pytest.approx(NLTK_CORPUS_BLEU, rel=1e-8)


def map_words(sentences):
    return [words(s) for s in sentences]


def test_bleu_1_and_2_by_hand():
    references = ["the cat is on the mat", "there is a cat on the mat"]
    scores, videos = caption_scores(
        {"exact_length": references, "short": references},
        {
            "exact_length": "a cat sat on the red mat",
            "short": "the cat on the mat",
        },
        metrics=["bleu"],
        per_video=True,
    )
    # 7 words, the closest reference has 7: no brevity penalty. Unigrams
    # a cat on the mat match (5/7), bigrams "a cat" "on the" (2/6).
    assert videos["exact_length"]["BLEU-1"] == pytest.approx(5 / 7, rel=1e-8)
    assert videos["exact_length"]["BLEU-2"] == pytest.approx(
        math.sqrt(5 / 7 * 2 / 6), rel=1e-8
    )
    # 5 words, all 5 unigrams and 4 bigrams match; the closest reference has
    # 6 words: brevity penalty exp(1 - 6/5).
    assert videos["short"]["BLEU-1"] == pytest.approx(math.exp(-0.2), rel=1e-8)
    assert videos["short"]["BLEU-2"] == pytest.approx(math.exp(-0.2), rel=1e-8)
    # Corpus: (5 + 5) / (7 + 5) unigrams, (2 + 4) / (6 + 4) bigrams,
    # 12 candidate words against 13 reference words.
    penalty = math.exp(1 - 13 / 12)
    assert scores["BLEU-1"] == pytest.approx(penalty * 10 / 12, rel=1e-8)
    assert scores["BLEU-2"] == pytest.approx(
        penalty * math.sqrt(10 / 12 * 6 / 10), rel=1e-8
    )


def test_rouge_l_from_the_lcs_by_hand():
    scores = caption_scores(
        {
            "v": [
                "a man slices a tomato",
                "a man is slicing a big red tomato on a board",
            ]
        },
        {"v": "A man is slicing a tomato."},
        metrics=["rouge_l"],
    )
    # LCS with reference 1: "a man a tomato", 4 words: P = 4/6, R = 4/5.
    # With reference 2: the whole candidate, 6 words: P = 1, R = 6/11.
    # coco-caption takes the best precision and the best recall separately
    # (here from different references), then F with beta = 1.2.
    precision, recall, beta = 1.0, 4 / 5, 1.2
    expected = (
        (1 + beta**2) * precision * recall / (recall + beta**2 * precision)
    )
    assert scores == {"ROUGE-L": pytest.approx(expected, rel=1e-12)}


def test_cider_of_identical_and_of_disjoint_candidates():
    references = {
        "v1": ["a man is playing a guitar", "a man is playing a guitar"],
        "v2": ["two dogs run across the grassy field"],
    }
    identical = caption_scores(
        references,
        {
            "v1": "a man is playing a guitar",
            "v2": "two dogs run across the grassy field",
        },
        metrics=["cider"],
    )
    # The two videos share no word, so every n-gram has IDF log(2) and each
    # candidate's TF-IDF vectors equal its references': cosine 1 for n = 1..4,
    # no length penalty, times 10.
    assert identical["CIDEr"] == pytest.approx(10.0, rel=1e-12)
    half, videos = caption_scores(
        references,
        {"v1": "a man is playing a guitar", "v2": "purple elephants sing"},
        metrics=["cider"],
        per_video=True,
    )
    assert videos["v1"]["CIDEr"] == pytest.approx(10.0, rel=1e-12)
    assert videos["v2"]["CIDEr"] == 0.0
    assert half["CIDEr"] == pytest.approx(5.0, rel=1e-12)


@pytest.fixture(scope="module")
def all_metrics():
    """One call with every metric (METEOR's Java start-up is paid once)."""
    references = {
        "exact": ["a man is playing a guitar", "someone plays an instrument"],
        "disjoint": ["a woman slices an onion"],
        "empty": ["the woman is cooking", "a woman cooks food"],
        "last_empty": ["two dogs run in a field"],
    }
    candidates = {
        "exact": "A man is playing a guitar.",
        "disjoint": "purple elephants sing loudly",
        "empty": "",
        "last_empty": " ",
    }
    return call_with_timeout(
        lambda: caption_scores(references, candidates, per_video=True), 240
    )


@pytest.mark.slow
def test_every_metric_is_returned_per_corpus_and_per_video(all_metrics):
    scores, videos = all_metrics
    names = [
        "BLEU-1",
        "BLEU-2",
        "BLEU-3",
        "BLEU-4",
        "METEOR",
        "ROUGE-L",
        "CIDEr",
    ]
    assert list(scores) == names
    assert list(videos) == ["exact", "disjoint", "empty", "last_empty"]
    assert all(list(v) == names for v in videos.values())
    assert all(
        isinstance(s, float) and math.isfinite(s) for s in scores.values()
    )


@pytest.mark.slow
def test_meteor_of_exact_and_disjoint_candidates(all_metrics):
    _, videos = all_metrics
    # Meteor 1.5 drops the fragmentation penalty for an exact match.
    assert videos["exact"]["METEOR"] == pytest.approx(1.0, abs=1e-12)
    assert videos["exact"]["ROUGE-L"] == pytest.approx(1.0, abs=1e-12)
    assert videos["exact"]["BLEU-4"] == pytest.approx(1.0, rel=1e-8)
    assert videos["disjoint"]["METEOR"] == 0.0


@pytest.mark.slow
def test_an_empty_candidate_scores_zero_on_every_metric(all_metrics):
    scores, videos = all_metrics
    for video_id in ("empty", "last_empty"):
        assert all(v == 0.0 for v in videos[video_id].values()), videos[
            video_id
        ]
    assert 0.0 < scores["METEOR"] < 1.0


def test_an_empty_candidate_alone_scores_zero_without_meteor():
    scores = call_with_timeout(
        lambda: caption_scores(
            {"v": ["a dog barks"], "w": ["a bird sings"]},
            {"v": "", "w": ""},
            metrics=("bleu", "rouge_l", "cider"),
        ),
        60,
    )
    assert all(value == 0.0 for value in scores.values()), scores


def test_ptb_tokenization_equals_pycocoevalcaps_tokenizer():
    from pycocoevalcap.tokenizer import ptbtokenizer

    sentences = [
        "A man's playing the guitar -- loudly!",
        "",
        'Don\'t stop (now), said the "chef"...',
        "A café; naïve?",
        "   spaced    out   ",
        "...",
    ]
    expected = ptbtokenizer.PTBTokenizer().tokenize(
        {i: [{"caption": s}] for i, s in enumerate(sentences)}
    )
    got = caption_metrics.ptb_tokenize(sentences, ptbtokenizer)
    assert got == [expected[i][0] for i in range(len(sentences))]
    assert got[0] == "a man 's playing the guitar loudly"


def test_line_breaks_inside_a_sentence_do_not_shift_later_sentences():
    from pycocoevalcap.tokenizer import ptbtokenizer

    got = caption_metrics.ptb_tokenize(
        ["a\rman", "a\u2028dog\nruns", "the end"], ptbtokenizer
    )
    assert got == ["a man", "a dog runs", "the end"]


def test_nothing_is_written_beside_the_installed_tokenizer(monkeypatch):
    from pycocoevalcap.tokenizer import ptbtokenizer

    folder = os.path.dirname(ptbtokenizer.__file__)
    before = sorted(os.listdir(folder))

    def read_only_folder(*args, **kwargs):
        raise PermissionError("[Errno 13] Permission denied (read-only)")

    # pycocoevalcap's own tokenizer fails here: it writes a temporary file
    # beside its module.
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only_folder)
    with pytest.raises(PermissionError):
        ptbtokenizer.PTBTokenizer().tokenize({"v": [{"caption": "a dog"}]})
    scores = caption_scores({"v": ["a dog"]}, {"v": "a dog"}, metrics=["bleu"])
    assert scores["BLEU-1"] == pytest.approx(1.0)
    assert sorted(os.listdir(folder)) == before


@pytest.mark.parametrize(
    "references, candidates, message",
    [
        (
            {"a": ["x"], "b": ["y"], "c": ["z"]},
            {"a": "x", "d": "w"},
            r"2 videos without a candidate \['b', 'c'\] and 1 candidates "
            r"without references \['d'\]",
        ),
        ({"a": []}, {"a": "x"}, "at least one reference caption for video 'a'"),
        (
            {"a": ["fine", "  "]},
            {"a": "x"},
            "reference 1 of video 'a' to be a non-blank str. Received: '  '",
        ),
        ({"a": [""]}, {"a": "x"}, "reference 0 of video 'a'"),
        (
            {"a": ["ok", 3]},
            {"a": "x"},
            "reference 1 of video 'a' .* Received: 3",
        ),
        (
            {"a": "a dog runs"},
            {"a": "x"},
            "references of video 'a' to be a list",
        ),
        (
            {"a": ["x"]},
            {"a": None},
            "candidate of video 'a' to be one sentence",
        ),
        ({"a": ["x"]}, {"a": ["x"]}, r"Received: \['x'\]"),
        ({}, {}, "`references` to be a non-empty mapping"),
        ([("a", ["x"])], {"a": "x"}, "`references` to be a non-empty mapping"),
    ],
)
def test_bad_captions_are_refused_with_the_video_named(
    references, candidates, message
):
    with pytest.raises(ValueError, match=message):
        caption_scores(references, candidates)


def test_a_long_list_of_missing_ids_is_cut_short():
    references = {f"video{i}": ["x"] for i in range(8)}
    with pytest.raises(
        ValueError, match=r"8 videos without a candidate .*, \.\.\.\]"
    ):
        caption_scores(references, {"other": "x"})


def test_a_reference_of_punctuation_only_is_refused():
    with pytest.raises(
        ValueError, match=r"reference 1 of video 'a' .*'\.\.\. !'"
    ):
        caption_scores({"a": ["a dog", "... !"]}, {"a": "x"}, metrics="bleu")


def test_unknown_metric_names_are_listed():
    with pytest.raises(ValueError, match=r"unknown names \['spice', 'bleu4'\]"):
        caption_scores(
            {"a": ["x"]}, {"a": "x"}, metrics=["bleu", "spice", "bleu4"]
        )
    with pytest.raises(
        ValueError, match=r"one or more of .*Received: metrics=\(\)"
    ):
        caption_scores({"a": ["x"]}, {"a": "x"}, metrics=[])


def test_missing_java_is_its_own_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        JavaNotFoundError, match="PTB tokenizer.* and METEOR"
    ) as info:
        caption_scores({"a": ["x"]}, {"a": "x"})
    assert isinstance(info.value, OSError)
    assert "apt-get install default-jre-headless" in str(info.value)
    with pytest.raises(JavaNotFoundError) as info:
        caption_scores({"a": ["x"]}, {"a": "x"}, metrics=["cider"])
    assert info.value.scorers == (
        "the PTB tokenizer (run before every caption metric)",
    )


def test_missing_pycocoevalcap_names_the_install_hint(monkeypatch):
    for name in list(sys.modules):
        if name.startswith("pycocoevalcap"):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "pycocoevalcap", None)
    with pytest.raises(ImportError, match=r'pip install "vidattn\[captions\]"'):
        caption_scores({"a": ["x"]}, {"a": "x"})


def replace_meteor_process(monkeypatch, code):
    """METEOR's wrapper, talking to a Python process running `code`."""
    from pycocoevalcap.meteor import meteor

    original_init = meteor.Meteor.__init__

    def fake_init(self):
        original_init(self)
        self.meteor_p.kill()
        self.meteor_p.wait()
        self.meteor_p = meteor.subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=meteor.subprocess.PIPE,
            stdout=meteor.subprocess.PIPE,
            stderr=meteor.subprocess.PIPE,
        )

    monkeypatch.setattr(meteor.Meteor, "__init__", fake_init)


def test_a_meteor_process_that_stops_answering_is_stopped(monkeypatch):
    replace_meteor_process(monkeypatch, "import time; time.sleep(60)")
    monkeypatch.setattr(caption_metrics, "METEOR_TIMEOUT_S", 1.0)
    with pytest.raises(
        TimeoutError, match="no score within 1.0 s for 1 videos"
    ):
        call_with_timeout(
            lambda: caption_scores({"a": ["x"]}, {"a": "x"}, metrics="meteor"),
            30,
        )


def test_a_meteor_process_that_dies_is_reported_without_a_hang(monkeypatch):
    replace_meteor_process(
        monkeypatch, "import sys; sys.stderr.write('Exception in thread main')"
    )
    with pytest.raises(
        RuntimeError, match="error output: Exception in thread main"
    ):
        call_with_timeout(
            lambda: caption_scores({"a": ["x"]}, {"a": "x"}, metrics="meteor"),
            30,
        )
    # The wrapper's destructor takes a lock that its failed call kept.
    call_with_timeout(__import__("gc").collect, 10)


def test_two_scorings_at_once_do_not_mix():
    references = {"v": ["a dog runs in the park"], "w": ["a bird sings"]}
    candidates = [
        {"v": "a dog runs in the park", "w": "a bird sings"},
        {"v": "zebras", "w": "cats"},
    ]
    results = [None, None]

    def score(index):
        results[index] = caption_scores(
            references, candidates[index], metrics=["bleu"]
        )

    threads = [threading.Thread(target=score, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results[0]["BLEU-1"] == pytest.approx(1.0)
    assert results[1]["BLEU-1"] == pytest.approx(0.0, abs=1e-9)


def test_importing_vidattn_does_not_import_pycocoevalcap():
    repository = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, vidattn; vidattn.metrics.caption_scores; "
            "print(sorted(n for n in sys.modules if 'pycocoevalcap' in n))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.path.abspath(repository)},
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.strip().splitlines()[-1] == "[]"
