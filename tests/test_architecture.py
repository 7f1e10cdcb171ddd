"""The shape of the code: no import cycles, short files in experiments/, a pure library.

Imports are read with `ast` from every .py file of the three packages, including the
imports inside functions (those run later, but a cycle through them is still a cycle of
the design) and `importlib.import_module('literal')`; only the imports under
`if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ('adam_jax', 'experiments', 'configs')
MAX_LINES = 300


def module_name(path: Path) -> str:
  parts = list(path.relative_to(ROOT).with_suffix('').parts)
  if parts[-1] == '__init__':
    parts.pop()
  return '.'.join(parts)


def project_files() -> dict[str, Path]:
  """Module name -> file, for every .py file of the project's packages."""
  files = {}
  for package in PACKAGES:
    for path in sorted((ROOT / package).rglob('*.py')):
      if '__pycache__' not in path.parts:
        files[module_name(path)] = path
  return files


MODULES = project_files()


def _is_type_checking(node: ast.If) -> bool:
  test = node.test
  return (isinstance(test, ast.Name) and test.id == 'TYPE_CHECKING') or (
    isinstance(test, ast.Attribute) and test.attr == 'TYPE_CHECKING'
  )


def _nodes(tree: ast.AST):
  """Every node of ``tree`` except those under `if TYPE_CHECKING:`."""
  todo = [tree]
  while todo:
    node = todo.pop()
    yield node
    if isinstance(node, ast.If) and _is_type_checking(node):
      todo.extend(node.orelse)
      continue
    todo.extend(ast.iter_child_nodes(node))


def _project_module(name: str, modules) -> str | None:
  """``name`` or its longest prefix that is a project module (None: not the project's)."""
  parts = name.split('.')
  while parts:
    candidate = '.'.join(parts)
    if candidate in modules:
      return candidate
    parts.pop()
  return None


def imports_of(source: str, module: str, is_package: bool, modules=MODULES) -> set[str]:
  """The project modules that the code of ``module`` imports.

  `from P import X` imports module P.X when there is such a file, else the package P.
  """
  found = set()
  package = module if is_package else module.rpartition('.')[0]
  for node in _nodes(ast.parse(source)):
    if isinstance(node, ast.Import):
      targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      if node.level:  # relative: from . import x, from ..common import y
        base = package.split('.')
        base = base[: len(base) - (node.level - 1)]
        origin = '.'.join(base + ([node.module] if node.module else []))
      else:
        origin = node.module
      targets = [
        f'{origin}.{alias.name}' if f'{origin}.{alias.name}' in modules else origin
        for alias in node.names
      ]
    elif (
      isinstance(node, ast.Call)
      and isinstance(node.func, ast.Attribute | ast.Name)
      and getattr(node.func, 'attr', getattr(node.func, 'id', None)) == 'import_module'
      and node.args
      and isinstance(node.args[0], ast.Constant)
      and isinstance(node.args[0].value, str)
    ):
      targets = [node.args[0].value]
    else:
      continue
    for target in targets:
      resolved = _project_module(target, modules)
      if resolved is not None and resolved != module:
        found.add(resolved)
  return found


def import_graph() -> dict[str, set[str]]:
  return {
    name: imports_of(path.read_text(), name, path.name == '__init__.py')
    for name, path in MODULES.items()
  }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
  """A cycle of ``graph`` as [a, b, ..., a], or None (iterative depth-first search)."""
  state = {}  # absent: unseen; 1: on the current path; 2: done
  for start in sorted(graph):
    if start in state:
      continue
    path = [start]
    stack = [iter(sorted(graph[start]))]
    state[start] = 1
    while stack:
      nxt = next(stack[-1], None)
      if nxt is None:
        state[path.pop()] = 2
        stack.pop()
      elif state.get(nxt) == 1:
        return path[path.index(nxt) :] + [nxt]
      elif nxt not in state:
        state[nxt] = 1
        path.append(nxt)
        stack.append(iter(sorted(graph.get(nxt, ()))))
  return None


def test_the_import_reader():
  """`from P import X` resolves to the module P.X when it exists, else to P."""
  modules = {'pkg', 'pkg.a', 'pkg.b', 'pkg.sub', 'pkg.sub.c', 'other'}
  source = '\n'.join(
    [
      'import os',
      'import pkg.a',
      'from pkg import b, CONSTANT',
      'from . import c',
      'from .. import a',
      'from ..b import thing',
      'def f():',
      '  import other',
      '  importlib.import_module("pkg.sub")',
      'if TYPE_CHECKING:',
      '  import pkg.nothing_at_run_time',
    ]
  )
  assert imports_of(source, 'pkg.sub.c', False, modules) == {
    'pkg.a',
    'pkg.b',
    'pkg',
    'other',
    'pkg.sub',
  }
  assert imports_of('from . import c\nfrom .c import x', 'pkg.sub', True, modules) == {'pkg.sub.c'}
  assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == ['a', 'b', 'c', 'a']
  assert find_cycle({'a': {'b'}, 'b': set(), 'c': {'a', 'b'}}) is None


def test_the_graph_covers_the_project():
  graph = import_graph()
  assert {'adam_jax', 'experiments.run', 'experiments.validate', 'configs.common'} <= set(graph)
  assert 'configs.common' in graph['experiments.validate']  # a top-level import
  assert any(m.startswith('experiments.') for m in graph['experiments.run'])  # in main()


def test_no_import_cycles():
  graph = import_graph()
  cycle = find_cycle(graph)
  assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


@pytest.mark.parametrize('package', ['experiments'])
def test_no_long_files(package):
  too_long = {
    str(path.relative_to(ROOT)): n
    for path in sorted((ROOT / package).rglob('*.py'))
    if (n := len(path.read_text().splitlines())) > MAX_LINES
  }
  assert not too_long, f'files over {MAX_LINES} lines: {too_long}'


def test_the_library_imports_neither_experiments_nor_configs():
  graph = import_graph()
  impure = {
    module: sorted(m for m in imported if not m.startswith('adam_jax'))
    for module, imported in graph.items()
    if module.split('.')[0] == 'adam_jax'
  }
  impure = {module: imported for module, imported in impure.items() if imported}
  assert not impure, f'adam_jax imports the experiments layer: {impure}'
