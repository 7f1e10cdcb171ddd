"""Device-resident training: an epoch is one compiled ``lax.scan``, a grid one program.

A :class:`GridTrainer` trains G copies of one model (one *program*: same model, same
optimizer factory) side by side; the G grid points differ in numeric hyperparameters
(``optimizer.learning_rate``, ``optimizer.b2``, ``model.l2``, the ``bias_correction``
switch, ``seed``, ...), which enter the compiled program as traced arrays of shape (G,).
Parameters, optimizer states, dropout keys and metrics carry the leading grid axis; the
data is shared. With G = 1 it is a single run: the same per-point function, called
without the grid axis.

Nothing here does I/O: the caller loops over epochs (:meth:`GridTrainer.train_epoch`,
:meth:`GridTrainer.evaluate`) and writes what it likes in between.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adam_jax import _extras, hooks, losses
from adam_jax import data as data_lib
from adam_jax import diagnostics as diagnostics_lib

try:
  import flax.linen as nn
except ModuleNotFoundError as error:  # the 'experiments' extra
  _extras.require(__name__, error.name or 'flax')
  raise

Hparams = Mapping[str, Any]  # dotted path -> value, e.g. {'optimizer.learning_rate': 1e-3}
# A grid point's hyperparameters (Python values and traced scalars) -> its optimizer.
OptimizerFactory = Callable[[Hparams], optax.GradientTransformation]

GRID_STRATEGIES = ('vmap', 'map')
GRID_AXIS, DATA_AXIS = 'grid', 'data'
DIAGNOSTICS = 'optimizer'  # key of the per-layer statistics among an epoch's metrics
_ADAM_SETTINGS = {'b2': 0.999, 'eps': 1e-8, 'bias_correction': True}


# XLA:CPU in jaxlib 0.10 hands convolutions to its YNNPACK library, which runs each one
# on a single thread, while its own (Eigen) convolutions use every core: on 2 cores the
# Pérez CNN's 14×14×32→64 convolution takes 26 ms per minibatch of 128 through YNNPACK and
# 15 ms through Eigen, inside ``lax.scan`` or out (benchmarks/RESULTS.md). This option
# keeps YNNPACK for single matrix products only (its other fusions, elementwise and
# reductions, go back to XLA's own loops): every model's epoch was as fast or faster.
# Other backends get no options.
CPU_COMPILER_OPTIONS = {
  'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT',
}


# The initialization (random draws into each layer's shape, once per run) compiles 3-4x
# faster at LLVM's optimization level 1 than at XLA:CPU's default 2 and runs once: 1.7 s
# against 0.4 s for the logistic regression, 4.5 s against 1.2 s for the CIFAR-10 CNN. The
# values are the same bit for bit (tests/test_models.py checks it on a CNN).
CPU_INIT_COMPILER_OPTIONS = {'xla_backend_optimization_level': 1}


def compiler_options(init: bool = False) -> dict[str, Any]:
  """XLA options for the trainer's compiled calls: :data:`CPU_COMPILER_OPTIONS` on CPU.

  Set ``ADAM_JAX_XLA_DEFAULTS=1`` to compile with XLA's defaults instead (to measure the
  difference); a jaxlib whose XLA does not know the options gets none.
  """
  if jax.default_backend() != 'cpu' or os.environ.get('ADAM_JAX_XLA_DEFAULTS') == '1':
    return {}
  options = {**CPU_COMPILER_OPTIONS, **(CPU_INIT_COMPILER_OPTIONS if init else {})}
  return options if _options_known(tuple(options.items())) else {}


@functools.cache
def _options_known(options: tuple[tuple[str, str], ...]) -> bool:
  """Whether this jaxlib's XLA accepts ``options`` (an older one may not know them)."""
  try:
    jax.jit(lambda x: x + 1, compiler_options=dict(options)).lower(1.0).compile()
  except Exception:  # noqa: BLE001 (JaxRuntimeError, or whatever an older jaxlib raises)
    return False
  return True


# On CPU, a grid point whose training step takes at least this many FLOPs (half a
# millisecond of 2 cores) keeps the cores busy on its own: vmapping such points turns
# every matrix product into a batched one that XLA:CPU runs no faster and lays out
# transposed, so they run one after another ('map'). Measured per point against one run
# (benchmarks/RESULTS.md): the VAE (0.67 GFLOP per step) 1.17-1.25x vmapped, 1.01x mapped;
# the MLP (1.4 GFLOP) 1.14-1.32x against 0.97-1.00x. Logistic regression (6 MFLOP) leaves
# the cores idle between small operations, and batching it is what pays (0.15x at G=32).
CPU_MAP_MIN_STEP_FLOPS = 1e8


def training_flops(task: Task, x_example: jax.Array, batch_size: int) -> float:
  """FLOPs of one training step of one grid point: 3x the forward pass (XLA's count).

  The forward pass on a batch of ``batch_size`` inputs shaped like ``x_example`` is
  lowered for the CPU (not compiled) and its FLOPs taken from XLA's cost analysis, which counts
  convolutions tap by tap; the backward pass is counted as twice the forward.
  """
  # Lowered for the CPU whatever the default backend: XLA:GPU counts only after compiling,
  # and then not the convolutions it hands to cuDNN.
  try:
    cpu = jax.sharding.SingleDeviceSharding(jax.devices('cpu')[0])
  except RuntimeError:  # JAX_PLATFORMS leaves the CPU out: the default device's count
    cpu = jax.sharding.SingleDeviceSharding(jax.devices()[0])

  def on_cpu(shape, dtype):
    return jax.ShapeDtypeStruct(shape, dtype, sharding=cpu)

  x = on_cpu((batch_size, *x_example.shape[1:]), x_example.dtype)
  params = jax.eval_shape(task.init, jax.random.PRNGKey(0), x)
  params = jax.tree.map(lambda p: on_cpu(p.shape, p.dtype), params)
  y = on_cpu((batch_size,), jnp.int32)

  def forward(params, x, y):
    return task.per_example(params, x, y, jax.random.PRNGKey(0), train=False)

  flops = (jax.jit(forward).lower(params, x, y).cost_analysis() or {}).get('flops', 0.0)
  return 3.0 * float(flops)


def auto_grid_strategy(task: Task, x_example: jax.Array, batch_size: int) -> str:
  """'vmap' or 'map' for a grid of ``task``: see :data:`CPU_MAP_MIN_STEP_FLOPS`.

  Accelerators always vmap: one point's step is far too small to fill them.
  """
  if jax.default_backend() != 'cpu':
    return 'vmap'
  flops = training_flops(task, x_example, batch_size)
  return 'map' if flops >= CPU_MAP_MIN_STEP_FLOPS else 'vmap'


def make_mesh(grid: int = 1, data: int = 1) -> jax.sharding.Mesh | None:
  """A ('grid', 'data') mesh over the first grid*data devices, or None for one device."""
  if grid * data == 1:
    return None
  if grid * data > jax.device_count():
    raise ValueError(f'mesh {grid}x{data} needs {grid * data} devices, have {jax.device_count()}')
  devices = np.asarray(jax.devices()[: grid * data]).reshape(grid, data)
  return jax.sharding.Mesh(devices, (GRID_AXIS, DATA_AXIS))


def available_memory_bytes(device: Any) -> int:
  """Free memory of ``device``: its allocator's limit minus use, or the host's free RAM."""
  stats = getattr(device, 'memory_stats', lambda: None)()
  if stats and 'bytes_limit' in stats:
    return int(stats['bytes_limit'] - stats.get('bytes_in_use', 0))
  return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')


def chunks(num_points: int, chunk_size: int) -> list[np.ndarray]:
  """Indices of the grid points of each chunk.

  The last is padded with its last point so that every chunk has the same shape (one
  compiled program); the duplicates are dropped later.
  """
  out = []
  for start in range(0, num_points, chunk_size):
    idx = np.arange(start, min(start + chunk_size, num_points))
    out.append(np.concatenate([idx, np.full(chunk_size - len(idx), idx[-1])]))
  return out


def _single_point_unbatched(fn, batched, in_axes: tuple):
  """A grid of one point runs ``fn`` itself: no size-1 batch dimension in every operation.

  vmap over one point makes every matmul a batched dot with a batch of 1, whose gradient
  XLA:CPU lays out transposed and copies back into the parameters' layout each step.
  """

  def call(*args):
    first = next(a for a, axis in zip(args, in_axes, strict=True) if axis is not None)
    if jax.tree.leaves(first)[0].shape[0] != 1:
      return batched(*args)
    squeezed = [
      jax.tree.map(lambda v: v[0], a) if axis is not None else a
      for a, axis in zip(args, in_axes, strict=True)
    ]
    return jax.tree.map(lambda v: v[None], fn(*squeezed))

  return call


def _sequential_map(fn, in_axes: tuple):
  """Like ``jax.vmap(fn, in_axes)`` (axes 0 or None), but one point after another (lax.map)."""

  def mapped(*args):
    batched = tuple(a for a, axis in zip(args, in_axes, strict=True) if axis is not None)

    def one(xs):
      it = iter(xs)
      full = [next(it) if axis is not None else a for a, axis in zip(args, in_axes, strict=True)]
      return fn(*full)

    return jax.lax.map(one, batched)

  return mapped


class TrainState(NamedTuple):
  """Everything a run needs to continue bit-identically (one grid point, or G stacked)."""

  step: jax.Array  # int32: optimizer steps taken.
  params: Any
  opt_state: Any
  key: jax.Array  # uint32[2]: base key for dropout / latent samples, folded with step.


@dataclasses.dataclass(frozen=True)
class Task:
  """A model with its loss: classification (cross-entropy) or the VAE (negative ELBO)."""

  model: nn.Module
  kind: str  # 'classifier' or 'vae'
  input_kind: str = 'image'  # as data.Dataset.input_kind
  vocab_size: int = 0

  @property
  def metric_names(self) -> tuple[str, ...]:
    """The per-example metrics of the task: loss, and accuracy for a classifier."""
    return ('loss', 'accuracy') if self.kind == 'classifier' else ('loss',)

  def inputs(self, x: jax.Array) -> jax.Array:
    """The model's input for a batch ``x`` (a bag of words densified on the device)."""
    if self.input_kind == 'bag_of_words':
      return data_lib.bag_of_words_dense(x, self.vocab_size)
    return x

  def init(self, key: jax.Array, x: jax.Array) -> Any:
    """The model's initial parameters for inputs shaped like ``x``."""
    init_key, sample_key = jax.random.split(key)
    rngs = {'params': init_key, 'dropout': sample_key, 'latent': sample_key}
    return self.model.init(rngs, self.inputs(x), train=False)['params']

  def per_example(
    self, params: Any, x: jax.Array, y: jax.Array, key: jax.Array, train: bool
  ) -> dict[str, jax.Array]:
    """Per-example metrics: ``loss`` (nats) and, for classifiers, ``accuracy`` (0/1)."""
    inputs = self.inputs(x)
    rngs = {'dropout': key, 'latent': key}
    out = self.model.apply({'params': params}, inputs, train=train, rngs=rngs)
    if self.kind == 'vae':
      logits, mean, logvar = out
      return {'loss': losses.negative_elbo(logits, inputs, mean, logvar)}
    return {'loss': losses.softmax_cross_entropy(out, y), 'accuracy': losses.accuracy(out, y)}


def epoch_order(seed: Any, epoch: Any, num_examples: int, batch_size: int) -> jax.Array:
  """Example indices of one epoch, shape (num_batches, batch_size); the remainder is dropped.

  A pure function of (seed, epoch): a resumed run sees the same order as an uninterrupted one.
  """
  key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(1), seed), epoch)
  num_batches = num_examples // batch_size
  perm = jax.random.permutation(key, num_examples)
  return perm[: num_batches * batch_size].reshape(num_batches, batch_size)


# One compiled call each (eagerly, the permutation is several small programs to compile).
_epoch_order = jax.jit(epoch_order, static_argnums=(2, 3))
_epoch_orders = jax.jit(jax.vmap(epoch_order, (0, None, None, None)), static_argnums=(2, 3))


@dataclasses.dataclass(frozen=True, eq=False)
class GridTrainer:
  """Trains a grid of G points of one program; every method is one compiled call.

  The model is evaluated on the weights :func:`adam_jax.evaluation_params` finds in the
  optimizer's state (a temporal average, schedule-free's x_t), else on the training
  params; the metrics :func:`adam_jax.state_metrics` finds there (SWATS's switch step)
  join each epoch's metrics.

  Attributes:
    task: the model and its loss.
    optimizer: the optimizer of a grid point: called with all of the point's
      hyperparameters (:meth:`point`; the swept ones traced), it returns the point's
      ``GradientTransformation`` (its learning-rate schedule included).
    hparams: the values shared by every grid point, by dotted path (Python numbers):
      the optimizer's (``optimizer.*`` for ``optimizer``), ``model.l2`` (λ of λ‖θ‖²),
      ``seed``. With ``diagnostics``, ``optimizer.b2``, ``optimizer.eps`` and
      ``optimizer.bias_correction`` are read for √v̂ (Adam's defaults where absent).
    swept: the dotted paths that vary across the grid (passed to each method as (G,) arrays).
    batch_size: minibatch size.
    eval_batch_size: batch size for evaluation.
    diagnostics: also return, once per epoch (its last step), per-layer optimizer
      statistics (:func:`adam_jax.diagnostics.layer_statistics`) under the key
      :data:`DIAGNOSTICS` of the epoch's metrics.
    grid_strategy: 'vmap' batches the grid points into each operation (pays when one
      point's operations are too small to keep the device busy); 'map' runs them one
      after the other inside the same compiled program (``lax.map``).
      :func:`auto_grid_strategy` chooses between them by the FLOPs of a step.
  """

  task: Task
  optimizer: OptimizerFactory
  hparams: Hparams
  swept: tuple[str, ...] = ()
  batch_size: int = 128
  eval_batch_size: int = 1000
  grid_strategy: str = 'vmap'
  mesh: jax.sharding.Mesh | None = None
  diagnostics: bool = False

  def point(self, grid_values: Hparams) -> dict[str, Any]:
    """All hyperparameters of one grid point (shared values overridden by swept ones)."""
    return {**self.hparams, **{k: v for k, v in grid_values.items() if k != _POINT}}

  # --- one grid point (vmapped below) ----------------------------------------------

  def _init_point(self, grid_values: Hparams, x_example: jax.Array) -> TrainState:
    hp = self.point(grid_values)
    key = jax.random.PRNGKey(hp.get('seed', 0))
    init_key, train_key = jax.random.split(key)
    params = self.task.init(init_key, x_example)
    return TrainState(jnp.zeros([], jnp.int32), params, self.optimizer(hp).init(params), train_key)

  def _epoch_point(self, state: TrainState, grid_values: Hparams, order, x, y):
    hp = self.point(grid_values)
    opt = self.optimizer(hp)
    l2 = hp.get('model.l2', 0.0)

    def train_step(state: TrainState, idx: jax.Array):
      key = jax.random.fold_in(state.key, state.step)
      xb, yb = self._batch_constraint(x[idx]), self._batch_constraint(y[idx])

      def objective(params):
        metrics = self.task.per_example(params, xb, yb, key, train=True)
        means = {k: jnp.mean(v) for k, v in metrics.items()}
        if isinstance(l2, int | float) and l2 == 0:
          return means['loss'], means
        return means['loss'] + losses.l2_penalty(params, l2), means

      grads, means = jax.grad(objective, has_aux=True)(state.params)
      updates, opt_state = opt.update(grads, state.opt_state, state.params)
      params = optax.apply_updates(state.params, updates)
      return TrainState(state.step + 1, params, opt_state, state.key), means, updates

    def step(state: TrainState, idx: jax.Array):
      return train_step(state, idx)[:2]

    if not self.diagnostics:
      return jax.lax.scan(step, state, order)
    # The epoch's last step on its own, so that its statistics cost nothing in the others.
    state, means = jax.lax.scan(step, state, order[:-1])
    state, last, updates = train_step(state, order[-1])
    means = jax.tree.map(lambda a, b: jnp.concatenate([a, b[None]]), means, last)
    settings = {k: hp.get(f'optimizer.{k}', v) for k, v in _ADAM_SETTINGS.items()}
    stats = diagnostics_lib.layer_statistics(updates, state.opt_state, **settings)
    return state, {**means, DIAGNOSTICS: stats}

  def _evaluate_point(self, params, opt_state, x, y, weights, key):
    params = hooks.evaluation_params(opt_state, params)

    def body(totals, batch):
      xb, yb, wb = batch
      metrics = self.task.per_example(params, xb, yb, key, train=False)
      return {k: totals[k] + jnp.sum(metrics[k] * wb) for k in totals}, None

    zeros = {k: jnp.zeros([], jnp.float32) for k in self.task.metric_names}
    totals, _ = jax.lax.scan(body, zeros, (x, y, weights))
    return {k: v / jnp.sum(weights) for k, v in totals.items()}

  # --- the grid ------------------------------------------------------------------------

  @property
  def seed_swept(self) -> bool:
    """Whether the grid varies the seed (then each point has its own data order)."""
    return 'seed' in self.swept

  def _over_grid(self, fn, in_axes: tuple):
    if self.grid_strategy not in GRID_STRATEGIES:
      raise ValueError(
        f'grid_strategy must be one of {GRID_STRATEGIES}, got {self.grid_strategy!r}'
      )
    if self.grid_strategy == 'vmap':
      axis_name = GRID_AXIS if self.mesh is not None else None
      batched = jax.vmap(fn, in_axes=in_axes, spmd_axis_name=axis_name)
    elif self.mesh is not None:
      raise ValueError("a mesh needs grid_strategy='vmap'")
    else:
      batched = _sequential_map(fn, in_axes)
    return _single_point_unbatched(fn, batched, in_axes)

  def _batch_constraint(self, x: jax.Array) -> jax.Array:
    if self.mesh is None or self.mesh.shape[DATA_AXIS] == 1:
      return x
    spec = jax.sharding.PartitionSpec(DATA_AXIS)
    return jax.lax.with_sharding_constraint(x, jax.sharding.NamedSharding(self.mesh, spec))

  def shard(self, tree: Any, grid_axis: bool = True) -> Any:
    """Places ``tree`` on the mesh: leading axis split over 'grid', or replicated.

    Across several processes (``jax.distributed``) each process gives every array's value
    whole and places only the parts its own devices hold.
    """
    if self.mesh is None:
      return tree
    spec = jax.sharding.PartitionSpec(GRID_AXIS) if grid_axis else jax.sharding.PartitionSpec()
    sharding = jax.sharding.NamedSharding(self.mesh, spec)

    def place(leaf):
      is_global = isinstance(leaf, jax.Array) and not leaf.is_fully_addressable
      if jax.process_count() == 1 or is_global:
        return jax.device_put(leaf, sharding)  # one process, or a global array: reshard
      value = np.asarray(leaf)
      return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    return jax.tree.map(place, tree)

  def bytes_per_point(self, x_example: jax.Array) -> int:
    """Estimated device memory one grid point needs in an epoch (state, grads, activations)."""
    state = jax.eval_shape(lambda x: self._init_point({}, x), x_example[:1])
    key = jax.random.PRNGKey(0)

    def forward(params, x):
      rngs = {'dropout': key, 'latent': key}
      return self.task.model.apply(
        {'params': params},
        self.task.inputs(x),
        rngs=rngs,
        capture_intermediates=True,
        mutable=['intermediates'],
      )

    _, inter = jax.eval_shape(forward, state.params, x_example[:1])
    act = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(inter))
    params_and_opt = sum(
      leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves((state.params, state.opt_state))
    )
    # Grads, updates and the new state beside the old; activations kept for the backward pass.
    return 3 * params_and_opt + 3 * act * self.batch_size

  def auto_chunk_size(self, x_example: jax.Array, num_points: int, fraction: float = 0.5) -> int:
    """How many grid points fit at once in ``fraction`` of the free device memory."""
    free = available_memory_bytes(jax.local_devices()[0])
    devices = self.mesh.shape[GRID_AXIS] if self.mesh is not None else 1
    fit = int(fraction * free * devices // max(self.bytes_per_point(x_example), 1))
    return max(1, min(num_points, fit))

  @functools.cached_property
  def _init_grid(self):
    return jax.jit(
      self._over_grid(self._init_point, (0, None)), compiler_options=compiler_options(init=True)
    )

  @functools.cached_property
  def _epoch_grid(self):
    order_axis = 0 if self.seed_swept else None
    fn = self._over_grid(self._epoch_point, (0, 0, order_axis, None, None))
    return jax.jit(fn, donate_argnums=0, compiler_options=compiler_options())

  @functools.cached_property
  def _eval_grid(self):
    over_grid = self._over_grid(self._evaluate_point, (0, 0, None, None, None, None))

    def evaluate(params, opt_state, x, y, key):
      # The split is cut into batches inside the compiled call, not by eager operations
      # (each its own small program to compile) before every evaluation.
      return over_grid(params, opt_state, *_eval_batches(x, y, self.eval_batch_size), key)

    return jax.jit(evaluate, compiler_options=compiler_options())

  def init(
    self, grid: Mapping[str, jax.Array], x_example: jax.Array, num_points: int = 1
  ) -> TrainState:
    """Initial states of the G grid points; ``grid`` maps each swept path to a (G,) array.

    ``num_points`` gives G when nothing is swept (G copies of the same point).
    """
    sizes = {int(jnp.shape(v)[0]) for v in grid.values()} or {num_points}
    if len(sizes) != 1:
      raise ValueError(f'grid arrays differ in length: {sizes}')
    return self._init_grid(_with_index(grid, sizes.pop()), x_example[:1])

  def train_epoch(
    self, state: TrainState, grid: Mapping[str, jax.Array], x: jax.Array, y: jax.Array, epoch: int
  ) -> tuple[TrainState, dict[str, jax.Array]]:
    """One epoch for every grid point; returns new states and per-step metrics (G, steps).

    With ``diagnostics``, the metrics also hold :data:`DIAGNOSTICS`: ``{leaf path:
    {statistic: (G,)}}`` after the epoch's last step. They also hold the
    :func:`adam_jax.state_metrics` of the optimizer's state after the epoch, each (G,)
    (SWATS: ``switched_at``, the step at which each point switched to SGD; 0: not yet).

    ``epoch`` counts from 0; the data order is :func:`epoch_order` of (seed, epoch).
    """
    num_examples = x.shape[0]
    if self.seed_swept:
      order = _epoch_orders(jnp.asarray(grid['seed']), epoch, num_examples, self.batch_size)
    else:
      seed = self.hparams.get('seed', 0)
      order = _epoch_order(seed, epoch, num_examples, self.batch_size)
    state, metrics = self._epoch_grid(state, _with_index(grid, state.step.shape[0]), order, x, y)
    return state, {**metrics, **hooks.state_metrics(state.opt_state)}

  def evaluate(self, state: TrainState, x: jax.Array, y: jax.Array) -> dict[str, jax.Array]:
    """Mean metrics of each grid point on a whole split (no dropout), each of shape (G,).

    On the weights for evaluation of each point's optimizer (:func:`adam_jax.evaluation_params`).
    """
    return self._eval_grid(state.params, state.opt_state, x, y, jax.random.PRNGKey(0))


_POINT = '_point'  # an index over the grid, so that vmap has an axis when nothing is swept


def _with_index(grid: Mapping[str, jax.Array], num_points: int) -> dict[str, jax.Array]:
  return {**grid, _POINT: jnp.arange(num_points)}


def _eval_batches(x, y, batch_size: int):
  """Splits (x, y) into equal batches, padding the last with weight-0 copies of row 0."""
  n = x.shape[0]
  batch_size = min(batch_size, n)
  num_batches = -(-n // batch_size)
  pad = num_batches * batch_size - n
  if pad:
    x, y = (jnp.concatenate([a, jnp.broadcast_to(a[:1], (pad, *a.shape[1:]))]) for a in (x, y))
  weights = (jnp.arange(num_batches * batch_size) < n).astype(jnp.float32)
  shape = (num_batches, batch_size)
  return x.reshape(shape + x.shape[1:]), y.reshape(shape + y.shape[1:]), weights.reshape(shape)


def grid_arrays(points: list[Hparams], swept: tuple[str, ...]) -> dict[str, jax.Array]:
  """Stacks the swept values of each grid point into (G,) arrays (bools stay bools)."""
  out = {}
  for path in swept:
    values = [p[path] for p in points]
    if all(isinstance(v, bool | np.bool_) for v in values):
      out[path] = jnp.asarray(values, jnp.bool_)
    elif path == 'seed':
      out[path] = jnp.asarray(values, jnp.int32)
    else:
      out[path] = jnp.asarray(values, jnp.float32)
  return out
