"""The api reads alerting through its service and read models (``alerting.service``,
``alerting.read_models``), never through its tables: no api module imports ``alerting.models``. And the
incidents package, upstream of alerting in the pipeline, imports nothing from alerting or the api."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "api"


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module a file imports, ``from a import b`` counted as both ``a`` and ``a.b``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_any(source: str, packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` (or in them) that a file imports."""
    return sorted(
        name
        for name in imported_modules(ast.parse(source))
        if any(name == p or name.startswith(f"{p}.") for p in packages)
    )


def imports_alerting_models(source: str) -> bool:
    return bool(imports_any(source, ("alerting.models",)))


def test_the_check_sees_every_form_of_the_import() -> None:
    assert imports_alerting_models("from alerting.models import Alert")
    assert imports_alerting_models("import alerting.models")
    assert imports_alerting_models("from alerting import models")
    assert imports_alerting_models("def f():\n    from alerting.models import Notification\n")
    assert not imports_alerting_models("from alerting.read_models import AlertRead")
    assert not imports_alerting_models("from api.models import UserRow")


def test_api_imports_no_alerting_models() -> None:
    offenders = []
    for path in sorted(API.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if imports_alerting_models(path.read_text(encoding="utf-8")):
            offenders.append(relative)
    assert offenders == [], f"api modules importing alerting.models (use alerting.read_models): {offenders}"


def test_incidents_import_nothing_downstream() -> None:
    assert imports_any("def f():\n    from alerting import read_models\n", ("alerting",))  # the check sees it
    offenders = {
        path.relative_to(ROOT).as_posix(): found
        for path in sorted((ROOT / "incidents").rglob("*.py"))
        if (found := imports_any(path.read_text(encoding="utf-8"), ("alerting", "api")))
    }
    assert offenders == {}, f"incidents modules importing alerting or the api: {offenders}"


def test_only_the_incidents_stage_loads_numba() -> None:
    """numba (about 160 MB resident) is loaded by the process that clusters, not by the others, though
    alerting and the api import incidents.clustering for its constants."""
    from yuqing.topology import STAGES

    probe = (
        "import importlib, sys\n"
        "for target in sys.argv[1:]:\n"
        "    importlib.import_module(target.split(':')[0])\n"
        "    print(target, 'numba' in sys.modules)\n"
    )
    others = [stage.target for name, stage in STAGES.items() if name != "incidents"]
    run = subprocess.run([sys.executable, "-c", probe, *others], capture_output=True, text=True, cwd=ROOT,
                         check=True, timeout=120)
    assert run.stdout.split() == [word for t in others for word in (t, "False")]
    tracker = "import sys\nfrom incidents.clustering import IncidentTracker\nIncidentTracker()\n"
    clustering = subprocess.run(
        [sys.executable, "-c", tracker + "print('numba' in sys.modules)"],
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=120,
    )
    assert clustering.stdout.split() == ["True"]  # the probe can see it
