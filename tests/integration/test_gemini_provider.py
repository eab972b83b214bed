"""`Gemini` against `FakeGemini`: the key, the URL, safety blocks, search, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.client import AsyncClient
from llmrelay.errors import (
    BadRequestError,
    ContentFilterError,
    IncompleteResponseError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    RateLimitError,
    ResponseStatusError,
    UnsupportedParameterError,
)
from llmrelay.Provider.gemini import Gemini
from llmrelay.providers.response import FinishReason, Reasoning, Sources, ToolCalls
from support.fake_gemini import Answer, FakeGemini, error_body, retry_info
from support.fake_openai import Reply, Status, StreamThenError, ToolCall

pytestmark = pytest.mark.integration

KEY = "AIzaSyFAKE-gemini-key-0123456789abcdef"
USER = [{"role": "user", "content": "Hi"}]
MODEL = "gemini-2.5-flash"


async def ask(fake: FakeGemini, messages: Any = USER, model: str = "", **params: Any) -> list[Any]:
    params = {"api_base": fake.base_url, "api_key": KEY, "max_retries": 0, **params}
    return [c async for c in Gemini.get_async_create_function()(model, messages, **params)]


def text(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


@pytest.fixture
async def fake() -> Any:
    async with FakeGemini(api_key=KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


async def test_request_path_header_and_default_model(fake: FakeGemini) -> None:
    assert text(await ask(fake)) == "Hello world"
    assert text(await ask(fake, stream=False)) == "Hello world"
    streamed, whole = fake.requests
    assert streamed.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert streamed.query == {"alt": "sse"}  # never ?key=
    assert whole.path == f"/v1beta/models/{MODEL}:generateContent"
    assert whole.query == {}
    assert whole.headers["x-goog-api-key"] == KEY
    assert "authorization" not in whole.headers
    assert Gemini.last_model == MODEL


async def test_api_base_may_carry_its_version(fake: FakeGemini) -> None:
    await ask(fake, api_base=f"{fake.base_url}/v1/", model="models/gemini-2.0-flash")
    assert fake.requests[-1].path == "/v1/models/gemini-2.0-flash:streamGenerateContent"


@pytest.mark.parametrize(
    ("variables", "used"),
    [({"GEMINI_API_KEY": KEY}, KEY), ({"GOOGLE_API_KEY": KEY}, KEY),
     ({"GEMINI_API_KEY": KEY, "GOOGLE_API_KEY": "AIza-other"}, KEY)],
)  # fmt: skip
async def test_key_from_the_environment(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], used: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    await ask(fake, api_key=None)
    assert fake.requests[-1].headers["x-goog-api-key"] == used


async def test_a_missing_key_names_the_variables_before_any_request(fake: FakeGemini) -> None:
    with pytest.raises(MissingAuthError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        await ask(fake, api_key=None)
    assert fake.requests == []


async def test_a_wrong_key_is_an_auth_error_that_never_shows_the_key(fake: FakeGemini) -> None:
    wrong = "AIzaSyWRONG-key-0123456789abcdefghij"
    with pytest.raises(MissingAuthError, match="API key not valid") as info:
        await ask(fake, api_key=wrong)
    assert info.value.status_code == 400
    assert wrong not in str(info.value)
    assert wrong not in json.dumps(info.value.body)


async def test_unknown_parameters_are_refused(fake: FakeGemini) -> None:
    with pytest.raises(UnsupportedParameterError, match="presence_penalty"):
        await ask(fake, presence_penalty=1.0)
    with pytest.raises(InvalidRequestError, match="api_base"):
        await ask(fake, api_base="generativelanguage.googleapis.com")
    assert fake.requests == []


async def test_thinking_budget_and_reasoning(fake: FakeGemini) -> None:
    fake.script(Reply("42", reasoning="Six times seven."))
    chunks = await ask(fake, thinking_budget=512)
    assert fake.requests[-1].body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 512,
        "includeThoughts": True,
    }
    assert "".join(c.token or "" for c in chunks if isinstance(c, Reasoning)) == "Six times seven."


async def test_signed_function_call_round_trip(fake: FakeGemini) -> None:
    call = {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "c2lnbmVk"}
    fake.script(Answer([call]), Reply("Done."))
    chunks = await ask(fake, tools=[{"type": "function", "function": {"name": "f"}}])
    calls = next(c for c in chunks if isinstance(c, ToolCalls)).get_list()
    assert calls[0]["id"] == "call_0"
    assert Reasoning(signature="c2lnbmVk") in chunks
    assert FinishReason("tool_calls") in chunks
    history = [*USER, {"role": "assistant", "content": None, "tool_calls": calls},
               {"role": "tool", "tool_call_id": "call_0", "content": "3"}]  # fmt: skip
    assert text(await ask(fake, history)) == "Done."
    model_turn, results = fake.requests[-1].body["contents"][1:]
    assert model_turn["parts"] == [call]
    assert results["parts"] == [{"functionResponse": {"name": "f", "response": {"content": "3"}}}]


async def test_web_search_sends_google_search_and_yields_sources(fake: FakeGemini) -> None:
    grounding = {"groundingChunks": [{"web": {"uri": "https://news.example/a", "title": "A"}}],
                 "webSearchQueries": ["who won"]}  # fmt: skip
    answer = Answer([{"text": "Team A won."}], grounding=grounding)
    for stream in (True, False):
        fake.script(answer)
        chunks = await ask(fake, web_search=True, stream=stream)
        assert fake.requests[-1].body["tools"] == [{"googleSearch": {}}]
        sources = next(c for c in chunks if isinstance(c, Sources))
        assert sources.list == [{"url": "https://news.example/a", "title": "A"}]
        assert text(chunks) == "Team A won."


@pytest.mark.parametrize("stream", [True, False])
async def test_a_blocked_prompt_is_a_clear_error(fake: FakeGemini, stream: bool) -> None:
    fake.script(Answer(block_reason="SAFETY", usage={"promptTokenCount": 4}))
    with pytest.raises(
        ContentFilterError, match=r"blocked the prompt \(blockReason SAFETY\)"
    ) as info:
        await ask(fake, stream=stream)
    assert info.value.provider == "Gemini"


async def test_an_answer_stopped_by_safety_before_any_text_is_an_error(fake: FakeGemini) -> None:
    fake.script(Answer([], finish_reason="SAFETY", finish_message="Blocked."))
    with pytest.raises(ContentFilterError, match=r"finishReason SAFETY.*Blocked"):
        await ask(fake)
    fake.script(Reply("Part of it", finish_reason="content_filter"))
    chunks = await ask(fake)
    assert text(chunks) == "Part of it"
    assert FinishReason("content_filter") in chunks


async def test_a_stream_that_ends_cleanly_without_finish_reason_is_incomplete(
    fake: FakeGemini,
) -> None:
    fake.script(Answer([{"text": "Hello"}], finish_reason=None))
    with pytest.raises(IncompleteResponseError, match="finishReason"):
        await ask(fake)


async def test_rate_limit_takes_the_retry_delay_from_retry_info(fake: FakeGemini) -> None:
    body = error_body(429, details=[retry_info("7s")])
    fake.script(Status(429, body=body))
    with pytest.raises(RateLimitError) as info:
        await ask(fake)
    assert info.value.retry_after == 7


async def test_a_rate_limit_is_retried_after_its_delay(fake: FakeGemini) -> None:
    fake.script(Status(429, body=error_body(429, details=[retry_info("0.05s")])))
    assert text(await ask(fake, max_retries=1)) == "Hello world"
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [(Status(400), BadRequestError), (Status(403), MissingAuthError),
     (Status(503), ResponseStatusError), (StreamThenError(chunks=1), ResponseStatusError)],
)  # fmt: skip
async def test_errors_map_through_the_table(
    fake: FakeGemini, behaviour: Any, error: type[Exception]
) -> None:
    fake.script(behaviour)
    with pytest.raises(error):
        await ask(fake)


async def test_an_unknown_model_is_model_not_found(fake: FakeGemini) -> None:
    message = ("models/gemini-9 is not found for API version v1beta, or is not supported for "
               "generateContent. Call ListModels to see the list of available models.")  # fmt: skip
    fake.script(Status(404, body=error_body(404, message)))
    with pytest.raises(ModelNotFoundError, match="gemini-9"):
        await ask(fake, model="gemini-9")


async def test_the_client_assembles_an_openai_shaped_completion(fake: FakeGemini) -> None:
    fake.script(Reply(None, tool_calls=(ToolCall("f", '{"a": 1}'),)), Reply("Hi!"))
    client = AsyncClient(api_key=KEY, base_url=fake.base_url, provider=Gemini)
    completion = await client.chat.completions.create(USER, MODEL)
    assert completion.choices[0].finish_reason == "tool_calls"
    message = completion.choices[0].message
    assert message.tool_calls is not None
    assert (message.tool_calls[0].id, message.tool_calls[0].function.arguments) == (
        "call_0",
        '{"a": 1}',
    )
    stream = await client.chat.completions.create(USER, MODEL, stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi!"
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 1, 11)
