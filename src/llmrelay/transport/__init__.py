"""HTTP transport: the only part of llmrelay that does network I/O (its own HTTP/1.1 client
on asyncio: `wire` parses, `connection` and `pool` connect, `exchange` sends, `http` retries)."""
