"""Google's embedding wire formats, I/O-free: the Gemini API's `embedContent` /
`batchEmbedContents` and Vertex AI's `:predict` for its text-embedding models.

Gemini: `{"content": {"parts": [{"text"}]}, "outputDimensionality"}` → `{"embedding":
{"values"}}`; a batch is `{"requests": [{"model": "models/…", …}]}` → `{"embeddings": […]}`
(at most 100 requests; the API reports no token counts). Vertex AI: `{"instances":
[{"content"}], "parameters": {"outputDimensionality"}}` → `{"predictions": [{"embeddings":
{"values", "statistics": {"token_count"}}}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ResponseError
from ...providers.embeddings import Batch

__all__ = ["GEMINI_BATCH", "batch_request", "parse_gemini", "parse_predict", "predict_request",
           "single_request", "vertex_batch_size"]  # fmt: skip

GEMINI_BATCH = 100
#: Vertex AI takes up to 250 texts per request, its gemini-embedding models one.
VERTEX_BATCH = 250


def vertex_batch_size(model: str) -> int:
    return 1 if model.startswith("gemini-embedding") else VERTEX_BATCH


def _content(text: str) -> dict[str, Any]:
    return {"parts": [{"text": text}]}


def single_request(
    text: str, dimensions: int | None, task_type: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"content": _content(text)}
    if task_type is not None:
        body["taskType"] = task_type
    if dimensions is not None:
        body["outputDimensionality"] = dimensions
    return body


def batch_request(
    path: str, texts: list[str], dimensions: int | None, task_type: str | None = None
) -> dict[str, Any]:
    """`path` is the model's `models/<name>`, which every request of the batch repeats."""
    return {"requests": [{"model": path, **single_request(t, dimensions, task_type)}
                         for t in texts]}  # fmt: skip


def _values(embedding: Any, provider: str) -> list[float]:
    values = embedding.get("values") if isinstance(embedding, Mapping) else None
    if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
        raise ResponseError(f"an embedding has no values: {str(embedding)[:120]!r}",
                            provider=provider)  # fmt: skip
    return [float(v) for v in values]


def parse_gemini(data: Any, provider: str) -> Batch:
    """Either answer (`embedding` or `embeddings`)."""
    if isinstance(data, Mapping) and "embedding" in data:
        return Batch([_values(data["embedding"], provider)])
    embeddings = data.get("embeddings") if isinstance(data, Mapping) else None
    if not isinstance(embeddings, list):
        raise ResponseError(f"unexpected answer: {str(data)[:200]!r}", provider=provider)
    return Batch([_values(e, provider) for e in embeddings])


def predict_request(
    texts: list[str], dimensions: int | None, task_type: str | None = None
) -> dict[str, Any]:
    task = {"task_type": task_type} if task_type is not None else {}
    body: dict[str, Any] = {"instances": [{**task, "content": t} for t in texts]}
    if dimensions is not None:
        body["parameters"] = {"outputDimensionality": dimensions}
    return body


def parse_predict(data: Any, provider: str) -> Batch:
    predictions = data.get("predictions") if isinstance(data, Mapping) else None
    if not isinstance(predictions, list):
        raise ResponseError(f"unexpected answer: {str(data)[:200]!r}", provider=provider)
    vectors, tokens = [], 0
    for prediction in predictions:
        embeddings = prediction.get("embeddings") if isinstance(prediction, Mapping) else None
        vectors.append(_values(embeddings, provider))
        stats = embeddings.get("statistics") if isinstance(embeddings, Mapping) else None
        count = stats.get("token_count") if isinstance(stats, Mapping) else None
        tokens += int(count) if isinstance(count, int | float) else 0
    return Batch(vectors, tokens)
