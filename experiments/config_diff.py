"""Whether a workdir's run is the run a config describes: the configs' differences."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import ml_collections

from adam_jax import registry
from configs import common
from experiments import optimizers
from experiments import sweep as sweep_lib


def json_default(value: Any) -> Any:
  """JSON for the numpy scalars a config may hold (``json.dump``'s ``default``)."""
  if hasattr(value, 'item'):
    return value.item()
  raise TypeError(f'not JSON serialisable: {value!r}')


def differences(old: dict[str, Any], config: ml_collections.ConfigDict) -> list[str]:
  """Dotted paths where an earlier run's config (as a dict) and ``config`` differ.

  A key that ``old`` lacks and ``config`` has at its default (a key a later version added,
  such as ``seeds = 1``) is no difference: the run it describes is the same. Nor is an
  ``optimizer.*`` field unset (None: the optimizer's own default) in one config and at
  that default in the other, for each optimizer of the run that takes it:
  ``b1 = 0.9`` written out by an older config trains what an unset ``b1`` trains.
  """
  a, b, defaults = (
    sweep_lib.flatten(json.loads(json.dumps(c, default=json_default)))
    for c in (old, config.to_dict(), common.base().to_dict())
  )
  added_at_default = {k for k in set(b) - set(a) if k in defaults and b[k] == defaults[k]}
  changed = {k for k in set(a) | set(b) if a.get(k, '<absent>') != b.get(k, '<absent>')}
  specs = optimizers.specs(config)
  at_own_default = {k for k in changed if _same_once_resolved(k, a.get(k), b.get(k), specs)}
  return sorted(changed - added_at_default - at_own_default)


def _same_once_resolved(
  key: str, old: Any, new: Any, specs: Sequence[registry.OptimizerSpec]
) -> bool:
  """Whether ``optimizer.<field>`` = ``old`` and = ``new`` give every optimizer the same value."""
  field = key.removeprefix('optimizer.')
  if field == key or (old is not None and new is not None) or not specs:
    return False
  for spec in specs:
    h = spec.settable.get(field)
    if h is None:  # this optimizer does not take it
      continue
    default = None if h.required else h.default
    if (default if old is None else old) != (default if new is None else new):
      return False
  return True
