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
The ``nmea`` entry of the ``brain_execution.bridges`` group: a marine autopilot on NMEA 0183.

Surface vessels only (``platform: surface``); the parameters are ``nmea.*``, listed with
their descriptions in :mod:`.settings` and ``config/nmea_boat.yaml``. What each operation
means on an autopilot that only steers is in :mod:`.bridge`. Boats on ArduPilot Rover
firmware speak MAVLink, not NMEA: they use the ``mavros`` bridge.
"""

from brain_execution.core.bridge import BridgeContext
from brain_execution.core.state import Platform

from .bridge import NmeaBridge
from .settings import declare_settings, NmeaSettings

__all__ = ['NmeaBridge', 'NmeaSettings', 'create_bridge']


def create_bridge(context: BridgeContext) -> NmeaBridge:
    """
    Declare the ``nmea.*`` parameters and build the bridge.

    :raises ValueError: the robot is not a surface vessel, or a parameter is invalid.
    """
    if context.platform is not Platform.SURFACE:
        raise ValueError(f'platform={context.platform.value!r}: the nmea bridge drives surface '
                         'vessels only (platform: surface)')
    return NmeaBridge(settings=declare_settings(context.parameters), robot_id=context.robot_id,
                      home=context.home)
