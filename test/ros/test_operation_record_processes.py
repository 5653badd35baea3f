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
The robot's durable operation record under faults, with robot executors as real processes.

Each robot runs as ``robot_executor`` (params file, ``--ros-args``), its record in the test's
directory. Executions are counted from the robot's own reports: the ``operation started``
line its log has once per program it starts, and the start events on its
``operation_events`` topic (started=true, state RUNNING). A SIGKILLed robot is restarted on
the same record with the same robot id. Every fault runs for a motion (go_to), a sensing
(capture_image) and a payload (pickup, made long by the simulator's slow acknowledgements)
operation.
"""

import os
import subprocess

from brain_execution_interfaces.msg import ErrorCode, OperationStatus, RobotState
import pytest

from .record_robot import ALTITUDE_M, new_id, program_starts, query_operation, Robot

# A target 150 m away, inside the drone's fence: about 30 s of flight at 5 m/s.
_FAR = {'target': {'x_m': 150.0, 'y_m': 0.0, 'altitude_m': ALTITUDE_M}, 'speed_mps': 5.0}

# kind -> (operation, goal fields, other fields for the conflict, executor parameters).
_KINDS = {
    'motion': ('go_to', _FAR, {'target': dict(_FAR['target'], y_m=20.0)}, {}),
    'sensing': ('capture_image', {'count': 60, 'interval_s': 0.5},
                {'count': 61, 'interval_s': 0.5}, {}),
    # Every command of this robot is acknowledged after 40 s of sim time (a slow autopilot
    # link), so the pickup is still attaching when the fault hits.
    'payload': ('pickup', {'payload_id': 'crate-7', 'expected_mass_kg': 1.0, 'timeout_s': 120.0},
                {'payload_id': 'crate-8', 'expected_mass_kg': 1.0, 'timeout_s': 120.0},
                {'sim.ack_delay_s': 40.0}),
}


def _speed(state: RobotState) -> float:
    v = state.velocity.linear
    return (v.x * v.x + v.y * v.y + v.z * v.z) ** 0.5


@pytest.mark.parametrize('kind', list(_KINDS))
def test_killed_mid_operation_is_closed_interrupted_and_never_runs_again(
        kind, start_executor, ros, tmp_path):
    operation, fields, other_fields, parameters = _KINDS[kind]
    robot = Robot(start_executor, ros, tmp_path, parameters)
    if operation == 'go_to':
        robot.take_off()
    operation_id = new_id(kind)
    goal = dict(fields, operation_id=operation_id)
    ros.send(robot.robot_id, operation, goal)
    robot.wait_running(operation_id)
    robot.kill()
    assert program_starts(robot.log(), operation_id) == 1

    robot.start()
    response = query_operation(ros, robot.robot_id, operation_id)
    assert response.found, robot.log()
    status = response.operations[0]
    assert (status.state, status.error_code, status.started) == (
        OperationStatus.STATE_FAILED, ErrorCode.INTERRUPTED, True), status
    assert 'interrupted: executor restarted' in status.error_msg

    again = ros.run(robot.robot_id, operation, goal)
    assert again.error_code == ErrorCode.INTERRUPTED, again.error_msg
    conflict = ros.run(robot.robot_id, operation, dict(other_fields, operation_id=operation_id))
    assert conflict.error_code == ErrorCode.OPERATION_ID_CONFLICT, conflict.error_msg
    assert not conflict.retryable and 'parameters.' in conflict.error_msg
    # A probe that does run, after both: its start event proves the topic was connected.
    probe = new_id('probe')
    assert ros.run(robot.robot_id, 'broadcast_status',
                   {'operation_id': probe, 'message': 'probe'}).error_code == 0
    robot.events.wait_for(lambda m: m.operation_id == probe and m.started)
    assert robot.events.starts(operation_id) == 1, 'counted on the events topic'
    assert program_starts(robot.log(), operation_id) == 1, 'counted in the robot logs'
    assert not query_operation(ros, robot.robot_id, new_id('never-sent')).found


def test_record_outlives_ten_times_history_size_and_a_restart(start_executor, ros, tmp_path):
    history_size = 5
    robot = Robot(start_executor, ros, tmp_path, history_size=history_size)
    ids = [new_id(f'img{i}') for i in range(10 * history_size)]
    for operation_id in ids:
        result = ros.run(robot.robot_id, 'capture_image', {'operation_id': operation_id})
        assert result.error_code == ErrorCode.NONE, result.error_msg
    first = query_operation(ros, robot.robot_id, ids[0])
    assert first.found and first.operations[0].state == OperationStatus.STATE_SUCCEEDED
    assert robot.interrupt() == 0
    robot.start()
    for operation_id in (ids[0], ids[len(ids) // 2]):
        status = query_operation(ros, robot.robot_id, operation_id).operations[0]
        assert (status.state, status.started) == (OperationStatus.STATE_SUCCEEDED, True)
    again = ros.run(robot.robot_id, 'capture_image', {'operation_id': ids[0]})
    assert again.error_code == ErrorCode.NONE and again.operation_id == ids[0]
    assert program_starts(robot.log(), ids[0]) == 1


@pytest.mark.parametrize('kind', list(_KINDS))
def test_sigint_mid_operation_ends_it_shutdown_and_holds(kind, start_executor, ros, tmp_path):
    operation, fields, _, parameters = _KINDS[kind]
    robot = Robot(start_executor, ros, tmp_path, parameters)
    if operation == 'go_to':
        robot.take_off()
    operation_id = new_id(kind)
    run = ros.send(robot.robot_id, operation, dict(fields, operation_id=operation_id))
    robot.wait_running(operation_id)
    if operation == 'go_to':
        assert ros.wait_for_state(robot.robot_id, lambda s: _speed(s) > 2.0, 20.0)
    assert robot.interrupt() == 0, robot.log()
    result = run.wait(10.0)
    assert result.error_code == ErrorCode.SHUTDOWN, result.error_msg
    assert not result.retryable and 'had started' in result.error_msg
    if operation == 'go_to':
        last = ros.wait_for_state(robot.robot_id, lambda s: True)
        assert last.mode == 'HOLD', f'last robot_state before exit: mode {last.mode}'
        assert 'holding for shutdown' in robot.log()
    robot.start()
    status = query_operation(ros, robot.robot_id, operation_id).operations[0]
    assert (status.error_code, status.started) == (ErrorCode.SHUTDOWN, True), status
    assert program_starts(robot.log(), operation_id) == 1


def test_sigint_mid_hover_with_land_lands_the_drone(start_executor, ros, tmp_path):
    robot = Robot(start_executor, ros, tmp_path, **{'shutdown.safe_action': 'land',
                                                    'shutdown.timeout_s': 10.0})
    robot.take_off()
    operation_id = new_id('hover')
    run = ros.send(robot.robot_id, 'hover', {'duration_s': 60.0, 'operation_id': operation_id})
    robot.wait_running(operation_id)
    assert robot.interrupt() == 0, robot.log()
    result = run.wait(10.0)
    assert result.error_code == ErrorCode.SHUTDOWN, result.error_msg
    last = ros.wait_for_state(robot.robot_id, lambda s: True)
    assert last.mode == 'LAND', f'last robot_state before exit: mode {last.mode}'
    assert 'landing for shutdown' in robot.log()


@pytest.fixture
def small_tmpfs(tmp_path):
    """Mount a 256 KiB tmpfs (root only); yield its path, unmount after the test."""
    mount = tmp_path / 'tmpfs'
    mount.mkdir()
    done = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here ({done.stderr.strip()}); needs root')
    try:
        yield mount
    finally:
        subprocess.run(['umount', '-l', str(mount)], check=False)


def test_a_full_record_disk_refuses_goals_before_acting(small_tmpfs, start_executor, ros,
                                                        tmp_path):
    robot = Robot(start_executor, ros, tmp_path,
                  **{'operation_record.path': str(small_tmpfs / 'operations.db')})
    # send_data stores its bytes in the record's content: a few fill 256 KiB.
    refused = None
    for i in range(40):
        operation_id = new_id(f'send{i}')
        result = ros.run(robot.robot_id, 'send_data', {
            'operation_id': operation_id, 'destination': 'base', 'content_type': 'raw',
            'data': list(os.urandom(8000))})
        if result.error_code == ErrorCode.OPERATION_RECORD_FAILED:
            refused = (operation_id, result)
            break
        assert result.error_code == ErrorCode.NONE, result.error_msg
    assert refused, 'the record never filled the tmpfs'
    operation_id, result = refused
    assert 'full' in result.error_msg and str(small_tmpfs) in result.error_msg
    assert result.retryable
    assert program_starts(robot.log(), operation_id) == 0
    assert not query_operation(ros, robot.robot_id, operation_id).found
    # The emergency lane does not depend on the record.
    stop = ros.run(robot.robot_id, 'emergency_stop', {'reason': 'record full'})
    assert stop.error_code == ErrorCode.NONE, stop.error_msg


def test_a_read_only_record_refuses_goals_and_is_on_diagnostics(small_tmpfs, start_executor,
                                                                ros, tmp_path):
    subprocess.run(['mount', '-o', 'remount,ro', str(small_tmpfs)], check=True)
    robot = Robot(start_executor, ros, tmp_path,
                  **{'operation_record.path': str(small_tmpfs / 'robot' / 'operations.db')})
    operation_id = new_id('img')
    result = ros.run(robot.robot_id, 'capture_image', {'operation_id': operation_id})
    assert result.error_code == ErrorCode.OPERATION_RECORD_FAILED, result.error_msg
    assert 'Read-only' in result.error_msg and str(small_tmpfs) in result.error_msg
    assert program_starts(robot.log(), operation_id) == 0
    status = query_operation(ros, robot.robot_id, operation_id).operations[0]
    assert status.error_code == ErrorCode.OPERATION_RECORD_FAILED and status.started
    assert 'goals are refused' in robot.log()
