"""`llm.provider: openai`: any OpenAI-compatible chat endpoint through the `openai` package.

OpenAI itself (`base_url: null`), Azure OpenAI's v1 endpoint, or a local vLLM, llama.cpp,
Ollama, TGI or `transformers serve` server. One call per request; how failures are classified
is in `evolcoder.llm.openai_api`. The HTTP client belongs to the event loop that made it: it
is made on the first call of a batch and closed by `aclose()` at the batch's end. Each request
carries its ledger key in an `X-Evolcoder-Key` header, so server logs (and the test server)
can match calls to ledger rows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import httpx2
import openai

from evolcoder.llm.config import LLMConfig, LLMRuntime, resolve_api_key
from evolcoder.llm.openai_api import (chat_body, completion_result, connection_error, make_client, parse_json_body,
                                      sdk_status_error)
from evolcoder.llm.types import ChatRequest, ChatResult
from evolcoder.llm.usage import Pricing

log = logging.getLogger(__name__)


class OpenAIProvider:
    name = "openai"

    def __init__(self, config: LLMConfig, runtime: LLMRuntime, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.timeout_s = runtime.timeout_s
        self.url = f"{config.endpoint.rstrip('/')}/chat/completions"
        self.pricing = Pricing.of(config)
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
            self._client = make_client(self.config, self._api_key, self.timeout_s)
        options = {"headers": {"X-Evolcoder-Key": request.key()}, "security": {"bearer_auth": True}}
        try:
            # The raw endpoint, not chat.completions.create: same request, auth and errors, without
            # the SDK's per-call schema transform (a third of its CPU time per call), and the body
            # is parsed here so that a malformed one becomes a retryable error naming the request id.
            response = await self._client.post("/chat/completions", cast_to=httpx2.Response,
                                               body=chat_body(request), options=options)
        except openai.APIStatusError as e:
            raise sdk_status_error(e, self.url, self.config) from e
        except openai.APIConnectionError as e:
            raise connection_error(e, self.url, self.timeout_s, request.describe()) from e
        request_id = response.headers.get("x-request-id")
        data = parse_json_body(response.text, f"{self.url} (request id {request_id or 'none'})")
        where = f"{self.url} (request id {request_id or data.get('id') or 'none'})"
        return completion_result(request, data, where, self.pricing, self.name)
