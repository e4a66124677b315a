"""Parsing of settings from the environment, kept free of Django so it can be tested alone.

Every setting has a safe embedded default: SQLite and a server-less broker under `var/`,
DEBUG off. Production sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting in the environment has a value we cannot use."""


def env_bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use one of 1/0, true/false, yes/no, on/off)")


def env_int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def env_list(env: dict, name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(env: dict, var_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into var/ (never committed)."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def database_url(env: dict, var_dir: Path) -> str:
    return env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'db.sqlite3'}"


def broker_url(env: dict, var_dir: Path) -> str:
    # Embedded default: kombu's SQLAlchemy transport on a SQLite file; a real worker consumes it.
    return env.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{var_dir / 'broker.sqlite3'}"


def result_backend(env: dict, var_dir: Path, broker: str) -> str:
    if env.get("CELERY_RESULT_BACKEND"):
        return env["CELERY_RESULT_BACKEND"]
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return f"db+sqlite:///{var_dir / 'results.sqlite3'}"
