"""A client of vidattn's exports that has TensorFlow but not vidattn.

Run as a script by `test_serving_round_trip.py`, from a folder outside the
repository and with `import vidattn` made to fail, so that what it does with
an export is what a server or a client without the package can do:

    python serving_client.py CASES.json

`CASES.json` lists the exports and, for each signature, the `.npy` files of
its inputs. For every signature the script (1) calls it on the model that
`tf.saved_model.load` returns, (2) runs `saved_model_cli run` on it, and
(3) builds a `tensorflow_serving.apis.predict_pb2.PredictRequest` and
answers it as TF Serving does (request tensors → the signature → a
`PredictResponse`), and checks that (4) the REST body of the docs converts
to the same tensors. It writes every answer as `.npy` files and the
messages of refused requests as JSON, beside CASES.json.
"""

import contextlib
import io
import json
import os
import sys

sys.modules["vidattn"] = None  # `import vidattn` now raises ImportError.

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.tools import saved_model_cli  # noqa: E402
from tensorflow_serving.apis import predict_pb2  # noqa: E402


def predict_request(signature_name, inputs, model_name="model"):
    """The gRPC request of the docs, inputs as tensor protos."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def answer(served, request):
    """Answers a PredictRequest as TF Serving's Predict does."""
    signature = served.signatures[request.model_spec.signature_name]
    inputs = {
        name: tf.constant(tf.make_ndarray(proto))
        for name, proto in request.inputs.items()
    }
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for name, value in signature(**inputs).items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    return response


def rest_inputs(body, signature):
    """The tensors that TF Serving's REST API makes of a columnar body.

    The "inputs" format: each named input is a (nested) JSON list, read
    with the signature's dtype for that input.
    """
    specs = signature.structured_input_signature[1]
    return {
        name: np.asarray(value, dtype=specs[name].dtype.as_numpy_dtype)
        for name, value in json.loads(body)["inputs"].items()
    }


def run_saved_model_cli(arguments):
    """Runs `saved_model_cli` with `arguments` in this process."""
    sys.argv = ["saved_model_cli"] + arguments
    with (
        contextlib.suppress(SystemExit),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        saved_model_cli.main()


def main(cases_path):
    with open(cases_path) as file:
        cases = json.load(file)
    folder = os.path.dirname(cases_path)
    try:
        import vidattn  # noqa: F401

        raise AssertionError("vidattn must not be importable here")
    except ImportError:
        pass
    refusals = {}
    for export in cases["exports"]:
        served = tf.saved_model.load(export["dir"])
        for signature_name, input_files in export["signatures"].items():
            inputs = {name: np.load(path) for name, path in input_files.items()}
            prefix = os.path.join(folder, f"{export['name']}.{signature_name}")
            loaded = served.signatures[signature_name](
                **{name: tf.constant(value) for name, value in inputs.items()}
            )
            for name, value in loaded.items():
                np.save(f"{prefix}.loaded.{name}.npy", value.numpy())
            run_saved_model_cli(
                [
                    "run",
                    "--dir",
                    export["dir"],
                    "--tag_set",
                    "serve",
                    "--signature_def",
                    signature_name,
                    "--inputs",
                    ";".join(
                        f"{name}={path}" for name, path in input_files.items()
                    ),
                    "--outdir",
                    f"{prefix}.cli",
                ]
            )
            request = predict_request(signature_name, inputs, export["name"])
            response = answer(served, request)
            for name, proto in response.outputs.items():
                np.save(f"{prefix}.grpc.{name}.npy", tf.make_ndarray(proto))
            body = json.dumps(
                {
                    "signature_name": signature_name,
                    "inputs": {k: v.tolist() for k, v in inputs.items()},
                }
            )
            rest = rest_inputs(body, served.signatures[signature_name])
            for name, value in rest.items():
                sent = tf.make_ndarray(request.inputs[name])
                assert value.dtype == sent.dtype, (name, value.dtype)
                np.testing.assert_array_equal(value, sent)
        for case_name, case in export.get("refused", {}).items():
            inputs = {
                name: np.load(path) for name, path in case["inputs"].items()
            }
            request = predict_request(case["signature"], inputs)
            try:
                answer(served, request)
            except tf.errors.InvalidArgumentError as error:
                refusals[f"{export['name']}.{case_name}"] = error.message
            else:
                refusals[f"{export['name']}.{case_name}"] = None
    with open(os.path.join(folder, "refusals.json"), "w") as file:
        json.dump(refusals, file)


if __name__ == "__main__":
    main(sys.argv[1])
