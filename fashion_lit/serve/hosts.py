"""The names under which the service answers: a guard against DNS rebinding.

A web page from any site can make its visitors' browsers send requests to a server on
their machine or network: its own name, given a short-lived DNS answer, comes to point at
that server's address, and the browser, which sees one site, lets the page read the
answers. Such requests carry the page's name in their ``Host`` header, so a server that
answers only the names it is meant to be reached by refuses them (as Django's
``ALLOWED_HOSTS`` does). Which names those are follows from ``--host``:

- a loopback address (the default, 127.0.0.1): ``127.0.0.1``, ``localhost`` and ``[::1]``;
- a specific address or name: that one;
- every interface (``0.0.0.0``, ``::``): any IP address, ``localhost`` and this machine's
  hostname;

and always the names of ``--allowed_hosts`` (``*``: any name), with any port.
"""

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
ANY = "*"


@dataclass(frozen=True)
class AllowedHosts:
    """The ``Host`` names a server answers (lower case, IPv6 addresses without brackets)."""

    names: frozenset[str]
    any_address: bool = False  # any IP address, for a server listening on every interface
    any_name: bool = False  # ``--allowed_hosts '["*"]'``

    def allows(self, host_header: str | None) -> bool:
        if self.any_name:
            return True
        name = host_name(host_header or "")
        if name is None:
            return False
        return name in self.names or (self.any_address and is_address(name))

    def describe(self) -> str:
        names = sorted(f"[{name}]" if ":" in name else name for name in self.names)
        return ", ".join(names + (["any IP address"] if self.any_address else []))


def allowed_hosts(host: str, given: Sequence[str] = ()) -> AllowedHosts:
    """The names a server listening on ``host`` answers, with the ``given`` ones."""
    address = ip_address(host)
    names = {str(address) if address is not None else host.lower()}
    everywhere = address is not None and address.is_unspecified
    if names == {"localhost"} or everywhere or (address is not None and address.is_loopback):
        names.update(LOOPBACK_NAMES)
    if everywhere:
        names.add(socket.gethostname().lower())
    extra = {name.strip().lower().strip("[]") for name in given}
    return AllowedHosts(frozenset(names | (extra - {ANY})), everywhere, ANY in extra)


def host_name(header: str) -> str | None:
    """The name of a ``Host`` header, without its port, lower case; None if malformed."""
    header = header.strip().lower()
    if header.startswith("["):  # [IPv6]:port
        name, bracket, port = header[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
        return name
    if header.count(":") > 1:  # an IPv6 address without brackets: no port can follow
        return header if is_address(header) else None
    name, colon, port = header.partition(":")
    if not name or (colon and not port.isdigit()):
        return None
    return name.removesuffix(".")  # "localhost." is localhost


def ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def is_address(name: str) -> bool:
    return ip_address(name) is not None


class HostCheck:
    """ASGI middleware: a request whose ``Host`` is not allowed gets a 400 in JSON."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = self.host(scope)
            if not self.allowed.allows(host):
                await JSONResponse({"error": self.refusal(host)}, 400)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def host(scope: Scope) -> str | None:
        for key, value in scope["headers"]:
            if key == b"host":
                return value.decode("latin-1")
        return None

    def refusal(self, host: str | None) -> str:
        given = "No Host header" if host is None else f"Host {host!r}"
        return (
            f"{given}: this server answers {self.allowed.describe()}. Use one of these in the "
            "URL, or start the server with --allowed_hosts naming the one you use."
        )
