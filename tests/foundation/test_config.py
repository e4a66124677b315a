from pathlib import Path

import pytest

from readerstudy import config


def test_booleans_parse_and_reject_nonsense():
    assert config.env_bool({"DEBUG": "yes"}, "DEBUG", False) is True
    assert config.env_bool({"DEBUG": "0"}, "DEBUG", True) is False
    assert config.env_bool({}, "DEBUG", False) is False
    with pytest.raises(config.ConfigError, match="DEBUG='maybe' is not a boolean"):
        config.env_bool({"DEBUG": "maybe"}, "DEBUG", False)


def test_integers_and_lists():
    assert config.env_int({"N": "42"}, "N", 1) == 42
    assert config.env_int({}, "N", 7) == 7
    with pytest.raises(config.ConfigError, match="not an integer"):
        config.env_int({"N": "4x"}, "N", 1)
    assert config.env_list({"H": "a.org, b.org,,"}, "H", []) == ["a.org", "b.org"]
    assert config.env_list({}, "H", ["x"]) == ["x"]


def test_embedded_defaults_live_under_var(tmp_path: Path):
    assert config.database_url({}, tmp_path) == f"sqlite:///{tmp_path / 'db.sqlite3'}"
    broker = config.broker_url({}, tmp_path)
    assert broker == f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    assert config.result_backend({}, tmp_path, broker) == f"db+sqlite:///{tmp_path / 'results.sqlite3'}"


def test_production_values_win(tmp_path: Path):
    env = {"DATABASE_URL": "postgresql://u@db/rs", "CELERY_BROKER_URL": "redis://r:6379/0"}
    assert config.database_url(env, tmp_path) == "postgresql://u@db/rs"
    broker = config.broker_url(env, tmp_path)
    assert broker == "redis://r:6379/0"
    assert config.result_backend(env, tmp_path, broker) == "redis://r:6379/0"
    assert config.result_backend({"CELERY_RESULT_BACKEND": "redis://other/1"}, tmp_path, broker) == "redis://other/1"


def test_secret_key_generated_once_and_kept(tmp_path: Path):
    first = config.secret_key({}, tmp_path)
    assert len(first) >= 50
    assert config.secret_key({}, tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert config.secret_key({"SECRET_KEY": "from-env"}, tmp_path) == "from-env"


def test_settings_module_reads_environment(tmp_path: Path):
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='readerstudy.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.MEDIA_ROOT, ','.join(s.ALLOWED_HOSTS))"
    )
    env = {
        "PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "DEBUG": "1",
        "DATABASE_URL": "postgresql://u@db.example/rs", "CELERY_BROKER_URL": "redis://r.example:6379/3",
        "MEDIA_ROOT": str(tmp_path / "m"), "ALLOWED_HOSTS": "reader.example.org",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "django.db.backends.postgresql", "redis://r.example:6379/3", str(tmp_path / "m"), "reader.example.org"]
