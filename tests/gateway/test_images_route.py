"""The official openai SDK makes and edits images through the gateway, over any image
provider, with the gateway's safety rules."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import openai
import pytest

from llmrelay.server.config import GatewayConfig
from support.fake_images import PNG, FakeImages
from support.gateway import RunningGateway, serve_gateway

GATEWAY_KEY = "gw-images-key-0123456789"
OPENAI_KEY = "sk-planted-images-key-ABCDEFGH"


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[RunningGateway, FakeImages]]:
    with (
        pytest.MonkeyPatch.context() as env,
        FakeImages.in_thread(api_key=OPENAI_KEY) as fake,
    ):
        env.setenv("OPENAI_API_KEY", OPENAI_KEY)
        env.setenv("OPENAI_BASE_URL", fake.base_url)
        with serve_gateway(GatewayConfig(api_keys=(GATEWAY_KEY,))) as running:
            yield running, fake


def sdk(running: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key=GATEWAY_KEY, max_retries=0)


def test_generate_as_base64_and_as_urls(gateway: tuple[RunningGateway, FakeImages]) -> None:
    running, _ = gateway
    with sdk(running) as client:
        made = client.images.generate(
            prompt="a lighthouse", model="gpt-image-1", n=2, response_format="b64_json",
            extra_body={"provider": "OpenAIImages"},
        )  # fmt: skip
        assert [base64.b64decode(d.b64_json or "") for d in made.data] == [PNG, PNG]
        urls = client.images.generate(
            prompt="a lighthouse", model="dall-e-3", extra_body={"provider": "OpenAIImages"}
        )
        assert urls.data[0].url


def test_edit_sends_the_uploaded_image_upstream(
    gateway: tuple[RunningGateway, FakeImages],
) -> None:
    running, fake = gateway
    with sdk(running) as client:
        edited = client.images.edit(
            image=("cat.png", PNG, "image/png"), prompt="give it a hat", model="gpt-image-1",
            extra_body={"provider": "OpenAIImages"}, response_format="b64_json",
        )  # fmt: skip
    assert base64.b64decode(edited.data[0].b64_json or "") == PNG
    assert fake.forms[-1]["prompt"] == "give it a hat"
    assert fake.forms[-1]["image"][2] == PNG


def test_refused_and_unknown_fields_name_themselves(
    gateway: tuple[RunningGateway, FakeImages],
) -> None:
    running, _ = gateway
    headers = {"Authorization": f"Bearer {GATEWAY_KEY}"}
    for field, value in (("save_to", "/tmp"), ("base_url", "http://evil"), ("colour", "red")):
        body = {"prompt": "a cat", "provider": "OpenAIImages", field: value}
        answer = httpx.post(f"{running.base_url}/images/generations", json=body, headers=headers)
        assert answer.status_code == 400, field
        assert answer.json()["error"]["param"] == field
    body = {"prompt": "a cat", "provider": "OpenAIImages", "negative_prompt": "dogs"}
    answer = httpx.post(f"{running.base_url}/images/generations", json=body, headers=headers)
    assert answer.status_code == 400
    assert "negative_prompt" in answer.json()["error"]["message"]


def test_images_need_the_gateway_key(gateway: tuple[RunningGateway, FakeImages]) -> None:
    running, _ = gateway
    for path in ("/images/generations", "/images/edits"):
        answer = httpx.post(f"{running.base_url}{path}", json={"prompt": "a cat"})
        assert answer.status_code == 401
        assert OPENAI_KEY not in answer.text
