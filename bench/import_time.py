"""How long `import llmrelay` takes and what it costs in memory, against baselines measured in
the same run: a bare interpreter and `import aiohttp` (a common Python HTTP client; llmrelay's
own transport, what a first request loads, is measured too).

    .venv/bin/python bench/import_time.py [--runs 30]

Each figure is the median over fresh interpreters; the import's own cost is the figure minus
the bare interpreter's. Target (shared/TARGETS.md): import ≤ 60 ms wall, ≤ 20 MB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

PROBE = """
import resource, sys, time
t0 = time.perf_counter()
{statement}
elapsed = time.perf_counter() - t0
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heavy = [m for m in ("aiohttp", "httpx", "requests", "fastapi", "starlette", "uvicorn",
                     "llama_cpp") if m in sys.modules]
print(elapsed, rss_kb, ",".join(heavy))
"""


def measure(statement: str, runs: int) -> tuple[float, float, str]:
    times, rss = [], []
    heavy = ""
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(statement=statement)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        times.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
        heavy = out[2] if len(out) > 2 else ""
    return statistics.median(times), statistics.median(rss), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    _, base_rss, _ = measure("pass", runs)
    print(f"{'import':<28}{'time (ms)':>10}{'max RSS (MB)':>14}{'+RSS (MB)':>11}  heavy modules")
    print(f"{'(bare interpreter)':<28}{0:>10.1f}{base_rss:>14.1f}{0:>11.1f}")
    results = {}
    for name, statement in [
        ("aiohttp (raw client)", "import aiohttp"),
        ("llmrelay", "import llmrelay"),
        ("llmrelay + framework", "import llmrelay.providers.base_provider"),
        ("llmrelay + HTTP transport", "import llmrelay.transport.http"),
    ]:
        t, rss, heavy = measure(statement, runs)
        results[name] = t
        print(f"{name:<28}{t * 1000:>10.1f}{rss:>14.1f}{rss - base_rss:>11.1f}  {heavy or '-'}")
    ratio = results["llmrelay"] / results["aiohttp (raw client)"]
    print(
        f"\nimport llmrelay: {results['llmrelay'] * 1000:.1f} ms "
        f"({ratio:.2f}x aiohttp's import; target <= 60 ms)"
    )


if __name__ == "__main__":
    main()
