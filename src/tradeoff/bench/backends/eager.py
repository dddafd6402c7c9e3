"""PyTorch eager, fp32 or bf16, on CPU or CUDA; the base for the other PyTorch backends."""
from __future__ import annotations

import time
import warnings

from tradeoff.bench.backends.base import Backend, Loaded, forward_module
from tradeoff.bench.memory import parameter_bytes

DTYPES = {"fp32": "float32", "bf16": "bfloat16"}


class Eager(Backend):
    generates = True

    def __init__(self, name: str = "eager", dtype: str = "fp32"):
        self.name, self.dtype = name, dtype

    def transform(self, model, device: str):
        """Hook for subclasses (compile, quantize); eager runs the model as built."""
        return model

    def load(self, source, device: str, threads: int, status=lambda _: None) -> Loaded:
        import torch

        status(f"building {source.name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = source.build(getattr(torch, DTYPES[self.dtype])).to(device)
            model = self.transform(model, device)
        attention = getattr(model.config, "_attn_implementation", None) or "unknown"
        wrapped = forward_module(model, source.role)

        def forward(inputs):
            with torch.inference_mode():
                return wrapped(**inputs)

        def prepare(inputs):
            return {k: v.to(device) for k, v in inputs.items()}

        generate = token_batches = None
        if source.role == "decoder":
            from tradeoff.bench.decode_serving import decoder_batch

            def generate(inputs, new_tokens):
                return timed_generate(model, inputs, new_tokens, device)

            def token_batches(prompt_lengths, output_tokens, seed):
                return decoder_batch(model, prompt_lengths, output_tokens, seed, device)
        return Loaded(forward=forward, prepare=prepare, dtype=self.dtype, attention=attention,
                      param_bytes=parameter_bytes(model), generate=generate, token_batches=token_batches)


def timed_generate(model, inputs: dict, new_tokens: int, device: str) -> list[float]:
    """Greedy generation of exactly `new_tokens` with the KV cache; returns the time (s) at which
    each token was ready, from the start of the call (the first one is the time to first token).

    EOS is disabled: random weights may emit it at once, which would time nothing.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    stamps: list[float] = []
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    class Stamp(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            sync()
            stamps.append(time.perf_counter() - t0)
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    t0 = time.perf_counter()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                       eos_token_id=None, pad_token_id=pad, stopping_criteria=StoppingCriteriaList([Stamp()]))
    return stamps
