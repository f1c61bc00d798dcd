"""A fetch with ``allow_private=False`` cannot be turned inward: not by a private address, not by an
IPv6 form that carries one, not by a DNS answer that changes between the check and the connection
(rebinding), not by a port other than the web's. The page server on 127.0.0.1 stands for the
internal service an attacker wants read: it must see no request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

pytest.importorskip("trafilatura")

from page_server import Page, PageServer, news_page

from summarizer.errors import InputError, ProviderError
from summarizer.inputs import http_client
from summarizer.inputs.address_guard import inward_reason
from summarizer.inputs.url import afetch_article, fetch_article

PUBLIC = "93.184.215.14"  # a global unicast address (no route to it from the test machine is needed)


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with PageServer({"/article": Page(news_page)}) as server:
        yield server


class Rebinding:
    """A DNS server an attacker controls: a public answer first (for the check), loopback after."""

    def __init__(self, answers: list[list[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def test_a_rebinding_answer_never_reaches_loopback(site: PageServer) -> None:
    resolver = Rebinding([[PUBLIC], ["127.0.0.1"]])
    with pytest.raises((ProviderError, InputError)):
        fetch_article(
            f"http://rebind.example:{site.port}/article",
            allow_private=False,
            allowed_ports={site.port},
            resolver=resolver,
            timeout=1.0,
        )
    # Resolved once, for the connection itself; the connection went to the public address.
    assert resolver.calls == [("rebind.example", site.port)]
    assert site.requests == []


def test_a_rebinding_answer_never_reaches_loopback_async(site: PageServer) -> None:
    resolver = Rebinding([[PUBLIC], ["127.0.0.1"]])
    with pytest.raises((ProviderError, InputError)):
        asyncio.run(
            afetch_article(
                f"http://rebind.example:{site.port}/article",
                allow_private=False,
                allowed_ports={site.port},
                resolver=resolver,
                timeout=1.0,
            )
        )
    assert resolver.calls == [("rebind.example", site.port)]
    assert site.requests == []


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], [PUBLIC, "127.0.0.1"], ["64:ff9b::7f00:1"], ["::ffff:127.0.0.1"]]
)
def test_a_name_that_resolves_inward_is_refused(site: PageServer, answer: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        fetch_article(
            f"http://intranet.example:{site.port}/article",
            allow_private=False,
            allowed_ports={site.port},
            resolver=Rebinding([answer]),
        )
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1" in message and "only fetches public pages" in message
    assert site.requests == []


@pytest.mark.parametrize(
    ("host", "form"),
    [
        ("[64:ff9b::7f00:1]", "NAT64"),
        ("[64:ff9b::a9fe:a9fe]", "NAT64"),  # 169.254.169.254, cloud metadata
        ("[64:ff9b:1:7f00:0:100::]", "local NAT64"),
        ("[2002:7f00:1::]", "6to4"),
        ("[2002:a00:1::]", "6to4"),  # 10.0.0.1
        ("[::ffff:127.0.0.1]", "IPv4-mapped"),
        ("[::127.0.0.1]", "IPv4-compatible"),
        ("[::ffff:0:7f00:1]", "SIIT"),
        ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "Teredo"),  # client 127.0.0.1 (obfuscated)
        ("[ff0e::1]", "multicast"),
        ("[::1]", "private or local"),
        ("169.254.169.254", "private or local"),
    ],
)
def test_ipv6_transition_forms_are_refused_before_any_connection(host: str, form: str) -> None:
    resolver = Rebinding([[PUBLIC]])
    with pytest.raises(InputError) as caught:
        fetch_article(f"http://{host}/latest/meta-data/", allow_private=False, resolver=resolver)
    assert form in str(caught.value)
    assert resolver.calls == []  # refused from the URL alone


@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::", "::ffff:8.8.8.8", "8.8.8.8", "2606:4700:4700::1111"]
)
def test_public_addresses_in_any_form_pass(address: str) -> None:
    assert inward_reason(address) is None


def test_other_ports_are_refused_unless_configured() -> None:
    resolver = Rebinding([[PUBLIC]])
    with pytest.raises(InputError, match=r"port 8080, not a web port"):
        fetch_article("http://news.example:8080/a", allow_private=False, resolver=resolver)
    assert resolver.calls == []


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(
    site: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinning itself: a name resolved by our resolver, connected to by address, Host unchanged.

    Loopback stands in for a public server here, so the address check is told to pass it.
    """
    monkeypatch.setattr(http_client, "inward_reason", lambda address: None)
    resolver = Rebinding([["127.0.0.1"]])
    before = len(site.requests)
    fetched = fetch_article(
        f"http://news.example:{site.port}/article",
        allow_private=False,
        allowed_ports={site.port},
        resolver=resolver,
    )
    assert fetched.url == f"http://news.example:{site.port}/article"
    assert site.hosts[before:] == [f"news.example:{site.port}"]
    assert resolver.calls == [("news.example", site.port)]


def test_one_shared_client_per_process(site: PageServer) -> None:
    fetch_article(f"{site.url}/article")
    with http_client.sync_client(None) as first, http_client.sync_client(None) as second:
        assert first is second
    with http_client.sync_client(http_client.Guard()) as guarded:
        assert guarded is not first
    assert http_client.ssl_context() is http_client.ssl_context()

    async def twice() -> bool:
        async with http_client.async_client(None) as a, http_client.async_client(None) as b:
            return a is b

    assert asyncio.run(twice())


def test_a_guarded_fetch_ignores_a_callers_transport(site: PageServer) -> None:
    """A caller's own transport (a shared pool, say) must not become a way around the guard."""
    import httpx

    before = len(site.requests)
    with pytest.raises(InputError, match="private or local address"):
        asyncio.run(
            afetch_article(
                f"http://localhost:{site.port}/article",
                allow_private=False,
                allowed_ports={site.port},
                transport=httpx.AsyncHTTPTransport(),
            )
        )
    assert len(site.requests) == before
