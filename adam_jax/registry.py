"""Every optimizer by name, each described once: its factory and its keyword arguments.

An optimizer is a factory returning an :class:`optax.GradientTransformation`. It is named
by a key of :data:`OPTIMIZERS` (ours and the optax baselines of the paper's figures), by
``optax.NAME`` or ``optax.contrib.NAME``, or by ``module.path:factory`` (any importable
factory). :func:`describe` reads any of them the same way into an :class:`OptimizerSpec`:
each keyword argument with its type (from the default or the annotation), its range where
the name is a conventional one (:data:`RANGES`), its choices (a ``Literal`` annotation),
and whether it may be a traced array. That last one is found by tracing the factory's
``init`` and ``update`` abstractly (``jax.eval_shape``) with the keyword as a tracer: a
factory that branches on the value in Python cannot take one, and a grid over that
keyword needs one compiled program per value. Configs, validation and the trainer read
these descriptions; nothing else lists an optimizer's keywords.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import importlib
import inspect
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adam_jax import optimizers
from adam_jax.followups import nd_adam, swats

Factory = Callable[..., optax.GradientTransformation]

OPTIMIZERS: dict[str, Factory] = {
  'adam': optimizers.adam,
  'adamax': optimizers.adamax,
  'amsgrad': optimizers.amsgrad,
  'nadam': optimizers.nadam,
  'adamw': optimizers.adamw,
  'swats': swats,
  'nd_adam': nd_adam,
  # Baselines of the paper's figures, taken from optax as they are.
  'sgd': optax.sgd,
  'momentum': optimizers.momentum,
  'nesterov': optimizers.nesterov,
  'adagrad': optax.adagrad,
  'rmsprop': optax.rmsprop,
  'adadelta': optax.adadelta,
}

# The forms of a name besides the keys of OPTIMIZERS (for messages).
FOREIGN_FORMS = 'optax.NAME, optax.contrib.NAME or module.path:factory'
# Dtypes a ``*_dtype`` keyword may be given as, by name.
DTYPES = ('float32', 'bfloat16', 'float16', 'float64')


class Range(NamedTuple):
  """The numbers a keyword may take: from ``low`` to ``high`` (None: unbounded)."""

  low: float
  high: float | None = None
  low_open: bool = False
  high_open: bool = True


# Ranges of the keywords whose name says what they are, in any optimizer: a decay rate
# in [0, 1), an ε or a weight decay >= 0, a learning rate > 0.
_DECAY, _NON_NEGATIVE = Range(0.0, 1.0), Range(0.0)
RANGES: dict[str, Range] = {
  'learning_rate': Range(0.0, low_open=True),
  'b1': _DECAY,
  'b2': _DECAY,
  'momentum': _DECAY,
  'decay': _DECAY,
  'rho': _DECAY,
  'b1_decay': Range(0.0, 1.0, low_open=True, high_open=False),
  'eps': _NON_NEGATIVE,
  'eps_root': _NON_NEGATIVE,
  'weight_decay': _NON_NEGATIVE,
  'initial_accumulator_value': _NON_NEGATIVE,
  'initial_scale': _NON_NEGATIVE,
}

REQUIRED = inspect.Parameter.empty  # the default of a keyword that has none
_KIND_NAMES = {float: 'a number', int: 'an integer', bool: 'a bool', str: 'a string'}


class OptimizerError(ValueError):
  """A name that names no usable optimizer, or a keyword its factory does not take."""


@dataclasses.dataclass(frozen=True)
class Hparam:
  """One keyword argument of an optimizer factory.

  Attributes:
    name: the keyword.
    kind: ``float``, ``int``, ``bool`` or ``str`` (a dtype is a ``str``, its name); None
      for a keyword no config can give (a mask: a function of the parameter tree).
    default: the factory's default, or :data:`REQUIRED`.
    dtype: the keyword takes a dtype, given by name (one of :data:`DTYPES`).
    choices: the values it may take (from a ``Literal`` annotation), or ().
    range: the numbers it may take (:data:`RANGES`), or None.
  """

  name: str
  kind: type | None
  default: Any = REQUIRED
  dtype: bool = False
  choices: tuple = ()
  range: Range | None = None

  @property
  def required(self) -> bool:
    """Whether the factory has no default for it."""
    return self.default is REQUIRED

  def argument(self, value: Any) -> Any:
    """The factory's argument for a config value (a dtype name becomes the dtype)."""
    return jnp.dtype(value) if self.dtype and isinstance(value, str) else value


@dataclasses.dataclass(frozen=True, eq=False)
class OptimizerSpec:
  """An optimizer: its name, its factory and the description of its keyword arguments."""

  name: str
  factory: Factory
  hparams: tuple[Hparam, ...]

  @property
  def names(self) -> tuple[str, ...]:
    """Every keyword argument, in the factory's order."""
    return tuple(h.name for h in self.hparams)

  @property
  def settable(self) -> dict[str, Hparam]:
    """The keywords a config can give (those of a known kind)."""
    return {h.name: h for h in self.hparams if h.kind is not None}

  @property
  def defaults(self) -> dict[str, Any]:
    """The default of each keyword that has one."""
    return {h.name: h.default for h in self.hparams if not h.required}

  @functools.cached_property
  def static(self) -> dict[str, str]:
    """Settable keywords that must be Python values, each with why (a grid: one program each).

    Strings, dtypes and integers always; a number or a bool where the factory's ``init``
    or ``update`` fails when traced with it as an abstract array (Python control flow on
    the value, found with ``jax.eval_shape``). It is traced with the other keywords at
    their defaults, and again with those whose default is None (off) given a number, so
    that a keyword that matters only then (optax.sgd's ``nesterov``, with ``momentum``)
    is tried too.
    """
    probes = [_probe_kwargs(self)]
    filled = {h.name: 0.5 for h in self.settable.values() if h.kind is float and h.default is None}
    if filled and _try_step(self.factory, {**probes[0], **filled}) is None:
      probes.append({**probes[0], **filled})
    out = {}
    for h in self.settable.values():
      if h.dtype or h.kind in (str, int):
        out[h.name] = 'is a dtype' if h.dtype else f'is {_KIND_NAMES[h.kind]}'
        continue
      for kwargs in probes:
        error = _try_step(self.factory, kwargs, h.name, h.kind)
        if error is not None:
          out[h.name] = f'cannot be a traced array ({type(error).__name__})'
          break
    return out

  def build(self, **kwargs: Any) -> optax.GradientTransformation:
    """The optimizer with these keyword arguments (numbers, traced arrays or schedules)."""
    unknown = sorted(set(kwargs) - set(self.names))
    if unknown:
      raise OptimizerError(
        f'optimizer {self.name!r} takes no hyperparameter {", ".join(unknown)}; '
        f'it takes: {", ".join(self.names)}'
      )
    return self.factory(**kwargs)


def describe(name: str) -> OptimizerSpec:
  """The description of the optimizer ``name``.

  Args:
    name: a key of :data:`OPTIMIZERS`, ``optax.NAME``, ``optax.contrib.NAME`` or
      ``module.path:factory``.

  Returns:
    Its :class:`OptimizerSpec`.

  Raises:
    OptimizerError: for a name that does not import, a factory that does not return a
      working ``GradientTransformation`` when called with its defaults, or an unknown name.
  """
  return _describe(name, _factory(name))


def by_path(name: str) -> bool:
  """Whether ``name`` names an optimizer by path (``optax.NAME``, ``module:factory``)."""
  return ':' in name or name.startswith('optax.')


def _factory(name: str) -> Factory:
  if name in OPTIMIZERS:
    return OPTIMIZERS[name]
  if ':' in name:
    module, _, attribute = name.partition(':')
  elif name.startswith('optax.'):
    module, _, attribute = name.rpartition('.')
  else:
    raise OptimizerError(
      f'unknown optimizer {name!r}; valid names: {", ".join(sorted(OPTIMIZERS))}; '
      f'or {FOREIGN_FORMS}'
    )
  try:
    obj = importlib.import_module(module)
  except Exception as e:  # noqa: BLE001 (whatever importing the user's module raises)
    raise OptimizerError(f'optimizer {name!r}: cannot import {module}: {_line(e)}') from None
  for part in attribute.split('.'):
    if not hasattr(obj, part):
      raise OptimizerError(f'optimizer {name!r}: {module} has no {attribute!r}') from None
    obj = getattr(obj, part)
  if not callable(obj):
    raise OptimizerError(f'optimizer {name!r}: {type(obj).__name__} is not a factory')
  return obj


@functools.cache
def _describe(name: str, factory: Factory) -> OptimizerSpec:
  try:
    signature = _signature(factory)
  except (TypeError, ValueError) as e:
    raise OptimizerError(f'optimizer {name!r}: no signature to read ({_line(e)})') from None
  hparams = tuple(
    _hparam(p)
    for p in signature.parameters.values()
    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
  )
  spec = OptimizerSpec(name, factory, hparams)
  if OPTIMIZERS.get(name) is factory:  # ours: the test suite runs them
    return spec
  try:
    tx = factory(**_probe_kwargs(spec))
  except Exception as e:  # noqa: BLE001 (the factory is the user's)
    raise OptimizerError(
      f'optimizer {name!r}: calling it with its defaults failed: {type(e).__name__}: {_line(e)}'
    ) from None
  if not isinstance(tx, optax.GradientTransformation):
    raise OptimizerError(
      f'optimizer {name!r} returned a {type(tx).__name__}, not an optax.GradientTransformation'
    )
  error = _try_step(factory, _probe_kwargs(spec))
  if error is not None:
    raise OptimizerError(
      f'optimizer {name!r}: init/update fail on a small parameter tree: '
      f'{type(error).__name__}: {_line(error)}'
    )
  return spec


def _line(error: Exception) -> str:
  """The first line of an error's message (a message for the command line is one line)."""
  return next(iter(str(error).splitlines()), '')


def _signature(factory: Factory) -> inspect.Signature:
  try:
    return inspect.signature(factory, eval_str=True)
  except NameError:  # an annotation under `if TYPE_CHECKING:`: read as a string
    return inspect.signature(factory)


def _hparam(p: inspect.Parameter) -> Hparam:
  default = p.default
  basic, choices, other = _annotation_types(p.annotation)
  if p.name.endswith('_dtype'):
    kind, choices = str, DTYPES
  elif isinstance(default, bool):
    kind = bool
  elif isinstance(default, numbers.Real):
    kind = float if float in basic or isinstance(default, float) else int
  elif isinstance(default, str):
    kind = str
  elif (default is None or default is REQUIRED) and not other:
    kind = next((t for t in (float, int, bool, str) if t in basic), None)
  else:  # a tuple, a tree, a function: no config value
    kind = None
  return Hparam(
    p.name, kind, default, p.name.endswith('_dtype'), tuple(choices), RANGES.get(p.name)
  )


# What jax.typing.ArrayLike is made of besides the basic types: a scalar all the same.
_ARRAY_LIKE = (jax.Array, np.ndarray, np.bool_, np.number, complex, type(None))


def _annotation_types(annotation: Any) -> tuple[set, list, bool]:
  """What an annotation admits: basic types, ``Literal`` values, anything else.

  Returns the basic types (float, int, bool, str), the ``Literal`` values, and whether it
  admits anything else (a tree, a class: no config value). ``Callable[...]`` (a schedule)
  adds nothing; a string annotation is read by its words.
  """
  if annotation is REQUIRED or annotation is Any:
    return set(), [], annotation is Any
  if isinstance(annotation, str):
    words = set(annotation.replace('[', ' ').replace(']', ' ').replace('|', ' ').split())
    return {t for t in (float, int, bool, str) if t.__name__ in words}, [], False
  origin = typing.get_origin(annotation)
  if origin is typing.Literal:
    values = list(typing.get_args(annotation))
    return {type(v) for v in values}, values, False
  if origin in (typing.Union, types.UnionType):
    basic, choices, other = set(), [], False
    for arg in typing.get_args(annotation):
      b, c, o = _annotation_types(arg)
      basic, choices, other = basic | b, choices + c, other or o
    return basic, choices, other
  if origin is collections.abc.Callable or annotation in (float, int, bool, str):
    return {annotation} - {collections.abc.Callable}, [], False
  return set(), [], not (isinstance(annotation, type) and issubclass(annotation, _ARRAY_LIKE))


# Values for keywords that have no default, so that a factory can be called to test it.
_PROBE_VALUES = {float: 1e-3, int: 1, bool: False, str: ''}


def _probe_kwargs(spec: OptimizerSpec) -> dict[str, Any]:
  return {h.name: _PROBE_VALUES[h.kind] for h in spec.hparams if h.required and h.kind is not None}


def _try_step(
  factory: Factory, kwargs: dict[str, Any], key: str | None = None, kind: type = float
) -> Exception | None:
  """The error of one abstract ``init`` and ``update`` (``jax.eval_shape``), or None.

  With ``key``, that keyword is given as a traced scalar of ``kind``.
  """
  # Abstract params too: no device is touched (jax.distributed.initialize may come later).
  params = {'kernel': jax.ShapeDtypeStruct((3, 2), jnp.float32)}
  params['bias'] = jax.ShapeDtypeStruct((2,), jnp.float32)

  def step(params, *value):
    tx = factory(**{**kwargs, **dict(zip([key] if key else [], value, strict=True))})
    return tx.update(params, tx.init(params), params)

  args = [jax.ShapeDtypeStruct((), jnp.bool_ if kind is bool else jnp.float32)] if key else []
  try:
    jax.eval_shape(step, params, *args)
  except Exception as e:  # noqa: BLE001 (concretization errors, and whatever else fails)
    return e
  return None


def get_optimizer(name: str, **hparams: Any) -> optax.GradientTransformation:
  """Builds an optimizer by name.

  Examples:
    >>> import adam_jax
    >>> opt = adam_jax.get_optimizer('adamax', learning_rate=2e-3, b2=0.999)
    >>> lion = adam_jax.get_optimizer('optax.lion', learning_rate=1e-4)
    >>> adam_jax.get_optimizer('adamm')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    adam_jax.registry.OptimizerError: unknown optimizer 'adamm'; valid names: adadelta, ...

  Args:
    name: one of :data:`OPTIMIZERS`: ``adam``, ``adamax``, ``amsgrad``, ``nadam``,
      ``adamw``, ``swats``, ``nd_adam``, and the optax baselines ``sgd``, ``momentum``,
      ``nesterov``, ``adagrad``, ``rmsprop`` (with ``momentum`` and ``nesterov=True``:
      Algorithm 8.6 of the Deep Learning book), ``adadelta``; or ``optax.NAME``,
      ``optax.contrib.NAME``, ``module.path:factory``.
    **hparams: the optimizer's keyword arguments (numbers, traced arrays or schedules).

  Returns:
    An :class:`optax.GradientTransformation`.

  Raises:
    OptimizerError: (a ValueError) for an unknown name, or a hyperparameter the optimizer
      does not take (the message lists those it takes).
  """
  return describe(name).build(**hparams)


def optimizer_hparams(name: str) -> tuple[str, ...]:
  """The keyword arguments the optimizer ``name`` accepts."""
  return describe(name).names
