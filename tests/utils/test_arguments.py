import numpy as np
import pytest

from vidattn.utils import arguments


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3", None])
def test_check_positive_int_refuses(value):
    with pytest.raises(
        ValueError,
        match=r"Expected `units` to be a positive integer\. "
        rf"Received: units={value!r}",
    ):
        arguments.check_positive_int("units", value)


def test_checks_return_plain_python_values():
    assert type(arguments.check_positive_int("units", np.int64(4))) is int
    assert arguments.check_positive_int("units", None, allow_none=True) is None
    assert arguments.check_non_negative_int("n", 0) == 0
    assert arguments.check_int("seed", None, allow_none=True) is None
    assert arguments.check_int("seed", -3) == -3
    assert arguments.check_positive_number("fps", np.float32(2.5)) == 2.5
    assert arguments.check_non_negative_number("lambda", 0) == 0.0
    assert arguments.check_fraction("dropout", 0.5) == 0.5
    assert arguments.check_one_of("mode", "min", ("min", "max")) == "min"


@pytest.mark.parametrize(
    "check, value, expected",
    [
        (arguments.check_non_negative_int, -1, "an integer >= 0"),
        (arguments.check_int, 2.0, "an integer"),
        (arguments.check_positive_number, float("nan"), "a finite number > 0"),
        (arguments.check_positive_number, 0, "a finite number > 0"),
        (arguments.check_non_negative_number, float("inf"), "a finite number"),
        (arguments.check_fraction, 1.0, r"a float in \[0, 1\)"),
        (arguments.check_fraction, True, r"a float in \[0, 1\)"),
    ],
)
def test_messages_say_what_was_expected_and_received(check, value, expected):
    with pytest.raises(ValueError, match=f"Expected `x` to be {expected}"):
        check("x", value)


def test_check_one_of_names_the_choices():
    with pytest.raises(
        ValueError,
        match=r"Expected `mode` to be one of \('min', 'max'\)\. "
        r"Received: mode='mean'",
    ):
        arguments.check_one_of("mode", "mean", ("min", "max"))


@pytest.mark.parametrize("value", [(0,), (4, -1), (2.0,), (True,), 3, "64"])
def test_check_positive_int_tuple_refuses(value):
    with pytest.raises(
        ValueError,
        match=r"Expected `hidden_units` to be a tuple of positive integers\. "
        r"Received: hidden_units=",
    ):
        arguments.check_positive_int_tuple("hidden_units", value)


def test_check_positive_int_tuple_returns_a_tuple_of_ints():
    widths = arguments.check_positive_int_tuple("w", [np.int64(8), 4])
    assert widths == (8, 4) and all(type(w) is int for w in widths)
    assert arguments.check_positive_int_tuple("w", ()) == ()
