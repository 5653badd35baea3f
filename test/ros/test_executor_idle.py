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
An idle robot executor runs no program tick, and still serves goals, e-stop and failsafe.

The executor under test is a real node on its own executor in this process (hosted by
fleet_sim's :class:`~brain_execution.deploy.fleet_sim.FleetSim`, so its timers can be read),
reached over ROS by the test's client like any other robot.
"""

import threading
import time

from brain_execution.core.errors import ErrorCode
from brain_execution.deploy.fleet_sim import FleetSim, SimRobot
from brain_execution.ros.processes import config_file
import pytest

from .conftest import spin_in_thread, unique_robot_id

_TIMEOUT_S = 30.0


def _wait_until(condition, what: str, timeout_s: float = _TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    event = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f'not reached within {timeout_s} s: {what}')
        event.wait(0.02)  # polling node state that has no callback to wait on


@pytest.fixture
def idle_robot(ros):
    robot_id = unique_robot_id('idle')
    sim = FleetSim([SimRobot(f'/{robot_id}', (config_file('drone.yaml'),),
                             {'result_timeout_s': 30})], context=ros.context, num_threads=3)
    thread, errors = spin_in_thread(sim.executor)
    node = sim.nodes[0]
    try:
        missing = ros.operations.wait_for_servers(
            robot_id, ['takeoff', 'hover', 'emergency_stop'], _TIMEOUT_S)
        assert not missing, f'no server for {missing}'
        yield robot_id, node
    finally:
        sim.close()
        thread.join(timeout=10.0)
    assert not errors, errors


def _idle(node) -> bool:
    return not node.ticking and node._feedback_timer.is_canceled()


def test_idle_executor_runs_no_tick_but_publishes_state(ros, idle_robot):
    robot_id, node = idle_robot
    assert _idle(node)
    first = ros.wait_for_state(robot_id, lambda s: s.link_up)
    assert first is not None, 'no robot_state from the idle executor'
    stamp = first.header.stamp.sec + first.header.stamp.nanosec * 1e-9
    later = ros.wait_for_state(
        robot_id, lambda s: s.header.stamp.sec + s.header.stamp.nanosec * 1e-9 > stamp + 0.3)
    assert later is not None, 'robot_state stopped while idle'
    assert _idle(node)


def test_goal_starts_the_tick_and_its_end_stops_it(ros, idle_robot):
    robot_id, node = idle_robot
    run = ros.send(robot_id, 'takeoff', {'altitude_m': 5.0, 'climb_speed_mps': 2.0})
    _wait_until(lambda: node.ticking or run.finished.is_set(), 'tick started by the goal')
    assert node.ticking, 'the takeoff ended before its tick was seen running'
    result = run.wait()
    assert result.error_code == ErrorCode.NONE, result.error_msg
    _wait_until(lambda: _idle(node), 'tick stopped after the last operation ended')
    # Idle again, the next goal is served as the first was: the edge loses nothing.
    for _ in range(3):
        result = ros.run(robot_id, 'hover', {'duration_s': 0.1})
        assert result.error_code == ErrorCode.NONE, result.error_msg
    _wait_until(lambda: _idle(node), 'tick stopped after the hovers')


def test_emergency_stop_while_idle_latches_and_release_clears(ros, idle_robot):
    robot_id, node = idle_robot
    assert _idle(node)
    result = ros.run(robot_id, 'emergency_stop', {'reason': 'idle test'})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert ros.wait_for_state(robot_id, lambda s: s.emergency_stop_active) is not None
    refused = ros.run(robot_id, 'takeoff', {'altitude_m': 5.0})
    assert refused.error_code == ErrorCode.EMERGENCY_STOP_ACTIVE, refused.error_msg
    result = ros.run(robot_id, 'emergency_stop', {'release': True})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    assert ros.wait_for_state(robot_id, lambda s: not s.emergency_stop_active) is not None
    _wait_until(lambda: _idle(node), 'tick stopped after the emergency stop')


def test_battery_failsafe_fires_while_idle(ros, idle_robot):
    robot_id, node = idle_robot
    result = ros.run(robot_id, 'takeoff', {'altitude_m': 5.0, 'climb_speed_mps': 5.0})
    assert result.error_code == ErrorCode.NONE, result.error_msg
    _wait_until(lambda: _idle(node), 'idle while hovering after takeoff')
    before = {r.operation_id for r in node.runtime.records()}
    # Fault injected in the simulated platform while no operation runs.
    node.runtime.bridge.faults.battery_percent = 20.0

    def return_home():
        return [r for r in node.runtime.records()
                if r.name == 'return_home' and r.operation_id not in before]

    _wait_until(lambda: bool(return_home()), 'automatic return_home while idle')
    _wait_until(lambda: return_home()[0].done, 'automatic return_home ended', 60.0)
    outcome = return_home()[0].outcome
    assert outcome.succeeded, outcome.message
    landed = ros.wait_for_state(robot_id, lambda s: s.pose.position.z < 0.3)
    assert landed is not None, 'the drone did not land at home'
    _wait_until(lambda: _idle(node), 'tick stopped after the return home')
