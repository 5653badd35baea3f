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
Pick and build the platform bridge named by the executor's ``bridge`` parameter.

Bridges are imported here, lazily, so that a robot without a platform's message packages
(no MAVROS on a ground robot) still runs the bridges it has.
"""

from brain_execution.core.bridge import PlatformBridge

from .config import ExecutorConfig

__all__ = ['make_bridge']


def make_bridge(config: ExecutorConfig) -> PlatformBridge:
    """
    Return a new bridge for the configured platform.

    :raises ValueError: the bridge name is unknown.
    """
    if config.bridge == 'sim':
        from brain_execution.sim.bridge import SimBridge
        return SimBridge(
            platform=config.platform,
            robot_id=config.robot_id,
            home=config.home,
            battery_percent=config.sim.initial_battery_percent,
            max_speed_mps=config.sim.max_speed_mps,
            docks=dict(config.sim.docks),
            start_docked=config.sim.start_docked,
            max_payload_kg=config.envelope.max_payload_kg,
        )
    raise ValueError(f'bridge={config.bridge!r} unknown')
