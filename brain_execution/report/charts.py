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
The report's PNG charts, drawn with matplotlib's Agg backend (no display needed).

* :func:`timeline_chart`: a Gantt chart, one lane per robot. Each attempt of a step is a bar
  coloured by how it ended (retried, succeeded, failed, ...), a back-off before a retry is a
  hatched gap, a compensation is a hatched purple bar and a failure ends with a cross. With a
  recording the attempts come from the coordinator's events; from the journal alone a step is
  one bar, its earlier attempts (if any) hatched before its last one.
* :func:`tracks_chart`: one map per robot (its odom frame, metres), with the track, the
  geofence and the step targets given in that frame.
"""

import typing

import matplotlib
matplotlib.use('Agg')  # before pyplot: reports are drawn on robots and CI without a display
import matplotlib.patches  # noqa: E402 - after the backend is chosen
import matplotlib.pyplot as plt  # noqa: E402

from .journal_data import MissionRecord, STATE_NAMES, StepSummary  # noqa: E402
from .recording_data import Recording, StepEvent  # noqa: E402

__all__ = ['COLOURS', 'Segment', 'step_segments', 'timeline_chart', 'tracks_chart']

# Outcome colours, shared with the HTML table.
COLOURS = {
    'SUCCEEDED': '#2e7d32', 'FAILED': '#c62828', 'DEAD_LETTER': '#6a1b1b',
    'RETRYING': '#ef6c00', 'CANCELED': '#757575', 'SKIPPED': '#bdbdbd',
    'COMPENSATED': '#6a1b9a', 'RUNNING': '#1565c0', 'PENDING': '#90caf9',
    'UNKNOWN': '#f9a825', 'COMPENSATION': '#8e24aa',
}
_FAILED = {'FAILED', 'DEAD_LETTER', 'UNKNOWN'}
_ACTIVE = {2}  # RUNNING
_DPI = 100


class Segment(typing.NamedTuple):
    """A span of one step on the timeline, in seconds from the plan's receipt."""

    step_id: str
    start_s: float
    end_s: float
    # What the span was: an outcome name, 'BACKOFF' (waiting to retry) or 'COMPENSATION'.
    kind: str
    attempt: int
    # The bar's text.
    label: str = ''


def _attempt_label(operation: str, attempt: int) -> str:
    return operation if attempt <= 1 else f'{operation} #{attempt}'


def _from_events(step: StepSummary, events: typing.Sequence[StepEvent], t0: float,
                 end_s: float) -> typing.List[Segment]:
    segments = []
    running = None  # (start, attempt) of the attempt in progress
    backoff = None
    for event in events:
        t = event.stamp_s - t0
        if event.state in _ACTIVE:
            if backoff is not None:
                segments.append(Segment(step.step_id, backoff, t, 'BACKOFF', event.attempt,
                                        ''))
                backoff = None
            if running is None or running[1] != event.attempt:
                running = (t, event.attempt)
            continue
        if running is None:
            continue
        name = STATE_NAMES.get(event.state, str(event.state))
        segments.append(Segment(step.step_id, running[0], t, name, running[1],
                                _attempt_label(step.operation, running[1])))
        running = None
        if name == 'RETRYING':
            backoff = t
    if running is not None:
        # Still running when the recording stopped, or its end was not recorded: the journal
        # has the final word.
        segments.append(Segment(step.step_id, running[0], max(running[0], end_s),
                                step.state, running[1],
                                _attempt_label(step.operation, running[1])))
    return segments


def step_segments(mission: MissionRecord, recording: typing.Optional[Recording] = None
                  ) -> typing.List[Segment]:
    """Return the timeline spans of every step of the plan (see the module docstring)."""
    t0 = mission.received_s
    by_step: typing.Dict[str, typing.List[StepEvent]] = {}
    for event in (recording.events if recording is not None else ()):
        by_step.setdefault(event.step_id, []).append(event)
    segments = []
    for step in mission.steps:
        start, end = step.started_s, step.ended_s
        if start is None:
            continue  # never sent (skipped, or canceled while pending)
        events = by_step.get(step.step_id)
        spans = _from_events(step, events, t0, end - t0) if events else []
        if not spans:
            record = step.operation_record
            last = record.dispatched_s if record.dispatched_s is not None else start
            if step.attempt > 1 and last > start:
                earlier = step.attempt - 1
                spans.append(Segment(step.step_id, start - t0, last - t0, 'RETRYING', earlier,
                                     f'{step.operation} #1' + (f'-{earlier}' if earlier > 1
                                                               else '')))
            spans.append(Segment(step.step_id, last - t0, end - t0, step.state, step.attempt,
                                 _attempt_label(step.operation, step.attempt)))
        segments += spans
        undo = step.compensation
        if undo is not None:
            undo_end = undo.finished_s if undo.finished_s is not None else undo.created_s
            segments.append(Segment(step.step_id, undo.created_s - t0, undo_end - t0,
                                    'COMPENSATION', 1, f'undo: {undo.operation}'))
    return segments


def timeline_chart(mission: MissionRecord, path: str,
                   recording: typing.Optional[Recording] = None) -> str:
    """Draw the plan's Gantt chart into a PNG file; return its path."""
    robots = mission.robots
    lanes = {robot: i for i, robot in enumerate(robots)}
    steps = {s.step_id: s for s in mission.steps}
    segments = step_segments(mission, recording)
    figure, axes = plt.subplots(figsize=(11, 1.2 + 0.9 * len(robots)), dpi=_DPI)
    try:
        for seg in segments:
            step = steps[seg.step_id]
            y = lanes[step.robot_id]
            width = max(seg.end_s - seg.start_s, 0.05)
            if seg.kind == 'BACKOFF':
                axes.broken_barh([(seg.start_s, width)], (y - 0.12, 0.24), facecolors='none',
                                 edgecolors=COLOURS['RETRYING'], hatch='///', linewidth=0.5)
                continue
            undo = seg.kind == 'COMPENSATION'
            axes.broken_barh([(seg.start_s, width)], (y - 0.35, 0.7),
                             facecolors=COLOURS.get(seg.kind, '#9e9e9e'),
                             edgecolors='white', hatch='xx' if undo else None, linewidth=0.8)
            axes.text(seg.start_s + width / 2, y, seg.label, ha='center', va='center',
                      fontsize=7, color='white', clip_on=True)
            if seg.kind in _FAILED:
                axes.plot([seg.end_s], [y + 0.4], marker='x', color=COLOURS['FAILED'],
                          markersize=8, markeredgewidth=2)
        axes.set_yticks(range(len(robots)), robots)
        axes.set_ylim(-0.7, len(robots) - 0.3)
        axes.invert_yaxis()
        axes.set_xlabel(f's since plan {mission.plan_id} was received')
        axes.set_xlim(left=0.0)
        axes.grid(axis='x', linestyle=':', linewidth=0.5)
        kinds = sorted({s.kind for s in segments})
        handles = [matplotlib.patches.Patch(
            facecolor='none' if k == 'BACKOFF' else COLOURS.get(k, '#9e9e9e'),
            edgecolor=COLOURS['RETRYING'] if k == 'BACKOFF' else 'white',
            hatch='///' if k == 'BACKOFF' else ('xx' if k == 'COMPENSATION' else None),
            label=k.lower().replace('_', ' ')) for k in kinds]
        if handles:
            axes.legend(handles=handles, loc='upper center', bbox_to_anchor=(0.5, -0.25 if len(
                robots) > 2 else -0.4), ncol=min(len(handles), 6), fontsize=8, frameon=False)
        axes.set_title(f'plan {mission.plan_id}: {mission.outcome_name}', fontsize=10)
        figure.tight_layout()
        figure.savefig(path, dpi=_DPI)
    finally:
        plt.close(figure)
    return path


def _targets(step: StepSummary) -> typing.List[typing.Tuple[float, float]]:
    """Targets a step gives in the robot's own frame (x_m, y_m); geographic ones are left out."""
    parameters = step.parameters if isinstance(step.parameters, dict) else {}
    points = []
    for point in [parameters.get('target')] + list(parameters.get('waypoints') or ()):
        if isinstance(point, dict) and 'x_m' in point and 'y_m' in point:
            points.append((float(point['x_m']), float(point['y_m'])))
    return points


def tracks_chart(mission: MissionRecord, recording: Recording, path: str) -> str:
    """Draw each robot's track, geofence and targets into a PNG file; return its path."""
    robots = mission.robots
    figure, axes_row = plt.subplots(1, len(robots), figsize=(3.8 * len(robots), 3.8),
                                    dpi=_DPI, squeeze=False)
    try:
        for axes, robot in zip(axes_row[0], robots):
            fence = recording.geofences.get(robot) or []
            if fence:
                xs, ys = zip(*(fence + fence[:1]))
                axes.plot(xs, ys, linestyle='--', color='#c62828', linewidth=1,
                          label='geofence')
            track = recording.tracks.get(robot) or []
            if track:
                _, xs, ys = zip(*track)
                axes.plot(xs, ys, color='#1565c0', linewidth=1.5, label='track')
                axes.plot(xs[0], ys[0], 'o', color='#1565c0', markersize=5, label='start')
                axes.plot(xs[-1], ys[-1], 's', color='#0d47a1', markersize=5, label='end')
            targets = [p for s in mission.steps if s.robot_id == robot for p in _targets(s)]
            if targets:
                xs, ys = zip(*targets)
                axes.plot(xs, ys, '*', color='#ef6c00', markersize=9, label='targets')
            axes.set_title(robot if track else f'{robot} (no track recorded)', fontsize=9)
            axes.set_xlabel('x east, m', fontsize=8)
            axes.set_ylabel('y north, m', fontsize=8)
            axes.set_aspect('equal', adjustable='datalim')
            axes.grid(linestyle=':', linewidth=0.5)
            axes.tick_params(labelsize=7)
            axes.legend(fontsize=6, loc='best')
        figure.tight_layout()
        figure.savefig(path, dpi=_DPI)
    finally:
        plt.close(figure)
    return path
