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
Liveness on the ROS clock: a paused ``/clock`` pauses it; a running one still finds the lost.

A drone robot executor and the coordinator run as separate processes with ``use_sim_time``;
the test owns ``/clock`` (the simulators' :class:`~brain_execution.sim.clock.ClockOwner`, at
10x, with a pause as Gazebo's). A hover runs, then ``/clock`` is paused for several times
the coordinator's ``link_timeout_s`` of wall time: the robots publish no ``robot_state``
meanwhile, yet no robot is lost (``link_up`` in every ``/diagnostics``), the step is not
reconciled, and once the clock resumes it ends SUCCEEDED, run once by the robot (its own
``operation_events`` and ``query_operation`` records). Then the robot is frozen (SIGSTOP)
while the clock runs: it is lost and its step reconciled as without sim time.

Without sim time, the same liveness is covered by test_exactly_once.py
(``test_robot_frozen_past_link_timeout_mid_step_runs_each_step_once``) and
test_dispatcher.py (``test_killed_executor_fails_dispatch_within_link_timeout``).
"""

import signal
import threading
import time
import uuid

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.ros.processes import config_file, node_command, NodeProcess
from brain_execution.ros.qos import intake_qos
from brain_execution.sim.clock import ClockOwner
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import OperationStatus, PlanStep
from brain_execution_interfaces.srv import QueryOperation
from diagnostic_msgs.msg import DiagnosticArray
import pytest
from rclpy.action import ActionClient

from .conftest import _env, DISCOVERY_TIMEOUT_S
from .test_exactly_once import _signal_tree
from .topic_log import TopicLog

_RATE = 10.0
_LINK_TIMEOUT_S = 1.0
_PAUSE_S = 4.0 * _LINK_TIMEOUT_S  # wall seconds
_HOVER_S = 30.0  # sim seconds: 3 s of wall time at 10x
_WAIT_S = 60.0


class _PausableClock(ClockOwner):
    """The simulators' clock owner, which can pause /clock (it then repeats the same time)."""

    def __init__(self, node, rate: float):
        self._lock = threading.Lock()
        self._frozen_s = None
        self._paused_wall_s = 0.0
        self._paused_at = 0.0
        super().__init__(node, rate)

    def now_s(self) -> float:
        with self._lock:
            if self._frozen_s is not None:
                return self._frozen_s
            return super().now_s() - self._paused_wall_s * self.rate

    def pause(self) -> None:
        frozen_s = self.now_s()
        with self._lock:
            self._frozen_s, self._paused_at = frozen_s, time.monotonic()

    def resume(self) -> None:
        with self._lock:
            self._paused_wall_s += time.monotonic() - self._paused_at
            self._frozen_s = None


class _SimFleet:
    """The test's /clock, one drone and a coordinator with use_sim_time, and their evidence."""

    def __init__(self, ros, start_executor, tmp_path):
        self.clock = _PausableClock(ros.node, _RATE)
        self.robot = start_executor('drone', parameters={'use_sim_time': True,
                                                         'state_rate_hz': 2.0})
        self.robot_id = self.robot.robot_id
        self.log_path = str(tmp_path / 'coordinator.log')
        self.coordinator = NodeProcess(node_command(
            'coordinator', namespace='/execution',
            params_files=[config_file('coordinator.yaml')],
            parameters={'robots': [f'{self.robot_id}:drone'], 'use_sim_time': True,
                        'journal_path': str(tmp_path / 'journal.db'),
                        'link_timeout_s': _LINK_TIMEOUT_S, 'reconcile_interval_s': 1.0,
                        'diagnostics_rate_hz': 2.0}), log_path=self.log_path, env=_env())
        self.events = TopicLog(ros.node, OperationStatus, '/execution/events')
        self.robot_events = TopicLog(ros.node, OperationStatus,
                                     f'/{self.robot_id}/operation_events')
        self.diagnostics = TopicLog(ros.node, DiagnosticArray, '/diagnostics')
        self.robot_query = ros.node.create_client(QueryOperation,
                                                  f'/{self.robot_id}/query_operation')
        self.serial = SerialCalls(ros.node)
        qos = intake_qos(100)
        self.plans = ActionClient(ros.node, ExecutePlan, '/execution/execute_plan',
                                  goal_service_qos_profile=qos,
                                  result_service_qos_profile=qos,
                                  cancel_service_qos_profile=qos)
        ros.wait_for_servers(self.robot, ['takeoff', 'hover'])
        assert self.plans.wait_for_server(timeout_sec=DISCOVERY_TIMEOUT_S), self.log()
        assert self.robot_query.wait_for_service(timeout_sec=DISCOVERY_TIMEOUT_S)

    def log(self) -> str:
        with open(self.log_path, 'rb') as log:
            return 'coordinator log:\n' + log.read().decode(errors='replace')[-4000:]

    def run_step(self, operation: str, parameters: str) -> PlanStep:
        """Send a one-step plan; return its step once the coordinator runs it."""
        plan_id = f'{operation}_{uuid.uuid4().hex[:6]}'
        step = PlanStep(step_id=operation, robot_id=self.robot_id, operation=operation,
                        parameters=parameters, operation_id=f'{plan_id}.{operation}')
        accepted = threading.Event()
        self.serial.call(self.plans.send_goal_async, ExecutePlan.Goal(
            plan_id=plan_id, steps=[step])).add_done_callback(lambda _: accepted.set())
        assert accepted.wait(_WAIT_S), f'plan {plan_id} not answered; {self.log()}'
        self.wait_state(step, OperationStatus.STATE_RUNNING)
        return step

    def states(self, step: PlanStep):
        return [e.state for e in self.events.snapshot() if e.operation_id == step.operation_id]

    def wait_state(self, step: PlanStep, state: int, timeout_s: float = _WAIT_S):
        event = self.events.wait(
            lambda e: e.operation_id == step.operation_id and e.state == state, timeout_s)
        assert event is not None, (f'{step.operation_id} never {state}: '
                                   f'{self.states(step)}; {self.log()}')
        return event

    def robot_runs(self, step: PlanStep):
        """Return what the robot itself ran for the step: (event ids, record ids)."""
        def mine(other):
            return other == step.operation_id or other.startswith(step.operation_id + '~')
        events = [(e.operation_id, e.state) for e in self.robot_events.snapshot()
                  if mine(e.operation_id)]
        done, box = threading.Event(), {}
        future = self.robot_query.call_async(QueryOperation.Request())
        future.add_done_callback(lambda f: (box.update(response=f.result()), done.set()))
        assert done.wait(10.0), 'no query_operation answer'
        records = [r.operation_id for r in box['response'].operations if mine(r.operation_id)]
        return events, records

    def link_states(self):
        """Return link_up of the robot in each /diagnostics received so far."""
        def about_robot(status) -> bool:
            return any(v.key == 'robot_id' and v.value == self.robot_id for v in status.values)
        return [value.value == 'True' for array in self.diagnostics.snapshot()
                for status in array.status if about_robot(status)
                for value in status.values if value.key == 'link_up']

    def close(self) -> None:
        self.coordinator.stop()
        self.plans.destroy()
        self.serial.destroy()


@pytest.fixture
def fleet(ros, start_executor, tmp_path):
    fleet = _SimFleet(ros, start_executor, tmp_path)
    try:
        up = fleet.diagnostics.wait(lambda _: True in fleet.link_states(), _WAIT_S)
        assert up is not None, f'the robot link never came up; {fleet.log()}'
        takeoff = fleet.run_step('takeoff', '{altitude_m: 5.0, climb_speed_mps: 3.0}')
        fleet.wait_state(takeoff, OperationStatus.STATE_SUCCEEDED)
        yield fleet
    finally:
        fleet.close()


def _ran_once(fleet, step):
    events, records = fleet.robot_runs(step)
    ids = sorted({operation_id for operation_id, _ in events})
    assert ids == [step.operation_id], f'the robot ran {events}'
    assert [s for _, s in events].count(OperationStatus.STATE_SUCCEEDED) == 1, events
    assert records == [step.operation_id], records


def test_a_paused_clock_loses_no_robot_and_the_step_runs_once(fleet):
    hover = fleet.run_step('hover', f'{{duration_s: {_HOVER_S}}}')
    fleet.diagnostics.clear()
    fleet.clock.pause()
    paused = time.monotonic()
    try:
        # The pause is the condition under test: nothing may happen to the step within it.
        changed = fleet.events.wait(lambda e: e.operation_id == hover.operation_id and
                                    e.state != OperationStatus.STATE_RUNNING, _PAUSE_S)
        assert changed is None, (f'{hover.operation_id} went {changed.state} while /clock '
                                 f'was paused: {changed.error_msg}; {fleet.log()}')
        # Still running on the robot: its hover waits on the paused clock.
        events, _ = fleet.robot_runs(hover)
        assert OperationStatus.STATE_SUCCEEDED not in [s for _, s in events], events
    finally:
        fleet.clock.resume()
    paused_s = time.monotonic() - paused
    assert paused_s >= 3.0 * _LINK_TIMEOUT_S
    fleet.wait_state(hover, OperationStatus.STATE_SUCCEEDED)
    assert fleet.states(hover) == [OperationStatus.STATE_RUNNING,
                                   OperationStatus.STATE_SUCCEEDED], fleet.log()
    _ran_once(fleet, hover)
    links = fleet.link_states()
    assert links and all(links), f'link_up in /diagnostics since the pause: {links}'


def test_a_robot_frozen_while_the_clock_runs_is_lost_and_reconciled(fleet):
    hover = fleet.run_step('hover', f'{{duration_s: {_HOVER_S}}}')
    _signal_tree(fleet.robot.pid, signal.SIGSTOP)
    try:
        fleet.wait_state(hover, OperationStatus.STATE_RECONCILING,
                         timeout_s=_LINK_TIMEOUT_S + 10.0)
        down = fleet.diagnostics.wait(lambda _: False in fleet.link_states(), _WAIT_S)
        assert down is not None, fleet.log()
    finally:
        _signal_tree(fleet.robot.pid, signal.SIGCONT)
    fleet.wait_state(hover, OperationStatus.STATE_SUCCEEDED)
    _ran_once(fleet, hover)
