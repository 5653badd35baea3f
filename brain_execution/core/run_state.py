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
What the engine's collaborators share about the run as a whole.

One :class:`RunState` per coordinator, read and written under the engine lock (except
``hold_reason``, which the emergency lane sets without it: a plain attribute store).
"""

import dataclasses
import typing

__all__ = ['RunState']


@dataclasses.dataclass
class RunState:
    """The engine's run-wide flags and sets."""

    # After shutdown(): no intake, and in-flight steps stay journaled RECONCILING.
    stopping: bool = False
    # Why the engine is held (a latched fleet-wide emergency stop); '' = not held.
    hold_reason: str = ''
    # Plans canceled (or timed out) and not yet ended.
    canceled: typing.Set[str] = dataclasses.field(default_factory=set)
    # (plan_id, step_id) of steps of which an attempt may have reached the robot (journaled
    # as started).
    sent: typing.Set[typing.Tuple[str, str]] = dataclasses.field(default_factory=set)
