"""Counters for `GET /metrics`, in Prometheus' text format (version 0.0.4).

Labels are bounded by construction: the route (a fixed set), the status, and the provider
that answered (a configured name) — never the caller's model string or anything else the
caller chooses.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

__all__ = ["Metrics"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return "{" + inner + "}"


class Metrics:
    """One process's counters (each worker has its own)."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.provider_requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.tokens: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.duration_buckets: defaultdict[str, list[int]] = defaultdict(
            lambda: [0] * (len(BUCKETS) + 1)
        )
        self.duration_sum: defaultdict[str, float] = defaultdict(float)
        self.stream_errors = 0
        self.disconnects = 0
        self.rejected = 0

    def observe(
        self,
        route: str,
        status: int,
        seconds: float,
        provider: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        self.requests[route, status] += 1
        self.duration_buckets[route][bisect.bisect_left(BUCKETS, seconds)] += 1
        self.duration_sum[route] += seconds
        if provider:
            self.provider_requests[provider, status] += 1
            if prompt_tokens:
                self.tokens[provider, "prompt"] += prompt_tokens
            if completion_tokens:
                self.tokens[provider, "completion"] += completion_tokens

    def render(self, in_flight: int, waiting: int) -> str:
        lines = [
            "# HELP llmrelay_requests_total Requests answered, by route and status.",
            "# TYPE llmrelay_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f"llmrelay_requests_total{_labels(route=route, status=str(status))} {n}")
        lines += [
            "# HELP llmrelay_provider_requests_total Upstream calls, by provider, status.",
            "# TYPE llmrelay_provider_requests_total counter",
        ]
        for (provider, status), n in sorted(self.provider_requests.items()):
            labels = _labels(provider=provider, status=str(status))
            lines.append(f"llmrelay_provider_requests_total{labels} {n}")
        lines += [
            "# HELP llmrelay_tokens_total Tokens reported by providers.",
            "# TYPE llmrelay_tokens_total counter",
        ]
        for (provider, kind), n in sorted(self.tokens.items()):
            lines.append(f"llmrelay_tokens_total{_labels(provider=provider, type=kind)} {n}")
        lines += [
            "# HELP llmrelay_request_duration_seconds Time to answer, by route.",
            "# TYPE llmrelay_request_duration_seconds histogram",
        ]
        for route, counts in sorted(self.duration_buckets.items()):
            total = 0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                total += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f"llmrelay_request_duration_seconds_bucket{_labels(route=route, le=le)} {total}"
                )
            lines.append(
                f"llmrelay_request_duration_seconds_sum{_labels(route=route)} "
                f"{self.duration_sum[route]:.6f}"
            )
            lines.append(f"llmrelay_request_duration_seconds_count{_labels(route=route)} {total}")
        for name, kind, value, text in (
            ("llmrelay_inflight_requests", "gauge", in_flight, "Upstream requests in flight."),
            ("llmrelay_queued_requests", "gauge", waiting, "Requests waiting for a slot."),
            (
                "llmrelay_rejected_requests_total",
                "counter",
                self.rejected,
                "Requests refused with 503 by the in-flight limit.",
            ),
            (
                "llmrelay_stream_errors_total",
                "counter",
                self.stream_errors,
                "Streams ended by an error event after their first byte.",
            ),
            (
                "llmrelay_client_disconnects_total",
                "counter",
                self.disconnects,
                "Requests whose client went away before the answer was complete.",
            ),
        ):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(lines) + "\n"
