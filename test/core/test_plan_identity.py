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

"""The coordinator refuses a plan id or step operation id reused with other content (23)."""

from brain_execution.core.errors import ErrorCode, OperationIdConflictError
from brain_execution.core.journal import Journal
from brain_execution.core.plan import Plan, PlanStep
import pytest

from .test_coordination import FakeClock, fleet_plan, World


def test_plan_id_reused_with_other_parameters_is_refused_naming_the_step_field():
    world = World()
    first = world.coordinator.submit_plan(fleet_plan('survey'))
    changed = fleet_plan('survey')
    steps = list(changed.steps)
    steps[2] = PlanStep('drive', 'ugv1', 'go_to', {'target': {'x_m': 12.0, 'y_m': 0.0}})
    with pytest.raises(OperationIdConflictError) as raised:
        world.coordinator.submit_plan(Plan(plan_id='survey', steps=tuple(steps)))
    assert raised.value.code == ErrorCode.OPERATION_ID_CONFLICT
    assert "plan_id='survey'" in str(raised.value)
    assert 'steps[2].parameters.target.x_m: 12.0 != 10.0' in str(raised.value)
    assert world.coordinator.submit_plan(fleet_plan('survey')) is first
    world.run(first)
    assert world.fleet.executions['survey/drive'] == 1


def test_single_operation_id_reused_with_other_content_is_refused_after_a_restart(tmp_path):
    path = str(tmp_path / 'j.db')
    journal = Journal(path, clock=FakeClock())
    world = World(journal=journal)
    handle = world.coordinator.submit_operation('ugv1', 'capture_image', {'count': 1},
                                                operation_id='a')
    assert world.run(handle).succeeded
    journal.close()
    restarted = World(journal=Journal(path, clock=FakeClock()))
    with pytest.raises(OperationIdConflictError) as raised:
        restarted.coordinator.submit_operation('ugv1', 'capture_image', {'count': 2},
                                               operation_id='a')
    assert 'steps[0].parameters.count: 2 != 1' in str(raised.value)
    again = restarted.coordinator.submit_operation('ugv1', 'capture_image', {'count': 1},
                                                   operation_id='a')
    assert again.done and again.outcome.succeeded
    assert world.fleet.executions['a'] == 1 and not restarted.fleet.dispatched


def test_step_operation_id_of_a_running_plan_reused_for_another_operation_is_refused():
    world = World()
    running = world.coordinator.submit_plan(fleet_plan('p1'))
    assert not running.done
    with pytest.raises(OperationIdConflictError) as raised:
        world.coordinator.submit_plan(Plan('p2', (
            PlanStep('shot', 'ugv1', 'capture_image', {}, operation_id='p1/drive'),)))
    assert "operation_id='p1/drive'" in str(raised.value)
    assert 'operation: "capture_image" != "go_to"' in str(raised.value)
