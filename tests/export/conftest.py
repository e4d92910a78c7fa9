import keras
import pytest


@pytest.fixture(autouse=True)
def reset_keras_state():
    """As `tests/conftest.py`'s, without a garbage collection per test.

    The export modules keep their models and SavedModels in module-scoped
    fixtures, which a collection cannot free; with their graphs alive, each
    collection cost ~0.4 s of teardown per test.
    """
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session(free_memory=False)
