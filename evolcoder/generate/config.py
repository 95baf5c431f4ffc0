"""The `generate` params: which backend and how to decode (the recipe), and how the work is split
(`runtime.generate`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar, Literal

from evolcoder.config import check
from evolcoder.files.paths import CHECKPOINT
from evolcoder.llm.config import LLMConfig, LLMRuntime


@dataclass
class ServerConfig(LLMConfig):
    """The OpenAI-compatible server of `backend: openai`.

    `command` null: a server already runs at `base_url`. Otherwise each shard starts one with
    this command line (a shell command; `{model}` is generate.model, `{port}` a free loopback
    port, `{gpus}` runtime.generate.gpus_per_shard) on its own GPUs, waits up to
    runtime.generate.server.ready_timeout_s for it to answer, and stops it at the end.
    """

    command: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.command is None or "{port}" in self.command, "generate.server.command",
              f"must listen on the port the stage picks: put {{port}} in it (e.g. vllm serve {{model}} "
              f"--port {{port}}), got {self.command!r}")
        check(self.command is None or self.provider == "openai", "generate.server.provider",
              f"a started server (generate.server.command) is answered with provider openai, got {self.provider!r}")


def _server_default() -> ServerConfig:
    return ServerConfig(provider="openai", model=str(CHECKPOINT), base_url="http://localhost:8000/v1",
                        api_key_env=None)


@dataclass
class GenerateConfig:
    """Decoding settings shared by both backends.

    `temperature: 0` is greedy decoding (one sample per task); above 0 each (task, sample)
    draws from its own seeded generator (see `evolcoder.generate.sampling`). `stop` ends a
    response at the first of these strings (and always at the tokenizer's EOS). `tabs`
    rewrites four spaces as a tab in the prompts and tabs back to four spaces in the
    responses, as WizardCoder's generation scripts did. `prompt` picks the prompt text: the
    training prompt (`alpaca`) or that of WizardCoder's later evaluation scripts
    (`eval-scripts`, see `evolcoder.templates.PROMPT_STYLES`). `server` is the OpenAI-compatible
    endpoint of `backend: openai` (its sampling fields are taken from this section).
    """

    backend: Literal["transformers", "openai"] = "transformers"
    model: str = str(CHECKPOINT)
    n_samples: int = 1
    temperature: float = 0.0
    top_p: float = 0.95
    max_new_tokens: int = 512
    stop: list[str] = field(default_factory=lambda: ["\n### Instruction"])
    tabs: bool = False
    prompt: Literal["alpaca", "eval-scripts"] = "alpaca"
    seed: int = 0
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    server: ServerConfig = field(default_factory=_server_default)

    def __post_init__(self) -> None:
        if not isinstance(self.server, ServerConfig):  # an LLMConfig built in code: no server to start
            self.server = ServerConfig(**{f.name: getattr(self.server, f.name) for f in fields(LLMConfig)})
        check(self.n_samples >= 1, "generate.n_samples", f"must be at least 1, got {self.n_samples}")
        check(self.temperature >= 0, "generate.temperature", f"must be >= 0 (0 = greedy), got {self.temperature}")
        check(self.temperature > 0 or self.n_samples == 1, "generate.n_samples",
              f"greedy decoding (temperature 0) gives one sample per task, got n_samples={self.n_samples}")
        check(0 < self.top_p <= 1, "generate.top_p", f"must be in (0, 1], got {self.top_p}")
        check(self.max_new_tokens >= 1, "generate.max_new_tokens", f"must be at least 1, got {self.max_new_tokens}")
        check(all(self.stop), "generate.stop", "stop sequences must be non-empty strings")
        check(self.backend == "transformers" or self.server.provider in ("openai", "replay"),
              "generate.server.provider", f"must be openai or replay, got {self.server.provider!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class ServerRuntime(LLMRuntime):
    """`runtime.generate.server`: the client's knobs for the server of `backend: openai`, and how
    long a started one may take to answer (a large model takes minutes to load)."""

    SECTION: ClassVar[str] = "runtime.generate.server"

    ready_timeout_s: float = 1800.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.ready_timeout_s > 0, f"{self.SECTION}.ready_timeout_s", f"must be positive, got {self.ready_timeout_s}")


@dataclass(frozen=True)
class GenerateRuntime:
    """How the work is split, not the text (params: `runtime.generate`): `batch_size` prompts per
    generate call, `num_shards` worker processes, each on `gpus_per_shard` GPUs (the transformers
    backend spreads the model over them, a started server gets them), on `device`; `server` for
    `backend: openai`."""

    batch_size: int = 8
    num_shards: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"
    gpus_per_shard: int = 1
    server: ServerRuntime = field(default_factory=ServerRuntime)

    def __post_init__(self) -> None:
        for name in ("batch_size", "num_shards", "gpus_per_shard"):
            check(getattr(self, name) >= 1, f"runtime.generate.{name}", f"must be at least 1, got {getattr(self, name)}")
