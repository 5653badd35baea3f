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


"""Docstring conventions (pep257, ament's selection), as ament_pep257's test template."""

import re

from ament_pep257.main import main
import pytest

_PATHS = ('brain_execution', 'test', 'launch', 'setup.py')


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(repo_root, monkeypatch, capsys):
    monkeypatch.chdir(repo_root)
    paths = [name for name in _PATHS if (repo_root / name).exists()]
    rc = main(argv=paths + ['--exclude', '.work'])
    captured = capsys.readouterr()

    assert rc == 0, 'Found code style errors / warnings:\n' + captured.err
    # Guard against a vacuous pass: the package's own modules must have been checked.
    checked = re.findall(r'^checking (.+)$', captured.out, re.MULTILINE)
    assert any(name.endswith('errors.py') for name in checked), captured.out
    assert any(name.endswith('setup.py') for name in checked), captured.out
