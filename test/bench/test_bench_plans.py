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
The bench's plans are plans the coordinator takes, and its phase selector.

A plan the coordinator refuses is answered ACCEPT and then ends INVALID_PLAN at once: the
bench's load plan of 2000 hovers (MAX_STEPS is 1000) made estop_under_load_p99_ms None in
every run. The plans are checked here with the coordinator's own conversion and validation.
"""

import types

from brain_execution.bench import __main__ as bench
from brain_execution.core.plan import validate_plan
from brain_execution.core.state import Platform
from brain_execution.ros.coordinator_messages import plan_from_goal
from brain_execution_interfaces.action import ExecutePlan
import pytest


def _validate(plan_id: str, robots, count: int, duration_s: float) -> None:
    # hover_plan only reads the fleet's robot ids: no node, no processes.
    fleet = types.SimpleNamespace(robots=list(robots))
    steps = bench._Fleet.hover_plan(fleet, plan_id, count, duration_s)
    validate_plan(plan_from_goal(ExecutePlan.Goal(plan_id=plan_id, steps=steps)),
                  robots={robot: Platform.DRONE for robot in robots})


def test_fleet_plans_are_valid():
    robots = [f'bench1_drone{i}' for i in range(bench.FLEET_SIZE)]
    _validate('bench1_seed', robots, bench.HOVERS, bench.HOVER_S)
    _validate('bench1_load', robots, bench.LOAD_HOVERS, bench.LOAD_HOVER_S)


@pytest.mark.parametrize('count', bench.SCALE_SIZES)
def test_scale_plans_are_valid(count):
    tag = f'bench1_s{count}'
    _validate(f'{tag}_warm', [f'{tag}_{i}' for i in range(1, count + 1)],
              bench.SCALE_HOVERS_PER_ROBOT * count, bench.HOVER_S)


def test_load_outlasts_its_stops():
    # Each drone hovers this long at least: the stops under load (about 5 s here) must end
    # before the reachable drones run out of steps.
    assert bench.LOAD_HOVERS * bench.LOAD_HOVER_S / bench.FLEET_SIZE >= 10.0


def test_phase_selector():
    everything = frozenset(bench.PHASES)
    assert bench._selected_phases(['bench']) == (everything, ['bench'])
    assert bench._selected_phases(['bench', '--estop-only']) == (
        frozenset({'estop'}), ['bench'])
    assert bench._selected_phases(
        ['bench', '--only', 'coordinated,estop', '--ros-args', '-r', '__ns:=/x']) == (
        frozenset({'coordinated', 'estop'}), ['bench', '--ros-args', '-r', '__ns:=/x'])
    assert bench._selected_phases(['bench', '--only=scale', '--only', 'single']) == (
        frozenset({'scale', 'single'}), ['bench'])
    with pytest.raises(ValueError, match='unknown phase.*estops.*known: single'):
        bench._selected_phases(['bench', '--only', 'estops'])
    with pytest.raises(ValueError, match='--only needs phases'):
        bench._selected_phases(['bench', '--only'])
