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
Copyright and licence headers, the check ament_copyright would make.

ament_copyright is not installable from the registries available here, so this test does the
equivalent: every Python file starts with the exact Apache-2.0 header of
``test/resource/license_header.txt`` (after an optional shebang line), and every shell script
(``scripts/*.sh``, ``.ci/run``) names a copyright holder and the Apache-2.0 licence in its
leading comment block.
"""

from pathlib import Path
import re

import pytest

_HEADER_FILE = Path('test', 'resource', 'license_header.txt')
_COPYRIGHT = re.compile(r'^#\s*Copyright (\(c\) )?\d{4}(-\d{4})?,? \S')
_APACHE = (
    'SPDX-License-Identifier: Apache-2.0',
    'Licensed under the Apache License, Version 2.0',
)


def python_header_problem(text, header):
    """
    Return why ``text`` lacks the licence header, or None when it carries it.

    :param text: Contents of a Python file.
    :param header: The exact header, without a trailing newline.
    :return: A short reason, or None.
    """
    if text.startswith('#!'):
        text = text.split('\n', 1)[1] if '\n' in text else ''
    if not text.startswith(header):
        return 'does not start with the header of %s' % _HEADER_FILE
    rest = text[len(header):]
    if rest and not rest.startswith('\n'):
        return 'header is followed by text on its last line'
    return None


def shell_header_problem(text):
    """
    Return why a shell script lacks a copyright and licence notice, or None.

    Only the leading comment block (after the shebang) counts, as ament_copyright reads it.

    :param text: Contents of a shell script.
    :return: A short reason, or None.
    """
    lines = text.splitlines()
    if lines and lines[0].startswith('#!'):
        lines = lines[1:]
    block = []
    for line in lines:
        if not line.startswith('#'):
            break
        block.append(line)
    problems = []
    if not any(_COPYRIGHT.match(line) for line in block):
        problems.append("no 'Copyright <year> <holder>' line")
    if not any(marker in line for line in block for marker in _APACHE):
        problems.append('no Apache-2.0 licence notice')
    return '; '.join(problems) or None


def _shell_scripts(repository_files):
    scripts = []
    for path in repository_files:
        if path.parent == Path('scripts') and path.suffix == '.sh':
            scripts.append(path)
        elif path == Path('.ci', 'run'):
            scripts.append(path)
    return scripts


@pytest.fixture(scope='module')
def header(repo_root):
    return (repo_root / _HEADER_FILE).read_text(encoding='utf-8').rstrip('\n')


def test_header_file_is_apache_2(header):
    assert _COPYRIGHT.match(header.splitlines()[0]), header
    assert 'Licensed under the Apache License, Version 2.0' in header
    assert 'http://www.apache.org/licenses/LICENSE-2.0' in header


def test_checks_detect_missing_headers(header):
    # The checks below must be able to fail.
    assert python_header_problem(header + '\n\n"""Doc."""\n', header) is None
    assert python_header_problem('#!/usr/bin/env python3\n' + header + '\n', header) is None
    assert python_header_problem('"""Doc."""\n', header) is not None
    assert python_header_problem(header.replace('2.0', '3.0') + '\n', header) is not None
    assert python_header_problem(header + 'x\n', header) is not None
    assert shell_header_problem(
        '#!/bin/sh\n# Copyright 2026 someone\n# SPDX-License-Identifier: Apache-2.0\n') is None
    assert shell_header_problem('#!/bin/sh\n# Copyright 2026 someone\n') is not None
    assert shell_header_problem(
        '#!/bin/sh\necho\n# Copyright 2026 x\n# SPDX-License-Identifier: Apache-2.0\n'
    ) is not None


@pytest.mark.copyright
@pytest.mark.linter
def test_python_files_carry_the_licence_header(repo_root, repository_files, header):
    python_files = [path for path in repository_files if path.suffix == '.py']
    assert Path('setup.py') in python_files
    offenders = []
    for path in python_files:
        problem = python_header_problem(
            (repo_root / path).read_text(encoding='utf-8'), header)
        if problem:
            offenders.append('%s: %s' % (path, problem))
    assert not offenders, 'Files without the licence header:\n' + '\n'.join(offenders)


@pytest.mark.copyright
@pytest.mark.linter
def test_shell_scripts_carry_a_licence_notice(repo_root, repository_files):
    scripts = _shell_scripts(repository_files)
    assert Path('scripts', 'setup.sh') in scripts
    offenders = []
    for path in scripts:
        problem = shell_header_problem((repo_root / path).read_text(encoding='utf-8'))
        if problem:
            offenders.append('%s: %s' % (path, problem))
    assert not offenders, 'Scripts without a licence notice:\n' + '\n'.join(offenders)
