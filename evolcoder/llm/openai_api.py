"""The OpenAI API's wire format and failure classes, shared by the `openai` and `openai-batch`
providers: the chat request body, the SDK client, and how an answer or an error is read.

Failures are classified by what a retry can do: 429, 408, 409, 5xx, time-outs, connection
errors, malformed JSON and empty choices are retryable; 401, 403 and 404 (key, URL or model
wrong) and an HTML page where JSON was expected (a base URL that is not an OpenAI API) stop the
run, since no call can succeed; another 4xx fails the one call.
"""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import Mapping
from typing import Any

import openai

from evolcoder.llm.config import LLMConfig
from evolcoder.llm.errors import FatalError, ProviderConfigError, RetryableError
from evolcoder.llm.types import ChatRequest, ChatResult
from evolcoder.llm.usage import Pricing

RETRYABLE_STATUS = {408, 409, 429}
RUN_STOPPING_STATUS = {401, 403, 404}
DETAIL_CHARS = 300


def make_client(config: LLMConfig, api_key: str, timeout_s: float) -> openai.AsyncOpenAI:
    """An SDK client with its own retries off (the caller's retry loop is the only one) on the
    package's aiohttp transport (about half the CPU per call of its default one). It belongs to
    the event loop that made it."""
    return openai.AsyncOpenAI(api_key=api_key, base_url=config.endpoint, max_retries=0,
                              timeout=timeout_s, http_client=openai.DefaultAioHttpClient())


def chat_body(request: ChatRequest) -> dict[str, Any]:
    """The `/chat/completions` request body of `request`."""
    return {
        "model": request.model,
        "messages": [{"role": role, "content": content} for role, content in request.messages],
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
    }


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if value := headers.get("retry-after-ms"):
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_error(status: int, detail: str, where: str, config: LLMConfig,
                 retry_after: float | None = None) -> Exception:
    """The error for an HTTP `status` answered at `where` (a URL and request id)."""
    message = f"HTTP {status} from {where}: {detail}"
    if status in RETRYABLE_STATUS or status >= 500:
        return RetryableError(message, kind=f"http_{status}", retry_after=retry_after)
    if status in RUN_STOPPING_STATUS:
        return ProviderConfigError(f"{message}\nCheck llm.base_url, llm.model and the key in "
                                   f"{config.api_key_env or '(no llm.api_key_env)'}.")
    return FatalError(message, kind=f"http_{status}")


def sdk_status_error(e: openai.APIStatusError, url: str, config: LLMConfig) -> Exception:
    """`status_error` for an error the SDK raised."""
    return status_error(e.status_code, error_detail(e.body, e.message),
                        f"{url} (request id {e.request_id or 'none'})", config,
                        retry_after=parse_retry_after(e.response.headers))


def error_detail(body: object, fallback: str) -> str:
    """The message of an error body: OpenAI's `message`, FastAPI's `detail`, or the text."""
    if isinstance(body, Mapping):
        detail = body.get("message") or body.get("detail")
        if detail:
            return str(detail)[:DETAIL_CHARS]
    if isinstance(body, str) and body.strip():
        if _is_html(body):
            return "an HTML page, not an OpenAI API's JSON error (is llm.base_url the API, ending in /v1?)"
        return body.strip()[:DETAIL_CHARS]
    return fallback


def connection_error(e: openai.APIConnectionError, url: str, timeout_s: float, what: str) -> RetryableError:
    """A retryable error for a connection that failed or an answer that took too long."""
    cause = _root_cause(e)
    # Judged by the root cause: the aiohttp transport reports a refused connection as a time-out.
    if isinstance(e, openai.APITimeoutError) and not isinstance(cause, (ConnectionError, socket.gaierror)):
        return RetryableError(f"no answer from {url} within runtime.llm.timeout_s={timeout_s:g}s ({what})",
                              kind="timeout")
    return RetryableError(f"connection to {url} failed: {cause!r} ({what})", kind="connection")


def parse_json_body(body: str, where: str) -> dict[str, Any]:
    """The JSON object of an answer; an HTML page means the base URL is not an OpenAI API."""
    if _is_html(body):
        raise ProviderConfigError(
            f"{where} answered with an HTML page, not an OpenAI API's JSON (it starts {body.strip()[:60]!r}). "
            "Point llm.base_url at the API itself: OpenAI-compatible servers serve it under /v1, "
            "e.g. http://localhost:8000/v1."
        )
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise RetryableError(f"malformed JSON from {where}: {e.msg} at column {e.colno}; body starts {body[:80]!r}",
                             kind="malformed_answer") from e
    if not isinstance(data, dict):
        raise RetryableError(f"unexpected answer from {where}: a JSON {type(data).__name__}, not an object",
                             kind="malformed_answer")
    return data


def completion_result(request: ChatRequest, data: Mapping[str, Any], where: str, pricing: Pricing,
                      provider: str) -> ChatResult:
    """The result a chat completion object `data` gives `request`."""
    choices = data.get("choices")
    if not choices:
        raise RetryableError(f"no choices in the answer from {where}", kind="no_choices")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise RetryableError(f"malformed choice in the answer from {where}: {choice!r:.80}", kind="malformed_answer")
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if text is None:
        raise FatalError(f"no message content in the answer from {where} "
                         f"(finish_reason={choice.get('finish_reason')})", kind="no_content")
    prompt_tokens, completion_tokens = _usage(data.get("usage"))
    return ChatResult(key=request.key(), text=text, finish_reason=choice.get("finish_reason"),
                      prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                      cost_usd=pricing.cost(prompt_tokens, completion_tokens), provider=provider)


def _is_html(body: str) -> bool:
    return body.lstrip()[:1] == "<"


def _usage(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _root_cause(error: BaseException) -> BaseException:
    while error.__cause__ is not None:
        error = error.__cause__
    return error
