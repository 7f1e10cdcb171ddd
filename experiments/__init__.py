"""Entry points: `python -m experiments.run --config=configs/NAME.py`."""

from adam_jax import _extras

_extras.require(
  __name__, 'ml_collections', 'absl', 'flax', 'matplotlib', 'orbax', 'tensorboardX', 'scipy'
)
