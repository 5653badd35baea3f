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
Command sequences as generators, advanced by the bridge's timer; no ROS here.

A command such as "arm" is several exchanges with the autopilot: wait for the link, for a
position, stream setpoints, request a mode, see it in ``state``, call ``cmd/arming``, see
``armed``. Each is written as a generator (like the operation programs of
:mod:`brain_execution.core.program`) that yields while it waits, so nothing blocks an
executor thread. :class:`Procedure` runs one for a
:class:`~brain_execution.core.bridge.CommandHandle`: the sequence acknowledges the handle
when its command took effect (:func:`acknowledge`), and may go on watching (a climb that must
start, a return that must end).

The sequence talks to the vehicle through a :class:`Port`; the bridge's port is ROS, the unit
tests' a scripted autopilot.
"""

import typing

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import ExecutionError, PreemptedError

from .fcu_state import FcuState, Pose
from .modes import ModeProfile
from .settings import MavrosSettings

__all__ = ['Acknowledge', 'Call', 'Finish', 'Port', 'Procedure', 'Sequence', 'acknowledge']


class Call(typing.Protocol):
    """A service call in flight: done once answered or failed."""

    def done(self) -> bool:
        """Return whether the call was answered or failed."""

    @property
    def response(self) -> typing.Any:
        """Return what the service answered; None until done, or when failed."""

    @property
    def error(self) -> typing.Optional[ExecutionError]:
        """Return why the call failed (service missing, exception), or None."""


class Port(typing.Protocol):
    """What a sequence may do with the vehicle."""

    settings: MavrosSettings
    modes: ModeProfile

    def now_s(self) -> float:
        """Return the node clock, s."""

    @property
    def state(self) -> FcuState:
        """Return the latest :class:`~.fcu_state.FcuState`."""

    def set_mode(self, mode: str) -> Call:
        """Call ``set_mode`` (answered at once; the mode shows later in state)."""

    def command(self, name: str, **fields) -> Call:
        """Call ``cmd/<name>`` (arming, takeoff, land), one at a time, in order."""

    def expect(self, modes: typing.Iterable[str]) -> None:
        """Declare the modes the bridge put the vehicle in: any other is someone else's."""

    def set_target(self, target: typing.Optional[Pose]) -> None:
        """Latch the position setpoint (MAVROS local frame), or None to hold where it is."""

    def streaming_s(self) -> float:
        """Return for how long setpoints have streamed without a gap, s (0 = not)."""


class Acknowledge:
    """Yielded by a sequence to acknowledge its handle with ``value`` and carry on."""

    __slots__ = ('value',)

    def __init__(self, value: typing.Any = None):
        self.value = value


def acknowledge(value: typing.Any = None) -> typing.Generator[Acknowledge, None, None]:
    """Acknowledge the procedure's handle with ``value``; used as ``yield from``."""
    yield Acknowledge(value)


class Finish:
    """Returned by a sequence whose behaviour is complete (home reached): finishes the handle."""

    __slots__ = ('value',)

    def __init__(self, value: typing.Any = None):
        self.value = value


Sequence = typing.Generator[typing.Optional[Acknowledge], None, typing.Any]


class Procedure:
    """
    One command's sequence and the handle it answers; advanced by :meth:`tick`.

    :param name: the command, for messages (``'arm'``, ``'takeoff'``, ...).
    :param sequence: the generator; its return value acknowledges the handle (unless it did
        already), an :class:`ExecutionError` it raises refuses or interrupts it.
    :param motion: whether it commands motion; a newer motion supersedes it.
    """

    def __init__(self, name: str, sequence: Sequence, handle: CommandHandle, *,
                 motion: bool = True):
        self.name = name
        self.handle = handle
        self.motion = motion
        self._sequence = sequence
        self.over = False

    def tick(self) -> bool:
        """Advance until the sequence waits; return whether it is over."""
        if self.over:
            return True
        try:
            while True:
                step = self._sequence.send(None)
                if isinstance(step, Acknowledge):
                    self.handle.set_result(step.value)
                    continue
                return False
        except StopIteration as stop:
            if isinstance(stop.value, Finish):
                self.handle.finish(stop.value.value)
            else:
                self.handle.set_result(stop.value)
        except ExecutionError as error:
            self.handle.interrupt(error)
        self.over = True
        return True

    def supersede(self, by: str) -> None:
        """
        Stop the sequence because a newer command replaces it.

        A handle still pending fails (PREEMPTED); one already acknowledged is left alone:
        superseding is not an interruption.
        """
        if not self.over:
            self._sequence.close()
            self.over = True
        self.handle.set_error(PreemptedError(f'{self.name} superseded by {by} before the '
                                             'autopilot took it'))

    def fail(self, error: ExecutionError) -> None:
        """Stop the sequence and refuse or interrupt its handle with ``error``."""
        if not self.over:
            self._sequence.close()
            self.over = True
        self.handle.interrupt(error)
