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
A fleet emergency stop: sent to every robot at once, its outcomes gathered as they arrive.

Nothing here takes the engine lock: a coordinator busy journaling must not delay a stop.
"""

import threading
import typing

from .dispatch import Dispatcher
from .errors import code_name, ErrorCode
from .operation import Outcome

__all__ = ['EmergencyStopResult', 'send_emergency_stop']


class EmergencyStopResult:
    """
    Outcomes of one fleet emergency stop, robot by robot, as they arrive.

    :param robot_ids: The robots the stop was sent to.
    """

    def __init__(self, robot_ids: typing.Sequence[str]):
        self.robot_ids = tuple(robot_ids)
        self._lock = threading.Lock()
        self._outcomes: typing.Dict[str, Outcome] = {}
        self._callbacks: typing.List[typing.Callable[[typing.Dict[str, Outcome]], None]] = []

    @property
    def done(self) -> bool:
        with self._lock:
            return len(self._outcomes) == len(self.robot_ids)

    @property
    def outcomes(self) -> typing.Dict[str, Outcome]:
        """Return the outcomes received so far, by robot id."""
        with self._lock:
            return dict(self._outcomes)

    def add_done_callback(
            self, callback: typing.Callable[[typing.Dict[str, Outcome]], None]) -> None:
        """Call ``callback(outcomes)`` once every robot answered (at once if all have)."""
        with self._lock:
            if len(self._outcomes) < len(self.robot_ids):
                self._callbacks.append(callback)
                return
            outcomes = dict(self._outcomes)
        callback(outcomes)

    def _set(self, robot_id: str, outcome: Outcome) -> None:
        with self._lock:
            if robot_id in self._outcomes:
                return
            self._outcomes[robot_id] = outcome
            if len(self._outcomes) < len(self.robot_ids):
                return
            callbacks, self._callbacks = self._callbacks, []
            outcomes = dict(self._outcomes)
        for callback in callbacks:
            callback(outcomes)


def send_emergency_stop(dispatcher: Dispatcher, robots: typing.Collection[str],
                        robot_ids: typing.Sequence[str], *, reason: str, release: bool,
                        log: typing.Callable[[str, str], None]) -> EmergencyStopResult:
    """
    Send emergency_stop (or its release) to robots (all of ``robots`` when empty) at once.

    :param robots: The robots known; another id gets UNKNOWN_ROBOT at once.
    :return: The outcome per robot, as they arrive.
    """
    if isinstance(robot_ids, str):
        robot_ids = (robot_ids,)
    targets = list(dict.fromkeys(robot_ids)) or list(robots)
    result = EmergencyStopResult(targets)
    for robot_id in targets:
        if robot_id not in robots:
            result._set(robot_id, Outcome(ErrorCode.UNKNOWN_ROBOT,
                                          f'unknown robot {robot_id!r}'))
            continue

        def on_done(outcome: Outcome, robot_id: str = robot_id) -> None:
            if not outcome.succeeded:
                log('error', f'emergency_stop on {robot_id} failed: '
                             f'{code_name(outcome.code)}: {outcome.message}')
            result._set(robot_id, outcome)
        try:
            dispatcher.emergency_stop(robot_id, reason=reason, release=release,
                                      on_done=on_done)
        except Exception as e:  # noqa: B902 - every robot must still get its stop
            on_done(Outcome(ErrorCode.COMMUNICATION_FAILURE,
                            f'emergency_stop not sent: {type(e).__name__}: {e}', True))
    log('warn', f'emergency_stop {"released" if release else "sent"} to '
                f'{", ".join(targets)}: {reason or "no reason given"}')
    return result
