"""Where a webhook may point: public http(s) addresses only, checked where it resolves.

A URL is checked when it is saved (for a clear 422) and again at every attempt, on the
addresses its host resolves to then; the attempt connects to the address that was checked
(not to the name again), so a name that re-resolves to an inside address (DNS rebinding)
reaches nothing. `webhook_allow_private_targets` lifts the address check (local receivers
in tests and development).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to; replaceable in tests.
Resolver = Callable[[str, int], Awaitable[list[str]]]

SCHEMES: Final = frozenset({"http", "https"})
MAX_ADDRESSES: Final = 16


class TargetRefused(ValueError):
    """The URL, or an address it resolves to, is not a place Haven sends webhooks."""


class UnresolvableHost(OSError):
    """The host did not resolve (a passing DNS failure, or a name that does not exist)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: what to connect to, and what to tell the server it is."""

    url: SplitResult
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def check_url(url: str) -> SplitResult:
    """The URL's parts if its form is acceptable: http(s), a host, no credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in SCHEMES:
        raise TargetRefused("only http and https URLs are allowed")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials in the URL are not allowed; use the signature")
    if port == 0:
        raise TargetRefused("port 0 is not a port")
    if parts.fragment:
        raise TargetRefused("a URL fragment is never sent; remove it")
    return parts


def refusal(address: IPAddress) -> str | None:
    """Why an address is not public (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("private", address.is_private),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    if not address.is_global:
        return "not globally routable"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} does not resolve: {exc}") from exc
    return [str(info[4][0]) for info in infos]


async def resolve_target(url: str, *, allow_private: bool, resolver: Resolver) -> Target:
    """Check the URL and every address its host resolves to now.

    TargetRefused when any of them is not public (unless `allow_private`);
    UnresolvableHost when the name does not resolve.
    """
    parts = check_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    names = [str(literal)] if literal is not None else await resolver(host, port)
    addresses: list[IPAddress] = []
    for name in names[:MAX_ADDRESSES]:
        # getaddrinfo may add a zone to an IPv6 link-local address (fe80::1%eth0).
        address = ipaddress.ip_address(name.split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnresolvableHost(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise TargetRefused(f"{host} resolves to {address}, a {reason} address")
    return Target(url=parts, host=host, port=port, addresses=tuple(addresses))


async def check_on_save(url: str, *, allow_private: bool, resolver: Resolver) -> None:
    """The check made when a URL is saved: a name that does not resolve yet is accepted
    (its attempts fail and retry until it does); an inside address is refused."""
    try:
        await resolve_target(url, allow_private=allow_private, resolver=resolver)
    except UnresolvableHost:
        return
