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
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def pending() -> int | None:
  """The signal that asked the run to stop, or None."""
  return _STOP['signum']


@contextlib.contextmanager
def checkpoint_on_signals():
  """SIGTERM/SIGINT finish the current epoch, save a checkpoint, then stop.

  A second signal stops at once, even while the main thread is inside a compiled epoch:
  Python runs signal handlers only between bytecodes, so a thread reads the signals from
  :func:`signal.set_wakeup_fd` (written by the C-level handler the moment each arrives).
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return

  def handler(signum, frame):  # runs when the main thread next gets control
    del frame
    if _STOP['signum'] is None:
      _STOP['signum'] = signum

  read_fd, write_fd = os.pipe()
  os.set_blocking(write_fd, False)
  watcher = threading.Thread(target=_watch, args=(read_fd,), name='signal-watcher', daemon=True)
  previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
  previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
  _STOP['signum'] = None
  watcher.start()
  try:
    yield
  finally:
    signal.set_wakeup_fd(previous_fd)
    for s, h in previous.items():
      signal.signal(s, h)
    os.close(write_fd)  # the watcher reads the end of the pipe and returns
    watcher.join()


def _watch(read_fd: int) -> None:
  """Counts stop signals as they arrive: the first asks to stop, the second exits now."""
  received = 0
  with os.fdopen(read_fd, 'rb', buffering=0) as pipe:
    while byte := pipe.read(1):
      signum = byte[0]
      if signum not in STOP_SIGNALS:
        continue
      received += 1
      if received == 1:
        _STOP['signum'] = _STOP['signum'] or signum
        logging.warning(
          '%s: stopping after this epoch (checkpoint first); send again to stop now',
          signal.Signals(signum).name,
        )
      else:
        logging.warning('%s again: stopping now', signal.Signals(signum).name)
        logging.flush()
        os._exit(128 + signum)


def stop_if_asked(epoch: int, signum: int | None) -> None:
  """Raises :class:`Interrupted` if ``signum`` is set (call after the epoch's checkpoint).

  ``signum``: the signal decided on before the checkpoint (:func:`pending` then, or among
  several processes the one any of them received), not :func:`pending` now: one that
  arrives in between stops the run after the next epoch, with its checkpoint, and every
  process stops after the same epoch.
  """
  if signum is not None:
    raise Interrupted(
      signum,
      f'{signal.Signals(signum).name}: stopped after epoch {epoch} with a checkpoint; '
      'run the same command again to resume',
    )
