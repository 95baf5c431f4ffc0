"""`tests` mode's teacher calls: one per answer, asking for assert-based tests of its task.

The prompt (`evolcoder.llm.prompts.write_tests_prompt`) shows the task and what the answer
defines, its interface: signatures of its top-level functions and classes (methods too), or
the names a script leaves behind. Calls go through the LLM client and its ledger, like the
evolution's, so a rerun with other verify settings sends none again.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence

from evolcoder.llm.prompts import write_tests_prompt
from evolcoder.llm import ChatRequest, ChatResult, LLMClient, LLMConfig

STAGE = "verify"
PURPOSE = "tests"


def interface_of(tree: ast.Module) -> str:
    """What a program defines at its top level, as Python: `def f(x): ...` for functions,
    classes with their methods' signatures, else `name = ...` for the names it assigns;
    '' when it defines nothing (a script that only prints)."""
    defs = [_signature(node) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if defs:
        return "\n\n".join(defs)
    names = dict.fromkeys(target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                          for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                          if isinstance(target, ast.Name))
    return "\n".join(f"{name} = ..." for name in names)


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """The node with every function body replaced by `...` (a class keeps only its methods)."""
    node = copy.deepcopy(node)
    functions = [node] if not isinstance(node, ast.ClassDef) else [
        child for child in node.body if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for function in functions:
        function.body = [ast.Expr(ast.Constant(...))]
    if isinstance(node, ast.ClassDef):
        node.body = functions or [ast.Expr(ast.Constant(...))]
    return ast.unparse(node)


class AssertWriter:
    """Asks the teacher (`llm` settings, through `client` and its ledger) for tests."""

    def __init__(self, client: LLMClient, llm: LLMConfig) -> None:
        self.client = client
        self.llm = llm

    def write(self, items: Sequence[tuple[str, int, str, str]]) -> list[ChatResult]:
        """One call per (item id, round, task, interface); results in the same order."""
        requests = [self.request(*item) for item in items]
        return self.client.run(requests, desc="verify: tests calls")

    def request(self, item_id: str, round: int, task: str, interface: str) -> ChatRequest:
        return ChatRequest(
            messages=(("user", write_tests_prompt(task, interface)),), model=self.llm.model,
            temperature=self.llm.temperature, top_p=self.llm.top_p, max_tokens=self.llm.max_tokens,
            meta={"stage": STAGE, "purpose": PURPOSE, "item_id": item_id, "round": round},
        )
