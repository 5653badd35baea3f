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
A robot executor answers a goal ACCEPTED only once its durable operation record holds it.

A direct client (not the coordinator) sends a goal to a ``robot_executor`` process, which is
killed with SIGKILL the moment the client receives the goal response "accepted", before the
goal's execute callback could have run. Restarted on the same record, the robot must know
the operation (query by id: closed INTERRUPTED, started, never lost), and the same id sent
again must not act a second time. Executions are counted from the robot's own evidence: the
``operation started`` line of its logs (both processes) and the start events of its
``operation_events`` topic.
"""

import signal
import threading

from brain_execution.ros.admissions import Admissions
from brain_execution_interfaces.msg import ErrorCode, OperationStatus
import pytest

from .conftest import RESULT_TIMEOUT_S
from .record_robot import new_id, program_starts, query_operation, Robot

# kind -> (operation, goal fields): each runs for tens of seconds, so it cannot have ended
# by the time the kill lands; all of them start from the ground.
_KINDS = {
    'motion': ('takeoff', {'altitude_m': 8.0, 'climb_speed_mps': 0.5}),
    'sensing': ('capture_image', {'count': 60, 'interval_s': 0.5}),
    'payload': ('pickup', {'payload_id': 'crate-7', 'expected_mass_kg': 1.0,
                           'timeout_s': 120.0}),
}


def _send_killing_on_accept(ros, robot, operation, fields):
    """Send a goal; SIGKILL the robot on the client thread that receives the response."""
    answered = threading.Event()
    box = {}
    process = robot.process.process

    def on_response(future):
        box['accepted'] = future.result().accepted
        if box['accepted']:
            process.send_signal(signal.SIGKILL)
        answered.set()

    ros.operations.send_goal_async(robot.robot_id, operation, fields).add_done_callback(
        on_response)
    assert answered.wait(RESULT_TIMEOUT_S), f'no goal response; log:\n{robot.log()}'
    robot.kill()  # reaps the killed process and keeps its log
    return box['accepted']


@pytest.mark.parametrize('kind', list(_KINDS))
def test_goal_accepted_before_a_sigkill_is_known_after_restart_and_never_runs_twice(
        kind, start_executor, ros, tmp_path):
    operation, fields = _KINDS[kind]
    # Every platform command is acknowledged after 40 s: nothing ends before the kill.
    robot = Robot(start_executor, ros, tmp_path, {'sim.ack_delay_s': 40.0})
    operation_id = new_id(f'accepted-{kind}')
    goal = dict(fields, operation_id=operation_id)

    assert _send_killing_on_accept(ros, robot, operation, goal), robot.log()

    robot.start()
    response = query_operation(ros, robot.robot_id, operation_id)
    assert response.found, f'{operation_id} was accepted, then lost; log:\n{robot.log()}'
    # Stored before the answer, and started then: the dead process's log says so.
    assert program_starts(robot.log(), operation_id) == 1, robot.log()
    status = response.operations[0]
    assert (status.state, status.error_code, status.started) == (
        OperationStatus.STATE_FAILED, ErrorCode.INTERRUPTED, True), status
    assert 'interrupted: executor restarted' in status.error_msg

    # The same id with the same content: the one outcome, not a second run.
    again = ros.run(robot.robot_id, operation, goal)
    assert (again.error_code, again.operation_id) == (ErrorCode.INTERRUPTED, operation_id), (
        again.error_msg)
    # A probe that does run, after it: its start event proves the topic was connected.
    probe = new_id('probe')
    assert ros.run(robot.robot_id, 'broadcast_status',
                   {'operation_id': probe, 'message': 'probe'}).error_code == ErrorCode.NONE
    robot.events.wait_for(lambda m: m.operation_id == probe and m.started)
    assert robot.events.starts(operation_id) <= 1, 'counted on the events topic'
    assert program_starts(robot.log(), operation_id) == 1, 'counted in the robot logs'


class _Goal:
    """Stands in for a goal message: identity is all Admissions looks at."""


def test_admissions_keep_each_goal_until_taken_and_drop_the_oldest_beyond_the_limit():
    dropped = []
    admissions = Admissions(limit=2, on_dropped=lambda: dropped.append(1))
    first, second, third = _Goal(), _Goal(), _Goal()
    admissions.put(first, 'record 1')
    admissions.put(second, ValueError('refused'))
    assert admissions.get(first) == 'record 1'
    assert isinstance(admissions.get(second), ValueError)
    assert admissions.get(_Goal()) is None
    admissions.put(third, 'record 3')
    assert (admissions.get(first), len(admissions), dropped) == (None, 2, [1])
    admissions.discard(third)
    admissions.discard(third)
    assert (admissions.get(third), len(admissions)) == (None, 1)
    with pytest.raises(ValueError):
        Admissions(limit=0)
