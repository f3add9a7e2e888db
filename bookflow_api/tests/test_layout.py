"""The tests' own layout: each test module stands alone (what tests share lives in a conftest.py or a
tests/helpers.py), and nothing but tests imports tests."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["account", "books", "bookflow_api"]


def imported(source: str) -> set[str]:
    """Every module `source` imports, in full: `from a import b` names both `a` and `a.b` (b may be a module)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names |= {f"{base}.{alias.name}" if node.module else f"{base}{alias.name}" for alias in node.names}
    return names


def imports_of_test_modules(names: set[str]) -> set[str]:
    """The names among `names` that are (or are in) a test module."""
    return {name for name in names if any(part.startswith("test_") for part in name.split("."))}


def imports_of_tests(names: set[str]) -> set[str]:
    """The names among `names` in a tests package, or the root conftest."""
    return {name for name in names if "tests" in name.split(".") or name.split(".")[0] == "conftest"}


def test_the_check_sees_every_way_of_importing_a_test_module_and_nothing_else():
    spellings = [
        "import account.tests.test_codes",
        "from account.tests.test_codes import wrong",
        "from account.tests import test_codes",
        "from .test_codes import wrong",
        "from . import test_codes",
    ]
    helpers = "import pytest\nfrom account.tests.helpers import signed_in\nfrom conftest import last_code"

    assert [bool(imports_of_test_modules(imported(source))) for source in spellings] == [True] * len(spellings)
    assert imports_of_test_modules(imported(helpers)) == set()
    assert imports_of_tests(imported(helpers)) == {
        "account.tests.helpers",
        "account.tests.helpers.signed_in",
        "conftest",
        "conftest.last_code",
    }


def test_no_test_module_imports_another():
    modules = sorted(path for app in APPS for path in (ROOT / app / "tests").glob("test_*.py"))
    assert len(modules) > 30  # the whole suite is read, not an empty glob

    imports = {str(path.relative_to(ROOT)): imports_of_test_modules(imported(path.read_text())) for path in modules}

    assert {module: names for module, names in imports.items() if names} == {}


def test_nothing_but_tests_imports_tests():
    code = [ROOT / "manage.py", ROOT / "gunicorn.conf.py"]
    code += [path for folder in ["scripts", "bench", "fakes", *APPS] for path in (ROOT / folder).rglob("*.py")]
    code = [path for path in code if "tests" not in path.relative_to(ROOT).parts]
    assert len(code) > 50  # scripts, benchmarks, fakes and every app module

    imports = {str(path.relative_to(ROOT)): imports_of_tests(imported(path.read_text())) for path in code}

    assert {module: names for module, names in imports.items() if names} == {}
