"""Every `llmrelay` command as a subprocess, against fake upstreams and the local model."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
import sys
from collections.abc import Iterator

import pytest

from llmrelay.cli import COMMANDS, build_parser
from support.cli_env import clean_env, run_cli
from support.fake_openai import FakeOpenAI, Reply, Status

KEY = "sk-test-cli-0123456789abcdef"
PARIS = "What is the capital of France? Answer in one sentence."


@pytest.fixture
def home(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.in_thread(api_key=KEY) as server:
        yield server


@pytest.fixture
def openai_env(home: pathlib.Path, fake: FakeOpenAI) -> dict[str, str]:
    fake.requests.clear()
    return clean_env(home, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=fake.base_url)


def last_body(fake: FakeOpenAI) -> dict:
    return next(r.body for r in reversed(fake.requests) if r.path.endswith("/completions"))


# -- help and start-up ---------------------------------------------------------------------------


def test_every_command_has_complete_help(home: pathlib.Path) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    top = run_cli("--help", env=clean_env(home))
    assert top.returncode == 0
    for name in COMMANDS:
        assert name in top.stdout
        if name in ("serve", "keys", "usage"):
            continue  # their options are the gateway's
        result = run_cli(name, "--help", env=clean_env(home))
        assert result.returncode == 0, result.stderr
        for action in commands[name]._actions:
            for option in action.option_strings:
                assert option in result.stdout, f"{name} --help does not list {option}"


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys; from llmrelay.cli import main; main(['--help']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aiohttp', 'llama_cpp', 'asyncio', 'sqlite3', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_usage_error_exits_2_in_one_line(home: pathlib.Path) -> None:
    result = run_cli("chat", "--temperature", "warm", "x", env=clean_env(home))
    assert result.returncode == 2
    result = run_cli("chat", "-p", "NoSuchProvider", "hi", env=clean_env(home))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "NoSuchProvider" in result.stderr
    assert "Traceback" not in result.stderr


# -- chat with the local model (no key) ----------------------------------------------------------


def test_chat_without_any_key_answers_from_the_local_model(
    home: pathlib.Path, smollm2_path: pathlib.Path
) -> None:
    env = clean_env(home)
    result = run_cli("chat", PARIS, "--temperature", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    logs = json.loads(run_cli("logs", "--json", env=env).stdout)
    assert len(logs) == 1
    assert logs[0]["provider"] == "LocalLlama"
    assert logs[0]["prompt"] == PARIS
    assert logs[0]["completion_tokens"] == 7
    assert logs[0]["prompt_tokens"] > 0
    found = json.loads(run_cli("logs", "Paris", "--json", env=env).stdout)
    assert [r["id"] for r in found] == [logs[0]["id"]]
    assert json.loads(run_cli("logs", "zebra", "--json", env=env).stdout) == []


# -- chat against a fake OpenAI upstream ---------------------------------------------------------


def test_chat_streams_answer_and_sends_the_options(
    openai_env: dict[str, str], fake: FakeOpenAI
) -> None:
    result = run_cli("chat", "-p", "OpenAI", "-m", "gpt-4o-mini", "--system", "be brief",
                     "--temperature", "0.5", "--max-tokens", "9", "--json", "hi",
                     env=openai_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"
    body = last_body(fake)
    assert body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "hi"}]  # fmt: skip
    assert body["temperature"] == 0.5
    assert body["max_tokens"] == 9
    assert body["response_format"] == {"type": "json_object"}


def test_a_set_key_picks_its_provider_when_none_is_given(
    openai_env: dict[str, str], fake: FakeOpenAI
) -> None:
    result = run_cli("chat", "hi", "--no-stream", env=openai_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"
    assert not last_body(fake).get("stream")


def test_a_configured_model_is_routed_by_the_client(
    openai_env: dict[str, str], fake: FakeOpenAI
) -> None:
    config = pathlib.Path(openai_env["LLMRELAY_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('model = "gpt-4o-mini"\n')
    result = run_cli("chat", "hi", env=openai_env)
    assert result.returncode == 0, result.stderr
    assert last_body(fake)["model"] == "gpt-4o-mini"
    empty = run_cli("chat", "-c", "more", "--no-log", env=openai_env)
    assert empty.returncode == 0, empty.stderr  # the exchange above was logged


def test_continue_without_a_log_is_a_usage_error(home: pathlib.Path) -> None:
    result = run_cli("chat", "-c", "more", env=clean_env(home))
    assert result.returncode == 2
    assert "no logged conversation" in result.stderr


def test_piped_stdin_joins_the_prompt(openai_env: dict[str, str], fake: FakeOpenAI) -> None:
    result = run_cli("chat", "-p", "OpenAI", "summarise", input="my notes\n", env=openai_env)
    assert result.returncode == 0, result.stderr
    assert last_body(fake)["messages"][-1]["content"] == "my notes\n\nsummarise"


def test_reasoning_goes_to_stderr_not_stdout(openai_env: dict[str, str], fake: FakeOpenAI) -> None:
    fake.script(Reply(content="Answer.", reasoning="thinking hard"))
    result = run_cli("chat", "-p", "OpenAI", "q", env=openai_env)
    assert result.stdout == "Answer.\n"
    assert "thinking hard" in result.stderr
    fake.script(Reply(content="Answer.", reasoning="thinking hard"))
    quiet = run_cli("chat", "-q", "-p", "OpenAI", "q", env=openai_env)
    assert quiet.stdout == "Answer.\n"
    assert quiet.stderr == ""


def test_image_is_sent(openai_env: dict[str, str], fake: FakeOpenAI, home: pathlib.Path) -> None:
    image = home / "dot.png"
    image.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000050001"
        "0d0a2db40000000049454e44ae426082"))  # fmt: skip
    result = run_cli("chat", "-p", "OpenAI", "--image", str(image), "what?", env=openai_env)
    assert result.returncode == 0, result.stderr
    parts = last_body(fake)["messages"][-1]["content"]
    assert any(p.get("type") == "image_url" for p in parts)
    missing = run_cli("chat", "--image", str(home / "none.png"), "x", env=openai_env)
    assert missing.returncode == 2


def test_errors_have_documented_exit_codes(openai_env: dict[str, str], fake: FakeOpenAI) -> None:
    wrong_key = {**openai_env, "OPENAI_API_KEY": "sk-wrong-key-000000000000"}
    result = run_cli("chat", "-p", "OpenAI", "hi", env=wrong_key)
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert "llmrelay auth OpenAI" in result.stderr
    assert "sk-wrong-key-000000000000" not in result.stderr

    fake.script(Status(500), Status(500), Status(500))
    result = run_cli("chat", "-p", "OpenAI", "hi", env=openai_env)
    assert result.returncode == 4
    assert "Traceback" not in result.stderr

    fake.script(Status(500), Status(500), Status(500))
    result = run_cli("--debug", "chat", "-p", "OpenAI", "hi", env=openai_env)
    assert "Traceback" in result.stderr

    no_key = {k: v for k, v in openai_env.items() if k != "OPENAI_API_KEY"}
    result = run_cli("chat", "-p", "OpenAI", "hi", env=no_key)
    assert result.returncode == 3
    assert "OPENAI_API_KEY" in result.stderr


def test_logging_can_be_turned_off_and_continued(
    openai_env: dict[str, str], fake: FakeOpenAI, home: pathlib.Path
) -> None:
    run_cli("chat", "-p", "OpenAI", "not logged", "--no-log", env=openai_env)
    assert json.loads(run_cli("logs", "--json", env=openai_env).stdout or "[]") == []
    run_cli("chat", "-p", "OpenAI", "first question", env=openai_env)
    result = run_cli("chat", "-p", "OpenAI", "-c", "second question", env=openai_env)
    assert result.returncode == 0, result.stderr
    assert [m["content"] for m in last_body(fake)["messages"]] == [
        "first question", "Hello world", "second question"]  # fmt: skip
    conversation = json.loads(run_cli("logs", "-c", "--json", env=openai_env).stdout)
    assert [r["prompt"] for r in conversation] == ["first question", "second question"]

    config = pathlib.Path(openai_env["LLMRELAY_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("log = false\n")
    run_cli("chat", "-p", "OpenAI", "third", env=openai_env)
    assert len(json.loads(run_cli("logs", "--json", env=openai_env).stdout)) == 2


# -- the other commands --------------------------------------------------------------------------


def test_config_shows_sources_and_masks_keys(openai_env: dict[str, str]) -> None:
    config = pathlib.Path(openai_env["LLMRELAY_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('provider = "OpenAI"\ntemperature = 0.3\n')
    env = {**openai_env, "LLMRELAY_MODEL": "gpt-4o"}
    result = run_cli("config", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    settings = report["settings"]
    assert settings["provider"] == {"value": "OpenAI", "source": "config file"}
    assert settings["model"] == {"value": "gpt-4o", "source": "env LLMRELAY_MODEL"}
    assert settings["temperature"]["value"] == 0.3
    assert report["api_keys"]["OPENAI_API_KEY"]["source"] == "env OPENAI_API_KEY"
    text = run_cli("config", env=env).stdout
    assert KEY not in text
    assert KEY not in result.stdout
    assert "OPENAI_API_KEY" in text

    config.write_text("provider = [")
    bad = run_cli("config", env=env)
    assert bad.returncode == 2
    assert "not valid TOML" in bad.stderr


def test_auth_saves_lists_and_removes_a_key(openai_env: dict[str, str], fake: FakeOpenAI) -> None:
    env = {k: v for k, v in openai_env.items() if k != "OPENAI_API_KEY"}
    saved = run_cli("auth", "OpenAI", input=KEY + "\n", env=env)
    assert saved.returncode == 0, saved.stderr
    keys = pathlib.Path(env["LLMRELAY_CONFIG"]).with_name("keys.json")
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    listed = run_cli("auth", "--list", env=env).stdout
    assert "OPENAI_API_KEY" in listed
    assert KEY not in listed
    assert run_cli("chat", "-p", "OpenAI", "hi", env=env).stdout == "Hello world\n"
    config = json.loads(run_cli("config", "--json", env=env).stdout)
    assert config["api_keys"]["OPENAI_API_KEY"]["source"] == "keys file"
    assert run_cli("auth", "OpenAI", "--logout", env=env).returncode == 0
    assert run_cli("chat", "-p", "OpenAI", "hi", env=env).returncode == 3
    assert run_cli("auth", env=env).returncode == 2


def test_providers_table(openai_env: dict[str, str]) -> None:
    rows = {r["name"]: r for r in json.loads(run_cli("providers", "--json", env=openai_env).stdout)}
    assert rows["OpenAI"]["configured"] is True
    assert rows["Groq"] == {**rows["Groq"], "configured": False, "configure": "GROQ_API_KEY"}
    assert rows["LocalLlama"]["local"] is True
    assert rows["LocalLlama"]["configured"] is True
    table = run_cli("providers", env=openai_env).stdout
    assert "LocalLlama" in table
    assert "GROQ_API_KEY" in table


def test_models_lists_routed_models_and_a_providers_models(
    openai_env: dict[str, str],
) -> None:
    listed = run_cli("models", env=openai_env).stdout
    assert "llama-3.3-70b" in listed
    assert "smollm2-135m" in listed
    served = run_cli("models", "-p", "OpenAI", env=openai_env)
    assert served.returncode == 0, served.stderr
    assert served.stdout.split() == ["gpt-4o-mini"]


def test_serve_hands_every_argument_to_the_gateway(home: pathlib.Path) -> None:
    result = run_cli("serve", "--help", env=clean_env(home))
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--workers", "--config", "--api-key"):
        assert option in result.stdout


def test_python_dash_m_and_console_script_agree(home: pathlib.Path) -> None:
    script = pathlib.Path(sys.executable).with_name("llmrelay")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                         env=clean_env(home), check=True)  # fmt: skip
    assert out.stdout == run_cli("--version", env=clean_env(home)).stdout
    assert os.access(script, os.X_OK)


def test_keys_and_usage_are_the_gateways(home: pathlib.Path, tmp_path: pathlib.Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    env = clean_env(home)
    made = run_cli("keys", "create", "--name", "ci", "--rpm", "5", "--state", state, env=env)
    assert made.returncode == 0, made.stderr
    assert "sk-lr-" in made.stdout
    listed = run_cli("keys", "list", "--json", "--state", state, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [k["name"] for k in json.loads(listed.stdout)] == ["ci"]
    used = run_cli("usage", "--json", "--state", state, env=env)
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout) == []
    assert "--budget" in run_cli("keys", "create", "--help", env=env).stdout
