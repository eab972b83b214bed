"""The one media fetcher: media URLs fetched for providers that need bytes, guarded against SSRF.

`check_url(url)` is what every media URL passes before llmrelay forwards it to an API that
fetches it itself: the scheme is `http` or `https`, and a host written as an address (in any
spelling) or a known internal name (`localhost`, `metadata.google.internal`, …) must be public.

`fetch(url)` is what llmrelay does when it fetches a URL itself:

* the host is resolved once, and every address it resolves to is checked (with `ipaddress`, so
  `2130706433`, `0x7f.1`, `127.1`, `[::ffff:127.0.0.1]` or `[::127.0.0.1]` cannot slip
  through): loopback, private, link-local, cloud metadata (`169.254.169.254`, `fd00:ec2::254`),
  carrier-grade NAT, multicast, unspecified, reserved, and IPv4 addresses embedded in IPv6
  (mapped, compatible, 6to4, Teredo, NAT64) are refused;
* the connection is made to the checked addresses only (the transport is given them, and
  resolves nothing itself), so a second DNS answer cannot point it elsewhere;
* redirects are followed by hand, at most `MAX_REDIRECTS`, each hop checked the same way;
* the body is capped at `MAX_FETCH_BYTES` after decompression (the transport decompresses
  gzip and deflate in pieces of at most 64 KiB, and refuses other encodings), and the whole
  fetch at `FETCH_TIMEOUT` seconds.

Private addresses (loopback, private, link-local, CGNAT; never metadata, multicast or
unspecified) are allowed for local deployments with `allow_private=True` or the operator switch
`LLMRELAY_ALLOW_PRIVATE_MEDIA=1`. Every refusal is an `InvalidRequestError`: the caller's media
is what is wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import InvalidRequestError
from .connection import ConnectionClosed, TransportTimeout
from .exchange import Response, exchange
from .http import USER_AGENT, Timeouts
from .wire import ProtocolError

__all__ = [
    "ALLOW_PRIVATE_ENV",
    "FETCH_TIMEOUT",
    "MAX_FETCH_BYTES",
    "MAX_REDIRECTS",
    "address_refusal",
    "check_url",
    "fetch",
    "private_allowed",
]

ALLOW_PRIVATE_ENV = "LLMRELAY_ALLOW_PRIVATE_MEDIA"
MAX_FETCH_BYTES = 20 << 20
FETCH_TIMEOUT = 30.0
MAX_REDIRECTS = 3
_SCHEMES = ("http", "https")
_METADATA = frozenset(map(ipaddress.ip_address, ("169.254.169.254", "fd00:ec2::254")))
_INTERNAL_NAMES = ("localhost", "metadata.google.internal", "metadata.goog", "instance-data")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_allowed(allow_private: bool | None = None) -> bool:
    """`allow_private` if given, else the operator switch `LLMRELAY_ALLOW_PRIVATE_MEDIA=1`."""
    if allow_private is not None:
        return allow_private
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def _embedded(ip: ipaddress.IPv6Address) -> Iterable[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, compatible, NAT64)."""
    if ip.ipv4_mapped is not None:
        yield ip.ipv4_mapped
    if ip.sixtofour is not None:
        yield ip.sixtofour
    if ip.teredo is not None:
        yield from ip.teredo
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:  # ::a.b.c.d (IPv4-compatible, deprecated)
        yield ipaddress.IPv4Address(packed[12:])
    if ip in _NAT64:
        yield ipaddress.IPv4Address(packed[12:])


def address_refusal(ip: Address, allow_private: bool | None = None) -> str | None:
    """Why `ip` may not be fetched from, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        for inner in _embedded(ip):
            reason = address_refusal(inner, allow_private)
            if reason:
                return f"{reason} (inside {ip})"
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_global:
        return None
    if private_allowed(allow_private) and (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip in _CGNAT
    ):
        return None
    return "a loopback, private, link-local or reserved address"


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _literal(host: str) -> Address | None:
    """`host` as an address if it is one in any spelling inet_aton takes (`2130706433`,
    `0x7f.1`, `127.1`, `017700000001`) or IPv6."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _split(url: Any) -> tuple[str, str, int]:
    if not isinstance(url, str):
        raise InvalidRequestError(f"a media URL must be a string, not {type(url).__name__}")
    shown = url.split("?", 1)[0][:100]
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidRequestError(
            f"media URL {shown!r}: only http, https and data: URLs are accepted"
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise InvalidRequestError(f"media URL {shown!r} has a bad port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidRequestError(f"media URL {shown!r} has no host")
    return scheme, host, port


def _check_host(host: str, allow_private: bool | None) -> None:
    lowered = host.lower()
    named = any(lowered == name or lowered.endswith("." + name) for name in _INTERNAL_NAMES)
    if named and not (private_allowed(allow_private) and "metadata" not in lowered):
        raise InvalidRequestError(f"media URL host {host!r} is an internal name")
    ip = _literal(host)
    if ip is not None and (reason := address_refusal(ip, allow_private)):
        raise InvalidRequestError(f"media URL host {host!r} is {reason}")


def check_url(url: Any, *, allow_private: bool | None = None) -> None:
    """Refuse (`InvalidRequestError`) a media URL that may not be forwarded: not http(s), or a
    host that is an internal name or a non-public address however it is spelled."""
    _, host, _ = _split(url)
    _check_host(host, allow_private)


async def _resolve(host: str, port: int, allow_private: bool | None) -> list[str]:
    """`host`'s addresses, every one checked."""
    _check_host(host, allow_private)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidRequestError(f"media URL host {host!r} does not resolve: {exc}") from None
    resolved = []
    for _, _, _, _, sockaddr in infos:
        address = str(sockaddr[0])
        reason = address_refusal(ipaddress.ip_address(address.split("%", 1)[0]), allow_private)
        if reason:
            raise InvalidRequestError(f"media URL host {host!r} resolves to {reason}")
        if address not in resolved:
            resolved.append(address)
    if not resolved:
        raise InvalidRequestError(f"media URL host {host!r} has no address")
    return resolved


async def _read(response: Response, limit: int, shown: str) -> bytes:
    """The body (decompressed by the transport, in bounded pieces), refused past `limit`."""
    too_large = InvalidRequestError(f"media URL {shown!r} is larger than {limit} bytes")
    if "content-encoding" not in response.headers and (response.content_length or 0) > limit:
        raise too_large
    out = bytearray()
    async for piece in response.content.iter_any():
        out += piece
        if len(out) > limit:
            raise too_large
    return bytes(out)


async def fetch(
    url: str,
    *,
    allow_private: bool | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
) -> tuple[bytes, str | None]:
    """The body and Content-Type of `url`, fetched with every guard of the module docstring."""
    limit = max_bytes or MAX_FETCH_BYTES
    seconds = timeout or FETCH_TIMEOUT
    timeouts = Timeouts(connect=seconds, idle=seconds, total=seconds)
    deadline = asyncio.get_running_loop().time() + seconds
    checked: dict[tuple[str, int], list[str]] = {}
    for _ in range(MAX_REDIRECTS + 1):
        _, host, port = _split(url)
        shown = url.split("?", 1)[0][:100]
        if (host, port) not in checked:
            checked[(host, port)] = await _resolve(host, port, allow_private)
        try:
            response = await exchange(
                "GET", url, {"User-Agent": USER_AGENT}, None, timeouts, deadline,
                addresses=checked[(host, port)],
            )  # fmt: skip
            try:
                location = response.headers.get("Location")
                if response.status in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                if response.status >= 400:
                    raise InvalidRequestError(
                        f"media URL {shown!r} answered HTTP {response.status}"
                    )
                return await _read(response, limit, shown), response.content_type
            finally:
                response.close()
        except (TransportTimeout, TimeoutError):
            raise InvalidRequestError(
                f"media URL {shown!r} did not answer within {seconds} s"
            ) from None
        except (ProtocolError, ConnectionClosed, OSError) as exc:
            raise InvalidRequestError(f"media URL {shown!r} failed: {exc}") from None
    raise InvalidRequestError(f"media URL {shown!r}: more than {MAX_REDIRECTS} redirects")
