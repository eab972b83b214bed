"""Usage spooled by a process that stopped while the store was down is written by the next."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from llmrelay.server.config import GatewayConfig
from llmrelay.server.team import Team
from llmrelay.server.team.ops import make_key
from llmrelay.server.team.records import Usage


def _line(usage: Usage, tokens: int) -> str:
    return json.dumps({"usage": usage.to_json(), "tokens": tokens}) + "\n"


def test_a_spool_left_behind_is_written_once_at_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, record = make_key("k")
    spool = tmp_path / "spool.jsonl"
    left = [
        Usage(f"req-{i}", record.id, "k", "m", "p", 10, 2, 0, 1.0, 200, time.time())
        for i in range(3)
    ]
    spool.write_text(_line(left[0], 12) + _line(left[1], 12) + _line(left[2], 12) + '{"usa')
    config = GatewayConfig(state=f"sqlite:///{tmp_path / 'state.db'}", state_spool=str(spool))

    async def run() -> list[str]:
        first = Team(config)
        await first.store.create_key(record)
        assert await first.flush() == 0
        await first.close()
        second = Team(config)  # the file is gone: nothing is written twice
        assert second.spool == []
        ids = [u.request_id for u in await second.store.usage(key=record.id)]
        await second.close()
        return ids

    assert sorted(asyncio.run(run())) == ["req-0", "req-1", "req-2"]
    assert not spool.exists()
    assert "line 4 is not a record" in caplog.text
