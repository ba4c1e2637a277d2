"""Is the network there? One quick probe before anything downloads.

TFDS retries a failed download for minutes before it gives up, so tfnvp asks first: a TCP
connection to `PROBE_ADDRESS` (or to the HTTPS proxy, when one is set), name lookup included,
bounded by `timeout` seconds in all.
"""
import socket
import threading
import urllib.parse
import urllib.request

__all__ = ["PROBE_ADDRESS", "is_online"]

# TFDS's own storage: a host a connected machine reaches whenever TFDS can download at all
PROBE_ADDRESS = ("storage.googleapis.com", 443)
PROBE_TIMEOUT = 3.0  # seconds


def is_online(timeout=PROBE_TIMEOUT):
    """True when a connection to `PROBE_ADDRESS` (or the HTTPS proxy) opens within `timeout`."""
    address = _proxy_address() or PROBE_ADDRESS
    opened = []

    def connect():  # in a thread: name lookup has no timeout of its own
        try:
            with socket.create_connection(address, timeout=timeout):
                opened.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(opened)


def _proxy_address():
    """(host, port) of the HTTPS proxy from the environment (`https_proxy`), or None."""
    proxy = urllib.request.getproxies().get("https")
    if not proxy:
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return (parts.hostname, parts.port or 80) if parts.hostname else None
