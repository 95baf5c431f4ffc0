"""The `openai` backend: any OpenAI-compatible server (vLLM, TGI) through the LLM layer.

The whole Alpaca prompt goes as the one user message; serve the checkpoint with a chat
template that passes it through unchanged (vLLM: `--chat-template` with
`{{ messages[0]['content'] }}`), so the model sees exactly the prompt it was trained on.
Every call is recorded in the ledger: a rerun re-sends only what it does not hold.
"""

from __future__ import annotations

from pathlib import Path

from evolcoder.errors import EvolcoderError
from evolcoder.generate.backend import Completion, Job
from evolcoder.generate.config import GenerateConfig
from evolcoder.generate.stopping import trim_at_stop
from evolcoder.llm import ChatRequest, Ledger, LLMClient


class GenerationFailed(EvolcoderError):
    """The server gave no answer for a sample after the LLM layer's retries."""


class OpenAIBackend:
    """Sends one request per (task, sample); `sample` keeps repeated samples distinct in the ledger."""

    def __init__(self, config: GenerateConfig, ledger_dir: str | Path):
        self.config = config
        self.ledger = Ledger(ledger_dir)
        self.client = LLMClient(config.server, self.ledger)

    def generate(self, jobs: list[Job]) -> list[list[Completion]]:
        n = self.config.n_samples
        requests = [self._request(job, s) for job in jobs for s in range(n)]
        results = self.client.run(requests, desc="generate")
        completions = []
        for request, result in zip(requests, results):
            if not result.ok:
                raise GenerationFailed(f"{request.describe()} sample {request.sample}: {result.error}")
            text, stopped = trim_at_stop(result.text or "", self.config.stop)
            reason = "stop" if stopped else (result.finish_reason or "stop")
            completions.append(Completion(text=text, finish_reason=reason, n_tokens=result.completion_tokens))
        return [completions[i * n:(i + 1) * n] for i in range(len(jobs))]

    def _request(self, job: Job, sample: int) -> ChatRequest:
        return ChatRequest(
            messages=(("user", job.prompt),), model=self.config.server.model,
            temperature=self.config.temperature, top_p=self.config.top_p,
            max_tokens=self.config.max_new_tokens, sample=sample,
            meta={"stage": "generate", "purpose": "benchmark", "item_id": job.task_id},
        )
