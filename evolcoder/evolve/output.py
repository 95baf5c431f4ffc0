"""What the evolve stage leaves behind: one JSONL file per round, a manifest, flat metrics.

Its folder (`paths.EVOL`) is one DVC output holding `round_1.jsonl` .. `round_<k>.jsonl` and
`manifest.json`, which names the round files and counts their records, so a reader never
guesses the number of rounds from the folder; round files of an earlier, longer run are
removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evolcoder.evolve.config import EvolveConfig
from evolcoder.evolve.eliminate import REASONS
from evolcoder.evolve.rounds import RoundResult
from evolcoder.files.records import MANIFEST, ROUND_FILES, round_filename
from evolcoder.jsonl import write_json, write_jsonl


def data_provider(rounds: Sequence[RoundResult], fallback: str) -> str:
    """Whose answers the records hold: `dry-run`, `openai`, ... (`+`-joined if several);
    a replayed ledger names the provider that first answered, not `replay`."""
    names = sorted({rec["llm"]["provider"] for r in rounds for rec in r.records})
    return "+".join(names) or fallback


def write_rounds(out_dir: str | Path, rounds: Sequence[RoundResult], provider: str,
                 model: str) -> dict[str, Any]:
    """Write every round's records and the manifest into `out_dir`; return the manifest."""
    out_dir = Path(out_dir)
    files = []
    for r in rounds:
        write_jsonl(out_dir / round_filename(r.round), r.records)
        files.append({
            "round": r.round,
            "path": round_filename(r.round),
            "records": len(r.records),
            "kept": sum(rec["eliminated"] is None for rec in r.records),
        })
    names = {f["path"] for f in files}
    for stale in out_dir.glob(ROUND_FILES):
        if stale.name not in names:
            stale.unlink()
    manifest = {"rounds": len(rounds), "provider": provider, "model": model, "files": files}
    write_json(out_dir / MANIFEST, manifest)
    return manifest


TOTALS = ("calls", "prompt_tokens", "completion_tokens", "cost_usd")


def evolve_metrics(rounds: Sequence[RoundResult], provider: str, model: str, config: EvolveConfig,
                   pool_size: int) -> dict[str, Any]:
    """Flat metrics of the data: per round counts, reasons, instruction length, failed calls,
    whether it is a partial round kept by `evolve.on_failure: keep`, and the calls' tokens and
    cost (ledger answers included), and their totals. What one run sent or took from the ledger
    is not here: it would change the file between two runs of the same data."""
    metrics: dict[str, Any] = {"provider": provider, "model": model, "methods": config.methods,
                               "rounds": len(rounds), "pool_size": pool_size, "on_failure": config.on_failure}
    for r in rounds:
        metrics.update(_round_metrics(r))
    metrics["kept_total"] = sum(metrics[f"round_{r.round}.kept"] for r in rounds)
    metrics["partial_rounds"] = sum(bool(r.breaches) for r in rounds)
    for name in TOTALS:
        metrics[f"total.{name}"] = round(sum(metrics[f"round_{r.round}.{name}"] for r in rounds), 6)
    return metrics


def _round_metrics(r: RoundResult) -> dict[str, Any]:
    p = f"round_{r.round}"
    reasons = Counter(rec["eliminated"] for rec in r.records if rec["eliminated"] is not None)
    kept = [rec for rec in r.records if rec["eliminated"] is None]
    words = [len(rec["instruction"].split()) for rec in kept]
    out: dict[str, Any] = {f"{p}.attempted": len(r.records), f"{p}.kept": len(kept)}
    out.update({f"{p}.eliminated.{reason}": reasons.get(reason, 0) for reason in REASONS})
    out[f"{p}.mean_instruction_words"] = round(sum(words) / len(words), 2) if words else 0.0
    out[f"{p}.calls"] = len(r.results)
    out[f"{p}.failed_calls"] = sum(not res.ok for res in r.results)
    out[f"{p}.partial"] = bool(r.breaches)
    out[f"{p}.prompt_tokens"] = sum(res.prompt_tokens for res in r.results)
    out[f"{p}.completion_tokens"] = sum(res.completion_tokens for res in r.results)
    out[f"{p}.cost_usd"] = round(sum(res.cost_usd for res in r.results), 6)
    return out
