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
Mission reports: one self-contained HTML page plus PNG charts, from a coordinator's journal.

:func:`build_report` reads a plan from the journal (read-only, while the coordinator runs or
after) and, if given, the mission's recording, and writes into a directory:

* ``report.html``: outcome, Gantt timeline, a table per robot with attempts, codes and
  messages, compensations, dead letters, and the tracks (images embedded);
* ``timeline.png`` and, with a recording, ``tracks.png``.

No rclpy here: a report can be built on any machine that has the files.
"""

import os
import re
import typing

from .charts import timeline_chart, tracks_chart
from .html_page import render_page
from .journal_data import JournalReadError, MissionRecord, read_plan, UnknownPlanError
from .recording_data import read_recording, Recording, RecordingReadError

__all__ = ['JournalReadError', 'MissionRecord', 'Recording', 'RecordingReadError', 'Report',
           'UnknownPlanError', 'build_report', 'report_directory']


class Report(typing.NamedTuple):
    """What :func:`build_report` wrote."""

    mission: MissionRecord
    html: str
    images: typing.Dict[str, str]


def report_directory(journal_path: str, plan_id: str) -> str:
    """Return the default directory of a plan's report: ``reports/<plan_id>`` by the journal."""
    safe = re.sub(r'[^A-Za-z0-9_.-]+', '_', plan_id).strip('.') or 'plan'
    return os.path.join(os.path.dirname(os.path.abspath(journal_path)), 'reports', safe)


def build_report(journal_path: typing.Union[str, os.PathLike], plan_id: str = None, *,
                 recording: typing.Union[str, os.PathLike, None] = None,
                 output: typing.Union[str, os.PathLike, None] = None) -> Report:
    """
    Write the report of one plan.

    :param journal_path: the coordinator's journal.
    :param plan_id: the plan; None for the journal's most recent one.
    :param recording: the mission's rosbag2 bag directory, for tracks and every attempt.
    :param output: the directory to write into (created); default :func:`report_directory`.
    :raises JournalReadError: the journal is missing or unreadable.
    :raises UnknownPlanError: the journal holds no such plan.
    :raises RecordingReadError: the recording is missing or unreadable.
    """
    mission = read_plan(journal_path, plan_id)
    bag = None if recording is None else read_recording(recording, mission.plan_id,
                                                        mission.robots)
    directory = os.fspath(output) if output is not None else report_directory(
        os.fspath(journal_path), mission.plan_id)
    os.makedirs(directory, exist_ok=True)
    images = {'timeline': timeline_chart(mission, os.path.join(directory, 'timeline.png'),
                                         bag)}
    if bag is not None and any(bag.tracks.values()):
        images['tracks'] = tracks_chart(mission, bag, os.path.join(directory, 'tracks.png'))
    page = os.path.join(directory, 'report.html')
    text = render_page(mission, images, bag)
    partial = page + '.partial'
    with open(partial, 'w', encoding='utf-8') as stream:
        stream.write(text)
    os.replace(partial, page)
    return Report(mission=mission, html=page, images=images)
