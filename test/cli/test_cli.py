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

"""The live progress table and its plain-line fallback, and the CLI's argument handling."""

import io

from brain_execution.cli.commands import build_parser, COMMANDS, main
from brain_execution.cli.progress import PlanProgress, StepRow
import pytest
from rich.console import Console

_ROWS = [StepRow('up', 'drone1', 'takeoff', 'SUCCEEDED', 1, 1.0, 3.5),
         StepRow('fly', 'drone1', 'go_to', 'RUNNING', 2, 0.0, 1.25,
                 'COMMUNICATION_FAILURE: link lost')]


def test_terminal_gets_a_live_table_then_the_summary():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with PlanProgress('plan p1', console=console) as progress:
        progress.update(_ROWS, 0.5)
        progress.finish(_ROWS, 'plan p1: SUCCEEDED in 4.8 s')
    text = out.getvalue()
    for cell in ('step', 'robot', 'try', 'progress', 'elapsed',
                 'takeoff', 'go_to', 'RUNNING', 'COMMUNICATION_FAILURE', 'Summary',
                 'plan p1: SUCCEEDED in 4.8 s', '1.2s', '100%'):
        assert cell in text, cell


def test_pipe_gets_one_plain_line_per_change_then_the_summary():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with PlanProgress('plan p1', console=console) as progress:
        progress.update(_ROWS[:1], 0.0)
        progress.update(_ROWS[:1], 0.5)  # nothing changed: nothing printed
        progress.update(_ROWS, 0.5)
        progress.finish(_ROWS, 'plan p1: FAILED')
    lines = out.getvalue().splitlines()
    assert lines[:2] == ['  0.0%    drone1 takeoff           SUCCEEDED',
                         ' 50.0%    drone1 go_to             RUNNING  '
                         'COMMUNICATION_FAILURE: link lost']
    assert lines[3] == 'Summary'
    assert lines[5].split() == ['drone1', 'takeoff', 'SUCCEEDED', '1', '3.5s']
    assert lines[-1] == 'plan p1: FAILED'
    assert '\x1b[' not in out.getvalue()


@pytest.mark.parametrize('command', [[]] + [[name] for name in COMMANDS] + [
    ['dead-letters', 'list'], ['dead-letters', 'retry'], ['dead-letters', 'purge'],
    ['circuits', 'reset']])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main(command + ['--help'])
    assert done.value.code == 0
    assert 'usage: brain-execution' in capsys.readouterr().out


def test_usage_errors_exit_2_on_stderr(capsys, tmp_path):
    with pytest.raises(SystemExit) as done:
        main(['launch'])
    assert done.value.code == 2
    assert 'invalid choice' in capsys.readouterr().err
    bad = tmp_path / 'bad.yaml'
    bad.write_text('steps: [{id: a, robot: r, operation: go_to, dependson: [b]}]\n')
    assert main(['run', str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'dependson'; did you mean 'depends_on'?" in err
    assert main(['run', str(bad), '--record', str(tmp_path / 'bag')]) == 2


def test_options_given_before_a_nested_action_are_kept():
    args = build_parser().parse_args(['dead-letters', '--json', '--timeout', '3', 'list'])
    assert (args.json, args.timeout, args.action) == (True, 3.0, 'list')
    args = build_parser().parse_args(['dead-letters', 'list', '--json'])
    assert args.json and args.timeout == 10.0
