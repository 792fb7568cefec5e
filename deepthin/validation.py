"""Input checks shared by every public entry point.

Each check raises ``ValueError`` with a one-line message that names the bad
value and what is allowed, so that a typo in a config or a call fails loudly
and early instead of producing a silently wrong model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from numbers import Real


def check_ratio(ratio: object) -> float:
    """Return ``ratio`` as a float, or raise if it is not a number in (0, 1]."""
    if isinstance(ratio, bool) or not isinstance(ratio, Real):
        raise ValueError(f"ratio={ratio!r} is not a number; allowed: a number in (0, 1]")
    value = float(ratio)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"ratio={value!r} is outside (0, 1]; allowed: a number in (0, 1]")
    return value


def check_matrix_shape(shape: Sequence[int]) -> tuple[int, int]:
    """Return ``shape`` as ``(m, n)``, or raise if it is not a 2-D positive shape."""
    dims = tuple(shape)
    if len(dims) != 2 or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ValueError(
            f"weight shape {dims!r} is not supported; allowed: a 2-D kernel (m, n) with m, n >= 1"
        )
    return int(dims[0]), int(dims[1])


def check_choice(kind: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise naming both."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; allowed: {', '.join(allowed)}")
    return str(value)


def check_options(method: str, options: dict, allowed: Iterable[str]) -> None:
    """Raise if ``options`` holds a keyword that ``method`` does not understand."""
    allowed = tuple(allowed)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for method {method!r}; "
            f"allowed: {', '.join(allowed) or '(none)'}"
        )


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the bad input, exit status 2.

    argparse's own ``error`` prints a usage block before the message; a command-line
    entry point of this package ends bad input in one line, like its other errors.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)
