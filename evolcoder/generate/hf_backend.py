"""The `transformers` backend: batched `generate` over a local Hugging Face checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from evolcoder.errors import EvolcoderError
from evolcoder.generate.backend import Completion, Job
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.sampling import SeededSampler, sample_seed
from evolcoder.generate.stopping import StopSequences, trim_at_stop
from evolcoder.templates import prompt_token_ids


class ModelUnavailable(EvolcoderError):
    """The checkpoint folder is missing or incomplete."""


class OutOfMemory(EvolcoderError):
    """One prompt alone does not fit in GPU memory."""


def pick_device(setting: str) -> torch.device:
    """'auto' is the GPU when one is visible, else the CPU."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise EvolcoderError("runtime.generate.device is 'cuda' but torch sees no GPU; set it to auto or cpu")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def pick_dtype(setting: str, device: torch.device) -> torch.dtype:
    """'auto' is bf16 on GPUs with native bf16 (Ampere on), fp16 on older GPUs (which torch would
    otherwise run in emulated bf16, slowly), fp32 on the CPU."""
    if setting != "auto":
        return getattr(torch, setting)
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


def placement(device: torch.device, gpus: int) -> dict:
    """Where the weights go, straight from disk (a 15B model never passes through host memory on its
    way to a GPU): the device, or spread over this process's first `gpus` GPUs (the shard's own;
    a shard process sees no others), layer by layer, in the memory free on each."""
    if device.type != "cuda" or gpus == 1:
        return {"device_map": device}
    return {"device_map": "auto", "max_memory": {i: torch.cuda.mem_get_info(i)[0] for i in range(gpus)}}


def numerics(config: GenerateConfig, runtime: GenerateRuntime) -> dict[str, str | None]:
    """What decides the arithmetic besides the settings: the resolved dtype and device, and the
    torch, CUDA and transformers versions (CPU-fp32 and GPU-bf16 generations must never share a
    plan, nor two transformers releases: their generation code has changed scores before)."""
    device = pick_device(runtime.device)
    return {"dtype": str(pick_dtype(config.dtype, device)).removeprefix("torch."), "device": device.type,
            "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__}


class TransformersBackend:
    """Left-padded batches; each job expanded to `n_samples` rows, each row with its own seed.

    A batch that runs out of GPU memory is halved and retried (the per-(task, sample) seeds keep
    each text), down to one prompt; later batches start at the size that fitted.
    """

    def __init__(self, config: GenerateConfig, runtime: GenerateRuntime):
        if not (Path(config.model) / "config.json").is_file():
            raise ModelUnavailable(
                f"no Hugging Face checkpoint at {config.model} (config.json missing): run the train "
                "stage first, or set generate.model to a checkpoint folder")
        self.config = config
        self.device = pick_device(runtime.device)
        self.tokenizer = AutoTokenizer.from_pretrained(config.model, padding_side="left")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = pick_dtype(config.dtype, self.device)
        self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype,
                                                          **placement(self.device, runtime.gpus_per_shard)).eval()
        self.fitting = runtime.batch_size  # prompts per generate call that fit in memory so far

    def generate(self, jobs: list[Job]) -> list[list[Completion]]:
        done: list[list[Completion]] = []
        while len(done) < len(jobs):
            chunk = jobs[len(done):len(done) + self.fitting]
            completions = self._generate_unless_oom(chunk)
            if completions is None:
                self._halve_after_oom(chunk)
            else:
                done += completions
        return done

    def _generate_unless_oom(self, jobs: list[Job]) -> list[list[Completion]] | None:
        try:
            return self._generate(jobs)
        except torch.cuda.OutOfMemoryError:
            return None  # the caller retries, after this frame (and the batch's tensors) is gone

    def _halve_after_oom(self, jobs: list[Job]) -> None:
        torch.cuda.empty_cache()
        if len(jobs) == 1:
            raise OutOfMemory(
                f"task {jobs[0].task_id}: out of GPU memory generating its {self.config.n_samples} sample(s) of up "
                f"to {self.config.max_new_tokens} tokens even alone; use a GPU with more memory, or "
                "generate.backend: openai with a vLLM server (paged KV cache), or lower generate.n_samples or "
                "generate.max_new_tokens (which changes the results)")
        self.fitting = len(jobs) // 2
        print(f"generate: out of GPU memory with {len(jobs)} prompts per batch; retrying with {self.fitting}",
              file=sys.stderr, flush=True)

    def _generate(self, jobs: list[Job]) -> list[list[Completion]]:
        n = self.config.n_samples
        prompts = [job.prompt for job in jobs for _ in range(n)]
        batch = self.tokenizer.pad({"input_ids": prompt_token_ids(self.tokenizer, prompts)},
                                   return_tensors="pt").to(self.device)
        width = batch["input_ids"].shape[1]
        self._check_fits(jobs, batch["attention_mask"])
        stopper = StopSequences(self.tokenizer, self.config.stop, width, len(prompts), self.tokenizer.eos_token_id)
        processors = []
        if not self.config.greedy:
            seeds = [sample_seed(self.config.seed, job.task_id, s) for job in jobs for s in range(n)]
            processors.append(SeededSampler(seeds, self.config.temperature, self.config.top_p, self.device))
        settings = GenerationConfig(
            max_new_tokens=self.config.max_new_tokens, do_sample=False, num_beams=1,
            pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id,
        )
        with torch.inference_mode():
            out = self.model.generate(**batch, generation_config=settings, logits_processor=processors,
                                      stopping_criteria=[stopper])
        shape = (len(prompts), width)
        rows = [self._completion(ids[width:], stopper.lengths[i], shape) for i, ids in enumerate(out)]
        return [rows[i * n:(i + 1) * n] for i in range(len(jobs))]

    def _check_fits(self, jobs: list[Job], attention_mask: torch.Tensor) -> None:
        limit = self.model.config.max_position_embeddings
        lengths = attention_mask.sum(dim=1)  # prompt tokens per row; rows are jobs x n_samples
        width = int(lengths.max())
        if width + self.config.max_new_tokens > limit:
            longest = jobs[int(lengths.argmax()) // self.config.n_samples].task_id
            raise EvolcoderError(
                f"task {longest}: prompt ({width} tokens) + generate.max_new_tokens "
                f"({self.config.max_new_tokens}) exceed the model's {limit} positions; lower "
                "generate.max_new_tokens or use a model with a longer context (model.config.n_positions "
                "for a scratch model)")

    def _completion(self, new_ids: torch.Tensor, stopped_at: int | None, shape: tuple[int, int]) -> Completion:
        n_tokens = stopped_at if stopped_at is not None else min(len(new_ids), self.config.max_new_tokens)
        text = self.tokenizer.decode(new_ids[:n_tokens], skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False)
        text, _ = trim_at_stop(text, self.config.stop)
        return Completion(text=text, finish_reason="stop" if stopped_at is not None else "length",
                          n_tokens=n_tokens, batch_shape=shape, batch_size=self.fitting)
