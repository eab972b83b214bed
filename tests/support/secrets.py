"""Checks that a secret shows nowhere: an error's str and repr, its whole rendered traceback
(chained causes and contexts included) and every log record."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterable


def rendered(error: BaseException) -> str:
    """Everything a user could see of `error`: str, repr and the full traceback."""
    return "\n".join((str(error), repr(error), *traceback.format_exception(error)))


def record_texts(records: Iterable[logging.LogRecord]) -> str:
    texts = []
    for record in records:
        texts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(rendered(record.exc_info[1]))
    return "\n".join(texts)


def assert_masked(
    error: BaseException | None,
    secrets: Iterable[str],
    records: Iterable[logging.LogRecord] = (),
) -> None:
    """No secret (nor its base64 form) in `error`, anywhere in its traceback, or in `records`."""
    text = (rendered(error) if error is not None else "") + "\n" + record_texts(records)
    for secret in secrets:
        assert secret not in text, f"{secret!r} shows in:\n{text}"
        assert base64.b64encode(secret.encode()).decode() not in text
