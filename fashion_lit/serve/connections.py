"""Connections that strangers cannot hold: a deadline for request headers, and a cap.

uvicorn closes idle kept-alive connections, but not one whose request headers never end,
and such connections count against none of its limits (``limit_concurrency`` counts
requests, which begin once their headers are complete). A few hundred slow clients then
take every file descriptor of a server, and no one else is served. uvicorn has no option
for either, and what would do it (the timers and state of its protocol objects) is private
to it; but it takes its HTTP protocol as a class (``uvicorn.Config(http=...)``), so each
connection here is uvicorn's own protocol wrapped by :class:`GuardedConnection`, which
keeps two rules and passes every event on through the public ``asyncio.Protocol``
interface, touching nothing inside it:

- a request's headers must be complete ``header_timeout`` seconds after the connection
  opens, or after the first byte of a later request on a kept-alive connection; else the
  connection gets a 408 and is closed;
- a process holds at most ``max_connections``: at the cap, a new connection closes the
  oldest one still waiting for its headers (with a 503), or, if none is, is itself
  answered 503 and closed. A client that is served is never cut off for a stranger.

Where a request's headers end is found by a second httptools parser (uvicorn[standard]'s
own parser library) fed the same bytes, which costs microseconds a request. hypercorn and
granian, which have such timeouts, would have meant dropping the one-socket-per-process
design that ``benchmarks/serve.py`` measured as the fastest here.
"""

import asyncio
import json
from http import HTTPStatus
from typing import Any, cast

import httptools
from uvicorn.protocols.http.auto import AutoHTTPProtocol

#: File descriptors a server process keeps for itself, beyond its connections.
RESERVED_DESCRIPTORS = 64
#: The most connections a process holds by default, whatever its descriptor limit.
MAX_CONNECTIONS = 1000


def default_max_connections(descriptor_limit: int) -> int:
    """``--max_connections`` by default: 1000, or fewer when the process may not open
    that many files (``ulimit -n``), keeping :data:`RESERVED_DESCRIPTORS` for itself."""
    return max(1, min(MAX_CONNECTIONS, descriptor_limit - RESERVED_DESCRIPTORS))


def closing_answer(status: HTTPStatus, message: str) -> bytes:
    """A whole HTTP response, ``{"error": message}``, that closes the connection."""
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class Connections:
    """The connections of one server process, and those still waiting for their headers.

    Args:
        max_connections: the most connections held at once.
        header_timeout: the seconds a request has to send its headers.
    """

    def __init__(self, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.open: set[GuardedConnection] = set()
        # Insertion-ordered: the first is the one that has waited longest.
        self.waiting: dict[GuardedConnection, None] = {}
        self.timeouts = 0
        self.evictions = 0
        self.refusals = 0

    def admit(self, connection: "GuardedConnection") -> bool:
        """Make room for ``connection`` if need be; False if there is none to make."""
        if len(self.open) >= self.max_connections:
            if not self.waiting:
                self.refusals += 1
                return False
            self.evictions += 1
            oldest = next(iter(self.waiting))
            oldest.close_with(HTTPStatus.SERVICE_UNAVAILABLE, self.eviction_message)
        self.open.add(connection)
        return True

    def forget(self, connection: "GuardedConnection") -> None:
        self.open.discard(connection)
        self.waiting.pop(connection, None)

    def stats(self) -> dict[str, int]:
        """For ``/info``: the connections now, and those closed by the two rules."""
        return {
            "open": len(self.open),
            "waiting_for_headers": len(self.waiting),
            "header_timeouts": self.timeouts,
            "evicted": self.evictions,
            "refused": self.refusals,
        }

    @property
    def timeout_message(self) -> str:
        return (
            f"The request headers did not arrive within {self.header_timeout:g} s (the "
            "server's --header_timeout); the connection is closed."
        )

    @property
    def eviction_message(self) -> str:
        return (
            f"The server holds its most connections (--max_connections {self.max_connections}) "
            "and closed this one, which had not sent its request headers."
        )

    @property
    def refusal_message(self) -> str:
        return (
            f"The server holds its most connections (--max_connections {self.max_connections}), "
            "all in use: try again in a moment."
        )


class GuardedConnection(asyncio.Protocol):
    """uvicorn's HTTP protocol for one connection, under the rules of :class:`Connections`.

    uvicorn creates it with the keyword arguments of its own protocols, all passed on.
    """

    connections: Connections  # set on the class by :func:`guarded`

    def __init__(self, **uvicorn_arguments: Any) -> None:
        self.inner = AutoHTTPProtocol(**uvicorn_arguments)
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.admitted = False

    # asyncio.Protocol: each event is seen here, then handed to uvicorn's protocol.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if not self.connections.admit(self):
            self.close_with(HTTPStatus.SERVICE_UNAVAILABLE, self.connections.refusal_message)
            return
        self.admitted = True
        self.on_message_begin()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.parser is not None:
            try:
                self.parser.feed_data(data)
            except (httptools.HttpParserError, httptools.HttpParserUpgrade):
                self.stop_watching()  # uvicorn's protocol answers this request itself
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_watching()
        self.connections.forget(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    # httptools' callbacks, from this connection's own parser.

    def on_message_begin(self) -> None:
        """A request begins (or may, on a new connection): its headers are awaited."""
        if self.deadline is None:
            loop = asyncio.get_running_loop()
            self.deadline = loop.call_later(self.connections.header_timeout, self.time_out)
        self.connections.waiting[self] = None

    def on_headers_complete(self) -> None:
        self.end_wait()

    # The rules.

    def time_out(self) -> None:
        self.connections.timeouts += 1
        self.close_with(HTTPStatus.REQUEST_TIMEOUT, self.connections.timeout_message)

    def close_with(self, status: HTTPStatus, message: str) -> None:
        """Answer ``status`` and close at once: no request of this connection is under way
        (its headers are awaited), and a client that reads nothing cannot delay it."""
        self.stop_watching()
        self.connections.forget(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(closing_answer(status, message))
            self.transport.abort()

    def end_wait(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.connections.waiting.pop(self, None)

    def stop_watching(self) -> None:
        self.end_wait()
        self.parser = None


def guarded(connections: Connections) -> type[GuardedConnection]:
    """The protocol class to give uvicorn (``Config(http=...)``) for one server process."""
    return type("GuardedConnection", (GuardedConnection,), {"connections": connections})
