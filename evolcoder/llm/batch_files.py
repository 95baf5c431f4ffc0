"""The Batch API's files: JSONL input files cut to its limits, and its result lines read back.

An input line is `{custom_id, method: POST, url: /v1/chat/completions, body}`; the custom id is
the call's ledger key, so an answer can only ever be stored under the call that asked for it.
A result line (output or error file) is `{id, custom_id, response: {status_code, request_id,
body}, error}`: `error` set when the request never ran (e.g. `batch_expired`), else `response`
holds what the chat endpoint answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from evolcoder.llm.config import LLMConfig
from evolcoder.llm.errors import BatchAPIError, RetryableError
from evolcoder.llm.openai_api import chat_body, completion_result, error_detail, status_error
from evolcoder.llm.types import ChatRequest, ChatResult
from evolcoder.llm.usage import Pricing

ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"  # the only window the Batch API offers


def request_line(request: ChatRequest) -> bytes:
    """One input line: the chat request, with its ledger key as the custom id."""
    line = {"custom_id": request.key(), "method": "POST", "url": ENDPOINT, "body": chat_body(request)}
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"


def split_parts(requests: Sequence[ChatRequest], max_requests: int, max_bytes: int) -> list[list[ChatRequest]]:
    """`requests` in order, cut into input files of at most `max_requests` lines and `max_bytes`."""
    parts: list[list[ChatRequest]] = []
    size = 0
    for request in requests:
        n = len(request_line(request))
        if n > max_bytes:
            raise BatchAPIError(f"call {request.key()} ({request.describe()}) takes {n:,} bytes as a batch line, "
                                f"more than runtime.llm.batch_max_bytes ({max_bytes:,}) allows in a whole input file")
        if not parts or len(parts[-1]) >= max_requests or size + n > max_bytes:
            parts.append([])
            size = 0
        parts[-1].append(request)
        size += n
    return parts


def input_file(requests: Sequence[ChatRequest]) -> bytes:
    return b"".join(request_line(request) for request in requests)


def result_lines(content: bytes) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(line number, line object) of an output or error file; a line that is not a JSON
    object is skipped (its call, left without a line, is retried)."""
    for lineno, raw in enumerate(content.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict):
            yield lineno, line


def line_result(request: ChatRequest, line: Mapping[str, Any], where: str, config: LLMConfig,
                pricing: Pricing, provider: str) -> ChatResult:
    """The result one result line gives `request`; raises the error it carries (retryable or
    not, as for a direct call), so the caller retries or records it."""
    error = line.get("error")
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        raise RetryableError(f"{error_detail(error, str(error))} ({code or 'error'}, {where})",
                             kind=str(code or "batch_error"))
    response = line.get("response")
    if not isinstance(response, dict):
        raise RetryableError(f"a result line without a response ({where})", kind="malformed_answer")
    where = f"{where}, request id {response.get('request_id') or 'none'}"
    body = response.get("body")
    status = response.get("status_code")
    if not isinstance(status, int) or not isinstance(body, dict):
        raise RetryableError(f"a result line without a status code or a JSON body ({where})", kind="malformed_answer")
    if status != 200:
        raise status_error(status, error_detail(body.get("error", body), "no detail"), where, config)
    return completion_result(request, body, where, pricing, provider)
