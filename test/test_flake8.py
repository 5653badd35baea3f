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


"""flake8 at ament's settings over the repository's Python, as ament_flake8's test template."""

import os
import re

from ament_flake8.main import main_with_errors
import pytest

# What the package ships or runs; .work/ (venv, workspace build) is not part of it.
_PATHS = ('brain_execution', 'test', 'launch', 'setup.py')
_EXCLUDES = ('.work', 'build', 'install', 'log')


def _python_files(repo_root):
    """Return the .py files under _PATHS the way flake8 finds them (hidden dirs skipped)."""
    found = set()
    for name in _PATHS:
        path = repo_root / name
        if path.is_file():
            found.add(path)
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            if 'AMENT_IGNORE' in dirnames + filenames:
                dirnames[:] = []
                continue
            dirnames[:] = [d for d in dirnames if d[0] not in '._' and d not in _EXCLUDES]
            found.update(
                os.path.join(dirpath, f) for f in filenames if f.endswith('.py'))
    return {os.path.abspath(f) for f in found}


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(repo_root, monkeypatch, capsys):
    # ament_flake8 collects its excludes (AMENT_IGNORE, dot folders) from the working directory.
    monkeypatch.chdir(repo_root)
    paths = [name for name in _PATHS if (repo_root / name).exists()]
    rc, errors = main_with_errors(argv=paths + ['--exclude', *_EXCLUDES])
    out = capsys.readouterr().out

    assert rc == 0, 'Found %d code style errors / warnings:\n' % len(errors) + '\n'.join(errors)
    # Guard against a vacuous pass: flake8 must have looked at every Python file.
    checked = re.search(r'^(\d+) files checked$', out, re.MULTILINE)
    assert checked is not None, out
    assert int(checked.group(1)) == len(_python_files(repo_root)), out
