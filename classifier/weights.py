"""Reading and writing classifier weights.

`load(path)` accepts
- the published weight layouts: a dict whose "model" entry is a view-wise or image-wise
  ("ModeImage") state dict, or a bare DenseNet-121 patch-classifier state dict, in the legacy or the
  zip serialization format, with or without `num_batches_tracked` counters, with or without the
  alias trunk prefixes (`l_cc`, `r_cc`, `l_mlo`, `r_mlo`, which must equal `cc`/`mlo` when present);
- our own checkpoints written by `save_checkpoint`: the state dict plus metadata (architecture,
  variant, version, demonstration flag, ...) and the SHA-256 of the weights payload, verified on load.

Files are read with `torch.load(weights_only=True)`, which never executes code from the file.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .device import choose_device
from .networks import ImageBreastModel, PatchDenseNet121, SingleImageBreastModel, ViewWiseModel
from .networks.imagewise import single_image_state_dict
from .networks.optimize import OPTIMIZED_ATTRIBUTE, optimize_for_inference
from .networks.viewwise import TRUNK_ALIASES

KINDS = ("viewwise", "imagewise", "single_image", "patch")
CHECKPOINT_FORMAT = "mammo-reader-study/classifier-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
ARCHITECTURES = {
    "viewwise": "viewwise-resnet22",
    "imagewise": "imagewise-resnet22",
    "single_image": "single-image-resnet22",
    "patch": "densenet121-patch",
}
VARIANTS = {1: "image_only", 3: "image_heatmaps"}
_MODEL_CLASSES = {
    "viewwise": ViewWiseModel,
    "imagewise": ImageBreastModel,
    "single_image": SingleImageBreastModel,
}
_FIRST_CONV = {
    "viewwise": "four_view_resnet.cc.first_conv.weight",
    "imagewise": "four_view_resnet.cc.first_conv.weight",
    "single_image": "view_resnet.first_conv.weight",
}


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference and what is known about it."""

    model: nn.Module
    kind: str
    in_channels: int | None
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    device: torch.device = torch.device("cpu")

    @property
    def demonstration(self) -> bool:
        return bool(self.metadata.get("demonstration", False))


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def state_dict_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of a state dict's content: names, dtypes, shapes and values, in sorted key order.

    Independent of the serialization format, so it identifies the weights themselves.
    """
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().to("cpu").contiguous()
        header = f"{key}\0{str(tensor.dtype)}\0{tuple(tensor.shape)}\0"
        digest.update(header.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def read_file(path: str | os.PathLike, *, trusted: bool = False) -> Any:
    """torch.load on CPU, refusing pickled code unless `trusted` is set."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not trusted:
            lines = [line.strip() for line in str(error).splitlines() if "Unsupported global" in line]
            reason = lines[0] if lines else str(error).splitlines()[0]
            raise ValueError(
                f"{path} holds objects other than tensors and plain containers, so it cannot be read "
                f"safely (torch.load weights_only=True: {reason}). "
                "Load it with trusted=True only if you trust its origin."
            ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(f"{path} is not a readable torch weight file: {error}") from None
    warnings.warn(f"loading {path} with weights_only=False (trusted=True): it may execute code", stacklevel=2)
    return torch.load(path, map_location="cpu", weights_only=False)


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in obj.items()
    )


def unpack(obj: Any, source: str = "file") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split a loaded object into (state dict, metadata); verifies our checkpoints' digest."""
    if isinstance(obj, Mapping) and obj.get("format") == CHECKPOINT_FORMAT:
        version = obj.get("format_version")
        if version != CHECKPOINT_FORMAT_VERSION:
            raise ValueError(f"{source}: unsupported checkpoint format version {version!r}")
        state, metadata, recorded = obj.get("state_dict"), obj.get("metadata"), obj.get("weights_sha256")
        if not _is_state_dict(state) or not isinstance(metadata, Mapping) or not isinstance(recorded, str):
            raise ValueError(f"{source}: damaged checkpoint (state_dict, metadata or weights_sha256 missing)")
        actual = state_dict_sha256(state)
        if actual != recorded:
            raise ValueError(
                f"{source}: weights SHA-256 mismatch (recorded {recorded}, computed {actual}); "
                "the checkpoint was modified or corrupted"
            )
        return dict(state), {**metadata, "weights_sha256": actual, "format": CHECKPOINT_FORMAT}
    if isinstance(obj, Mapping) and "model" in obj:
        if not _is_state_dict(obj["model"]):
            raise ValueError(f"{source}: the 'model' entry is not a state dict of named tensors")
        other = sorted(str(key) for key in obj if key != "model")
        return dict(obj["model"]), {"format": "published-wrapped-state-dict", "other_entries": other}
    if _is_state_dict(obj):
        return dict(obj), {"format": "published-bare-state-dict"}
    if isinstance(obj, nn.Module):
        return dict(obj.state_dict()), {"format": "pickled-module"}
    raise ValueError(
        f"{source}: expected a state dict, a dict with a 'model' state dict, or a classifier checkpoint; "
        f"got {type(obj).__name__}"
    )


def infer_kind(state: Mapping[str, torch.Tensor]) -> str:
    """Which model a state dict belongs to, from its keys."""
    if "features.conv0.weight" in state and "classifier.weight" in state:
        return "patch"
    if "fc1_cc.weight" in state or "fc1_mlo.weight" in state:
        return "viewwise"
    if any(key.startswith("fc1_lcc.") for key in state):
        return "imagewise"
    if "fc1.weight" in state and "view_resnet.first_conv.weight" in state:
        return "single_image"
    sample = ", ".join(sorted(state)[:5])
    raise ValueError(f"cannot tell which classifier these weights belong to (first keys: {sample})")


def infer_in_channels(state: Mapping[str, torch.Tensor], kind: str) -> int | None:
    if kind == "patch":
        return None
    key = _FIRST_CONV[kind]
    if key not in state:
        raise ValueError(f"state dict of a {kind} model lacks {key!r}")
    return int(state[key].shape[1])


def build_model(kind: str, in_channels: int | None = None) -> nn.Module:
    if kind == "patch":
        return PatchDenseNet121()
    if kind not in _MODEL_CLASSES:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    return _MODEL_CLASSES[kind](in_channels)


def _resolve_aliases(state: dict[str, torch.Tensor]) -> None:
    """Fill absent alias trunks from `cc`/`mlo`; reject aliases that differ from them."""
    for alias, canonical in TRUNK_ALIASES.items():
        alias_prefix, canonical_prefix = f"four_view_resnet.{alias}.", f"four_view_resnet.{canonical}."
        alias_keys = [key for key in state if key.startswith(alias_prefix)]
        canonical_keys = [key for key in state if key.startswith(canonical_prefix)]
        if not alias_keys:
            for key in canonical_keys:
                state[alias_prefix + key[len(canonical_prefix):]] = state[key]
            continue
        for key in alias_keys:
            twin = canonical_prefix + key[len(alias_prefix):]
            if twin in state and not torch.equal(state[key], state[twin]):
                raise ValueError(
                    f"{key} differs from {twin}; the alias trunk prefixes must hold the same tensors as the shared trunk"
                )


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], kind: str) -> None:
    """Strictly load `state` into `model`, with messages that name the offending keys."""
    state = dict(state)
    if kind in ("viewwise", "imagewise"):
        _resolve_aliases(state)
    expected = model.state_dict()
    for key, value in expected.items():
        # Counters are absent from files written before torch 0.4.1; they do not affect inference.
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value.clone()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"weights do not fit the {kind} model: {len(missing)} missing key(s) {_preview(missing)}, "
            f"{len(unexpected)} unexpected key(s) {_preview(unexpected)}"
        )
    mismatched = [
        f"{key} {tuple(state[key].shape)} (expected {tuple(value.shape)})"
        for key, value in expected.items()
        if tuple(state[key].shape) != tuple(value.shape)
    ]
    if mismatched:
        raise ValueError(f"weights do not fit the {kind} model: wrong shapes for {_preview(mismatched)}")
    model.load_state_dict(state, strict=True)


def _preview(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"


def load(
    path: str | os.PathLike,
    device: str | torch.device | None = None,
    kind: str | None = None,
    *,
    view: str | None = None,
    optimize: bool = True,
    trusted: bool = False,
) -> LoadedModel:
    """Load a weight file into the matching network, in eval mode, on `device`.

    `kind` is inferred from the keys when None. `view` is needed only to build the single-image
    model from an image-wise (ModeImage) file. `optimize` applies `optimize_for_inference` (exact
    up to float32 rounding; the conformance tests run on the optimized model).
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path)
    state, metadata = unpack(read_file(path, trusted=trusted), source=str(path))
    found = infer_kind(state)
    saved_kind = metadata.get("kind")
    if saved_kind is not None and saved_kind != found:
        raise ValueError(f"{path}: metadata says kind {saved_kind!r} but the weights are a {found} model")
    if view is not None and kind != "single_image":
        raise ValueError("view= only applies when building the single-image model (kind='single_image')")
    if kind == "single_image" and found == "imagewise":
        if view is None:
            raise ValueError("building the single-image model from an image-wise file needs view= (e.g. 'L-CC')")
        state = single_image_state_dict(state, view)
        metadata["source_view"] = view
        found = "single_image"
    if kind is not None and kind != found:
        raise ValueError(f"{path} holds a {found} model, not the requested {kind}")
    in_channels = infer_in_channels(state, found)
    model = build_model(found, in_channels)
    load_state(model, state, found)
    resolved = choose_device(device)
    model.to(resolved).eval()
    if optimize:
        optimize_for_inference(model)
    metadata.setdefault("architecture", ARCHITECTURES[found])
    if in_channels is not None:
        metadata.setdefault("variant", VARIANTS[in_channels])
    metadata.setdefault("version", None)
    metadata.setdefault("demonstration", False)
    metadata["kind"] = found
    return LoadedModel(
        model=model,
        kind=found,
        in_channels=in_channels,
        sha256=file_sha256(path),
        metadata=metadata,
        path=path,
        device=resolved,
    )


def _kind_of(model: nn.Module) -> str:
    for kind, cls in (*_MODEL_CLASSES.items(), ("patch", PatchDenseNet121)):
        if isinstance(model, cls):
            return kind
    raise ValueError(f"save_checkpoint does not know the model class {type(model).__name__}")


def _plain(value: Any, where: str) -> Any:
    """Metadata must survive torch.load(weights_only=True): plain Python values only."""
    if value is None or isinstance(value, bool):
        return value
    for plain_type in (int, float, str):  # subclasses (e.g. torch's version string) become the base type
        if isinstance(value, plain_type):
            return plain_type(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(item, where) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item, f"{where}.{key}") for key, item in value.items()}
    raise ValueError(f"metadata {where} has a {type(value).__name__}; use plain numbers, strings, lists or dicts")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    architecture: str,
    variant: str,
    version: str,
    demonstration: bool,
    extra_metadata: Mapping[str, Any] | None = None,
) -> str:
    """Write the model's weights with metadata; returns the weights SHA-256 recorded in the file."""
    if getattr(model, OPTIMIZED_ATTRIBUTE, False):
        raise ValueError("cannot save an inference-optimized model (its BatchNorms are folded); save the original")
    kind = _kind_of(model)
    state = {key: value.detach().to("cpu").clone() for key, value in model.state_dict().items()}
    digest = state_dict_sha256(state)
    metadata = _plain(dict(extra_metadata or {}), "extra_metadata")
    metadata.update(
        architecture=architecture,
        variant=variant,
        version=version,
        demonstration=bool(demonstration),
        kind=kind,
        in_channels=getattr(model, "in_channels", None),
        torch_version=str(torch.__version__),
    )
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "metadata": metadata,
        "weights_sha256": digest,
        "state_dict": state,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a crash never leaves a half-written checkpoint.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest
