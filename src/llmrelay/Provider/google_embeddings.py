"""Embeddings for `Gemini` (API key) and `VertexAI` (service account), mixed into each.

`task_type` (RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT, SEMANTIC_SIMILARITY, CLASSIFICATION, …) is
Google's own parameter: `taskType` of each Gemini request, `task_type` of each Vertex instance.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InvalidRequestError, MissingAuthError
from ..protocols.gemini.embeddings import (
    GEMINI_BATCH,
    batch_request,
    parse_gemini,
    parse_predict,
    predict_request,
    single_request,
    vertex_batch_size,
)
from ..protocols.gemini.upstream_request import model_path
from ..providers.embeddings import (
    Batch,
    Embeddings,
    in_batches,
    normalize_input,
    post_json,
    require_model,
    texts_only,
)
from ..transport.http import (
    DEFAULT_MAX_RETRIES,
    Request,
    Timeouts,
    check_max_retries,
)

__all__ = ["GeminiEmbeddings", "VertexEmbeddings"]


class GeminiEmbeddings:
    """`create_embeddings` through `embedContent` / `batchEmbedContents` (100 per batch)."""

    @classmethod
    async def create_embeddings(
        cls,
        model: str,
        input: Any,
        *,
        dimensions: int | None = None,
        task_type: str | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> Embeddings:
        owner: Any = cls
        name = owner.__name__
        texts = texts_only(normalize_input(input), name)
        model = require_model(model, owner)
        key = owner.resolve_api_key(api_key)
        base = owner.resolve_api_base(api_base)
        model = model.removeprefix("models/")
        path = model_path(model)

        async def send(part: list[str]) -> Batch:
            single = len(part) == 1
            body = single_request(part[0], dimensions, task_type) if single else (
                batch_request(path, part, dimensions, task_type))  # fmt: skip
            method = "embedContent" if single else "batchEmbedContents"
            request = Request(
                provider=name, headers={"x-goog-api-key": key}, json=body, proxy=proxy,
                timeouts=Timeouts.from_param(timeout), max_retries=max_retries, secrets=(key,),
            )  # fmt: skip
            return parse_gemini(await post_json(owner, f"{base}/{path}:{method}", request), name)

        vectors, tokens = await in_batches(texts, GEMINI_BATCH, send)
        return Embeddings(vectors, model, tokens)


class VertexEmbeddings:
    """`create_embeddings` through `:predict` of Vertex AI's text-embedding models."""

    @classmethod
    async def create_embeddings(
        cls,
        model: str,
        input: Any,
        *,
        dimensions: int | None = None,
        task_type: str | None = None,
        credentials: str | os.PathLike[str] | dict[str, Any] | None = None,
        project: str | None = None,
        location: str | None = None,
        api_base: str | None = None,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> Embeddings:
        from .vertex import load_service_account

        owner: Any = cls
        name = owner.__name__
        texts = texts_only(normalize_input(input), name)
        model = require_model(model, owner)
        check_max_retries(max_retries, name)
        account = load_service_account(credentials)
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or account.project_id
        if not project:
            raise InvalidRequestError("VertexAI needs a project: pass project=…", provider=name)
        location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or owner.default_location
        url = owner.model_url(model, project, location, api_base, False).replace(
            ":generateContent", ":predict"
        )
        timeouts = Timeouts.from_param(timeout)
        scoped = owner._for_account(account)

        async def token(renew: bool) -> str:
            auth = None if renew else scoped.get_auth_result()
            if auth is None:
                auth = await scoped.on_auth_async(account=account, timeouts=timeouts, proxy=proxy)
                scoped.write_cache_file(scoped.get_cache_file(), auth)
            return str(auth.access_token)

        async def send(part: list[str]) -> Batch:
            for renew in (False, True):
                bearer = await token(renew)
                request = Request(
                    provider=name, headers={"Authorization": f"Bearer {bearer}"},
                    json=predict_request(part, dimensions, task_type), proxy=proxy,
                    timeouts=timeouts, max_retries=max_retries, secrets=(bearer,),
                )  # fmt: skip
                try:
                    return parse_predict(await post_json(owner, url, request), name)
                except MissingAuthError:
                    if renew:
                        raise
            raise AssertionError("unreachable")

        vectors, tokens = await in_batches(texts, vertex_batch_size(model), send)
        return Embeddings(vectors, model, tokens)
