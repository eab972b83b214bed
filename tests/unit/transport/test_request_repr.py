"""`Request`'s repr shows what helps debugging and nothing secret."""

from __future__ import annotations

from llmrelay.transport.http import Request


def test_repr_hides_header_values_secrets_body_and_proxy_password() -> None:
    request = Request(
        provider="P",
        headers={"Authorization": "Bearer tok-abcdefgh", "x-api-key": "kkk-12345678"},
        json={"messages": [{"role": "user", "content": "my prompt"}]},
        proxy="http://user:proxy-pass-123@proxy:3128",
        secrets=("kkk-12345678", "unshaped-secret"),
    )
    text = repr(request)
    for hidden in ("tok-abcdefgh", "kkk-12345678", "unshaped-secret", "proxy-pass-123", "prompt"):
        assert hidden not in text
    assert "Authorization" in text
    assert "x-api-key" in text
    assert "provider='P'" in text
    assert str(request) == text
