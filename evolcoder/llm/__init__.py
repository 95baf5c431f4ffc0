"""The LLM layer: one async chat interface, the providers behind it, and the call ledger."""

from evolcoder.llm.client import LLMClient, make_provider
from evolcoder.llm.config import LLMConfig, LLMRuntime
from evolcoder.llm.errors import (BatchAPIError, BudgetExceeded, FatalError, LLMError, MissingCallsError,
                                  ProviderConfigError, RetryableError)
from evolcoder.llm.ledger import Ledger
from evolcoder.llm.types import ChatProvider, ChatRequest, ChatResult
from evolcoder.llm.usage import UsageTotals

__all__ = [
    "BatchAPIError", "BudgetExceeded", "ChatProvider", "ChatRequest", "ChatResult", "FatalError", "LLMClient",
    "LLMConfig", "LLMError", "LLMRuntime", "Ledger", "MissingCallsError", "ProviderConfigError", "RetryableError", "UsageTotals",
    "make_provider",
]
