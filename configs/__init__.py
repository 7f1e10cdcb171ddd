"""One ml_collections config file per experiment of the papers (see README)."""

from adam_jax import _extras

_extras.require(__name__, 'ml_collections')
