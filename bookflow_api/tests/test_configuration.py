import re
from pathlib import Path

from django.conf import settings


def settings_variables() -> set[str]:
    source = (Path(settings.BASE_DIR) / "bookflow_api" / "settings.py").read_text()
    return set(re.findall(r'config\(\s*"([A-Z0-9_]+)"', source))


def test_env_example_lists_every_variable_settings_read():
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (Path(settings.BASE_DIR) / ".env.example").read_text(), re.M))

    assert settings_variables() - listed == set()


def test_readme_documents_every_variable_settings_read():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()

    assert {name for name in settings_variables() if f"`{name}`" not in readme} == set()
