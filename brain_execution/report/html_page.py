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
The report's HTML page: one file that opens anywhere, its images embedded as data URIs.

Every text from the journal (ids, messages, parameters) is escaped: an error message from a
robot is data, never markup.
"""

import base64
import datetime
import html
import json
import os
import typing

from .charts import COLOURS
from .journal_data import MissionRecord, StepSummary
from .recording_data import Recording

__all__ = ['render_page']

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #212121; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { color: white; padding: 1px 6px; border-radius: 3px; font-weight: bold; }
code { font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; }
.muted { color: #757575; }
"""


def _e(value: typing.Any) -> str:
    return html.escape('' if value is None else str(value))


def _state(name: str) -> str:
    return (f'<span class="state" style="background:{COLOURS.get(name, "#9e9e9e")}">'
            f'{_e(name)}</span>')


def _seconds(value: typing.Optional[float]) -> str:
    return '' if value is None else f'{value:.1f}'


def _at(mission: MissionRecord, value: typing.Optional[float]) -> str:
    return '' if value is None else f'{value - mission.received_s:.1f}'


def _parameters(step: StepSummary) -> str:
    if step.parameters in (None, '', {}):
        return ''
    text = step.parameters if isinstance(step.parameters, str) else json.dumps(
        step.parameters, sort_keys=True)
    return f'<code>{_e(text)}</code>'


def _image(path: str, alt: str) -> str:
    with open(path, 'rb') as stream:
        data = base64.b64encode(stream.read()).decode('ascii')
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></p>'


def _step_rows(mission: MissionRecord, steps: typing.Iterable[StepSummary]) -> str:
    rows = []
    for s in steps:
        error = f'{_e(s.error)} ({s.code})' if s.code else ''
        undo = s.compensation
        undo_text = '' if undo is None else (
            f'{_e(undo.operation)}: {"done" if undo.code == 0 else _e(undo.message) or "?"}')
        rows.append(
            f'<tr><td>{_e(s.step_id)}</td><td>{_e(s.operation)}</td><td>{_state(s.state)}</td>'
            f'<td class="num">{s.attempt}{"/" + str(s.max_attempts) if s.max_attempts else ""}'
            f'</td><td class="num">{_at(mission, s.started_s)}</td>'
            f'<td class="num">{_seconds(s.duration_s)}</td><td>{error}</td>'
            f'<td>{_e(s.message)}</td><td>{undo_text}</td>'
            f'<td>{_e(", ".join(s.depends_on))}</td><td>{_parameters(s)}</td></tr>')
    return ''.join(rows)


_STEP_HEAD = ('<tr><th>step</th><th>operation</th><th>outcome</th><th>attempts</th>'
              '<th>start, s</th><th>duration, s</th><th>error</th><th>message</th>'
              '<th>compensation</th><th>depends on</th><th>parameters</th></tr>')


def _robot_summary(mission: MissionRecord) -> str:
    rows = []
    for robot in mission.robots:
        steps = [s for s in mission.steps if s.robot_id == robot]
        states = {}
        for s in steps:
            states[s.state] = states.get(s.state, 0) + 1
        busy = sum(s.duration_s or 0.0 for s in steps)
        retries = sum(max(0, s.attempt - 1) for s in steps)
        rows.append(f'<tr><td>{_e(robot)}</td><td class="num">{len(steps)}</td><td>'
                    + ' '.join(f'{_state(k)}&nbsp;{v}' for k, v in sorted(states.items()))
                    + f'</td><td class="num">{retries}</td><td class="num">{busy:.1f}</td>'
                    f'</tr>')
    return ('<table><tr><th>robot</th><th>steps</th><th>outcomes</th><th>retries</th>'
            '<th>busy, s</th></tr>' + ''.join(rows) + '</table>')


def _dead_letters(mission: MissionRecord) -> str:
    if not mission.dead_letters:
        return '<p class="muted">No dead letters.</p>'
    rows = ''.join(
        f'<tr><td>{_e(d.operation_id)}</td><td>{_e(d.step_id)}</td><td>{_e(d.robot_id)}</td>'
        f'<td>{_e(d.operation)}</td><td class="num">{d.attempts}</td>'
        f'<td>{_e(d.error_code)}</td><td>{_e(d.error_msg)}</td>'
        f'<td class="num">{_at(mission, d.dead_letter_s)}</td></tr>'
        for d in mission.dead_letters)
    return ('<p>Retry one with <code>brain-execution dead-letters retry OPERATION_ID</code>.'
            '</p><table><tr><th>operation id</th><th>step</th><th>robot</th><th>operation</th>'
            '<th>attempts</th><th>code</th><th>message</th><th>at, s</th></tr>'
            + rows + '</table>')


def render_page(mission: MissionRecord, images: typing.Mapping[str, str],
                recording: typing.Optional[Recording] = None) -> str:
    """
    Return the report's HTML.

    :param images: ``{'timeline': path, 'tracks': path}`` (tracks may be absent).
    """
    outcome = mission.outcome or {}
    end = mission.finished_s
    duration = '' if end is None else f' in {end - mission.received_s:.1f} s'
    failure = ''
    if outcome.get('code'):
        failure = (f'<p>First failure: step <b>{_e(outcome.get("step_id"))}</b>, code '
                   f'{_e(outcome.get("code"))}: {_e(outcome.get("message"))}</p>')
    source = f'journal <code>{_e(os.path.abspath(mission.journal_path))}</code>'
    if recording is not None:
        source += (f', recording <code>{_e(os.path.abspath(recording.path))}</code> '
                   f'({recording.message_count} messages read)')
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f'<title>Mission report: {_e(mission.plan_id)}</title><style>{_STYLE}</style>',
        '</head><body>',
        f'<h1>Mission report: plan {_e(mission.plan_id)}</h1>',
        f'<p>Outcome: {_state(mission.outcome_name)}{_e(duration)}; {len(mission.steps)} '
        f'steps on {len(mission.robots)} robot(s); {len(mission.dead_letters)} dead '
        f'letter(s).</p>', failure,
        f'<p class="muted">From the {source}. Times are seconds on the coordinator\'s clock '
        '(sim time under use_sim_time) since the plan was received. Written '
        f'{_e(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))}'
        '.</p>',
        '<h2>Timeline</h2>', _image(images['timeline'], 'Gantt chart of the steps per robot'),
        '<h2>Robots</h2>', _robot_summary(mission),
    ]
    if 'tracks' in images:
        parts += ['<h2>Tracks</h2>', _image(images['tracks'], 'tracks of the robots')]
    parts.append('<h2>Steps</h2>')
    for robot in mission.robots:
        parts += [f'<h3>{_e(robot)}</h3>', '<table>', _STEP_HEAD,
                  _step_rows(mission, (s for s in mission.steps if s.robot_id == robot)),
                  '</table>']
    parts += ['<h2>Dead letters</h2>', _dead_letters(mission), '</body></html>']
    return '\n'.join(parts)
