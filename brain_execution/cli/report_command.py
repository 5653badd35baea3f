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
``brain-execution report [PLAN_ID]``: write a plan's mission report from the journal.

No coordinator is needed: the report is read from the journal file (read-only, so it may be
written while the coordinator runs) and, with ``--recording``, from the mission's bag. The
journal is ``--journal PATH``, else the default journal of ``--fleet NAME`` (the launch
files' and fleet_runner's default, under ``$XDG_STATE_HOME/brain_execution``). Exit status 2
for a missing or unreadable journal or recording and for an unknown plan.
"""

import argparse
import json
import pathlib
import sys
import typing

__all__ = ['SUMMARY', 'add_arguments', 'main']

SUMMARY = "Write a plan's mission report (HTML and PNG) from the journal."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the report command's arguments."""
    parser.add_argument('plan_id', nargs='?', default=None,
                        help="the plan (default: the journal's most recent one)")
    parser.add_argument('--journal', type=pathlib.Path, metavar='PATH',
                        help="the coordinator's journal (its journal_path parameter)")
    parser.add_argument('--fleet', default='demo', metavar='NAME',
                        help='without --journal, read the default journal of this fleet '
                             '(default: demo)')
    parser.add_argument('--recording', type=pathlib.Path, metavar='BAG',
                        help="the mission's rosbag2 bag: adds the tracks and every attempt")
    parser.add_argument('--output', type=pathlib.Path, metavar='DIR',
                        help='directory to write report.html and the PNGs into (default: '
                             'reports/<plan_id> next to the journal)')


def main(args: argparse.Namespace) -> int:
    """Write the report; return the exit status."""
    from brain_execution.report import (
        build_report, JournalReadError, RecordingReadError)
    journal = args.journal
    if journal is None:
        from brain_execution.deploy.nodes import default_journal_path
        journal = pathlib.Path(default_journal_path(args.fleet))
    try:
        report = build_report(journal, args.plan_id, recording=args.recording,
                              output=args.output)
    except (JournalReadError, RecordingReadError) as error:
        # UnknownPlanError is a JournalReadError: bad input, like the others.
        print(f'brain-execution: {error}', file=sys.stderr)
        return 2
    except OSError as error:
        print(f'brain-execution: cannot write the report: {error}', file=sys.stderr)
        return 1
    mission = report.mission
    document: typing.Dict[str, typing.Any] = {
        'plan_id': mission.plan_id, 'outcome': mission.outcome_name, 'html': report.html,
        'images': report.images, 'steps': {s.step_id: s.state for s in mission.steps},
        'dead_letters': len(mission.dead_letters)}
    if args.json:
        print(json.dumps(document, sort_keys=True))
    else:
        print(f'report of plan {mission.plan_id} ({mission.outcome_name}, '
              f'{len(mission.steps)} steps): {report.html}')
        for name, path in sorted(report.images.items()):
            print(f'  {name}: {path}')
    return 0
