"""``python -m experiments.run ARGS`` as a process of its own, without paying its imports.

A command-line run spends 1-3 s importing jax, flax, optax, orbax and matplotlib before it
does anything, and the suite starts many. Here one server process per pytest
worker imports them once, without starting a JAX backend, and forks a child per command.
The child is what ``python -m experiments.run ARGS`` would be: a process of its own with
the test's environment, working directory and argument list, its own pid to signal, its
output in files and its exit status as the shell would see it (``-9`` when killed). Only
what a fresh interpreter decides at import is shared, so a command whose environment
differs in anything read at import (``PYTHONPATH``, a ``sitecustomize``, most ``JAX_*``
variables) gets a server of its own, started with that environment. The project's other
entry points (``python -m experiments.benchmark``, ``experiments.reproduce``) run the same
way, without the preloaded ``experiments.run``'s command-line flags, which a fresh
interpreter of theirs would not define. Their own steps (``experiments.steps`` starts each
as ``python -m experiments.run ...``) are forked by the same server, asked over a socket:
siblings of the entry point with its environment, working directory and output files at
the time, signalled and waited for by it as the processes ``subprocess.Popen`` would give.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENTRY = 'experiments.run'  # the command a child runs unless told another module

# Read when a run starts, not at import: a child may set them as it likes (ours: ADAM_JAX_*).
# JAX_PLATFORMS is read at import by jax's config; the child sets it through jax.config
# before any backend exists.
RUNTIME_ENV = ('XLA_FLAGS', 'JAX_PLATFORMS')
RUNTIME_PREFIXES = ('ADAM_JAX_', 'TF_CPP_', 'PYTEST_')

# The modules a training run imports, loaded before the children fork.
PRELOAD = """
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot
import orbax.checkpoint
from experiments import console, grid, plots, run
"""

_SERVER = r"""
import atexit, importlib.util, json, os, runpy, selectors, socket, subprocess, sys, tempfile
import threading, traceback

sys.path[0] = os.getcwd()  # as `python -m` puts it: absolute
reply = os.fdopen(os.dup(1), 'w', buffering=1)
os.dup2(2, 1)  # a stray print cannot reach the replies
exec(PRELOAD)
# This file, for what the server's children share with the test process's (Polled).
spec = importlib.util.spec_from_file_location('forkserver', FORKSERVER)
forkserver = importlib.util.module_from_spec(spec)
spec.loader.exec_module(forkserver)
assert threading.active_count() == 1, 'a preloaded module started a thread: fork is unsafe'
# Where an entry point's own `python -m experiments.run` children are asked for (below).
address = os.path.join(tempfile.mkdtemp(prefix='forkserver'), 'socket')
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(address)
listener.listen()
selector = selectors.DefaultSelector()
reply.write(json.dumps({'ready': os.getpid()}) + '\n')


def receive(connection):
  # One JSON line from a socket.
  data = b''
  while not data.endswith(b'\n'):
    chunk = connection.recv(1 << 16)
    if not chunk:
      raise EOFError('the fork server closed the connection')
    data += chunk
  return json.loads(data)


def ask(message):
  # One request to this server from a child of it (an entry point): its reply.
  with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
    connection.connect(address)
    connection.sendall((json.dumps(message) + '\n').encode())
    return receive(connection)


class Run(forkserver.Polled):
  # An entry point's `python -m experiments.run ARGS` child (experiments.steps), as much of
  # subprocess.Popen as it uses: a sibling forked by the server, not a fresh interpreter.

  def __init__(self, args, stdout, stderr):
    self.args, self.returncode = args, None
    request = {'op': 'start', 'argv': args[3:], 'env': dict(os.environ), 'cwd': os.getcwd()}
    self.pid = ask({**request, 'module': args[2], 'stdout': stdout, 'stderr': stderr})['pid']

  def poll(self):
    if self.returncode is None:
      self.returncode = ask({'op': 'poll', 'pid': self.pid})['returncode']
    return self.returncode

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.wait()


def child(request):
  listener.close()
  selector.close()
  null = os.open(os.devnull, os.O_RDONLY)
  os.dup2(null, 0)
  for fd, path in ((1, request['stdout']), (2, request['stderr'])):
    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND), fd)
  reply.close()
  os.chdir(request['cwd'])
  sys.path[0] = os.getcwd()
  os.environ.clear()
  os.environ.update(request['env'])
  import jax  # read at import, as the server started; no backend yet
  jax.config.update('jax_platforms', request['env'].get('JAX_PLATFORMS'))
  from absl import app
  try:
    if request['module'] == 'experiments.run':  # preloaded: its flags exist already
      sys.argv = [run.__file__, *request['argv']]
      app.run(run.main, flags_parser=run.parse_flags)
    else:  # as `python -m` runs it: without the preloaded entry point's flags, which a
      # fresh interpreter defines only if the module imports it (then again, here)
      from absl import flags
      for flag in flags.FLAGS.get_flags_for_module(run.__name__):
        delattr(flags.FLAGS, flag.name)
      del sys.modules[run.__name__], sys.modules['experiments'].run
      # Its own `python -m experiments.run` children (each step of a driver) are forked by
      # the server too, with the output files and, when they start, the environment and
      # working directory this process has then: as Popen would start them.
      popen = subprocess.Popen

      def forked_or_started(args, *rest, **options):
        if list(args[:3]) == [sys.executable, '-m', 'experiments.run'] and not rest and not options:
          return Run(list(args), request['stdout'], request['stderr'])
        return popen(args, *rest, **options)

      subprocess.Popen = forked_or_started
      sys.argv = [request['module'], *request['argv']]
      runpy.run_module(request['module'], run_name='__main__', alter_sys=True)
    code = 0
  except SystemExit as e:
    code = e.code if isinstance(e.code, int) else int(e.code is not None)
  except BaseException:
    traceback.print_exc()
    code = 1
  threading._shutdown()  # what the interpreter does at exit: its threads, then atexit
  atexit._run_exitfuncs()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)


def answer(request, connection=None):
  if request['op'] == 'start':
    pid = os.fork()
    if pid == 0:
      try:
        if connection is not None:
          connection.close()
        child(request)
      finally:
        os._exit(70)
    return {'pid': pid}
  pid, status = os.waitpid(request['pid'], os.WNOHANG)  # 'poll'
  return {'returncode': os.waitstatus_to_exitcode(status) if pid else None}


# Requests from the test process (stdin, one JSON line each, answered on `reply`) and from
# the entry points this server forked (the socket, one request per connection).
selector.register(0, selectors.EVENT_READ, 'stdin')
selector.register(listener, selectors.EVENT_READ, 'socket')
pending = b''
while True:
  for key, _ in selector.select():
    if key.data == 'socket':
      connection, _ = listener.accept()
      with connection:
        request = receive(connection)
        connection.sendall((json.dumps(answer(request, connection)) + '\n').encode())
      continue
    data = os.read(0, 1 << 16)
    if not data:  # the test process closed stdin: done
      listener.close()
      os.unlink(address)
      os.rmdir(os.path.dirname(address))
      sys.exit(0)
    pending += data
    while b'\n' in pending:
      line, pending = pending.split(b'\n', 1)
      reply.write(json.dumps(answer(json.loads(line))) + '\n')
"""


class Polled:
  """What ``subprocess.Popen`` adds to ``poll()``: ``wait``, ``send_signal``, ``kill``.

  For a forked child, whose subclass polls it through the server that forked it (the test
  process's :class:`Child`, and a driver's own steps in the server).
  """

  pid: int
  args: list[str]
  returncode: int | None

  def poll(self) -> int | None:
    raise NotImplementedError

  def wait(self, timeout: float | None = None) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    while self.poll() is None:
      if deadline is not None and time.monotonic() > deadline:
        raise subprocess.TimeoutExpired(self.args, timeout)
      time.sleep(0.02)
    return self.returncode

  def send_signal(self, sig: int) -> None:
    if self.poll() is None:
      os.kill(self.pid, sig)

  def kill(self) -> None:
    self.send_signal(9)


class Child(Polled):
  """A forked ``python -m MODULE``, as much of ``subprocess.Popen`` as tests use."""

  def __init__(self, server: Server, pid: int, args: list[str], stdout: str, stderr: str):
    self._server, self.pid, self.args = server, pid, args
    self.stdout_path, self.stderr_path = stdout, stderr
    self.returncode: int | None = None

  def poll(self) -> int | None:
    if self.returncode is None:
      self.returncode = self._server.request({'op': 'poll', 'pid': self.pid})['returncode']
      if self.returncode is not None:
        self._server.running.discard(self.pid)
    return self.returncode


class Server:
  """One interpreter that imported the entry point, forking a child per command."""

  def __init__(self, env: dict[str, str]):
    self.env = dict(env)
    self.running: set[int] = set()  # children not yet waited for
    self._lock = threading.Lock()
    self._proc = subprocess.Popen(
      [sys.executable, '-c', f'PRELOAD = {PRELOAD!r}\nFORKSERVER = {__file__!r}\n{_SERVER}'],
      cwd=ROOT,
      env=self.env,
      stdin=subprocess.PIPE,
      stdout=subprocess.PIPE,
      text=True,
    )
    self.pid = self._read()['ready']

  def _read(self) -> dict:
    line = self._proc.stdout.readline()
    if not line:
      raise RuntimeError(f'the fork server ended (exit {self._proc.wait()})')
    return json.loads(line)

  def request(self, message: dict) -> dict:
    with self._lock:
      self._proc.stdin.write(json.dumps(message) + '\n')
      self._proc.stdin.flush()
      return self._read()

  def start(self, argv, env, stdout: str, stderr: str, cwd=ROOT, module=ENTRY) -> Child:
    argv = [str(a) for a in argv]
    request = {'op': 'start', 'argv': argv, 'env': env, 'cwd': str(cwd), 'module': module}
    pid = self.request({**request, 'stdout': stdout, 'stderr': stderr})['pid']
    self.running.add(pid)
    return Child(self, pid, [sys.executable, '-m', module, *argv], stdout, stderr)

  def close(self) -> None:
    self._proc.stdin.close()
    self._proc.wait(timeout=30)


_servers: dict[frozenset, Server] = {}
MAX_SERVERS = 4


def _import_env(env: dict[str, str]) -> frozenset:
  """What of ``env`` an interpreter reads when it starts and imports the entry point."""
  return frozenset(
    (k, v) for k, v in env.items() if k not in RUNTIME_ENV and not k.startswith(RUNTIME_PREFIXES)
  )


def server(env: dict[str, str]) -> Server:
  """The server for commands with ``env`` (one per environment, started on first use)."""
  key = _import_env(env)
  if key not in _servers:
    idle = [k for k, s in _servers.items() if not s.running]
    if len(_servers) >= MAX_SERVERS and idle:  # the least recently used idle one goes
      _servers.pop(idle[0]).close()
    _servers[key] = Server(env)
  _servers[key] = _servers.pop(key)  # the most recently used last
  return _servers[key]


@atexit.register
def _close_all() -> None:
  while _servers:
    _servers.popitem()[1].close()


def popen(argv, env: dict[str, str], stdout: str, stderr: str, cwd=ROOT, module=ENTRY) -> Child:
  """``python -m MODULE *argv`` with ``env`` and ``cwd``; its output to the two files.

  ``module``: ``experiments.run`` or another entry point of the project (``experiments.
  reproduce``, ``experiments.benchmark``), run as ``python -m`` runs it. Signalled, polled
  and waited for as a ``subprocess.Popen``.
  """
  return server(env).start(argv, env, stdout, stderr, cwd, module)


def run(argv, env: dict[str, str], cwd=ROOT, timeout: float = 600, module=ENTRY):
  """``subprocess.run([python, -m, MODULE, *argv], capture_output=True, text=True)``."""
  with tempfile.TemporaryDirectory() as tmp:
    out, err = os.path.join(tmp, 'stdout'), os.path.join(tmp, 'stderr')
    proc = popen(argv, env, out, err, cwd, module)
    try:
      code = proc.wait(timeout=timeout)
    finally:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
    with open(out) as f_out, open(err) as f_err:
      stdout, stderr = f_out.read(), f_err.read()
  return subprocess.CompletedProcess(proc.args, code, stdout, stderr)
