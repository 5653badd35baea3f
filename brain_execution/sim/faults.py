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
Faults injected into a simulated robot while it runs.

One mutable object per robot, shared by the :class:`~brain_execution.sim.bridge.SimBridge`
(command faults: rejections, lost link, slow acknowledgements) and its
:class:`~brain_execution.sim.vehicle.SimVehicle` (physical faults: stuck motion, battery,
camera, payload scale). A test flips a field between two ``update()`` calls and the next
command or integration step sees it; every assignment is validated, so a typo in a test fails
at the assignment rather than as a puzzling sim behaviour later.
"""

import dataclasses
import math
import typing

__all__ = ['SimFaults']

# Commands that change the autopilot's flight mode (PX4 switches to AUTO.TAKEOFF, AUTO.LAND,
# AUTO.LOITER or OFFBOARD for them), so a refused mode switch refuses exactly these.
_MODE_COMMANDS = frozenset({'takeoff', 'land', 'go_to', 'hold', 'dock', 'undock'})


@dataclasses.dataclass
class SimFaults:
    """
    Faults of one simulated robot; all off by default.

    :param reject_arming: ``arm()`` fails with a PlatformRejectedError of code 101
        (ARMING_REJECTED).
    :param reject_mode: commands that need a flight-mode switch (takeoff, land, go_to, hold,
        dock, undock) fail with a PlatformRejectedError.
    :param reject_commands: True refuses every command but the emergency ones; a collection
        of command names (``{'go_to', 'arm'}``) refuses only those.
    :param link_down: the snapshot freezes at its last value with ``link_up`` False; every
        command, emergency ones included, fails with a CommunicationError and pending
        acknowledgements are lost. The vehicle itself keeps flying its last command.
    :param stuck: commands are acknowledged but the vehicle does not move.
    :param ack_delay_s: seconds of sim time before a command takes effect and its handle
        completes; emergency commands are never delayed.
    :param battery_percent: if set, the battery reads (and stays at) this value, 0..100.
    :param drain_multiplier: factor on the battery drain, >= 0.
    :param camera_unavailable: every camera command fails (code 1001, 1101 for video).
    :param payload_mass_kg: if set, the mass measured when a payload is attached (kg, or NaN
        for a robot that cannot weigh); otherwise the expected mass is measured.
    """

    reject_arming: bool = False
    reject_mode: bool = False
    reject_commands: typing.Union[bool, typing.AbstractSet[str]] = False
    link_down: bool = False
    stuck: bool = False
    ack_delay_s: float = 0.0
    battery_percent: typing.Optional[float] = None
    drain_multiplier: float = 1.0
    camera_unavailable: bool = False
    payload_mass_kg: typing.Optional[float] = None

    def __setattr__(self, name: str, value: typing.Any) -> None:
        # Validated on every assignment, not only in __init__, because tests change faults
        # while the simulation runs.
        if name == 'ack_delay_s' and not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f'ack_delay_s must be finite and >= 0, got {value!r}')
        if name == 'drain_multiplier' and not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f'drain_multiplier must be finite and >= 0, got {value!r}')
        if name == 'battery_percent' and value is not None and not 0.0 <= value <= 100.0:
            raise ValueError(f'battery_percent must be None or 0..100, got {value!r}')
        if name == 'payload_mass_kg' and value is not None and value < 0.0:
            raise ValueError(f'payload_mass_kg must be None, NaN or >= 0, got {value!r}')
        if name == 'reject_commands' and not isinstance(value, bool):
            value = frozenset(value)
        super().__setattr__(name, value)

    def rejects_command(self, command: str) -> bool:
        """
        Return whether reject_commands refuses a (non-emergency) command of this name.

        :param command: the bridge method name, e.g. ``'go_to'``.
        """
        if isinstance(self.reject_commands, bool):
            return self.reject_commands
        return command in self.reject_commands

    def rejects_mode(self, command: str) -> bool:
        """
        Return whether reject_mode refuses a command because it needs a mode switch.

        :param command: the bridge method name, e.g. ``'takeoff'``.
        """
        return self.reject_mode and command in _MODE_COMMANDS

    def clear(self) -> None:
        """Switch every fault off again."""
        for field in dataclasses.fields(self):
            setattr(self, field.name, field.default)
