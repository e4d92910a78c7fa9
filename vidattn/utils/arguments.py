"""Checks of arguments, with the messages every vidattn error uses.

Each check takes the argument's name first and its value second, raises
`ValueError("Expected `name` to be .... Received: name=value")` when the
value does not fit, and returns the value converted to the plain Python type
(so that NumPy scalars become `int` or `float`).
"""

import math
import numbers


def _fail(name, expected, value):
    raise ValueError(
        f"Expected `{name}` to be {expected}. Received: {name}={value!r}"
    )


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(name, value, allow_none=False):
    """Returns `value` as an int if it is an integer >= 1 (or allowed None)."""
    if value is None and allow_none:
        return None
    if not _is_integer(value) or value < 1:
        _fail(
            name,
            "a positive integer" + (" or None" if allow_none else ""),
            value,
        )
    return int(value)


def check_positive_int_tuple(name, value):
    """Returns `value` as a tuple of ints if each is an integer >= 1."""
    try:
        widths = tuple(value)
    except TypeError:
        widths = None
    if widths is None or not all(
        _is_integer(width) and width >= 1 for width in widths
    ):
        _fail(name, "a tuple of positive integers", value)
    return tuple(int(width) for width in widths)


def check_non_negative_int(name, value):
    """Returns `value` as an int if it is an integer >= 0."""
    if not _is_integer(value) or value < 0:
        _fail(name, "an integer >= 0", value)
    return int(value)


def check_int(name, value, allow_none=False):
    """Returns `value` as an int if it is an integer (or None, if allowed)."""
    if value is None and allow_none:
        return None
    if not _is_integer(value):
        _fail(name, "an integer" + (" or None" if allow_none else ""), value)
    return int(value)


def check_positive_number(name, value, allow_none=False):
    """Returns `value` as a float if it is a finite number > 0."""
    if value is None and allow_none:
        return None
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        _fail(
            name,
            "a finite number > 0" + (" or None" if allow_none else ""),
            value,
        )
    return float(value)


def check_non_negative_number(name, value):
    """Returns `value` as a float if it is a finite number >= 0."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        _fail(name, "a finite number >= 0", value)
    return float(value)


def check_fraction(name, value):
    """Returns `value` as a float if it lies in [0, 1) (a dropout rate)."""
    if not _is_real(value) or not 0.0 <= value < 1.0:
        _fail(name, "a float in [0, 1)", value)
    return float(value)


def check_one_of(name, value, choices):
    """Returns `value` if it is one of `choices`."""
    choices = tuple(choices)
    if isinstance(value, bool) or value not in choices:
        _fail(name, f"one of {choices}", value)
    return value
