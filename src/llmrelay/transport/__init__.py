"""HTTP transport: the only part of llmrelay that does network I/O (aiohttp, loaded lazily)."""
