"""The HTTP clients pages are fetched with: shared, and (for a shared service) pinned to checked addresses.

One client per process (one per event loop for asyncio) keeps a connection pool and, above all, one
SSL context: building a context loads the CA bundle, 0.15-0.28 s of CPU per client.

A guarded client (``allow_private=False``) resolves each host once, inside the connection itself,
checks every address it got (``address_guard.inward_reason``) and connects to exactly those checked
addresses: there is no second lookup for a rebinding DNS server to answer differently. The URL's
host name still goes into the Host header and into TLS (SNI and certificate verification), because
only the TCP connection is pinned. Redirects are followed hop by hop by the caller, so every hop
opens its connection through the same check. Environment proxies are ignored by a guarded client:
through a proxy, the address checked would be the proxy's, not the page's.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import typing
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

import anyio
import httpcore
import httpx

from summarizer.errors import InputError
from summarizer.inputs.address_guard import (
    WEB_PORTS,
    Resolver,
    inward_reason,
    literal_address,
    system_resolver,
)


class BlockedAddress(InputError):
    """A connection the guard refused: ``host`` is (or resolves to) ``reason``."""

    def __init__(self, host: str, reason: str, *, message: str | None = None) -> None:
        super().__init__(message or f"{host} is {reason}")
        self.host = host
        self.reason = reason


class Guard:
    """The check a guarded connection makes: a web port, and only public addresses."""

    def __init__(self, resolver: Resolver | None = None, ports: frozenset[int] = WEB_PORTS) -> None:
        self.resolver = resolver or system_resolver
        self.ports = ports

    def check_port(self, host: str, port: int) -> None:
        if port not in self.ports:
            allowed = ", ".join(map(str, sorted(self.ports)))
            reason = f"port {port}, not a web port (this service only uses ports {allowed})"
            raise BlockedAddress(host, reason, message=f"{host}: {reason}")

    def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to for ``host``; raises ``BlockedAddress`` if any is inward."""
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = list(self.resolver(host, port))
            except OSError:
                raise httpcore.ConnectError(f"cannot resolve {host}") from None
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        for address in addresses:
            reason = inward_reason(address)
            if reason is not None:
                raise BlockedAddress(host, reason)
        self.check_port(host, port)
        return addresses


SocketOptions = typing.Iterable[typing.Any] | None


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.NetworkStream:
        return _first_connection(
            self.guard.addresses(host, port),
            lambda address: self._inner.connect_tcp(address, port, timeout, local_address, socket_options),
        )

    def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.NetworkStream:
        raise BlockedAddress("a Unix socket", "not a network address")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        # Name resolution blocks: run it (and the check) in a worker thread.
        addresses = await anyio.to_thread.run_sync(self.guard.addresses, host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("a Unix socket", "not a network address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _first_connection(
    addresses: Sequence[str], connect: typing.Callable[[str], httpcore.NetworkStream]
) -> httpcore.NetworkStream:
    last: Exception | None = None
    for address in addresses:  # every one of them was checked
        try:
            return connect(address)
        except httpcore.ConnectError as exc:
            last = exc
    assert last is not None
    raise last


_POOL = {"max_connections": 100, "max_keepalive_connections": 20, "keepalive_expiry": 5.0}


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, guard: Guard, context: ssl.SSLContext) -> None:
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=_GuardedBackend(guard), **_POOL
        )


class _AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: Guard, context: ssl.SSLContext) -> None:
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, network_backend=_AsyncGuardedBackend(guard), **_POOL
        )


# --------------------------------------------------------------------------- the shared clients

_lock = threading.Lock()
_context_lock = threading.Lock()  # taken inside _lock: a lock of its own
_context: ssl.SSLContext | None = None
ClientKey = tuple[bool, frozenset[int]]  # (guarded, allowed ports)
_sync: dict[ClientKey, httpx.Client] = {}
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ClientKey, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def ssl_context() -> ssl.SSLContext:
    """The process's one SSL context (verification on, the system's CA bundle as httpx finds it)."""
    global _context
    with _context_lock:
        if _context is None:
            _context = httpx.create_ssl_context()
        return _context


def _new_client(guard: Guard | None) -> httpx.Client:
    if guard is None:
        return httpx.Client(verify=ssl_context(), follow_redirects=False)
    return httpx.Client(
        transport=_GuardedTransport(guard, ssl_context()), follow_redirects=False, trust_env=False
    )


def _new_async_client(guard: Guard | None) -> httpx.AsyncClient:
    if guard is None:
        return httpx.AsyncClient(verify=ssl_context(), follow_redirects=False)
    return httpx.AsyncClient(
        transport=_AsyncGuardedTransport(guard, ssl_context()), follow_redirects=False, trust_env=False
    )


@contextmanager
def sync_client(
    guard: Guard | None, *, transport: httpx.BaseTransport | None = None
) -> Iterator[httpx.Client]:
    """The shared client for this kind of fetch; a dedicated one (closed after) for a custom transport
    or resolver. ``guard`` None: no address checks (a user fetching for themselves)."""
    if transport is not None:
        with httpx.Client(transport=transport, follow_redirects=False) as client:
            yield client
        return
    if guard is not None and guard.resolver is not system_resolver:
        with _new_client(guard) as client:
            yield client
        return
    key = (guard is not None, guard.ports if guard else frozenset())
    with _lock:
        client = _sync.get(key)
        if client is None:
            client = _sync[key] = _new_client(Guard(ports=key[1]) if key[0] else None)
    yield client


@asynccontextmanager
async def async_client(
    guard: Guard | None, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """``sync_client`` for asyncio: shared per event loop (a pool belongs to the loop it runs on)."""
    if transport is not None:
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            yield client
        return
    if guard is not None and guard.resolver is not system_resolver:
        async with _new_async_client(guard) as client:
            yield client
        return
    key = (guard is not None, guard.ports if guard else frozenset())
    loop = asyncio.get_running_loop()
    with _lock:
        clients = _async.setdefault(loop, {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = _new_async_client(Guard(ports=key[1]) if key[0] else None)
    yield client
