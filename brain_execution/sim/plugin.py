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
The ``sim`` entry of the ``brain_execution.bridges`` group: an in-process simulated vehicle.

Parameters (read-only, under ``sim.``):

* sim.initial_battery_percent (float): battery at start, %.
* sim.start_docked (bool): whether the robot starts on its dock.
* sim.docks (string[]): docks as ``"name:x_m:y_m"``; unset = none.
* sim.max_speed_mps (float): top speed of the simulated vehicle, m/s.
* sim.ack_delay_s (float): fault from the start: seconds of sim time before a command takes
  effect and is acknowledged (slow autopilot links; emergency commands are never delayed).
"""

import math
import typing

from .bridge import SimBridge
from ..core.bridge import ArrayParameter, BridgeContext

__all__ = ['create_bridge', 'parse_docks']


def create_bridge(context: BridgeContext) -> SimBridge:
    """Declare the ``sim.*`` parameters and build the simulated robot."""
    p = context.parameters
    battery = p.declare('initial_battery_percent', 100.0, 'Simulated battery at start, %.',
                        (0.0, 100.0))
    start_docked = p.declare('start_docked', False,
                             'Whether the simulated robot starts on its dock.')
    docks = parse_docks(p.declare('docks', ArrayParameter.STRING,
                                  'Simulated docks as "name:x_m:y_m" strings; unset = none.'))
    max_speed = p.declare('max_speed_mps', 10.0, 'Top speed of the simulated vehicle, m/s.',
                          (0.1, 100.0))
    ack_delay_s = p.declare('ack_delay_s', 0.0, 'Fault: seconds of sim time before a command '
                            'takes effect and is acknowledged (emergencies never wait).',
                            (0.0, 3600.0))
    bridge = SimBridge(
        platform=context.platform,
        robot_id=context.robot_id,
        home=context.home,
        battery_percent=battery,
        max_speed_mps=max_speed,
        docks=docks,
        start_docked=start_docked,
        max_payload_kg=context.envelope.max_payload_kg,
    )
    bridge.faults.ack_delay_s = ack_delay_s
    return bridge


def parse_docks(entries: typing.Sequence[str]) -> typing.Dict[str, typing.Tuple[float, float]]:
    """
    Parse ``"name:x_m:y_m"`` strings into a dock table.

    :raises ValueError: an entry is malformed; the message quotes it.
    """
    docks = {}
    for entry in entries:
        if not entry:
            continue
        parts = entry.split(':')
        try:
            name, x, y = parts[0], float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ValueError(f'sim.docks entry {entry!r} is not "name:x_m:y_m"') from None
        if not name or len(parts) != 3 or not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f'sim.docks entry {entry!r} is not "name:x_m:y_m"')
        docks[name] = (x, y)
    return docks
