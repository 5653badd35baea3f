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
One sequence per bridge command, per autopilot: the order of exchanges real autopilots need.

* PX4 (OFFBOARD flow): wait connected, a position and home; setpoints already streaming
  (the bridge's timer streams from the start); OFFBOARD confirmed in ``state``; arm;
  ``armed`` confirmed. Takeoff climbs on setpoints in OFFBOARD, or NAV_TAKEOFF with the
  altitude AMSL and NaN latitude/longitude (``mavros.px4_takeoff``). Land, return and hold are
  AUTO.LAND, AUTO.RTL and AUTO.LOITER.
* ArduCopter: wait for a local position before GUIDED and arming; GUIDED confirmed right
  before every command that needs it; ``cmd/takeoff`` with the altitude above home; LAND,
  RTL; holding is GUIDED with the current position as target.
* ArduPilot Rover and boats: GUIDED position setpoints (armed on the first one), HOLD, RTL.

Every sequence raises an :class:`~brain_execution.core.errors.ExecutionError` saying what
did not happen; none waits without a timeout except the watch of a native return, whose
operation has its own.
"""

import math

from brain_execution.core.errors import (
    AckTimeoutError, ErrorCode, ExecutionError, PlatformNotReadyError, PreconditionFailedError,
    UnsupportedOperationError)
from brain_execution.core.state import LandedState

from .mav_result import command_error, command_outcome
from .procedure import acknowledge, Finish, Port
from .steps import (
    arm_vehicle, call, ensure_mode, hold_here, pose_at, wait_connected, wait_position,
    wait_stream, wait_until)

__all__ = ['arm', 'disarm', 'go_to', 'hold', 'land', 'return_home', 'takeoff']

# A climb counts as started this high above home, m (or when landed_state leaves the ground).
_CLIMB_STARTED_M = 0.3
# A native return (rovers, boats) is home this close to it, m.
_HOME_RADIUS_M = 2.0


def arm(port: Port):
    """Make the vehicle ready, put it in its guided mode and arm it."""
    yield from wait_connected(port)
    yield from wait_position(port)
    modes = port.modes
    if modes.needs_stream:
        hold_here(port)
        yield from wait_stream(port)
    yield from ensure_mode(port, modes.guided)
    if modes.needs_stream:
        hold_here(port)
    yield from arm_vehicle(port, True)


def disarm(port: Port):
    """Disarm; the autopilot refuses in flight."""
    yield from wait_connected(port)
    yield from arm_vehicle(port, False)


def _local(port: Port, command: str):
    local = port.state.local()
    if local is None:
        raise PlatformNotReadyError(f'{command}: no local position and home from MAVROS yet')
    return local


def takeoff(port: Port, altitude_m: float):
    """Climb to ``altitude_m`` above home; acknowledged once the climb is commanded."""
    s, modes = port.settings, port.modes
    if not modes.flies:
        raise UnsupportedOperationError(f'takeoff: a {modes.vehicle} does not fly')
    if not port.state.armed:
        raise PreconditionFailedError('takeoff: the vehicle is not armed')
    local = _local(port, 'takeoff')
    sent = port.now_s()
    if modes.autopilot == 'px4' and s.px4_takeoff == 'offboard':
        hold_here(port)
        yield from ensure_mode(port, modes.guided)
        port.set_target(pose_at(port, local.x_m, local.y_m, altitude_m, local.yaw_rad))
        unacknowledged = False
    elif modes.autopilot == 'px4':
        home = port.state.home
        # MAVROS reports home as ellipsoid height; NAV_TAKEOFF's altitude is AMSL. Finite
        # latitude/longitude would be a target (0, 0 answers success and never climbs).
        amsl = home.altitude_ellipsoid_m - s.geoid_height_m + altitude_m
        port.expect({modes.guided, *modes.after_takeoff})
        unacknowledged = yield from _command_tol(
            port, 'takeoff', min_pitch=0.0, yaw=math.nan, latitude=math.nan,
            longitude=math.nan, altitude=amsl)
    else:
        yield from ensure_mode(port, modes.guided)
        unacknowledged = yield from _command_tol(
            port, 'takeoff', min_pitch=0.0, yaw=0.0, latitude=0.0, longitude=0.0,
            altitude=altitude_m)
    yield from acknowledge({'altitude_reference': 'above home'})

    def climbing(st) -> bool:
        here = st.local()
        return (st.landed_state in (LandedState.IN_AIR, LandedState.TAKING_OFF)
                or (here is not None and here.z_m >= _CLIMB_STARTED_M))

    def no_climb() -> ExecutionError:
        why = port.state.reasons_since(sent - s.status_text_window_s)
        text = f'takeoff: the vehicle did not leave the ground within {s.takeoff_confirm_s:.0f} s'
        if unacknowledged:
            return AckTimeoutError(f'{text} and {s.autopilot} never acknowledged it'
                                   + (f': {why}' if why else ''))
        return ExecutionError(f'{text} though {s.autopilot} accepted it'
                              + (f': {why}' if why else ''), code=ErrorCode.COMMAND_FAILED)

    yield from wait_until(port, climbing, s.takeoff_confirm_s, no_climb)


def _command_tol(port: Port, name: str, **fields):
    """Call cmd/takeoff or cmd/land; return True when its outcome is unknown (no ACK)."""
    s = port.settings
    sent = port.now_s()
    response = yield from call(port, port.command(name, **fields), f'cmd/{name}')
    outcome = command_outcome(response.success, response.result)
    if outcome is None:
        raise command_error(name, response.result, s.autopilot,
                            port.state.reasons_since(sent - s.status_text_window_s))
    return outcome == 'unknown'


def land(port: Port):
    """Land in place (the land mode); the operation watches landed_state."""
    modes = port.modes
    if not modes.flies:
        raise UnsupportedOperationError(f'land: a {modes.vehicle} does not land')
    yield from ensure_mode(port, modes.land)


def go_to(port: Port, x_m: float, y_m: float, z_m: float, yaw_rad):
    """Fly or drive to a point of the executor's frame (home at origin, z above home)."""
    modes = port.modes
    if not port.state.armed:
        if modes.flies:
            raise PreconditionFailedError('go_to: the vehicle is not armed; take off first')
        # Arming waits for the position (ArduPilot streams none until asked): only then is
        # there a local frame to place the target in.
        yield from arm(port)
    local = _local(port, 'go_to')
    if modes.needs_stream:
        if port.state.mode != modes.guided:
            hold_here(port)
        yield from wait_stream(port)
    yield from ensure_mode(port, modes.guided)
    here = port.state.local() or local
    z = z_m if modes.flies else here.z_m
    yaw = here.yaw_rad if yaw_rad is None else yaw_rad
    port.set_target(pose_at(port, x_m, y_m, z, yaw))
    yield from acknowledge()


def hold(port: Port):
    """Stop and hold here: the hold mode, or GUIDED on the current position (ArduCopter)."""
    modes = port.modes
    if not port.state.armed:
        return
    if modes.hold == modes.guided:
        hold_here(port)
    yield from ensure_mode(port, modes.hold)


def return_home(port: Port):
    """Return with the autopilot's RTL; finished once home (landed and disarmed, drones)."""
    modes = port.modes
    if not port.state.armed:
        raise PreconditionFailedError('return_home: the vehicle is not armed')
    yield from ensure_mode(port, modes.rtl, also_expect=modes.after_rtl)
    yield from acknowledge()
    if modes.flies:
        yield from wait_until(port, lambda st: (st.landed_state == LandedState.ON_GROUND
                                                and not st.armed), math.inf, None)
    else:
        def home(st) -> bool:
            here = st.local()
            return here is not None and math.hypot(here.x_m, here.y_m) <= _HOME_RADIUS_M

        yield from wait_until(port, home, math.inf, None)
    return Finish()
