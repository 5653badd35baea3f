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
The ``nav2`` bridge: ground robots (and surface vessels) navigated by Nav2 (Jazzy).

Registered as ``nav2 = brain_execution.bridges.nav2:create_bridge`` in the
``brain_execution.bridges`` entry-point group. Importing it imports nav2_msgs, so a robot
without Nav2's messages is told which package is missing and keeps its other bridges.

Modules: :mod:`.settings` (the ``nav2.*`` parameters), :mod:`.frames` (global frame and
local frame), :mod:`.pose_tracker` and :mod:`.telemetry` (pose, velocity and battery from
topics), :mod:`.snapshots` (the robot's snapshot), :mod:`.readiness` (lifecycle state),
:mod:`.channel` (the goals of one action), :mod:`.dispatch` (one motion across the actions),
:mod:`.messages` (goal poses, route results), :mod:`.error_codes` (Nav2's codes mapped),
:mod:`.bridge` (the PlatformBridge).
"""

from brain_execution.core.bridge import BridgeContext
from brain_execution.core.state import Platform

from .bridge import Nav2Bridge
from .settings import declare_settings

__all__ = ['Nav2Bridge', 'create_bridge']


def create_bridge(context: BridgeContext) -> Nav2Bridge:
    """
    Declare the ``nav2.*`` parameters and build the bridge of one robot.

    :raises ValueError: a parameter is invalid, or the platform is a drone.
    """
    if context.platform is Platform.DRONE:
        raise ValueError('Nav2 drives ground robots and surface vessels, not drones '
                         '(platform: drone); use bridge: mavros')
    return Nav2Bridge(platform=context.platform, settings=declare_settings(context.parameters),
                      home=context.home, request_tick=context.request_tick)
