"""The apps import in one direction (the README's map), and the access policy forms no cycle.

    exams  <-  predictions  <-  studies  <-  analysis  <-  api
    (a model run is a run over exams; a study's AI-aided arm points at a run)

readerstudy.access (the one access policy) reads the apps' models and services and is asked by
their views; no module that the policy imports may import it back.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("exams", "predictions", "studies", "analysis", "api")
ALLOWED = {
    "exams": set(),
    "predictions": {"exams"},
    "studies": {"exams", "predictions"},
    "analysis": {"exams", "predictions", "studies"},
    "api": {"exams", "predictions", "studies", "analysis"},
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("readerstudy.")}


def sources(package: str):
    for path in sorted((ROOT / "readerstudy" / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def test_apps_import_in_one_direction():
    wrong = []
    for app in APPS:
        for path in sources(app):
            for name in imported_modules(path):
                other = name.split(".")[1]
                if other in APPS and other != app and other not in ALLOWED[app]:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "imports against the direction of the apps:\n" + "\n".join(wrong)


def module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def test_the_access_policy_is_in_no_import_cycle():
    """Follow every readerstudy module the policy imports, transitively: none imports the policy."""
    seen, queue, back = set(), ["readerstudy.access.policy"], []
    while queue:
        name = queue.pop()
        path = module_path(name)
        if path is None or path in seen:
            continue
        seen.add(path)
        for imported in imported_modules(path):
            if imported.startswith("readerstudy.access") and name != "readerstudy.access.policy":
                back.append(f"{name} imports {imported}")
            elif not imported.startswith("readerstudy.access"):
                queue.append(imported)
    assert len(seen) > 5
    assert not back, "modules the policy depends on import it back:\n" + "\n".join(back)
