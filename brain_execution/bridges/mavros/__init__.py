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
The ``mavros`` bridge: PX4 and ArduPilot vehicles (copters, rovers, boats) through MAVROS.

Registered as ``mavros = brain_execution.bridges.mavros:create_bridge`` in the
``brain_execution.bridges`` entry-point group. Importing it imports mavros_msgs (and through
it geographic_msgs), so a robot without them is told which package is missing and keeps its
other bridges.

Modules, one concept each: :mod:`.settings` (``mavros.*``), :mod:`.modes` (mode tables),
:mod:`.mav_result` (MAV_RESULT to codes), :mod:`.fcu_state` (what MAVROS reported),
:mod:`.telemetry` (subscriptions and QoS), :mod:`.link` (clients, the ``cmd/*`` queue,
setpoint messages), :mod:`.setpoints` (the stream), :mod:`.procedure` and :mod:`.steps`
(sequences as generators), :mod:`.sequences` (one per command and autopilot),
:mod:`.supervision` (link, takeover, failsafe), :mod:`.snapshots` (the robot's snapshot),
:mod:`.payload` (cameras, gripper, data link), :mod:`.bridge` (the PlatformBridge).
"""

from brain_execution.core.bridge import BridgeContext
from brain_execution.core.state import Platform

from .bridge import MavrosBridge
from .settings import declare_settings

__all__ = ['MavrosBridge', 'create_bridge']

_PLATFORMS = {'copter': Platform.DRONE, 'rover': Platform.GROUND, 'boat': Platform.SURFACE}


def create_bridge(context: BridgeContext) -> MavrosBridge:
    """
    Declare the ``mavros.*`` parameters and build the bridge of one robot.

    :raises ValueError: a parameter is invalid, or ``mavros.vehicle`` does not match the
        executor's platform.
    """
    settings = declare_settings(context.parameters)
    expected = _PLATFORMS[settings.vehicle]
    if context.platform is not expected:
        raise ValueError(f'mavros.vehicle={settings.vehicle!r} drives a '
                         f'{expected.value} platform, but the executor is configured as '
                         f'{context.platform.value}')
    return MavrosBridge(platform=context.platform, settings=settings, home=context.home,
                        request_tick=context.request_tick)
