import pytest


@pytest.fixture(autouse=True)
def reset_keras_state():
    """Overrides tests/conftest.py's fixture: importers never touch Keras.

    Its `keras.backend.clear_session()` costs ~0.2 s a test, which would make
    these file-listing tests slow.
    """
    yield
