"""What a config value may be: predicates that return what is allowed, or None when fine.

:mod:`experiments.validate` builds its table of fields from these; each message completes
"config.<field> = <value>: must be ...".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from adam_jax import registry

Check = Callable[[Any], str | None]  # value -> what is allowed, or None when fine


def number(v: Any) -> bool:
  """A finite real number (not a bool)."""
  return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def integer(lo: int | None) -> Check:
  """An integer (not a bool) >= ``lo`` (any integer for None)."""

  def check(v):
    whole = isinstance(v, numbers.Integral) and not isinstance(v, bool)
    ok = whole and (lo is None or v >= lo)
    return None if ok else ('an integer' if lo is None else f'an integer >= {lo}')

  return check


def real(lo: float, hi: float | None = None, *, lo_open=False, hi_open=True) -> Check:
  """A finite number in the interval from ``lo`` to ``hi`` (open or closed at each end)."""
  lo_s = f'{"(" if lo_open else "["}{lo:g}'
  hi_s = f'{hi:g}{")" if hi_open else "]"}' if hi is not None else 'inf)'
  allowed = f'a number in {lo_s}, {hi_s}'

  def check(v):
    low = number(v) and (v < lo or (lo_open and v == lo))
    high = number(v) and hi is not None and (v > hi or (hi_open and v == hi))
    return allowed if not number(v) or low or high else None

  return check


def one_of(options) -> Check:
  """One of ``options``."""
  options = tuple(options)
  return lambda v: None if v in options else f'one of: {", ".join(map(str, options))}'


def boolean(v: Any) -> str | None:
  """True or False."""
  return None if isinstance(v, bool) else 'true or false'


def string(v: Any) -> str | None:
  """A string."""
  return None if isinstance(v, str) else 'a string'


def positive_ints(v: Any) -> str | None:
  """A positive integer or a tuple (or list) of them: layer widths."""
  values = v if isinstance(v, tuple | list) else [v]
  ok = all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in values)
  return None if ok else 'a positive integer or a tuple of them'


def hparam_check(h: registry.Hparam) -> Check:
  """The check of an optimizer keyword from its description: choices, range or type."""
  if h.choices:
    return one_of(h.choices)
  if h.kind is float:
    r = h.range or registry.Range(-math.inf, math.inf, True, True)
    return real(r.low, r.high, lo_open=r.low_open, hi_open=r.high_open)
  return {bool: boolean, int: integer(None), str: string}[h.kind]


NON_NEGATIVE = real(0.0)
RATE = real(0.0, 1.0)  # dropout rate
