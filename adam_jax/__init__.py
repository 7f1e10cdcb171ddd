"""adam_jax: Adam, AdaMax and every ablation of Kingma & Ba as pure Optax transformations."""

from adam_jax.followups import NdAdamState, SwatsState, nd_adam, swats, swats_switched_at
from adam_jax.hooks import EVAL_PARAMS, STATE_METRICS, evaluation_params, state_metrics
from adam_jax.optimizers import (
  ScaleByLearningRateState,
  adam,
  adamax,
  adamw,
  add_decoupled_weight_decay,
  amsgrad,
  momentum,
  nadam,
  nesterov,
  scale_by_learning_rate,
)
from adam_jax.registry import (
  OPTIMIZERS,
  OptimizerError,
  OptimizerSpec,
  describe,
  get_optimizer,
  optimizer_hparams,
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
  'EVAL_PARAMS',
  'NdAdamState',
  'OPTIMIZERS',
  'OptimizerError',
  'OptimizerSpec',
  'STATE_METRICS',
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
  'describe',
  'evaluation_params',
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
  'state_metrics',
  'swats',
  'swats_switched_at',
  'temporal_average',
  'warm_restarts',
]
