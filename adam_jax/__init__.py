"""adam_jax: Adam, AdaMax and every ablation of Kingma & Ba as pure Optax transformations."""

from adam_jax.optimizers import (
  OPTIMIZERS,
  ScaleByLearningRateState,
  adam,
  adamax,
  adamw,
  add_decoupled_weight_decay,
  amsgrad,
  get_optimizer,
  momentum,
  nadam,
  nesterov,
  optimizer_hparams,
  scale_by_learning_rate,
)
from adam_jax.schedules import inverse_sqrt_decay
from adam_jax.transforms import (
  ScaleByAdamaxState,
  ScaleByAdamState,
  ScaleByAmsgradState,
  TemporalAverageState,
  averaged_params,
  scale_by_adam,
  scale_by_adamax,
  scale_by_amsgrad,
  scale_by_nadam,
  temporal_average,
)

__version__ = '0.1.0'

__all__ = [
  'OPTIMIZERS',
  'ScaleByAdamState',
  'ScaleByAdamaxState',
  'ScaleByAmsgradState',
  'ScaleByLearningRateState',
  'TemporalAverageState',
  'adam',
  'adamax',
  'adamw',
  'add_decoupled_weight_decay',
  'amsgrad',
  'averaged_params',
  'get_optimizer',
  'inverse_sqrt_decay',
  'momentum',
  'nadam',
  'nesterov',
  'optimizer_hparams',
  'scale_by_adam',
  'scale_by_adamax',
  'scale_by_amsgrad',
  'scale_by_learning_rate',
  'scale_by_nadam',
  'temporal_average',
]
