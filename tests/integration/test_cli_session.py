"""`llmrelay chat` with no prompt, driven in a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Iterator

import pexpect
import pytest

from support.cli_env import clean_env
from support.fake_openai import FakeOpenAI, Reply, Stall

KEY = "sk-test-session-0123456789"
UP = "\x1b[A"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.in_thread(api_key=KEY) as server:
        yield server


def spawn(env: dict[str, str], *args: str, who: str = "") -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "llmrelay", "chat", *args], env=env,
                          encoding="utf-8", timeout=60, dimensions=(40, 200))  # fmt: skip
    child.expect_exact(f"llmrelay chat with {who}")
    child.expect_exact("Ctrl-D to leave")
    return child


def user_messages(fake: FakeOpenAI) -> list[list[str]]:
    return [[m["content"] for m in r.body["messages"]] for r in fake.requests
            if r.path.endswith("/completions")]  # fmt: skip


def test_session_history_cancel_save_and_leave(fake: FakeOpenAI, tmp_path: pathlib.Path) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=fake.base_url)
    fake.script(Reply("Bonjour."), Stall("body", 2), Reply("Second answer."))
    child = spawn(env, "-p", "OpenAI")
    child.expect_exact("> ")
    child.sendline("hello there")
    child.expect_exact("Bonjour.")
    child.expect_exact("> ")

    # Ctrl-C while the answer streams: the answer stops, the session stays.
    child.sendline("tell me more")
    child.expect_exact("t0")
    child.sendintr()
    child.expect_exact("[cancelled]")
    child.expect_exact("> ")
    fake.disconnects.wait(1, timeout=10.0)  # the upstream request was closed too

    # History: the up arrow brings back the last line.
    child.send(UP)
    child.expect_exact("tell me more")
    child.send("\r")
    child.expect_exact("Second answer.")
    child.expect_exact("> ")

    # Multi-line input.
    child.sendline('"""')
    child.sendline("line one")
    child.sendline("line two")
    child.sendline('"""')
    child.expect_exact("> ")

    saved = tmp_path / "talk.json"
    child.sendline(f"/save {saved}")
    child.expect_exact("saved")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    conversations = user_messages(fake)
    assert conversations[0] == ["hello there"]
    assert conversations[2] == ["hello there", "Bonjour.", "tell me more"]  # recalled
    assert conversations[3][-1] == "line one\nline two"
    messages = json.loads(saved.read_text())
    assert [m["content"] for m in messages][-2:] == ["line one\nline two", "Hello world"]


def test_session_commands_clear_model_and_provider(
    fake: FakeOpenAI, tmp_path: pathlib.Path
) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=fake.base_url)
    child = spawn(env, "-p", "OpenAI")
    child.sendline("one")
    child.expect_exact("Hello world")
    child.sendline("/clear")
    child.expect_exact("conversation cleared")
    child.sendline("/model gpt-4o-mini")
    child.expect_exact("model: gpt-4o-mini")
    child.sendline("/provider NoSuch")
    child.expect_exact("NoSuch")
    child.sendline("two")
    child.expect_exact("Hello world")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    last = fake.requests[-1].body
    assert [m["content"] for m in last["messages"]] == ["two"]
    assert last["model"] == "gpt-4o-mini"


def test_session_with_the_local_model(tmp_path: pathlib.Path, smollm2_path: pathlib.Path) -> None:
    child = spawn(clean_env(tmp_path), "--temperature", "0", who="automatic")
    child.sendline("What is the capital of France? Answer in one sentence.")
    child.expect_exact("Paris")
    child.expect_exact("> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_during_a_one_shot_answer_exits_130(
    fake: FakeOpenAI, tmp_path: pathlib.Path
) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=fake.base_url)
    fake.script(Stall("body", 2))
    child = pexpect.spawn(sys.executable, ["-m", "llmrelay", "chat", "-p", "OpenAI", "go"],
                          env=env, encoding="utf-8", timeout=60)  # fmt: skip
    child.expect_exact("t0")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    fake.disconnects.wait(1, timeout=10.0)
