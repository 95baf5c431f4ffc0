"""`llm.provider: openai`: any OpenAI-compatible chat endpoint through the `openai` package.

OpenAI itself (`base_url: null`), Azure OpenAI's v1 endpoint, or a local vLLM, llama.cpp,
Ollama or TGI server. The package's own retries are off: the client's retry loop is the only
one, so `llm.max_retries` means what it says. Each attempt's failure is classified: 429, 408,
409, 5xx, time-outs, connection errors, malformed JSON and empty choices are retryable; 401,
403 and 404 stop the run (key, URL or model wrong: no call can succeed); another 4xx fails the
one call. The HTTP client (the package's aiohttp transport, which costs about half the CPU per
call of its default one) belongs to the event loop that made it: it is made on the first call
of a batch and closed by `aclose()` at the batch's end. Each request carries its ledger key in
an `X-Evolcoder-Key` header, so server logs (and the test server) can match calls to ledger rows.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

import httpx2
import openai

from evolcoder.llm.config import LLMConfig
from evolcoder.llm.errors import FatalError, ProviderConfigError, RetryableError
from evolcoder.llm.types import ChatRequest, ChatResult
from evolcoder.llm.usage import call_cost

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 409, 429}
RUN_STOPPING_STATUS = {401, 403, 404}
OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # sent when llm.api_key_env is null; servers that take no key ignore it


def resolve_api_key(config: LLMConfig, environ: Mapping[str, str]) -> str:
    """The key from the variable `llm.api_key_env` names; a clear error if it is unset."""
    if config.api_key_env is None:
        return NO_KEY
    key = environ.get(config.api_key_env, "").strip()
    if not key:
        where = config.base_url or "the OpenAI API"
        raise ProviderConfigError(
            f"llm.provider is openai but the environment variable {config.api_key_env} "
            f"(llm.api_key_env) is not set, so there is no API key for {where}. Export it, point "
            "llm.api_key_env at the variable that holds your key, or set llm.api_key_env: null for a "
            "local server that takes no key (vLLM, llama.cpp, Ollama, TGI)."
        )
    return key


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


class OpenAIProvider:
    name = "openai"

    def __init__(self, config: LLMConfig, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        # Explicit, so that an OPENAI_BASE_URL in the environment cannot redirect the calls.
        self.base_url = config.base_url or OPENAI_URL
        self.url = f"{self.base_url.rstrip('/')}/chat/completions"
        self._api_key = resolve_api_key(config, environ)
        self._client: openai.AsyncOpenAI | None = None
        if config.model not in config.prices:
            log.warning("llm.prices has no entry for model %s: its cost is reported as 0", config.model)

    async def aclose(self) -> None:
        """Close the HTTP client of the batch that just ended."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def complete(self, request: ChatRequest) -> ChatResult:
        if self._client is None:
            self._client = openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url,
                                              max_retries=0, timeout=self.config.timeout_s,
                                              http_client=openai.DefaultAioHttpClient())
        body = {
            "model": request.model,
            "messages": [{"role": role, "content": content} for role, content in request.messages],
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
        }
        options = {"headers": {"X-Evolcoder-Key": request.key()}, "security": {"bearer_auth": True}}
        try:
            # The raw endpoint, not chat.completions.create: same request, auth and errors, without
            # the SDK's per-call schema transform (a third of its CPU time per call), and the body
            # is parsed here so that a malformed one becomes a retryable error naming the request id.
            response = await self._client.post("/chat/completions", cast_to=httpx2.Response, body=body,
                                               options=options)
        except openai.APIStatusError as e:
            raise self._status_error(e) from e
        except openai.APIConnectionError as e:
            raise self._connection_error(e, request) from e
        return self._result(request, response.text, response.headers.get("x-request-id"))

    def _status_error(self, e: openai.APIStatusError) -> Exception:
        detail = e.body.get("message") if isinstance(e.body, dict) and e.body.get("message") else e.message
        message = f"HTTP {e.status_code} from {self.url} (request id {e.request_id or 'none'}): {detail}"
        if e.status_code in RETRYABLE_STATUS or e.status_code >= 500:
            return RetryableError(message, retry_after=parse_retry_after(e.response.headers))
        if e.status_code in RUN_STOPPING_STATUS:
            return ProviderConfigError(f"{message}\nCheck llm.base_url, llm.model and the key in "
                                       f"{self.config.api_key_env or '(no llm.api_key_env)'}.")
        return FatalError(message)

    def _connection_error(self, e: openai.APIConnectionError, request: ChatRequest) -> RetryableError:
        cause = _root_cause(e)
        # Judged by the root cause: the aiohttp transport reports a refused connection as a time-out.
        if isinstance(e, openai.APITimeoutError) and not isinstance(cause, (ConnectionError, socket.gaierror)):
            return RetryableError(f"no answer from {self.url} within llm.timeout_s={self.config.timeout_s:g}s "
                                  f"({request.describe()})")
        return RetryableError(f"connection to {self.url} failed: {cause!r} ({request.describe()})")

    def _result(self, request: ChatRequest, body: str, request_id: str | None) -> ChatResult:
        where = f"{self.url} (request id {request_id or 'none'})"
        try:
            data = json.loads(body)
        except json.JSONDecodeError as e:
            raise RetryableError(f"malformed JSON from {where}: {e.msg} at column {e.colno}; "
                                 f"body starts {body[:80]!r}") from e
        if not isinstance(data, dict):
            raise RetryableError(f"unexpected answer from {where}: a JSON {type(data).__name__}, not an object")
        where = f"{self.url} (request id {request_id or data.get('id') or 'none'})"
        choices = data.get("choices")
        if not choices:
            raise RetryableError(f"no choices in the answer from {where}")
        choice = choices[0]
        if not isinstance(choice, dict):
            raise RetryableError(f"malformed choice in the answer from {where}: {choice!r:.80}")
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else None
        if text is None:
            raise FatalError(f"no message content in the answer from {where} "
                             f"(finish_reason={choice.get('finish_reason')})")
        prompt_tokens, completion_tokens = _usage(data.get("usage"))
        return ChatResult(
            key=request.key(), text=text, finish_reason=choice.get("finish_reason"),
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cost_usd=call_cost(self.config.prices, request.model, prompt_tokens, completion_tokens),
            provider=self.name,
        )


def _usage(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _root_cause(error: BaseException) -> BaseException:
    while error.__cause__ is not None:
        error = error.__cause__
    return error
