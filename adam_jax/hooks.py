"""What an optimizer's state says beyond the update: its weights for evaluation, its metrics.

Some optimizers train one set of weights and should be evaluated on another: the §7.2
temporal average evaluates θ̄_t, schedule-free AdamW its averaged iterate x_t (optax's
``schedule_free_eval_params``). Some keep a number worth recording, such as the step at
which SWATS switched to SGD. Both are found by the type of a state inside the optimizer's
state, wherever it sits in a chain, so that a training loop needs no case per optimizer:
register a new state type in :data:`EVAL_PARAMS` or :data:`STATE_METRICS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax
import optax.contrib

from adam_jax import _tree
from adam_jax.followups import SwatsState
from adam_jax.transforms import TemporalAverageState, average_of

Tree = Any

# State type -> (that state, the training params) -> the params to evaluate.
EVAL_PARAMS: dict[type, Callable[[Any, Tree], Tree]] = {
  TemporalAverageState: lambda state, params: average_of(state),
  optax.contrib.ScheduleFreeState: optax.contrib.schedule_free_eval_params,
}

# State type -> that state -> metrics to record, by name (arrays; a grid's state: (G,)).
STATE_METRICS: dict[type, Callable[[Any], dict[str, jax.Array]]] = {
  SwatsState: lambda state: {'switched_at': state.switched_at},
}


def evaluation_params(opt_state: Any, params: Tree) -> Tree:
  """The weights to evaluate: from the state of a type in :data:`EVAL_PARAMS`, else ``params``.

  Examples:
    >>> import jax.numpy as jnp, optax, adam_jax
    >>> opt = optax.chain(adam_jax.adam(0.1), adam_jax.temporal_average(0.5))
    >>> params = jnp.ones(2)
    >>> state = opt.init(params)
    >>> updates, state = opt.update(jnp.ones(2), state, params)
    >>> adam_jax.evaluation_params(state, params)  # θ̄_1 = θ_1 = 1 - 0.1
    Array([0.9, 0.9], dtype=float32)

  Args:
    opt_state: the optimizer's state (of one grid point).
    params: the training params.

  Returns:
    A tree like ``params``.

  Raises:
    ValueError: if ``opt_state`` holds more than one such state (which to evaluate would
      be a guess).
  """
  found = _tree.find_states(opt_state, tuple(EVAL_PARAMS))
  if not found:
    return params
  if len(found) > 1:
    names = ', '.join(type(s).__name__ for s in found)
    raise ValueError(f'opt_state holds {len(found)} states with weights for evaluation: {names}')
  (state,) = found
  return _hook(EVAL_PARAMS, state)(state, params)


def state_metrics(opt_state: Any) -> dict[str, jax.Array]:
  """The metrics of every state of a type in :data:`STATE_METRICS` inside ``opt_state``."""
  metrics = {}
  for state in _tree.find_states(opt_state, tuple(STATE_METRICS)):
    metrics.update(_hook(STATE_METRICS, state)(state))
  return metrics


def _hook(registry: dict[type, Callable], state: Any) -> Callable:
  return next(fn for kind, fn in registry.items() if isinstance(state, kind))
