"""The SSRF guard: which addresses matome may connect to, checked at connect time.

Every connection ``fetch.Fetcher`` makes — each redirect hop, every
robots.txt — goes through ``_GuardedBackend``, httpcore's network backend:
it resolves the host, refuses loopback, private, link-local, multicast,
unspecified, reserved and carrier-grade-NAT addresses (also inside
IPv4-mapped, 6to4 and NAT64 IPv6 addresses) unless an allow entry names them,
and connects to the very address it checked. So a name that resolves to a
public address for a check and to 127.0.0.1 a moment later (DNS rebinding)
cannot slip through. Each connection also gets a deadline, so a server
dripping one byte a second (never tripping the read timeout) is stopped.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from matome.errors import ConfigError, FetchError, Refused

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def non_public(ip: IP) -> str | None:
    """Why an address is not a public one ('loopback', 'private', …), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (why := non_public(embedded)):
            return why
        if ip.ipv4_mapped is not None:
            return None
    for why, bad in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                     ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                     ("carrier-grade NAT", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
                     ("private", ip.is_private), ("reserved", ip.is_reserved),
                     ("not globally routable", not ip.is_global)):
        if bad:
            return why
    return None


@dataclass(frozen=True)
class _Allow:
    net: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    name: str | None
    port: int | None


def _allow_entry(entry: str) -> _Allow:
    text = entry.strip().lower()
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    if port and not port.isdigit():
        raise ConfigError(f"fetch.allow_private: bad entry {entry!r} (expected host, host:port or CIDR)")
    try:
        return _Allow(ipaddress.ip_network(host, strict=False), None, int(port) if port else None)
    except ValueError:
        return _Allow(None, host, int(port) if port else None)



class AddressPolicy:
    """Resolves a host and refuses non-public addresses unless an allow entry names them.

    An address or network entry (``127.0.0.1``, ``10.0.0.0/8``, ``[::1]:8080``)
    allows URLs that *write* such an address; a name entry (``intranet``)
    allows that name. So allowing ``127.0.0.1:8000`` does not allow
    ``localhost:8000`` or ``127.0.0.1:8001``.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.allow = [_allow_entry(e) for e in entries if e.strip()]

    def _allowed(self, host: str, port: int, ip: IP) -> bool:
        try:
            literal: IP | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        for a in self.allow:
            if a.port is not None and a.port != port:
                continue
            if a.net is not None and literal is not None and ip in a.net:
                return True
            if a.name is not None and a.name == host.lower():
                return True
        return False

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; ``Refused`` if any of them is non-public and not allowed."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
        addrs: list[str] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            why = non_public(ip)
            if why and not self._allowed(host, port, ip):
                raise Refused(host, port, str(ip), why)
            if str(ip) not in addrs:
                addrs.append(str(ip))
        return addrs


class _Stream(httpcore.NetworkStream):
    """A connection with a deadline: no read waits past it (slow drip-feeds end there)."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float, total: float) -> None:
        self._inner, self._deadline, self._total = inner, deadline, total

    def _too_slow(self) -> FetchError:
        return FetchError(f"too slow: response not complete within {self._total:g} s")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise self._too_slow()
        try:
            return self._inner.read(max_bytes, left if timeout is None else min(timeout, left))
        except httpcore.ReadTimeout:
            if time.monotonic() >= self._deadline:
                raise self._too_slow() from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout),
                       self._deadline, self._total)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check and connect in one place: the checked address is the one connected to."""

    def __init__(self, policy: AddressPolicy, total: float) -> None:
        self._policy, self._total = policy, total
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        deadline = time.monotonic() + self._total
        failure: Exception | None = None
        for addr in self._policy.resolve(host, port):
            try:
                stream = self._inner.connect_tcp(addr, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _Stream(stream, deadline, self._total)
        raise failure or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise FetchError("refused: unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def guarded_transport(policy: AddressPolicy, total: float) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no parameter for the network backend; swap in a pool that uses the guarded one.
    # No keep-alive: a response with a wrong Content-Length leaves junk on its connection, and
    # with a delay between requests to a host a kept connection saves little.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), max_keepalive_connections=0,
        network_backend=_GuardedBackend(policy, total))
    return transport
