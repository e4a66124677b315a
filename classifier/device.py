"""Device choice and the opt-in reduced-precision autocast used for inference."""
from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

import torch

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def choose_device(requested: str | torch.device | None = None) -> torch.device:
    """The requested device, or CUDA when present and CPU otherwise.

    `requested` may be None or "auto" (automatic), "cpu", "cuda" or "cuda:N". Asking for CUDA on a
    machine without it is an error rather than a silent fallback, so a misconfigured worker is noticed.
    """
    if requested is None or (isinstance(requested, str) and requested.strip().lower() in ("", "auto")):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"invalid device {requested!r}: {error}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {requested!r} requested but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {requested!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {requested!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    return device


def autocast(device: torch.device | str, precision: str | None) -> AbstractContextManager:
    """Context for running the networks at `precision`: None or "fp32" (exact), "bf16" or "fp16".

    Reduced precision is offered on CUDA only; on CPU it is refused, because CPU autocast is slower
    here and would silently move outputs outside the conformance tolerances.
    """
    if precision is None or precision == "fp32":
        return contextlib.nullcontext()
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"unknown precision {precision!r}; expected 'fp32', 'bf16' or 'fp16'")
    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError(f"{precision} autocast is only supported on CUDA devices, not {device.type!r}; use fp32")
    return torch.autocast("cuda", dtype=AUTOCAST_DTYPES[precision])
