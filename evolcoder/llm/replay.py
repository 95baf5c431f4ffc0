"""`llm.provider: replay`: answers from the call ledger alone, without a key or a network.

The client answers every request the ledger holds before it asks a provider, so whatever
reaches this provider is missing. `check_pending` fails before anything is sent and says
how many calls are missing, for which stage and purpose, and how their sampling parameters
compare with the ones the ledger holds (a changed model or temperature is the usual cause).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from evolcoder.llm.errors import MissingCallsError
from evolcoder.llm.ledger import Ledger
from evolcoder.llm.types import ChatRequest, ChatResult


def _params(model: str, temperature: float, top_p: float, max_tokens: int) -> str:
    return f"model={model} temperature={temperature:g} top_p={top_p:g} max_tokens={max_tokens}"


def _request_params(request: ChatRequest) -> str:
    return _params(request.model, request.temperature, request.top_p, request.max_tokens)


def _purpose(request: ChatRequest) -> str:
    return " ".join(f"{name}={request.meta[name]}" for name in ("stage", "purpose") if name in request.meta) \
        or "no stage in request meta"


def _tally(counts: Counter[str]) -> str:
    return "; ".join(f"{n} x {label}" for label, n in counts.most_common())


class ReplayProvider:
    name = "replay"

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def check_pending(self, requests: Sequence[ChatRequest]) -> None:
        if not requests:
            return
        held = Counter({_params(*params): n for params, n in self.ledger.param_counts().items()})
        examples = ", ".join(r.describe() for r in requests[:3])
        raise MissingCallsError(
            f"llm.provider is replay but {len(requests)} call(s) are not in the ledger {self.ledger.path}.\n"
            f"  missing, by stage and purpose: {_tally(Counter(map(_purpose, requests)))}\n"
            f"  missing, by params: {_tally(Counter(map(_request_params, requests)))}\n"
            f"  the ledger holds ({len(self.ledger)} calls): {_tally(held) or 'nothing'}\n"
            f"  first missing: {examples}\n"
            "Restore the ledger that made these outputs (`dvc pull data/llm_cache`), put the llm and "
            "evolve params back to the values it was made with, or use llm.provider: openai to make "
            "the missing calls."
        )

    async def complete(self, request: ChatRequest) -> ChatResult:
        raise MissingCallsError(f"llm.provider is replay and call {request.key()} ({request.describe()}) "
                                f"is not in the ledger {self.ledger.path}")
