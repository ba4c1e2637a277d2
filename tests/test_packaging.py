"""The install is complete: every package folder is listed in pyproject.toml (setuptools'
`find` cannot rename `training/` to `tfnvp_training`, so the list is explicit), and the
application imports under its own name, not the generic `training`."""
import os

import pytest

import tfnvp_training

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_every_package_folder_is_listed():
    setuptools = _project()["tool"]["setuptools"]
    package_dir, listed = setuptools["package-dir"], set(setuptools["packages"])
    found = set()
    for name, folder in package_dir.items():
        for here, dirs, files in os.walk(os.path.join(ROOT, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            if "__init__.py" in files or any(f.endswith(".json") for f in files):
                relative = os.path.relpath(here, os.path.join(ROOT, folder))
                found.add(name if relative == "." else f"{name}.{relative.replace(os.sep, '.')}")
    assert found == listed


def test_the_application_installs_as_tfnvp_training():
    assert _project()["project"]["scripts"]["tfnvp"] == "tfnvp_training.cli:main"
    assert os.path.samefile(os.path.dirname(tfnvp_training.__file__),
                            os.path.join(ROOT, "training"))
