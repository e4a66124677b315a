"""Our PyTorch implementation of the NYU breast cancer classifier (Wu et al. 2019).

`load` (from `classifier.weights`) reads weights and `predict` (from `classifier.predict`) runs the
whole pipeline on an exam. Both are imported on first use, so `import classifier` does not pull in
torch and works even where a submodule cannot be imported.
"""
__all__ = ["LoadedModel", "load", "predict"]

_LAZY = {"load": "weights", "LoadedModel": "weights", "predict": "predict"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    # Importing classifier.predict binds the submodule to this name; rebind it to the function.
    globals()[name] = value
    return value
