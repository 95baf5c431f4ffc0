"""Which GPUs each generation shard uses: `gpus_per_shard` of the visible ones, never shared.

A shard runs the transformers backend (the model on its GPUs) or starts a server on them
(`generate.server.command`); a shard that talks to a server elsewhere, or runs on the CPU,
uses none.
"""

from __future__ import annotations

from evolcoder.config import ConfigError
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.gpus import describe, visible_gpus


def uses_gpus(config: GenerateConfig, runtime: GenerateRuntime) -> bool:
    """Whether a shard's work runs on this machine's GPUs (when it has any)."""
    if config.backend == "transformers":
        return runtime.device != "cpu"
    return config.server.command is not None


def usable_gpus(config: GenerateConfig, runtime: GenerateRuntime) -> list[str]:
    """The visible GPUs a shard's work may run on; [] when it runs on the CPU or talks to a server elsewhere."""
    return visible_gpus() if uses_gpus(config, runtime) else []


def shard_gpus(config: GenerateConfig, runtime: GenerateRuntime, num_shards: int) -> list[list[str]]:
    """The GPUs of each of `num_shards` shards, as `CUDA_VISIBLE_DEVICES` names them; [] when the
    shards run on the CPU. Refuses a plan that needs more GPUs than are visible: each shard holds a
    whole model, so two shards on one GPU would run out of memory or crawl."""
    per_shard = runtime.gpus_per_shard
    gpus = usable_gpus(config, runtime)
    if not gpus:
        if per_shard > 1:
            where = "no GPU is visible" if uses_gpus(config, runtime) else _why_no_gpus(config)
            raise ConfigError(f"runtime.generate.gpus_per_shard: {per_shard} GPUs per shard but {where}; "
                              "set it to 1, or run where GPUs are visible")
        return []
    if per_shard > len(gpus):
        raise ConfigError(f"runtime.generate.gpus_per_shard: {per_shard} GPUs per shard but {describe(gpus)}; "
                          f"set it to at most {len(gpus)}, or make more GPUs visible")
    if num_shards * per_shard > len(gpus):
        raise ConfigError(
            f"runtime.generate.num_shards: {num_shards} shards x {per_shard} GPU(s) each "
            f"(runtime.generate.gpus_per_shard) need {num_shards * per_shard} GPUs but {describe(gpus)}; "
            f"set runtime.generate.num_shards to at most {len(gpus) // per_shard}, or make more GPUs visible")
    return [gpus[i * per_shard:(i + 1) * per_shard] for i in range(num_shards)]


def _why_no_gpus(config: GenerateConfig) -> str:
    if config.backend == "transformers":
        return "runtime.generate.device is cpu"
    return "the shards talk to a server elsewhere (generate.server.command is null)"
