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
The building blocks of the command sequences: waits with a timeout, calls, mode and arming.

Every wait ends: with its condition, or after its timeout with the error that says what did
not happen. Facts they follow (``/work/shared/PLATFORMS.md``, observed on PX4 and ArduPilot
SITL): ``set_mode`` only says the request was sent, the mode counts once ``state`` shows it;
``cmd/*`` answers ``success=false, result=0`` when no ACK came, and the autopilot may still
carry the command out, so the state decides.
"""

import math
import typing

from brain_execution.core.errors import (
    AckTimeoutError, CommunicationError, ErrorCode, ExecutionError, ModeChangeFailedError,
    PlatformNotReadyError, PositionLostError)

from .fcu_state import FcuState, Pose
from .mav_result import command_error, command_outcome
from .procedure import Call, Port

__all__ = ['arm_vehicle', 'call', 'ensure_mode', 'finite', 'hold_here', 'pose_at',
           'wait_connected', 'wait_position', 'wait_stream', 'wait_until']


def wait_until(port: Port, condition: typing.Callable[[FcuState], bool], timeout_s: float,
               error: typing.Callable[[], ExecutionError]):
    """Yield until ``condition(state)`` holds; raise ``error()`` after ``timeout_s``."""
    deadline = port.now_s() + timeout_s
    while not condition(port.state):
        if port.now_s() >= deadline:
            raise error()
        yield
    return port.state


def call(port: Port, pending: Call, what: str):
    """Yield until a service call is answered; return the response."""
    deadline = port.now_s() + port.settings.ack_timeout_s
    while not pending.done():
        if port.now_s() >= deadline:
            raise AckTimeoutError(f'{what}: no answer from MAVROS in '
                                  f'{port.settings.ack_timeout_s:.1f} s (mavros.ack_timeout_s)')
        yield
    if pending.error is not None:
        raise pending.error
    return pending.response


def wait_connected(port: Port):
    """Wait for ``state.connected`` (MAVROS sees the autopilot's heartbeat)."""
    s = port.settings
    yield from wait_until(port, lambda st: st.connected, s.connect_timeout_s,
                          lambda: CommunicationError(
                              f'MAVROS reports no autopilot connected within '
                              f'{s.connect_timeout_s:.0f} s ({s.resolve("state")}.connected '
                              'is false or absent)'))


def wait_position(port: Port):
    """
    Wait for a local position and home; the autopilot is ready to fly only then.

    ArduCopter accepts arming about 18 s before its first local position and then never
    takes off; PX4 publishes home once its estimator has a fix.
    """
    s = port.settings

    def missing(st: FcuState) -> str:
        parts = [name for name, absent in (('local_position/pose', st.pose is None),
                                           ('home_position/home', st.home is None)) if absent]
        if st.fix_status is not None and st.fix_status < 0:
            parts.append('a GPS fix (global_position/global reports NO_FIX)')
        return ', '.join(parts)

    def error() -> ExecutionError:
        what = missing(port.state)
        hint = (' (ArduPilot streams nothing until stream rates are requested: '
                'mavros.stream_rate_hz)' if s.autopilot == 'ardupilot' else '')
        if port.state.fix_status is not None and port.state.fix_status < 0:
            return PositionLostError(f'no position after {s.ready_timeout_s:.0f} s: no {what}')
        return PlatformNotReadyError(f'autopilot not ready after {s.ready_timeout_s:.0f} s: '
                                     f'no {what} yet{hint}')

    yield from wait_until(port, lambda st: not missing(st), s.ready_timeout_s, error)


def wait_stream(port: Port):
    """Wait until setpoints have streamed for ``mavros.stream_warmup_s`` (PX4 OFFBOARD)."""
    s = port.settings
    # The stream is the bridge's own timer: three periods of slack before calling it broken.
    limit = s.stream_warmup_s + 3.0 / s.setpoint_rate_hz + 1.0
    deadline = port.now_s() + limit
    while port.streaming_s() < s.stream_warmup_s:
        if port.now_s() >= deadline:
            raise PlatformNotReadyError(
                f'setpoint stream not running for {s.stream_warmup_s:.1f} s after '
                f'{limit:.1f} s; PX4 refuses OFFBOARD without it')
        yield


def hold_here(port: Port) -> None:
    """Latch the current position as the setpoint, so OFFBOARD or GUIDED stays put."""
    pose = port.state.pose
    if pose is not None:
        port.set_target(pose)


def ensure_mode(port: Port, mode: str, *, also_expect: typing.Iterable[str] = ()):
    """
    Request ``mode`` unless ``state`` shows it, and wait until it does.

    The mode is declared expected before the request, so the change is not taken for
    someone else's. Called right before every command that needs the mode (ArduCopter's RC
    switch re-applies its mode after boot and silently undoes an early GUIDED).

    :raises ModeChangeFailedError: MAVROS did not send it, or state never showed it.
    """
    port.expect({mode, *also_expect})
    if port.state.mode == mode:
        return
    s = port.settings
    response = yield from call(port, port.set_mode(mode), f'set_mode {mode}')
    if not response.mode_sent:
        raise ModeChangeFailedError(f'MAVROS did not send set_mode {mode} (mode_sent false: '
                                    f'unknown mode for {s.autopilot}?)')
    since = port.now_s()
    yield from wait_until(
        port, lambda st: st.mode == mode, s.mode_timeout_s,
        lambda: ModeChangeFailedError(
            f'{s.autopilot} did not enter {mode} within {s.mode_timeout_s:.1f} s (state.mode '
            f'{port.state.mode!r}){_reasons(port, since)}'))


def _reasons(port: Port, since_s: float) -> str:
    text = port.state.reasons_since(since_s - port.settings.status_text_window_s)
    return f': {text}' if text else ''


def arm_vehicle(port: Port, value: bool):
    """
    Call ``cmd/arming`` and wait until ``state.armed`` shows ``value``.

    A refusal carries the MAV_RESULT's own code and the autopilot's STATUSTEXT reasons. An
    ACK timeout is not a refusal: the state is read for ``mavros.ack_grace_s`` first, since
    the autopilot may arm late; only then does it fail (ACK_TIMEOUT), without re-sending.
    """
    s = port.settings
    what = 'arming' if value else 'disarming'
    if port.state.armed == value:
        return
    sent = port.now_s()
    response = yield from call(port, port.command('arming', value=value), f'cmd/arming {value}')
    outcome = command_outcome(response.success, response.result)
    if outcome is None:
        raise command_error(what, response.result, s.autopilot,
                            port.state.reasons_since(sent - s.status_text_window_s))
    wait_s = s.mode_timeout_s if outcome == 'accepted' else s.ack_grace_s

    def not_armed() -> ExecutionError:
        still = f'state.armed still {not value} after {wait_s:.1f} s{_reasons(port, sent)}'
        if outcome == 'unknown':
            return AckTimeoutError(f'{what}: no acknowledgement from {s.autopilot} (MAVROS '
                                   f'answered success=false, result=0) and {still}; not re-sent')
        return ExecutionError(f'{what} accepted, yet {still}', code=ErrorCode.COMMAND_FAILED)

    yield from wait_until(port, lambda st: st.armed == value, wait_s, not_armed)


def finite(value: float) -> bool:
    """Return whether a float is a usable number."""
    return value is not None and math.isfinite(value)


def pose_at(port: Port, x_m: float, y_m: float, z_m: float, yaw_rad: float) -> Pose:
    """Return a point of the executor's frame as a setpoint in MAVROS's local frame."""
    x, y, z = port.state.to_mavros(x_m, y_m, z_m)
    return Pose(x, y, z, yaw_rad)
