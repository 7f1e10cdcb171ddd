"""A bounded probe of a download host: offline machines fail in seconds, not minutes."""

from __future__ import annotations

import socket
import threading
import urllib.parse
import urllib.request


def probe_address(url: str) -> tuple[str, int]:
  """The host and port a download of ``url`` connects to first (its proxy, if one is set)."""
  parsed = urllib.parse.urlsplit(url)
  host = parsed.hostname or ''
  port = parsed.port or (443 if parsed.scheme == 'https' else 80)
  proxy = urllib.request.getproxies().get(parsed.scheme)
  if proxy and not urllib.request.proxy_bypass(host):
    proxy_url = urllib.parse.urlsplit(proxy if '://' in proxy else f'http://{proxy}')
    if proxy_url.hostname:
      return proxy_url.hostname, proxy_url.port or (443 if proxy_url.scheme == 'https' else 80)
  return host, port


def host_reachable(host: str, port: int, timeout: float) -> bool:
  """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds.

  The probe runs in a daemon thread so that a hanging DNS lookup (which ignores socket
  timeouts) cannot hold the caller longer than ``timeout``.
  """
  result: list[bool] = []

  def probe() -> None:
    try:
      with socket.create_connection((host, port), timeout=timeout):
        result.append(True)
    except OSError:
      result.append(False)

  thread = threading.Thread(target=probe, daemon=True)
  thread.start()
  thread.join(timeout)
  return bool(result and result[0])
