"""Serving an office network: the addresses a service bound to every interface (``--host 0.0.0.0``) is reached at.

The websockets admit an ``Origin`` only from the allowlist (API.md): by default the service's own addresses. Bound to
``127.0.0.1`` that is the loopback; bound to ``0.0.0.0`` (or ``::``) a board on the hall's screen opens
``http://<this machine's LAN address>:8080/board/main``, so that origin is the service's own too: every address and
name this machine knows for itself is allowed. A name the machine does not know (a DNS name given by the office's
router, a reverse proxy, a container's host) is added with ``--allow-origin``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable

WILDCARDS = ("0.0.0.0", "::", "")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _outward_address() -> str | None:
    """The address of the interface that routes off this machine; connecting a UDP socket sends nothing."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): only the routing table is consulted
        return str(s.getsockname()[0])
    return None


def machine_addresses() -> list[str]:
    """This machine's names and addresses, the loopback ones first."""
    names = {socket.gethostname(), socket.getfqdn()}
    found = set(names)
    for name in names:
        with contextlib.suppress(OSError):
            found.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
    outward = _outward_address()
    if outward is not None:
        found.add(outward)
    found.discard("")
    return sorted(found, key=lambda a: (a not in LOOPBACK, ":" in a, a))


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def origins(host: str, port: int, extra: Iterable[str] = ()) -> set[str]:
    """The origins whose pages may open the websockets: the service's own addresses (all of this machine's when
    bound to every interface) and ``extra`` (``--allow-origin``)."""
    hosts = {host, *LOOPBACK}
    if host in WILDCARDS:
        hosts.update(machine_addresses())
    hosts -= set(WILDCARDS)
    return {f"http://{_url_host(h)}:{port}" for h in hosts} | set(extra)


def shown_host(host: str) -> str:
    """The address to print for the pages: a wildcard is not one a screen can open, the LAN address is."""
    if host not in WILDCARDS:
        return host
    lan = [a for a in machine_addresses() if a not in LOOPBACK and not a.startswith("127.")]
    numeric = [a for a in lan if a.replace(".", "").isdigit()]
    return _url_host((numeric or lan or ["127.0.0.1"])[0])
