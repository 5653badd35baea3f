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
What an operation program sees while it runs: the robot, the clock and its progress.

An operation is a generator function ``program(ctx, params)``. It issues commands through
``ctx.bridge`` and ``yield``s whenever it has to wait; the runtime resumes it on the next
tick. It returns the result fields as a dict and raises an
:class:`~brain_execution.core.errors.ExecutionError` to fail. Because a program never blocks,
many operations on many robots share a couple of threads, and any of them can be canceled
between two ticks by closing its generator.
"""

import math
import typing

from .bridge import CommandHandle, PlatformBridge
from .errors import CommunicationError, ExecutionError
from .state import RobotSnapshot

__all__ = ['Program', 'ProgramContext', 'Progress']

Program = typing.Callable[['ProgramContext', typing.Mapping[str, typing.Any]],
                          typing.Generator[None, None, typing.Dict[str, typing.Any]]]


class Progress:
    """Latest progress report of one operation; read by the adapter to publish feedback."""

    __slots__ = ('progress', 'phase', 'distance_remaining_m', 'eta_s', 'extra')

    def __init__(self):
        self.progress = 0.0
        self.phase = 'pending'
        self.distance_remaining_m = math.nan
        self.eta_s = math.nan
        # Operation-specific feedback fields, by their name in the action's Feedback.
        self.extra = {}


class ProgramContext:
    """
    Handle through which a running program commands its robot and reports progress.

    :param bridge: the robot's platform.
    :param clock: returns the current time in seconds (node clock: honours sim time).
    :param progress: where reports go.
    :param hooks: adapter-provided callables by name (e.g. ``broadcast``).
    """

    def __init__(self, *, bridge: PlatformBridge, clock: typing.Callable[[], float],
                 progress: Progress, hooks: typing.Mapping[str, typing.Callable] = None):
        self.bridge = bridge
        self._clock = clock
        self._progress = progress
        self.hooks = dict(hooks or {})
        self.started_s = clock()
        # When the timed wait in progress ends (node time, s), else None: the adapter ticks
        # then, rather than at the next periodic tick.
        self.wake_at_s: typing.Optional[float] = None
        # Acknowledged commands whose behaviour the platform may still abandon: an
        # interruption of any of them ends the program (see CommandHandle.interrupt).
        self._watched: typing.List[CommandHandle] = []

    @property
    def now(self) -> float:
        return self._clock()

    @property
    def snapshot(self) -> RobotSnapshot:
        return self.bridge.snapshot()

    def report(self, *, progress: float = None, phase: str = None,
               distance_remaining_m: float = None, eta_s: float = None, **extra) -> None:
        """Record progress; unspecified fields keep their previous value."""
        p = self._progress
        if progress is not None:
            p.progress = min(1.0, max(0.0, float(progress)))
            elapsed = self.now - self.started_s
            # A linear extrapolation is crude but honest, and NaN until there is something to
            # extrapolate from rather than a made-up figure.
            if eta_s is None and 0.0 < p.progress < 1.0 and elapsed > 0.0:
                p.eta_s = elapsed * (1.0 - p.progress) / p.progress
        if phase is not None:
            p.phase = phase
        if distance_remaining_m is not None:
            p.distance_remaining_m = float(distance_remaining_m)
        if eta_s is not None:
            p.eta_s = float(eta_s)
        p.extra.update(extra)

    def command(self, handle: CommandHandle, phase: str = None):
        """
        Wait (by yielding) until the platform acknowledges a command; return its value.

        :raises ExecutionError: the platform's refusal, as reported on the handle.
        """
        if phase is not None:
            self.report(phase=phase)
        while not handle.done():
            self.check_platform()
            yield
        if handle.error is not None:
            raise handle.error
        if not handle.finished:
            self._watched.append(handle)
        return handle.value

    def wait_until(self, condition: typing.Callable[[RobotSnapshot], bool],
                   on_tick: typing.Callable[[RobotSnapshot], None] = None,
                   until: typing.Optional[CommandHandle] = None):
        """
        Yield until ``condition(snapshot)`` holds, calling ``on_tick`` on every tick.

        :param until: also return once this command's behaviour is finished, as the
            platform reports it (a navigation stack's own goal tolerance, say).
        """
        while True:
            snapshot = self.snapshot
            self.check_platform(snapshot)
            if on_tick is not None:
                on_tick(snapshot)
            if condition(snapshot) or (until is not None and until.finished):
                return snapshot
            yield

    def wait_finished(self, handle: CommandHandle,
                      on_tick: typing.Callable[[RobotSnapshot], None] = None):
        """Yield until the platform reports the command's behaviour finished; return its value."""
        yield from self.wait_until(lambda s: False, on_tick, until=handle)
        return handle.value

    def wait_for(self, duration_s: float,
                 on_tick: typing.Callable[[RobotSnapshot], None] = None):
        """Yield for duration_s seconds of node time, reporting progress through it."""
        end = self.now + duration_s
        start = self.now
        while self.now < end:
            snapshot = self.snapshot
            self.check_platform(snapshot)
            if on_tick is not None:
                on_tick(snapshot)
            if duration_s > 0.0:
                self.report(progress=(self.now - start) / duration_s,
                            eta_s=max(0.0, end - self.now))
            self.wake_at_s = end
            try:
                yield
            finally:
                self.wake_at_s = None
        self.report(progress=1.0, eta_s=0.0)

    def require_link(self, snapshot: RobotSnapshot = None) -> None:
        """
        Fail the operation when the platform link is down rather than wait blindly.

        :raises CommunicationError: the link is down.
        """
        snapshot = snapshot or self.snapshot
        if not snapshot.link_up:
            raise CommunicationError('link to the platform is down')

    def check_platform(self, snapshot: RobotSnapshot = None) -> None:
        """
        Fail the operation when the link is down or the platform abandoned a command.

        :raises ExecutionError: the interruption a bridge reported on a command this
            program issued, or the link is down (CommunicationError). The bridge's account
            comes first: it says why (a corrupted stream, a lost fix), the bare link flag
            does not.
        """
        for handle in self._watched:
            if handle.interruption is not None:
                raise handle.interruption
        self.require_link(snapshot)

    def call_hook(self, name: str, *args, **kwargs):
        """Call an adapter hook, or fail clearly when the adapter did not provide it."""
        hook = self.hooks.get(name)
        if hook is None:
            raise ExecutionError(f'no {name!r} hook is configured on this executor')
        return hook(*args, **kwargs)
