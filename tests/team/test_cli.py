"""`llmrelay keys …` / `llmrelay usage …` (team_cli) on the store the gateway uses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmrelay.server.team_cli import keys_main, usage_main
from support.fake_openai import FakeOpenAI

from .conftest import burst, gateways, team_config


def test_keys_create_list_revoke_and_usage(
    upstream: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    args = ["--name", "ci", "--models", "gpt-4o-mini", "--rpm", "5", "--budget", "2.5"]
    assert keys_main(["create", *args, "--expires", "30d", "--state", state]) == 0
    out = capsys.readouterr().out
    key = re.search(r"key: (sk-lr-\S+)", out)
    key_id = re.search(r"id:  (key_\w+)", out)
    assert key
    assert key_id
    with gateways([team_config(upstream, state, tmp_path)]) as (gw,):
        assert [s for s, _, _ in burst([gw.url], key[1], 2)] == [200, 200]
    assert keys_main(["list", "--json", "--state", state]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "ci"
    assert listed[0]["rpm"] == 5
    assert listed[0]["budget"] == 2.5
    assert (listed[0]["cache"], listed[0]["cache_ttl"]) == ("off", None)
    assert key[1] not in json.dumps(listed)
    assert usage_main(["--by", "model", "--json", "--since", "1h", "--state", state]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"model": "gpt-4o-mini", "requests": 2, "cached": 0, "prompt_tokens": 20,
         "completion_tokens": 4, "cost": 0.024}
    ]  # fmt: skip
    assert usage_main(["--key", key_id[1], "--state", state]) == 0
    assert capsys.readouterr().out.count("gpt-4o-mini") == 2
    assert keys_main(["revoke", key_id[1], "--state", state]) == 0
    assert keys_main(["revoke", "key_nothing", "--state", state]) == 1
    assert keys_main(["list", "--state", state]) == 0
    assert "revoked" in capsys.readouterr().out


def test_module_entry_point(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "llmrelay.server.team_cli", "keys", "list", "--state", state],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("id")


def test_keys_create_with_a_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    assert keys_main(["create", "--name", "on", "--cache", "--state", state]) == 0
    args = ["--name", "all", "--cache", "always", "--cache-ttl", "15m", "--state", state]
    assert keys_main(["create", *args]) == 0
    assert keys_main(["create", "--name", "bad", "--cache-ttl", "soon", "--state", state]) == 2
    capsys.readouterr()
    assert keys_main(["list", "--json", "--state", state]) == 0
    listed = {k["name"]: k for k in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"on", "all"}
    assert (listed["on"]["cache"], listed["on"]["cache_ttl"]) == ("on", None)
    assert (listed["all"]["cache"], listed["all"]["cache_ttl"]) == ("always", 900)
    assert keys_main(["list", "--state", state]) == 0
    assert "always 900s" in capsys.readouterr().out
