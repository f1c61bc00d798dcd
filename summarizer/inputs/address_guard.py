"""Which addresses a shared service may fetch from: public unicast ones, on the web's ports.

A service that fetches URLs given by other people (the Slack bot) must not become a way into the
network it runs in (cloud metadata at 169.254.169.254, intranet pages, admin ports). Python's
``is_global`` is not enough on its own: an IPv6 address can carry an IPv4 address inside it (NAT64,
6to4, IPv4-compatible and -mapped forms, SIIT, Teredo), and a translator on the path delivers the
packet to that IPv4 address, loopback or private as it may be. So each such form is judged by the
IPv4 address inside it. The check is pure; ``http_client`` applies it to the exact address it then
connects to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses to try, in order (socket.getaddrinfo by default; tests inject their own).
Resolver = Callable[[str, int], Sequence[str]]

WEB_PORTS = frozenset({80, 443})

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


def _low32(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """The IPv4 addresses an IPv6 transition form delivers to, with the form's name; None if none."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", [ip.ipv4_mapped]
    if ip in _NAT64:
        return "NAT64", [_low32(ip)]
    if ip in _NAT64_LOCAL:
        # RFC 6052 with a /48 prefix: IPv4 bits 48-63 and 72-87 (bits 64-71 are the "u" octet).
        value = int(ip)
        v4 = ((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF
        return "local NAT64", [ipaddress.IPv4Address(v4)]
    if ip.sixtofour is not None:
        return "6to4", [ip.sixtofour]
    if ip.teredo is not None:
        return "Teredo", list(ip.teredo)
    if ip in _SIIT:
        return "SIIT", [_low32(ip)]
    if ip in _V4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves, not IPv4 carriers
        return "IPv4-compatible", [_low32(ip)]
    return None


def inward_reason(address: str) -> str | None:
    """Why ``address`` must not be fetched from ("a private or local address (10.0.0.1)"), or None."""
    ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
    if ip.is_multicast:
        return f"a multicast address ({ip})"
    if isinstance(ip, ipaddress.IPv6Address):
        carried = embedded_ipv4(ip)
        if carried is not None:
            form, inner = carried
            for v4 in inner:
                reason = inward_reason(str(v4))
                if reason is not None:
                    return f"{reason} in {form} form ({ip})"
            if form == "local NAT64":  # a translator inside this network: it reaches its own IPv4 side
                return f"a local NAT64 address ({ip})"
    if not ip.is_global:
        return f"a private or local address ({ip})"
    return None


def literal_address(host: str) -> str | None:
    """``host`` as an IP address string when it is one (brackets off), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%")[0]))
    except ValueError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the system's order (raises ``socket.gaierror``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
