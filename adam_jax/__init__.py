"""adam_jax: Adam, AdaMax and every ablation of Kingma & Ba as pure Optax transformations."""

from adam_jax.followups import NdAdamState, SwatsState, nd_adam, swats, swats_switched_at
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
from adam_jax.schedules import inverse_sqrt_decay, normalized_weight_decay, warm_restarts
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
  'NdAdamState',
  'OPTIMIZERS',
  'ScaleByAdamState',
  'ScaleByAdamaxState',
  'ScaleByAmsgradState',
  'ScaleByLearningRateState',
  'SwatsState',
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
  'nd_adam',
  'nesterov',
  'normalized_weight_decay',
  'optimizer_hparams',
  'scale_by_adam',
  'scale_by_adamax',
  'scale_by_amsgrad',
  'scale_by_learning_rate',
  'scale_by_nadam',
  'swats',
  'swats_switched_at',
  'temporal_average',
  'warm_restarts',
]
