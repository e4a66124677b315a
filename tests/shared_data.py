"""Access to the real data in ../shared (outside the repository, never copied into it).

Tests call `shared_path(...)`: it skips with a clear reason when the folder is absent, and fails
instead when REQUIRE_SHARED_DATA=1 (CI always has the data, so a skip there would hide a gap).
"""
import os
from pathlib import Path

import pytest

SHARED_DIR = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        reason = f"shared data not found: {path} (set SHARED_DIR or place ../shared beside the repository)"
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + "; REQUIRE_SHARED_DATA=1 turns this skip into a failure")
        pytest.skip(reason)
    return path
