# Copyright 2026 brain_execution contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Fixtures shared by every test of the repository.

The repository root and the list of files that belong to the repository (what git tracks or
would track: ``git ls-files -co --exclude-standard``) are computed once per session. The list
leaves out ignored trees such as ``.work/``, where the setup step keeps the virtual environment
and the workspace build.
"""

from pathlib import Path
import subprocess

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Markers used by the linter tests, as ament's pytest plugins would register them.
_MARKERS = (
    'linter: a linter run as a test',
    'flake8: flake8 at ament settings',
    'pep257: docstring conventions (pep257) at ament settings',
    'copyright: copyright and licence headers',
    'xmllint: package manifest schema checks',
    'load: many robots, bursts of goals and memory over thousands of goals',
)


def pytest_configure(config):
    for marker in _MARKERS:
        config.addinivalue_line('markers', marker)


def list_repository_files(root=REPO_ROOT):
    """
    Return the files of the repository, relative to ``root``, sorted.

    Files git tracks plus untracked files that are not ignored; files listed by git but
    deleted from the working tree are left out.

    :param root: The repository root.
    :return: A list of relative :class:`pathlib.Path` objects.
    :raises subprocess.CalledProcessError: If git fails (e.g. ``root`` is no repository).
    """
    listing = subprocess.run(
        ['git', 'ls-files', '-z', '-c', '-o', '--exclude-standard'],
        cwd=root, check=True, capture_output=True, timeout=60).stdout
    names = sorted({name for name in listing.decode().split('\0') if name})
    return [Path(name) for name in names if (root / name).is_file()]


@pytest.fixture(scope='session')
def repo_root():
    """Return the absolute path of the repository root."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def repository_files(repo_root):
    """Return the repository's files as relative paths (see :func:`list_repository_files`)."""
    return list_repository_files(repo_root)
