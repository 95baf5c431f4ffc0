"""The `openai` backend: any OpenAI-compatible server (vLLM, TGI) through the LLM layer.

The whole Alpaca prompt goes as the one user message; serve the checkpoint with a chat
template that passes it through unchanged (vLLM: `--chat-template` with
`{{ messages[0]['content'] }}`), so the model sees exactly the prompt it was trained on.
Every call is recorded in the ledger: a rerun re-sends only what it does not hold.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from evolcoder.errors import EvolcoderError
from evolcoder.generate.backend import Completion, Job
from evolcoder.generate.config import GenerateConfig, ServerRuntime
from evolcoder.generate.server import ModelServer
from evolcoder.generate.stopping import trim_at_stop
from evolcoder.llm import ChatRequest, ChatResult, Ledger, LLMClient


class GenerationFailed(EvolcoderError):
    """The server gave no answer for a sample after the LLM layer's retries."""


class OpenAIBackend:
    """Sends one request per (task, sample); `sample` keeps repeated samples distinct in the ledger.

    With a `server` the shard started, requests go to it, and its death ends the wait for their
    answers at once (the answers that came are in the ledger) instead of after every retry.
    """

    def __init__(self, config: GenerateConfig, runtime: ServerRuntime, ledger_dir: str | Path,
                 server: ModelServer | None = None):
        self.config = config
        self.ledger = Ledger(ledger_dir)
        self.server = server
        endpoint = config.server if server is None else dataclasses.replace(config.server, base_url=server.url)
        self.client = LLMClient(endpoint, runtime, self.ledger)

    def generate(self, jobs: list[Job]) -> list[list[Completion]]:
        n = self.config.n_samples
        requests = [self._request(job, s) for job in jobs for s in range(n)]
        results = self._answer(requests)
        completions = []
        for request, result in zip(requests, results):
            if not result.ok:
                if self.server is not None:
                    self.server.check_running()  # a dead server, not the request, is the cause
                raise GenerationFailed(f"{request.describe()} sample {request.sample}: {result.error}")
            text, stopped = trim_at_stop(result.text or "", self.config.stop)
            reason = "stop" if stopped else (result.finish_reason or "stop")
            completions.append(Completion(text=text, finish_reason=reason, n_tokens=result.completion_tokens))
        return [completions[i * n:(i + 1) * n] for i in range(len(jobs))]

    def _answer(self, requests: list[ChatRequest]) -> list[ChatResult]:
        if self.server is None:
            return self.client.run(requests, desc="generate")
        self.server.check_running()
        return asyncio.run(self._answer_while_running(requests, self.server))

    async def _answer_while_running(self, requests: list[ChatRequest], server: ModelServer) -> list[ChatResult]:
        answers = asyncio.ensure_future(self.client.arun(requests, desc="generate"))
        watch = asyncio.ensure_future(server.watch())
        await asyncio.wait({answers, watch}, return_when=asyncio.FIRST_COMPLETED)
        pending = watch if answers.done() else answers
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        if pending is watch:
            return answers.result()
        raise server.died()

    def _request(self, job: Job, sample: int) -> ChatRequest:
        return ChatRequest(
            messages=(("user", job.prompt),), model=self.config.server.model,
            temperature=self.config.temperature, top_p=self.config.top_p,
            max_tokens=self.config.max_new_tokens, sample=sample,
            meta={"stage": "generate", "purpose": "benchmark", "item_id": job.task_id},
        )
