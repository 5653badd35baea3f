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
Live progress of a plan in a terminal: one row per step, then the summary.

:class:`PlanProgress` is what the demo and ``brain-execution run --watch`` show. On a
terminal it draws a ``rich`` live table (state, robot, operation, attempt, progress,
elapsed time, last error), redrawn as the plan's feedback arrives; when the output is not a
terminal (a pipe, a CI log) it prints one plain line per step change instead. Both end with
the same summary. It knows nothing of ROS: callers hand it :class:`StepRow` values.
"""

import dataclasses
import threading
import typing

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

__all__ = ['PlanProgress', 'StepRow', 'STATE_STYLES', 'summary_lines']

STATE_STYLES = {
    'PENDING': 'dim', 'RUNNING': 'bold blue', 'RETRYING': 'bold yellow',
    'SUCCEEDED': 'green', 'FAILED': 'bold red', 'CANCELED': 'magenta', 'SKIPPED': 'dim',
    'DEAD_LETTER': 'bold magenta', 'COMPENSATED': 'cyan', 'UNKNOWN': 'yellow',
}


@dataclasses.dataclass(frozen=True)
class StepRow:
    """
    One step as the table shows it.

    :param step_id: The step.
    :param robot_id: Its robot.
    :param operation: Its operation.
    :param state: State name (``RUNNING``, ``SUCCEEDED``, ...).
    :param attempt: Attempts started so far.
    :param progress: 0..1.
    :param elapsed_s: Seconds since the first attempt started.
    :param error: Code name and message of the last failure; empty if none.
    """

    step_id: str
    robot_id: str
    operation: str
    state: str
    attempt: int = 0
    progress: float = 0.0
    elapsed_s: float = 0.0
    error: str = ''


def summary_lines(rows: typing.Sequence[StepRow]) -> typing.List[str]:
    """Return the plain-text summary table of the steps."""
    lines = [f'{"robot":>8}  {"operation":<17} {"state":<11} {"tries":>5} {"time":>7}  error']
    lines += [f'{r.robot_id:>8}  {r.operation:<17} {r.state:<11} {r.attempt:>5} '
              f'{r.elapsed_s:6.1f}s  {r.error}'.rstrip() for r in rows]
    return lines


class PlanProgress:
    """
    Show a running plan's steps; a context manager around the live display.

    :param title: Shown above the table (e.g. the plan id).
    :param console: Where to draw; default standard output.
    :param live: Force the live table (True) or plain lines (False); None = live only on a
        terminal.
    """

    def __init__(self, title: str = '', *, console: typing.Optional[Console] = None,
                 live: typing.Optional[bool] = None):
        self._console = console or Console()
        self._title = title
        self._live_mode = self._console.is_terminal if live is None else live
        self._live: typing.Optional[Live] = None
        self._rows: typing.List[StepRow] = []
        self._progress = 0.0
        self._printed: typing.Dict[str, str] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> 'PlanProgress':
        if self._live_mode:
            self._live = Live(self._table(), console=self._console, refresh_per_second=4,
                              transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (the summary is printed by :meth:`finish`)."""
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None

    def update(self, rows: typing.Sequence[StepRow], progress: float) -> None:
        """Show the steps' latest state; progress is the plan's, 0..1. Any thread."""
        with self._lock:
            self._rows, self._progress = list(rows), float(progress)
            if self._live is not None:
                self._live.update(self._table())
                return
            for row in rows:
                if self._printed.get(row.step_id) != row.state:
                    self._printed[row.step_id] = row.state
                    self._console.print(
                        f'{progress * 100:5.1f}%  {row.robot_id:>8} {row.operation:<17} '
                        f'{row.state}' + (f'  {row.error}' if row.error else ''),
                        markup=False, highlight=False, soft_wrap=True)

    def message(self, text: str) -> None:
        """Print a line above the live table (or as a plain line)."""
        with self._lock:
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)

    def finish(self, rows: typing.Sequence[StepRow], outcome: str) -> None:
        """Stop the live display and print the summary table and the outcome line."""
        self.close()
        with self._lock:
            if self._live_mode:
                table = self._table(rows, title='Summary')
                self._console.print(table)
            else:
                self._console.print('\nSummary', markup=False, highlight=False, soft_wrap=True)
                for line in summary_lines(rows):
                    self._console.print(line, markup=False, highlight=False, soft_wrap=True)
            self._console.print(outcome, markup=False, highlight=False, soft_wrap=True)

    def _table(self, rows: typing.Sequence[StepRow] = None, title: str = None) -> Table:
        rows = self._rows if rows is None else rows
        table = Table(title=title if title is not None else (
            f'{self._title}  {self._progress * 100:.0f}%' if self._title else None),
            expand=False)
        for column, justify in (('step', 'left'), ('robot', 'left'), ('operation', 'left'),
                                ('state', 'left'), ('try', 'right'), ('progress', 'right'),
                                ('elapsed', 'right'), ('error', 'left')):
            table.add_column(column, justify=justify, no_wrap=column != 'error')
        for r in rows:
            table.add_row(r.step_id, r.robot_id, r.operation,
                          Text(r.state, style=STATE_STYLES.get(r.state, '')), str(r.attempt),
                          f'{r.progress * 100:.0f}%', f'{r.elapsed_s:.1f}s', r.error)
        return table
