"""Optional dependencies: a module that needs an extra says which one when it is missing.

``pip install adam_jax`` brings jax, optax and numpy: enough for every transformation,
optimizer and schedule. The models, data, training loop and the experiment framework need
the ``experiments`` extra (Flax, TFDS, Orbax, ml_collections, matplotlib, ...).
"""

from __future__ import annotations

import importlib.util

EXTRA = 'experiments'


def require(module: str, *packages: str) -> None:
  """Raises ModuleNotFoundError naming the extra if any of ``packages`` is not installed.

  Args:
    module: the module that needs them (for the message), e.g. ``'adam_jax.models'``.
    *packages: importable top-level names, e.g. ``'flax'``.

  Raises:
    ModuleNotFoundError: ``adam_jax.models needs flax: pip install 'adam_jax[experiments]'``.
  """
  missing = [p for p in packages if importlib.util.find_spec(p) is None]
  if missing:
    raise ModuleNotFoundError(
      f'{module} needs {", ".join(missing)}, which the {EXTRA!r} extra installs: '
      f"pip install 'adam_jax[{EXTRA}]'",
      name=missing[0],
    )
