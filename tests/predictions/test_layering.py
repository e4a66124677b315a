"""The predictions app sits below studies: a model run is a run over exams, and a study's AI-aided
arm points at a run. Nothing under readerstudy/predictions (migrations aside, which only name
other apps' migrations) imports studies, analysis or the API."""
import re
from pathlib import Path

import readerstudy

APP = Path(readerstudy.__file__).resolve().parent / "predictions"
ABOVE = ("studies", "analysis", "api")
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+(.+)|import\s+([\w.]+))")


def imported_modules(path: Path):
    """(line number, module) of every import statement, `from readerstudy import x` as readerstudy.x."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = IMPORT.match(line)
        if not match:
            continue
        if match.group(3):
            yield number, match.group(3)
            continue
        module, names = match.group(1), match.group(2)
        yield number, module
        if module == "readerstudy":
            for name in re.findall(r"\w+", names.split("#")[0]):
                yield number, f"readerstudy.{name}"


def test_predictions_imports_no_app_above_it():
    sources = [p for p in APP.rglob("*.py") if "migrations" not in p.relative_to(APP).parts]
    assert len(sources) > 10
    offending = [
        f"{path.relative_to(APP.parent)}:{number}: {module}"
        for path in sources for number, module in imported_modules(path)
        if any(module == f"readerstudy.{app}" or module.startswith(f"readerstudy.{app}.") for app in ABOVE)
    ]
    assert offending == []


def test_model_runs_point_at_no_study():
    from readerstudy.predictions.models import ModelRun

    related = {field.related_model._meta.app_label for field in ModelRun._meta.get_fields()
               if field.is_relation and field.concrete and field.related_model is not None}
    assert related <= {"predictions", "auth", "accounts", "exams"}, related
