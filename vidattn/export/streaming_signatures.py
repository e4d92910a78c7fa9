"""Frame-by-frame serving of the soft-attention action model.

`vidattn.models.ActionRecognizer` reads a clip one frame per LSTM step, so
a client that watches a live video can send one frame's feature cube at a
time, with the recurrent state that the previous answer returned, and get
the model's answer after every frame. Two things in the model are not
causal, and both are fixed once, at the start of a stream:

- the initial states `h0`, `c0` come from MLPs of the clip's mean feature
  (thesis eq. 2.6);
- under `feature_normalization="mean_norm"` (the default) every cube is
  divided by the clip's mean location norm.

So a stream begins with `stream_start`, which reads the frames available
when it starts (a whole clip, or a live stream's first window) and returns
the initial state; every frame then goes through `stream_step`, which
returns the step's answer and the next state. Started from a clip and fed
that clip's frames, the stream's last answer is the whole-clip pass's.

The state is a dict of tensors, the same names in and out (`STATE_NAMES`),
so that a client feeds each answer's state back as the next request:

- `"hidden"`, `"cell"`: float32 `(batch, num_layers, units)`, every LSTM
  layer's `h` and `c`, bottom layer first;
- `"feature_scale"`: float32 `(batch,)`, what each cube is multiplied by
  (one over the start's mean location norm; ones without normalization);
- `"probability_sum"`: float32 `(batch, num_classes)`, the sum of the step
  probabilities so far;
- `"step_count"`: int32 `(batch,)`, the number of frames read.

Models without attention (`PooledLSTMRecognizer`,
`SoftmaxRegressionRecognizer`) are refused: they have no attention to
return, and a client of theirs gains nothing over sending whole windows to
the clip signature.
"""

import tensorflow as tf
from keras import ops

from vidattn.export.serving_input_checks import check_serving_inputs
from vidattn.export.serving_signature import ServingSignature
from vidattn.models.action_recognizer import ActionRecognizer
from vidattn.utils.feature_normalization import mean_norm_scale
from vidattn.utils.feature_normalization import scale_features
from vidattn.utils.keras_internals import AutocastScope

STATE_NAMES = (
    "hidden",
    "cell",
    "feature_scale",
    "probability_sum",
    "step_count",
)
"""The names of the stream state's tensors, inputs and outputs alike."""

STREAM_START = "stream_start"
STREAM_STEP = "stream_step"


def stream_start(model, features, frame_mask=None):
    """The state a stream starts from, given the frames available at its start.

    Runs what the model computes from the whole clip before its first step:
    the mean-norm scale of the features and the initial LSTM states from
    their mean (thesis eq. 2.6). The probability sum and the step count
    start at zero: the frames given here are not read yet, and a client
    that wants their answers feeds them to `stream_step` next.

    Args:
        model: a built `vidattn.models.ActionRecognizer`.
        features: float `(batch, frames, K, K, channels)`: a clip, or the
            first window of a live stream.
        frame_mask: Optional boolean `(batch, frames)`; `False` marks padded
            frames, which neither the scale nor the mean reads.

    Returns:
        The state: a dict with the keys `STATE_NAMES` (see the module's
        docstring for their shapes and dtypes).

    Raises:
        ValueError: if the model is not a built `ActionRecognizer`, or the
            features are not `(batch, frames, K, K, channels)` of the
            model's grid.

    Example:

    >>> import numpy as np, vidattn
    >>> from vidattn.export.streaming_signatures import STATE_NAMES
    >>> from vidattn.export.streaming_signatures import stream_start
    >>> from vidattn.export.streaming_signatures import stream_step
    >>> model = vidattn.models.ActionRecognizer(3, units=8, num_layers=2)
    >>> clip = np.random.rand(1, 5, 2, 2, 16).astype("float32")
    >>> whole_clip = model(clip)
    >>> state = stream_start(model, clip)
    >>> for t in range(5):
    ...     answer = stream_step(model, clip[:, t], state)
    ...     state = {name: answer[name] for name in STATE_NAMES}
    >>> bool(np.allclose(
    ...     answer["probabilities"], whole_clip["probabilities"], atol=1e-5
    ... ))
    True
    """
    _check_streamable(model)
    features = ops.cast(features, model.compute_dtype)
    _check_cube_shape(model, features.shape[2:], "features", features.shape)
    if model.feature_normalization is None:
        scale = ops.ones((ops.shape(features)[0],), "float32")
    else:
        scale = mean_norm_scale(features, frame_mask)
        features = scale_features(features, scale)
    states = model.state_initializer(
        model.flatten_locations(features), mask=frame_mask
    )
    batch_size = ops.shape(features)[0]
    return {
        "hidden": ops.cast(ops.stack(states[0::2], axis=1), "float32"),
        "cell": ops.cast(ops.stack(states[1::2], axis=1), "float32"),
        "feature_scale": scale,
        "probability_sum": ops.zeros(
            (batch_size, model.num_classes), "float32"
        ),
        "step_count": ops.zeros((batch_size,), "int32"),
    }


def stream_step(model, frame, state):
    """Reads one frame: the answer so far and the next state.

    One step of the model's recurrence (`SoftAttentionLSTMCell.step`, the
    step the whole-clip pass runs) and of its per-step head, without
    dropout.

    Args:
        model: a built `vidattn.models.ActionRecognizer`.
        frame: float `(batch, K, K, channels)`: one frame's feature cube.
        state: what `stream_start` or the previous `stream_step` returned
            (its keys `STATE_NAMES`; other keys are ignored).

    Returns:
        A dict: `"probabilities"` float32 `(batch, num_classes)`, the mean
        of the step probabilities so far (after a clip's last frame, the
        clip's `"probabilities"`); `"step_probabilities"` float32
        `(batch, num_classes)`, this frame's; `"attention"` float32
        `(batch, K, K)`, where this step looked; and the next state, under
        the names `STATE_NAMES`.

    Raises:
        ValueError: if the model is not a built `ActionRecognizer`, the
            frame is not `(batch, K, K, channels)` of the model's grid, or
            the state lacks a key.

    Example: see `stream_start`.
    """
    _check_streamable(model)
    missing = [name for name in STATE_NAMES if name not in state]
    if missing:
        raise ValueError(
            f"Expected a stream state with the keys {STATE_NAMES}, as "
            "stream_start or the previous stream_step returned it. "
            f"Received one without {missing}."
        )
    frame = ops.cast(frame, model.compute_dtype)
    _check_cube_shape(model, frame.shape[1:], "frame", frame.shape)
    if model.feature_normalization is not None:
        frame = scale_features(frame, state["feature_scale"])
    batch_size, grid_size = ops.shape(frame)[0], ops.shape(frame)[1]
    locations = ops.reshape(frame, (batch_size, -1, frame.shape[-1]))
    states = []
    for layer_index in range(model.num_layers):
        states.append(state["hidden"][:, layer_index])
        states.append(state["cell"][:, layer_index])
    states = [ops.cast(s, model.compute_dtype) for s in states]
    with AutocastScope(model.compute_dtype):
        top_hidden, attention, new_states = model.cell.step(locations, states)
    step_logits = model.classify_steps(top_hidden, training=False)
    step_probabilities = model.predictions(ops.expand_dims(step_logits, 1))[
        "step_probabilities"
    ][:, 0]
    probability_sum = state["probability_sum"] + step_probabilities
    step_count = state["step_count"] + 1
    probabilities = probability_sum / ops.expand_dims(
        ops.cast(step_count, "float32"), -1
    )
    return {
        "probabilities": probabilities,
        "step_probabilities": step_probabilities,
        "attention": ops.reshape(attention, (batch_size, grid_size, grid_size)),
        "hidden": ops.cast(ops.stack(new_states[0::2], axis=1), "float32"),
        "cell": ops.cast(ops.stack(new_states[1::2], axis=1), "float32"),
        "feature_scale": state["feature_scale"],
        "probability_sum": probability_sum,
        "step_count": step_count,
    }


def streaming_signatures(model):
    """The `stream_start` and `stream_step` signatures of an action model.

    Typed and named for TF Serving:

    - `stream_start`: `features` float32 `(batch, frames, K, K, channels)`
      (any number of frames) → the state (`STATE_NAMES`).
    - `stream_step`: `frame` float32 `(batch, K, K, channels)` and the state
      → `probabilities`, `step_probabilities`, `attention` and the next
      state: inputs and outputs share the state's names, so a client sends
      back what it received.

    Each function checks the sizes its specs fix, failing with a message
    that names the input (`vidattn.export.check_serving_inputs`).

    Args:
        model: a built `vidattn.models.ActionRecognizer`.

    Returns:
        A dict of `vidattn.export.ServingSignature` by name:
        `"stream_start"`, `"stream_step"`.

    Raises:
        ValueError: if the model is not a built `ActionRecognizer`.

    Example:

    ```python
    signatures = streaming_signatures(model)
    state = signatures["stream_start"].function(features=first_window)
    answer = signatures["stream_step"].function(frame=frame, **state)
    ```
    """
    _check_streamable(model)
    grid_size, _, channels = model.input_spec_shape()
    cube = (grid_size, grid_size, channels)
    layers = (None, model.num_layers, model.units)
    start_specs = (tf.TensorSpec((None, None) + cube, tf.float32, "features"),)
    step_specs = (
        tf.TensorSpec((None,) + cube, tf.float32, "frame"),
        tf.TensorSpec(layers, tf.float32, "hidden"),
        tf.TensorSpec(layers, tf.float32, "cell"),
        tf.TensorSpec((None,), tf.float32, "feature_scale"),
        tf.TensorSpec((None, model.num_classes), tf.float32, "probability_sum"),
        tf.TensorSpec((None,), tf.int32, "step_count"),
    )

    def start(features):
        inputs = check_serving_inputs({"features": features}, start_specs)
        return stream_start(model, inputs["features"])

    # Named arguments, one per state tensor: a signature's inputs take the
    # names of its function's arguments.
    def step(frame, hidden, cell, feature_scale, probability_sum, step_count):
        inputs = check_serving_inputs(
            {
                "frame": frame,
                "hidden": hidden,
                "cell": cell,
                "feature_scale": feature_scale,
                "probability_sum": probability_sum,
                "step_count": step_count,
            },
            step_specs,
        )
        return stream_step(model, inputs.pop("frame"), inputs)

    return {
        STREAM_START: ServingSignature(
            start,
            start_specs,
            "the first frames of a stream -> its state (stream_step's input)",
        ),
        STREAM_STEP: ServingSignature(
            step,
            step_specs,
            "one frame's cube and the state -> the answer so far, the "
            "frame's attention and the next state",
        ),
    }


def add_streaming_endpoints(archive, model, signatures=None):
    """Adds the `streaming_signatures` to an archive.

    Its arguments are those of an endpoint adder of
    `vidattn.export.write_export`, so that
    `export_action_model(..., endpoint_adders=[add_streaming_endpoints])`
    adds the streaming signatures to an export.

    Args:
        archive: a `keras.export.ExportArchive`. The model's variables join
            it through the endpoints that read them (tracking the model too,
            as the exporter does, is harmless).
        model: a built `vidattn.models.ActionRecognizer`.
        signatures: the exporter's other signatures; not used.

    Raises:
        ValueError: if the model is not a built `ActionRecognizer`.

    Example:

    ```python
    vidattn.export.export_action_model(
        model, "exports/ucf11/1", endpoint_adders=[add_streaming_endpoints]
    )
    served = tf.saved_model.load("exports/ucf11/1")
    state = served.signatures["stream_start"](features=first_window)
    for frame in frames:
        answer = served.signatures["stream_step"](frame=frame, **state)
        state = {name: answer[name] for name in STATE_NAMES}
    ```
    """
    for name, signature in streaming_signatures(model).items():
        archive.add_endpoint(
            name,
            signature.function,
            input_signature=list(signature.input_signature),
        )


def _check_streamable(model):
    if not isinstance(model, ActionRecognizer):
        raise ValueError(
            "Expected a vidattn.models.ActionRecognizer, the soft-attention "
            "model whose steps a stream runs one frame at a time. Received: "
            f"a {type(model).__name__}. Models without attention have no "
            "attention to stream: serve their clip signature "
            "(vidattn.export.export_action_model) and send whole windows."
        )
    if not model.built:
        raise ValueError(
            "Expected a built model: call it on a batch of features or fit "
            "it before streaming. Received an unbuilt ActionRecognizer."
        )


def _check_cube_shape(model, cube_shape, name, shape):
    expected = tuple(model.input_spec_shape())
    if tuple(cube_shape) != expected:
        layout = "(batch, frames, K, K, channels)"
        if name == "frame":
            layout = "(batch, K, K, channels)"
        raise ValueError(
            f"Expected `{name}` of shape {layout} with (K, K, channels) = "
            f"{expected}, the model's grid. Received: shape={tuple(shape)}"
        )
