import ast
import subprocess
import sys
from pathlib import Path

import pytest

import readerstudy.analysis as analysis

PACKAGE = Path(analysis.__file__).parent
# The pure statistics modules; the package also holds the Django app's own files.
PURE_MODULES = ("__init__", "__main__", "bootstrap", "cli", "delong", "hybrid", "mrmc", "nyu", "plots",
                "ratings", "reader_model", "report", "roc", "serialize")


def test_lazy_exports_resolve():
    for name in analysis.__all__:
        assert callable(getattr(analysis, name))


def test_statistics_modules_do_not_import_django():
    for path in (PACKAGE / f"{name}.py" for name in PURE_MODULES):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.split(".")[0] in ("django", "rest_framework", "celery")], path.name


@pytest.mark.slow
def test_modules_import_without_django_and_package_import_is_cheap():
    code = (
        "import sys, readerstudy.analysis; assert 'numpy' not in sys.modules, 'package import pulls numpy'; "
        + "".join(f"import readerstudy.analysis.{m}; " for m in PURE_MODULES if m != "__main__") +
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(PACKAGE.parents[1]))
