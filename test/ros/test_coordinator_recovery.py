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
A coordinator killed with SIGKILL mid-plan and restarted on its journal finishes the plan.

Drone, ground and surface executors run as separate processes for the whole test. Each round
starts a coordinator process on a fresh journal, sends it a plan of non-repeatable operations
(takeoff, go_to, land, undock, dock, station_keep, capture_image), kills it with SIGKILL after
the n-th step event (n varies per round), restarts it on the same journal and, without any
new goal, waits for the resumed plan to end. Every step must succeed, and every logical step
must have run exactly once on its robot: one record for its operation id, no retry id.
Per-round timings are printed (run with ``-s`` to see them).
"""

import os
import threading
import time
import uuid

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.ros.processes import config_file, node_command, NodeProcess
from brain_execution.ros.qos import EVENTS_QOS, intake_qos
from brain_execution.ros.service_calls import call_until_answered
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import OperationStatus, PlanStep
from brain_execution_interfaces.srv import QueryOperation
import pytest
from rclpy.action import ActionClient


_ROUNDS = 10
_DISCOVERY_TIMEOUT_S = 30.0
_PLAN_TIMEOUT_S = 60.0
_CALL_TIMEOUT_S = 10.0
_OPERATIONS = {
    'drone': ['takeoff', 'go_to', 'land', 'capture_image'],
    'ground': ['undock', 'go_to', 'dock', 'capture_image'],
    'surface': ['go_to', 'station_keep', 'capture_image'],
}
_TERMINAL_FAILURES = {OperationStatus.STATE_FAILED, OperationStatus.STATE_CANCELED,
                      OperationStatus.STATE_SKIPPED, OperationStatus.STATE_DEAD_LETTER,
                      OperationStatus.STATE_COMPENSATED}


def _env(ros):
    env = dict(os.environ)
    env.update({'ROS_DOMAIN_ID': str(ros.context.get_domain_id()),
                'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1'})
    return env


def _call(client, request, timeout_s=_CALL_TIMEOUT_S):
    return call_until_answered(client, request, timeout_s)


def _plan(plan_id, robots, round_index):
    """Return the steps of one round: three chains of non-repeatable operations."""
    drone, rover, boat = robots['drone'], robots['ground'], robots['surface']
    side = 1.0 if round_index % 2 == 0 else -1.0

    def step(step_id, robot_id, operation, parameters='', depends_on=()):
        return PlanStep(step_id=step_id, robot_id=robot_id, operation=operation,
                        parameters=parameters, depends_on=list(depends_on),
                        operation_id=f'{plan_id}.{step_id}')

    return [
        step('takeoff', drone, 'takeoff', '{altitude_m: 5.0, climb_speed_mps: 3.0}'),
        step('photo', drone, 'capture_image', '{count: 1}', ['takeoff']),
        step('fly', drone, 'go_to',
             f'{{target: {{x_m: {4.0 * side}, y_m: 0.0, altitude_m: 5.0}}, speed_mps: 8.0}}',
             ['photo']),
        step('land', drone, 'land', '{descent_speed_mps: 3.0}', ['fly']),
        step('undock', rover, 'undock', '{distance_m: 0.5}'),
        step('drive', rover, 'go_to', '{target: {x_m: 2.0, y_m: 0.0}, speed_mps: 2.0}',
             ['undock']),
        step('rover_photo', rover, 'capture_image', '{count: 1}', ['drive']),
        step('dock', rover, 'dock', '{dock_id: charger}', ['rover_photo']),
        step('sail', boat, 'go_to',
             f'{{target: {{x_m: {3.0 * side}, y_m: 0.0}}, speed_mps: 4.0}}'),
        step('keep', boat, 'station_keep', '{duration_s: 1.0, radius_m: 5.0}', ['sail']),
        step('boat_photo', boat, 'capture_image', '{count: 1}', ['keep']),
    ]


class _Events:
    """Collects /execution/events of one plan and wakes waiters on each."""

    def __init__(self, ros):
        self._cond = threading.Condition()
        self._events = []
        self.plan_id = None
        self._sub = ros.node.create_subscription(
            OperationStatus, '/execution/events', self._on_event, EVENTS_QOS)

    def _on_event(self, msg):
        with self._cond:
            if msg.plan_id == self.plan_id:
                self._events.append(msg)
                self._cond.notify_all()

    def reset(self, plan_id):
        with self._cond:
            self.plan_id, self._events = plan_id, []

    def wait_progress(self, count, timeout_s):
        """Return the events once count of them are RUNNING or SUCCEEDED, or None."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                started = [e for e in self._events if e.state in (
                    OperationStatus.STATE_RUNNING, OperationStatus.STATE_SUCCEEDED)]
                if len(started) >= count:
                    return list(self._events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)


@pytest.fixture
def fleet(start_executor, ros):
    """Start one executor per platform, in parallel, and wait for their servers."""
    processes = {platform: start_executor(platform, parameters={'tick_rate_hz': 50.0})
                 for platform in _OPERATIONS}
    for platform, process in processes.items():
        ros.wait_for_servers(process, _OPERATIONS[platform])
    return processes


def _start_coordinator(ros, robots, journal_path, log_path):
    command = node_command(
        'coordinator', namespace='/execution', params_files=[config_file('coordinator.yaml')],
        parameters={'robots': [f'{r}:{p}' for p, r in robots.items()],
                    'journal_path': journal_path})
    return NodeProcess(command, log_path=log_path, env=_env(ros))


def _send_plan(serial, client, goal, attempts=10):
    """
    Send the plan until a goal response arrives; return the number of sends, 0 if none did.

    After a SIGKILL the dead coordinator's endpoints stay in the ROS graph until their
    liveliness lapses, so ``wait_for_server`` can return before the new server is matched and
    the request is lost. Resending is safe: the plan id is the coordinator's idempotency key.
    """
    for attempt in range(1, attempts + 1):
        accepted = threading.Event()
        serial.call(client.send_goal_async, goal).add_done_callback(lambda f: accepted.set())
        if accepted.wait(2.0):
            return attempt
    return 0


def _log_tail(path):
    with open(path, 'rb') as log:
        return log.read().decode(errors='replace')[-3000:]


def _wait_plan(query, plan_id, timeout_s):
    """Poll /execution/query until every step ended; return the last statuses."""
    deadline = time.monotonic() + timeout_s
    statuses = []
    while time.monotonic() < deadline:
        response = _call(query, QueryOperation.Request(plan_id=plan_id), timeout_s=2.0)
        if response is not None and response.found:
            statuses = list(response.operations)
            states = {s.state for s in statuses}
            if states <= {OperationStatus.STATE_SUCCEEDED} or states & _TERMINAL_FAILURES:
                return statuses
        # Each call waits for its response; this only spaces polls of a running plan.
        time.sleep(0.2)
    return statuses


def test_sigkill_mid_plan_then_restart_completes_without_repeats(fleet, ros, tmp_path):
    robots = {platform: process.robot_id for platform, process in fleet.items()}
    events = _Events(ros)
    query = ros.node.create_client(QueryOperation, '/execution/query', qos_profile=intake_qos(100))
    robot_queries = {r: ros.node.create_client(QueryOperation, f'/{r}/query_operation')
                     for r in robots.values()}
    qos = intake_qos(1000)
    # The action clients below live in the node's default group.
    serial = SerialCalls(ros.node)
    timings = []
    test_started = time.monotonic()
    try:
        for round_index in range(_ROUNDS):
            t0 = time.monotonic()
            plan_id = f'recovery{round_index}_{uuid.uuid4().hex[:6]}'
            steps = _plan(plan_id, robots, round_index)
            kill_after = 1 + round_index % 6
            journal = str(tmp_path / f'journal{round_index}.db')
            events.reset(plan_id)
            first_log = str(tmp_path / f'coordinator{round_index}a.log')
            coordinator = _start_coordinator(ros, robots, journal, first_log)
            client = ActionClient(ros.node, ExecutePlan, '/execution/execute_plan',
                                  goal_service_qos_profile=qos, result_service_qos_profile=qos,
                                  cancel_service_qos_profile=qos)
            try:
                assert client.wait_for_server(timeout_sec=_DISCOVERY_TIMEOUT_S), (
                    f'no execute_plan server; log:\n{_log_tail(first_log)}')
                up_s = time.monotonic() - t0
                sent = time.monotonic()
                sends = _send_plan(serial, client, ExecutePlan.Goal(plan_id=plan_id, steps=steps))
                assert sends, f'round {round_index}: goal never accepted; log:\n' \
                    f'{_log_tail(first_log)}'
                seen = events.wait_progress(kill_after, 30.0)
                assert seen is not None, (
                    f'round {round_index}: fewer than {kill_after} step events; '
                    f'log:\n{_log_tail(first_log)}')
                coordinator.kill()
                killed_at = time.monotonic() - sent
            finally:
                client.destroy()
                coordinator.kill()
            ended = {e.step_id for e in seen if e.state == OperationStatus.STATE_SUCCEEDED}
            assert len(ended) < len(steps), f'round {round_index}: plan ended before the kill'

            second_log = str(tmp_path / f'coordinator{round_index}b.log')
            restarted = time.monotonic()
            coordinator = _start_coordinator(ros, robots, journal, second_log)
            try:
                assert query.wait_for_service(timeout_sec=_DISCOVERY_TIMEOUT_S)
                statuses = _wait_plan(query, plan_id, _PLAN_TIMEOUT_S)
                states = {s.step_id: s.state for s in statuses}
                assert len(statuses) == len(steps) and all(
                    s == OperationStatus.STATE_SUCCEEDED for s in states.values()), (
                    f'round {round_index}: resumed plan did not succeed: '
                    f'{[(s.step_id, s.state, s.error_msg) for s in statuses]}; '
                    f'log:\n{_log_tail(second_log)}')
                resume_s = time.monotonic() - restarted
            finally:
                coordinator.stop()

            # Every logical step ran exactly once on its robot.
            records = {}
            for robot_id, robot_query in robot_queries.items():
                response = _call(robot_query, QueryOperation.Request())
                assert response is not None, f'{robot_id}: no query_operation response'
                for record in response.operations:
                    if record.operation_id.startswith(plan_id + '.'):
                        records.setdefault(record.operation_id.split('~')[0], []).append(
                            (record.operation_id, record.state, robot_id))
            for step in steps:
                runs = records.get(step.operation_id, [])
                assert [(r[0], r[1]) for r in runs] == [
                    (step.operation_id, OperationStatus.STATE_SUCCEEDED)], (
                    f'round {round_index}: {step.step_id} ran {runs}')
                assert all(r[2] == step.robot_id for r in runs)
            attempts = {s.step_id: s.attempt for s in statuses}
            timings.append(time.monotonic() - t0)
            print(f'round {round_index}: {sends} send(s), killed after event {kill_after} '
                  f'({killed_at:.2f} s after the goal, {len(ended)} step(s) done), '
                  f'coordinator up in {up_s:.2f} s, resumed plan done in {resume_s:.2f} s, '
                  f'round {time.monotonic() - t0:.2f} s, attempts {attempts}')
    finally:
        serial.destroy()
        ros.node.destroy_client(query)
        for client in robot_queries.values():
            ros.node.destroy_client(client)
    print(f'{len(timings)} rounds in {time.monotonic() - test_started:.1f} s '
          f'(slowest round {max(timings):.2f} s)')
