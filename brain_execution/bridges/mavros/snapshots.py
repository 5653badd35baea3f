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
The robot's snapshot, composed from what MAVROS reports; no ROS here.

Positions are relative to MAVROS's home (``home_position/home``), z is the height above it;
latitude and longitude are MAVROS's own fix. The mode is the autopilot's mode string
(``NO_LINK`` while the link is down). Without an ExtendedState (ArduPilot rovers send none),
a disarmed vehicle counts as on the ground.
"""

import dataclasses
import math

from brain_execution.core.state import LandedState, Platform, RobotSnapshot

from .fcu_state import FcuState
from .settings import MavrosSettings

__all__ = ['compose_snapshot']


def compose_snapshot(platform: Platform, settings: MavrosSettings, state: FcuState, *,
                     link_up: bool, now_s: float, payload_id: str = '') -> RobotSnapshot:
    """
    Return the snapshot of ``state``; ``link_up`` from the supervisor's last check.

    :param payload_id: what the gripper holds, by the bridge's account; its mass is unknown.
    """
    fields = {}
    local = state.local()
    if local is None and state.pose is not None:
        local = state.pose  # before home: MAVROS's origin (the EKF origin) stands in
    if local is not None:
        vx, vy, vz, wz = state.velocity
        fields = {'x_m': local.x_m, 'y_m': local.y_m, 'z_m': local.z_m,
                  'yaw_rad': local.yaw_rad, 'vx_mps': vx, 'vy_mps': vy, 'vz_mps': vz,
                  'yaw_rate_radps': wz}
    battery = state.battery_percent
    if state.battery_s is None or now_s - state.battery_s > 10.0 * settings.state_timeout_s:
        battery = math.nan
    if state.extended_s is not None and state.landed_state != LandedState.UNKNOWN:
        landed = LandedState(state.landed_state)
    elif platform is not Platform.DRONE or not state.armed:
        landed = LandedState.ON_GROUND
    else:
        landed = LandedState.UNKNOWN
    if not link_up:
        mode = 'NO_LINK'
    elif local is None:
        mode = 'NO_POSE'
    else:
        mode = state.mode
    return dataclasses.replace(
        RobotSnapshot(platform=platform), stamp_s=state.pose_s or state.state_s or 0.0,
        latitude_deg=state.latitude_deg, longitude_deg=state.longitude_deg,
        battery_percent=battery, armed=state.armed, mode=mode, landed_state=landed,
        link_up=link_up, payload_id=payload_id,
        payload_mass_kg=math.nan if payload_id else 0.0, **fields)
