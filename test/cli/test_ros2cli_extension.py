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
``ros2 execution``: the extension is registered where ros2cli looks, and works under ros2cli.

The entry points are checked everywhere. The tests that run ``ros2`` itself need ros2cli,
which is not installable from the package registry here; they skip with that reason where it
is absent and run where ROS 2 is installed (or with ros2cli on the path).
"""

import importlib
import importlib.metadata

from brain_execution.cli.commands import COMMANDS
import pytest


def _entry_points(group):
    return {e.name: e.value for e in importlib.metadata.entry_points(group=group)}


def test_extension_points_are_registered():
    assert _entry_points('ros2cli.command')['execution'] == \
        'brain_execution.ros2execution.command:ExecutionCommand'
    assert _entry_points('ros2cli.extension_point')['brain_execution.verb'] == \
        'brain_execution.ros2execution.verb:VerbExtension'
    verbs = _entry_points('brain_execution.verb')
    assert set(verbs) == set(COMMANDS)
    for name, value in verbs.items():
        module, _, attribute = value.partition(':')
        assert attribute.lower() == name.replace('-', '') + 'verb'


ros2cli = pytest.importorskip(
    'ros2cli', reason='ros2cli is not installed (it is not on the package registry here; '
                      'install ROS 2 or put ros2cli on PYTHONPATH to run these)')


def _ros2(argv, capsys):
    from ros2cli.cli import main
    try:
        status = main(argv=argv)
    except SystemExit as done:
        status = done.code
    return status, capsys.readouterr()


def test_ros2_execution_lists_every_verb(capsys):
    status, out = _ros2(['execution', '--help'], capsys)
    assert status == 0
    for name in COMMANDS:
        assert name in out.out


@pytest.mark.parametrize('verb', sorted(COMMANDS))
def test_every_verb_has_the_commands_arguments(verb, capsys):
    status, out = _ros2(['execution', verb, '--help'], capsys)
    assert status == 0
    assert '--json' in out.out and '--timeout' in out.out


def test_a_verb_runs_the_command(capsys, monkeypatch, tmp_path):
    # No coordinator in this domain: the verb answers as the command does (status 1).
    monkeypatch.setenv('ROS_DOMAIN_ID', '231')
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    status, out = _ros2(['execution', 'status', '--timeout', '1'], capsys)
    assert status == 1
    assert 'nothing from the coordinator on /diagnostics' in out.err
    bad = tmp_path / 'bad.yaml'
    bad.write_text('steps: 3\n')
    status, out = _ros2(['execution', 'run', str(bad)], capsys)
    assert status == 2 and 'steps: has type int' in out.err
