"""The checks that every vidattn layer and model goes through.

After keras-hub's `TestCase.run_layer_test`, `run_precision_test` and
`run_model_saving_test`: a layer or model test states what it builds, on
what inputs, and what it should return; these functions check the rest the
same way for all of them: config and JSON round trip, symbolic and eager
output shapes and dtypes, a `fit` step that changes the weights and lowers
the loss, the `mixed_float16` and `mixed_bfloat16` policies (softmaxes,
logits, attention and losses in float32), `.keras` save and reload with
equal outputs, and that a padded frame changes nothing.

Layers are called with keyword arguments only (`input_data` is a dict of
call arguments), so that one harness serves a cell (`inputs`, `states`), a
sequence layer (`sequences`, `initial_state`, `mask`) and the state
initializer (`features`, `mask`) alike.
"""

import json

import keras
import numpy as np

POLICIES = ("mixed_float16", "mixed_bfloat16")


def to_numpy(structure):
    """Every tensor of a nested structure as a NumPy array."""
    return keras.tree.map_structure(keras.ops.convert_to_numpy, structure)


def assert_structures_close(expected, received, atol=1e-6, rtol=1e-6):
    """Two nested structures of tensors hold the same values."""
    keras.tree.assert_same_structure(expected, received)
    keras.tree.map_structure(
        lambda e, r: np.testing.assert_allclose(
            keras.ops.convert_to_numpy(r),
            keras.ops.convert_to_numpy(e),
            atol=atol,
            rtol=rtol,
        ),
        expected,
        received,
    )


def get_weight(layer, name):
    """The value of `layer`'s weight whose path ends with `name`."""
    matches = [w for w in layer.weights if w.path.endswith("/" + name)]
    assert len(matches) == 1, [w.path for w in layer.weights]
    return keras.ops.convert_to_numpy(matches[0])


def _as_json(value):
    # A config as a `.keras` file holds it: tuples become lists.
    return json.loads(json.dumps(value))


def run_config_test(layer_or_model):
    """`from_config(get_config())` and the JSON serialization round trip."""
    config = layer_or_model.get_config()
    clone = layer_or_model.__class__.from_config(config)
    assert clone.get_config() == config
    serialized = json.loads(
        json.dumps(keras.saving.serialize_keras_object(layer_or_model))
    )
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(layer_or_model)
    assert restored.get_config() == config
    return restored


@keras.saving.register_keras_serializable(package="vidattn_tests")
class LayerModel(keras.Model):
    """A model around one layer: to `fit` it and to save it as `.keras`.

    Its inputs are the layer's call arguments as a dict; its loss pulls
    every floating output towards zero, so one step of gradient descent
    must move every weight that the outputs depend on.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs, training=None):
        return self.layer(**inputs, training=training)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        terms = [
            keras.ops.mean(keras.ops.square(keras.ops.cast(o, "float32")))
            for o in keras.tree.flatten(y_pred)
            if "float" in keras.backend.standardize_dtype(o.dtype)
        ]
        return keras.ops.sum(keras.ops.stack(terms))

    def get_build_config(self):
        return {"inputs": self._input_specs}

    def build_from_config(self, config):
        self(keras.tree.map_structure(_zeros, config["inputs"]))

    def __call__(self, inputs, *args, **kwargs):
        if not self.built:
            self._input_specs = keras.tree.map_structure(_spec, inputs)
        return super().__call__(inputs, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["layer"] = keras.saving.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def _spec(tensor):
    # One string per input, so that the specs nest as the inputs do.
    shape = ",".join(str(size) for size in keras.ops.shape(tensor))
    return f"{keras.backend.standardize_dtype(tensor.dtype)}:{shape}"


def _zeros(spec):
    dtype, shape = spec.split(":")
    return np.zeros([int(size) for size in shape.split(",")], dtype)


def _symbolic(value):
    # The batch dimension unknown, as in a functional model.
    value = np.asarray(value)
    return keras.KerasTensor((None,) + value.shape[1:], dtype=value.dtype)


def _flat_shapes(structure):
    shapes = []
    keras.tree.map_shape_structure(shapes.append, structure)
    return shapes


def _check_outputs(outputs, shapes, dtypes, batch=0):
    outputs = keras.tree.flatten(outputs)
    assert len(outputs) == len(shapes) == len(dtypes)
    for output, shape, dtype in zip(outputs, shapes, dtypes):
        _check_output(output, shape, dtype, batch)


def _check_output(output, expected_shape, expected_dtype, batch=0):
    # `batch`: 0 to keep the expected batch size, None for a symbolic one.
    shape = tuple(output.shape)
    wanted = tuple(expected_shape)
    if batch != 0:
        wanted = (batch,) + wanted[1:]
    assert shape == wanted, (shape, wanted)
    dtype = keras.backend.standardize_dtype(output.dtype)
    assert dtype == expected_dtype, (dtype, expected_dtype)


def run_layer_test(
    layer_class,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_output_dtype=None,
    float32_outputs=None,
    tmp_path=None,
    run_training_check=True,
    run_precision_check=True,
):
    """Every check of a layer: config, shapes, dtypes, fit, precision, saving.

    Args:
        layer_class: the layer's class.
        init_kwargs: dict. Its constructor arguments.
        input_data: dict of call arguments (NumPy arrays, or lists of them).
        expected_output_shape: the nested structure of the outputs' shapes,
            with the batch size of `input_data` first.
        expected_output_dtype: the nested structure of the outputs' dtypes
            under the float32 policy; float32 everywhere by default.
        float32_outputs: the nested structure of bools of
            `run_precision_test`: which outputs stay float32 under mixed
            precision. None do by default.
        tmp_path: a folder for the `.keras` file; no saving check without.
        run_training_check: bool. Fit one step.
        run_precision_check: bool. Run `run_precision_test`.

    Returns:
        The eager outputs under the float32 policy, as NumPy arrays.
    """
    shapes = _flat_shapes(expected_output_shape)
    if expected_output_dtype is None:
        dtypes = ["float32"] * len(shapes)
    else:
        dtypes = keras.tree.flatten(expected_output_dtype)
    layer = layer_class(**init_kwargs)
    run_config_test(layer)

    symbolic_inputs = keras.tree.map_structure(_symbolic, input_data)
    symbolic = layer_class(**init_kwargs)(**symbolic_inputs)
    _check_outputs(symbolic, shapes, dtypes, batch=None)
    outputs = layer(**input_data)
    _check_outputs(outputs, shapes, dtypes)
    # The config of a built layer still round-trips.
    run_config_test(layer)

    if run_training_check:
        run_training_test(LayerModel(layer_class(**init_kwargs)), input_data)
    if tmp_path is not None:
        run_model_saving_test(LayerModel(layer), input_data, tmp_path)
    if run_precision_check:
        run_precision_test(
            lambda: layer_class(**init_kwargs),
            lambda layer: layer(**input_data),
            float32_outputs=float32_outputs,
        )
    return to_numpy(outputs)


def run_training_test(model, x, y=None, learning_rate=0.01):
    """One `fit` step changes every trainable weight and lowers the loss.

    Args:
        model: a model whose `compute_loss` needs no `loss=`.
        x, y: one batch.
        learning_rate: float. Of the SGD step.
    """
    model(x)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    loss_before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    batch_size = len(keras.tree.flatten(x)[0])
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    loss_after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(loss_after)
    assert loss_after < loss_before, (loss_before, loss_after)
    unchanged = [
        w.path
        for w, b in zip(model.trainable_weights, before)
        if np.array_equal(keras.ops.convert_to_numpy(w), b)
    ]
    assert not unchanged, f"weights a fit step left unchanged: {unchanged}"


def run_precision_test(make, call, float32_outputs=None, policies=POLICIES):
    """Under mixed precision: float32 weights, the expected output dtypes.

    Args:
        make: a callable that makes the layer or model (under the policy in
            force).
        call: a callable that calls it on its inputs, returning its outputs.
        float32_outputs: a structure of bools matching the outputs: `True`
            where the output must be float32 (softmaxes, logits, attention,
            losses), `False` where it is in the compute dtype. All `False`
            by default.
        policies: the dtype policies checked.

    Returns:
        A dict of the outputs (NumPy arrays) under each policy.
    """
    results = {}
    previous = keras.mixed_precision.global_policy()
    try:
        for policy in policies:
            keras.mixed_precision.set_global_policy(policy)
            layer = make()
            outputs = call(layer)
            compute_dtype = keras.mixed_precision.global_policy().compute_dtype
            flat_outputs = keras.tree.flatten(outputs)
            flags = [False] * len(flat_outputs)
            if float32_outputs is not None:
                flags = keras.tree.flatten(float32_outputs)
            assert len(flags) == len(flat_outputs)
            for output, is_float32 in zip(flat_outputs, flags):
                _check_dtype(output, "float32" if is_float32 else compute_dtype)
            for weight in layer.weights:
                if "seed_generator" not in weight.path:
                    _check_dtype(weight, "float32")
            results[policy] = to_numpy(outputs)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return results


def _check_dtype(tensor, expected):
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    if "float" in dtype or "float" in expected:
        assert dtype == expected, (getattr(tensor, "path", ""), dtype)


def run_model_saving_test(model, x, tmp_path, atol=1e-6):
    """`.keras` save and reload: same config, same outputs, same weights.

    Args:
        model: a built (or buildable on `x`) model.
        x: its inputs.
        tmp_path: a folder for the file.
        atol: float. Tolerance on the outputs.

    Returns:
        The reloaded model.
    """
    expected = model(x)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model)
    assert _as_json(restored.get_config()) == _as_json(model.get_config())
    assert [w.path for w in restored.weights] == [w.path for w in model.weights]
    assert_structures_close(expected, restored(x), atol=atol, rtol=atol)
    return restored


def pad_frames(inputs, valid_frames, padded_frames, value=100.0):
    """Inputs padded with junk frames, and their mask.

    Args:
        inputs: array `(batch, frames, ...)` of `valid_frames` real frames.
        valid_frames: int. The real frames (the first ones of `inputs`).
        padded_frames: int. The length after padding.
        value: float. What the padding holds: anything but zeros, to show
            that it is ignored rather than harmless.

    Returns:
        `(padded, mask)`: `padded` of shape `(batch, padded_frames, ...)`,
        `mask` boolean `(batch, padded_frames)`, `True` on the real frames.
    """
    inputs = np.asarray(inputs)[:, :valid_frames]
    shape = (inputs.shape[0], padded_frames) + inputs.shape[2:]
    padded = np.full(shape, value, inputs.dtype)
    padded[:, :valid_frames] = inputs
    mask = np.zeros(shape[:2], bool)
    mask[:, :valid_frames] = True
    return padded, mask


def run_masking_test(call, inputs, valid_frames, padded_frames, atol=1e-5):
    """A padded frame changes nothing in the outputs of the real frames.

    Args:
        call: `call(inputs, mask)` returning a dict of outputs; a key's
            output is compared on its first `valid_frames` steps if it has a
            frame axis (rank >= 3), whole otherwise.
        inputs: array `(batch, frames, ...)` with at least `valid_frames`
            frames.
        valid_frames, padded_frames: ints.
        atol: float.

    Returns:
        `(short, masked)`: the outputs without padding and with padding.
    """
    short = to_numpy(call(np.asarray(inputs)[:, :valid_frames], None))
    padded, mask = pad_frames(inputs, valid_frames, padded_frames)
    masked = to_numpy(call(padded, mask))
    assert set(short) == set(masked)
    for key, value in short.items():
        received = masked[key]
        if value.ndim >= 3:
            received = received[:, :valid_frames]
        np.testing.assert_allclose(received, value, atol=atol, err_msg=key)
    return short, masked


def run_model_test(
    make_model,
    features,
    labels,
    tmp_path,
    expected_outputs,
    frame_mask_check=True,
):
    """Every check of an action model, through its public API.

    Config and JSON round trip; symbolic and eager outputs (shapes and
    float32 dtypes); a `fit` step that lowers the loss and changes the
    weights; `mixed_float16` and `mixed_bfloat16` (float32 outputs and loss;
    attention rows that sum to 1 within 1e-6); `.keras` save and reload;
    padded frames that change nothing, loss included.

    Args:
        make_model: a callable returning a new, unbuilt model.
        features: `(batch, frames, K, K, channels)` float32.
        labels: the labels of `features`.
        tmp_path: a folder for the `.keras` file.
        expected_outputs: dict of output name to shape (with the batch
            size of `features`).
        frame_mask_check: bool. Run `run_masking_test`.
    """
    model = make_model()
    run_config_test(model)
    symbolic = make_model()(keras.KerasTensor((None,) + features.shape[1:]))
    outputs = model(features)
    assert set(symbolic) == set(outputs) == set(expected_outputs)
    for key, shape in expected_outputs.items():
        _check_output(symbolic[key], shape, "float32", batch=None)
        _check_output(outputs[key], shape, "float32")
    run_config_test(model)
    run_training_test(make_model(), features, labels)
    model.compile()
    model.fit(features, labels, epochs=1, verbose=0)
    restored = run_model_saving_test(model, features, tmp_path)
    assert restored.compiled
    assert restored.class_names == model.class_names
    assert restored.feature_metadata == model.feature_metadata

    def fit_and_call(model):
        model.compile()
        history = model.fit(features, labels, epochs=1, verbose=0).history
        assert np.all(np.isfinite(history["loss"]))
        outputs = model(features)
        outputs["loss"] = model.compute_loss(features, labels, outputs)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            assert isinstance(
                model.optimizer, keras.optimizers.LossScaleOptimizer
            )
        return outputs

    for outputs in run_precision_test(
        make_model,
        fit_and_call,
        float32_outputs={key: True for key in [*expected_outputs, "loss"]},
    ).values():
        if "attention" in outputs:
            np.testing.assert_allclose(
                outputs["attention"].sum((-1, -2)), 1.0, atol=1e-6
            )
    if frame_mask_check:

        def call(inputs, mask):
            x = {"features": inputs}
            if mask is not None:
                x["frame_mask"] = mask
            outputs = model(x)
            outputs["loss"] = model.compute_loss(x, labels, outputs)
            return outputs

        run_masking_test(
            call, features, features.shape[1] - 2, features.shape[1]
        )
