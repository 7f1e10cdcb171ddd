"""SIGTERM/SIGINT during training: finish the epoch, checkpoint, then stop."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

from absl import logging

from experiments.programs import RunError


class Interrupted(RunError):
  """SIGTERM or SIGINT arrived; the state after the current epoch was saved."""

  def __init__(self, signum: int, message: str):
    """``signum``: the signal; the process exits with 128 + ``signum``."""
    super().__init__(message)
    self.exit_code = 128 + signum


_STOP: dict[str, int | None] = {'signum': None}


def pending() -> int | None:
  """The signal that asked the run to stop, or None."""
  return _STOP['signum']


@contextlib.contextmanager
def checkpoint_on_signals():
  """SIGTERM/SIGINT finish the current epoch, save a checkpoint, then stop.

  A second signal stops at once.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return

  def handler(signum, frame):
    del frame
    if _STOP['signum'] is not None:
      signal.signal(signum, signal.SIG_DFL)
      os.kill(os.getpid(), signum)
    _STOP['signum'] = signum
    logging.warning(
      '%s: stopping after this epoch (checkpoint first); send again to stop now',
      signal.Signals(signum).name,
    )

  previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
  _STOP['signum'] = None
  try:
    yield
  finally:
    for s, h in previous.items():
      signal.signal(s, h)


def stop_if_asked(epoch: int) -> None:
  """Raises :class:`Interrupted` if a signal arrived (call after the epoch's checkpoint)."""
  stop = _STOP['signum']
  if stop is not None:
    raise Interrupted(
      stop,
      f'{signal.Signals(stop).name}: stopped after epoch {epoch} with a checkpoint; '
      'run the same command again to resume',
    )
