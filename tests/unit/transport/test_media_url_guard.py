"""The media URL guard over every spelling of an internal address (no I/O here)."""

from __future__ import annotations

import ipaddress

import pytest

from llmrelay.errors import InvalidMessagesError, InvalidRequestError
from llmrelay.providers.media import load_media
from llmrelay.providers.messages import validate_messages
from llmrelay.transport.media_fetch import address_refusal, check_url

INTERNAL = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/x.png",
    "http://2130706433/",  # decimal
    "http://0x7f.1/",  # hex, short form
    "http://0x7f000001/",
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:7f00:1::]/",  # 6to4
    "http://[64:ff9b::7f00:1]/",  # NAT64
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./",
    "http://localhost/",
    "http://LocalHost:1234/",
    "http://images.localhost/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://[fe80::1%25eth0]/",
    "http://255.255.255.255/",
    "https://[fc00::1]:443/",
]
OTHER_SCHEMES = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "javascript:alert(1)",
    "ftp://example.com/x.png",
    "gopher://127.0.0.1:6379/_INFO",
    "//example.com/x.png",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_hosts_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", OTHER_SCHEMES)
def test_schemes_other_than_http_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["https://example.com/cat.png", "http://93.184.216.34/x", "https://[2606:4700::1]/"]
)
def test_public_hosts_pass(url: str) -> None:
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://2130706433/", "http://[::1]/", "http://10.0.0.1/"]
)
def test_private_hosts_pass_with_the_switch(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    check_url(url, allow_private=True)
    monkeypatch.setenv("LLMRELAY_ALLOW_PRIVATE_MEDIA", "1")
    check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://metadata.google.internal/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_metadata_unspecified_and_multicast_are_refused_even_with_the_switch(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        check_url(url, allow_private=True)


def test_address_refusal_reads_resolved_addresses() -> None:
    assert address_refusal(ipaddress.ip_address("8.8.8.8"), allow_private=False) is None
    assert address_refusal(ipaddress.ip_address("::ffff:10.1.2.3"), allow_private=False)
    assert address_refusal(ipaddress.ip_address("2002:a00:1::"), allow_private=False)


@pytest.mark.parametrize("url", INTERNAL[:4] + OTHER_SCHEMES[:3])
def test_media_items_are_checked(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        load_media([url])


@pytest.mark.parametrize("url", INTERNAL[:4] + OTHER_SCHEMES[:3])
def test_image_url_parts_are_checked_with_the_messages(url: str) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    with pytest.raises(InvalidMessagesError, match=r"messages\[0\]\.content\[0\]"):
        validate_messages([{"role": "user", "content": [part]}])


def test_data_and_gs_image_parts_pass() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "gs://bucket/cat.png"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    validate_messages([{"role": "user", "content": parts}])


def test_local_files_can_be_forbidden(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert load_media([str(image)])[0].mime_type == "image/png"
    for item in (str(image), image):
        with pytest.raises(InvalidRequestError, match="local files are not accepted"):
            load_media([item], allow_local_files=False)
    assert load_media([b"\x89PNG\r\n\x1a\n"], allow_local_files=False)[0].mime_type == "image/png"
