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
The coordinator node as a separate process, driving robot executor processes.

One module-scoped fleet (drone, ground and surface executors) and one coordinator serve the
tests; two more robot ids are in the coordinator's fleet list whose executors the tests start
(late, to recover a circuit breaker) and SIGKILL (robot loss) themselves. Everything is
observed through the public ROS contract: the actions, the services, the events, dead letter
and circuit state topics, /diagnostics and the Prometheus endpoint.
"""

import collections
import json
import os
import re
import socket
import threading
import time
import typing
import urllib.request
import uuid

from action_msgs.msg import GoalStatus
from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.ros.processes import config_file, node_command, NodeProcess
from brain_execution.ros.qos import EVENTS_QOS, intake_qos
from brain_execution_interfaces.action import ExecuteOperation, ExecutePlan
from brain_execution_interfaces.msg import (
    CircuitState, DeadLetter, ErrorCode, OperationStatus, PlanStep, RetryPolicy, RobotState)
from brain_execution_interfaces.srv import ListDeadLetters, ResetCircuit, RetryDeadLetters
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
import pytest
from rclpy.action import ActionClient

from .topic_log import TopicLog

_TIMEOUT_S = 60.0
_BACKOFF_S = 0.2
_JITTER = 0.2  # the coordinator's default retry.jitter
_RESET_TIMEOUT_S = 2.0
_FAILURE_THRESHOLD = 3
# Unfinished steps the coordinator holds before intake answers BUSY (the burst meets it).
_MAX_PENDING = 100
_CLIMB = {'altitude_m': 3.0, 'climb_speed_mps': 3.0}
_LAND = {'descent_speed_mps': 3.0}
_ALLOWED_BAD_PLAN_CODES = {ErrorCode.INVALID_PLAN, ErrorCode.UNKNOWN_ROBOT,
                           ErrorCode.UNKNOWN_OPERATION, ErrorCode.UNSUPPORTED}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def _node_env(domain_id: int) -> typing.Dict[str, str]:
    env = dict(os.environ)
    env.update({'ROS_DOMAIN_ID': str(domain_id), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                'PYTHONUNBUFFERED': '1'})
    return env


class CoordinatorProcess(NodeProcess):
    """The coordinator started as ``ros2 run`` would, with its log and metrics port."""

    def __init__(self, *, robots: typing.Sequence[str], log_dir, domain_id: int):
        self.metrics_port = _free_port()
        self.log_path = str(log_dir / 'coordinator.log')
        command = node_command(
            'coordinator', namespace='/execution', params_files=[config_file('coordinator.yaml')],
            parameters={'robots': list(robots), 'journal_path': str(log_dir / 'journal.db'),
                        'metrics_port': self.metrics_port,
                        'breaker.failure_threshold': _FAILURE_THRESHOLD,
                        'breaker.reset_timeout_s': _RESET_TIMEOUT_S,
                        'retry.initial_backoff_s': _BACKOFF_S, 'link_timeout_s': 2.0,
                        'discovery_timeout_s': 3.0, 'max_pending_steps': _MAX_PENDING,
                        # A lost robot's step is reconciled first; go_to is safe_to_repeat,
                        # so past this deadline it goes back to the retry policy.
                        'reconcile_deadline_s': 3.0, 'reconcile_interval_s': 1.0,
                        'feedback_rate_hz': 0.5})
        super().__init__(command, log_path=self.log_path, env=_node_env(domain_id))

    def log(self) -> str:
        with open(self.log_path, 'rb') as log:
            return log.read().decode(errors='replace')[-6000:]


class Run:
    """One goal to the coordinator: its handle and result as they arrive."""

    def __init__(self, serial: SerialCalls, future):
        self._serial = serial
        self.accepted = threading.Event()
        self.finished = threading.Event()
        self.handle = self.result = self.status = None
        self.ended_mono = None
        future.add_done_callback(self._on_goal)

    def _on_goal(self, future) -> None:
        self.handle = future.result()
        self.accepted.set()
        if self.handle.accepted:
            self._serial.call(self.handle.get_result_async).add_done_callback(self._on_result)
        else:
            self.ended_mono = time.monotonic()
            self.finished.set()

    def _on_result(self, future) -> None:
        response = future.result()
        self.result, self.status = response.result, response.status
        self.ended_mono = time.monotonic()
        self.finished.set()

    def wait(self, timeout_s: float = _TIMEOUT_S):
        assert self.finished.wait(timeout_s), f'no result within {timeout_s} s'
        return self.result


class Observer:
    """Collects the coordinator's topics and calls its services, waiting on conditions."""

    def __init__(self, node):
        self.node = node
        # The action clients below live in the node's default group.
        self.serial = SerialCalls(node)
        self.logs = {kind: TopicLog(node, msg_type, topic, qos, keep=keep)
                     for kind, msg_type, topic, qos, keep in (
                         ('events', OperationStatus, '/execution/events', EVENTS_QOS, None),
                         ('dead', DeadLetter, '/execution/dead_letters', EVENTS_QOS, None),
                         ('circuits', CircuitState, '/execution/circuit_states', EVENTS_QOS,
                          None),
                         # Only the latest few arrays matter.
                         ('diag', DiagnosticArray, '/diagnostics', 10, 20))}
        qos = intake_qos(1000)
        self.plans = ActionClient(node, ExecutePlan, '/execution/execute_plan',
                                  goal_service_qos_profile=qos, result_service_qos_profile=qos,
                                  cancel_service_qos_profile=qos)
        self.operations = ActionClient(
            node, ExecuteOperation, '/execution/execute_operation',
            goal_service_qos_profile=qos, result_service_qos_profile=qos,
            cancel_service_qos_profile=qos)
        self.services = {name: node.create_client(srv, f'/execution/{name}', qos_profile=qos)
                         for name, srv in (('list_dead_letters', ListDeadLetters),
                                           ('retry_dead_letters', RetryDeadLetters),
                                           ('reset_circuit', ResetCircuit))}

    def wait_for(self, kind: str, predicate, timeout_s: float = _TIMEOUT_S):
        """Return the first message of ``kind`` satisfying predicate, or None on timeout."""
        return self.logs[kind].wait(predicate, timeout_s)

    def events(self, **fields) -> typing.List[OperationStatus]:
        return [m for m in self.logs['events'].snapshot()
                if all(getattr(m, k) == v for k, v in fields.items())]

    def diagnostics(self, predicate, timeout_s: float = 15.0) -> typing.Optional[dict]:
        """Return the statuses (name -> status) of the first fresh array satisfying predicate."""
        self.logs['diag'].clear()
        found = self.wait_for('diag', lambda a: predicate({s.name: s for s in a.status}),
                              timeout_s)
        return None if found is None else {s.name: s for s in found.status}

    def call(self, name: str, request, timeout_s: float = 15.0):
        client = self.services[name]
        assert client.wait_for_service(timeout_sec=timeout_s), f'no /execution/{name}'
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _: done.set())
        assert done.wait(timeout_s), f'/execution/{name} did not answer'
        return future.result()

    def plan(self, steps, **fields) -> Run:
        goal = ExecutePlan.Goal(plan_id=fields.pop('plan_id', f'plan_{uuid.uuid4().hex[:8]}'),
                                steps=steps, **fields)
        return Run(self.serial, self.serial.call(self.plans.send_goal_async, goal))

    def operation(self, robot_id: str, operation: str, params=None, **fields) -> Run:
        goal = ExecuteOperation.Goal(robot_id=robot_id, operation=operation,
                                     parameters=json.dumps(params or {}), **fields)
        return Run(self.serial, self.serial.call(self.operations.send_goal_async, goal))


def _step(step_id, robot_id, operation, params=None, depends_on=(), **fields) -> PlanStep:
    return PlanStep(step_id=step_id, robot_id=robot_id, operation=operation,
                    parameters=json.dumps(params or {}), depends_on=list(depends_on), **fields)


def _states(result) -> typing.Dict[str, OperationStatus]:
    return {s.step_id: s for s in result.steps}


def _describe(result) -> str:
    return f'{result.error_code}: {result.error_msg}; steps ' + ', '.join(
        f'{s.step_id}={s.state}/{s.error_code} {s.error_msg!r}' for s in result.steps)


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def fleet(module_start_executor, module_ros, tmp_path_factory):
    """Drone, ground and surface executors, and a coordinator knowing two more robot ids."""
    executors = {p: module_start_executor(p) for p in ('drone', 'ground', 'surface')}
    spare = {'late': f'late_{uuid.uuid4().hex[:6]}', 'lost': f'lost_{uuid.uuid4().hex[:6]}'}
    robots = [f'{e.robot_id}:{p}' for p, e in executors.items()]
    robots += [f'{spare["late"]}:ground', f'{spare["lost"]}:surface']
    coordinator = CoordinatorProcess(robots=robots,
                                     log_dir=tmp_path_factory.mktemp('coordinator'),
                                     domain_id=module_ros.context.get_domain_id())
    try:
        observer = Observer(module_ros.node)
        for executor in executors.values():
            module_ros.wait_for_servers(executor, ['capture_image', 'go_to'])
        assert observer.plans.wait_for_server(timeout_sec=30.0), coordinator.log()
        assert observer.operations.wait_for_server(timeout_sec=30.0), coordinator.log()
        links = [f'brain_execution/robot/{e.robot_id}/link' for e in executors.values()]
        assert observer.diagnostics(
            lambda s: all(n in s and s[n].level == DiagnosticStatus.OK for n in links),
            timeout_s=30.0) is not None, f'robot links never up; {coordinator.log()}'
        yield {'executors': executors, 'spare': spare, 'coordinator': coordinator,
               'observer': observer, 'ros': module_ros}
    finally:
        coordinator.stop()


def _robot(fleet, platform: str) -> str:
    return fleet['executors'][platform].robot_id


def _fresh_state(ros, robot_id, condition, timeout_s=20.0) -> typing.Optional[RobotState]:
    after = time.time()
    return ros.wait_for_state(
        robot_id, lambda s: _stamp_s(s.header.stamp) > after and condition(s), timeout_s)


def _landed(state: RobotState) -> bool:
    return state.landed_state == RobotState.LANDED_ON_GROUND and not state.armed


# --- 1. dependency order and parallel branches ---------------------------------------------

def test_plan_runs_in_dependency_order_with_parallel_branches(fleet):
    obs = fleet['observer']
    drone, ground, surface = (_robot(fleet, p) for p in ('drone', 'ground', 'surface'))
    plan_id = f'order_{uuid.uuid4().hex[:8]}'
    steps = [
        _step('takeoff', drone, 'takeoff', _CLIMB),
        _step('sail', surface, 'go_to', {'target': {'x_m': 12.0, 'y_m': 0.0}}),
        _step('snap_ground', ground, 'capture_image', {'count': 1}),
        _step('snap_drone', drone, 'capture_image', {'count': 1}, ['takeoff', 'sail']),
        _step('land', drone, 'land', _LAND, ['snap_drone', 'snap_ground']),
    ]
    run = obs.plan(steps, plan_id=plan_id)
    result = run.wait()
    assert run.status == GoalStatus.STATUS_SUCCEEDED, _describe(result)
    assert result.error_code == ErrorCode.NONE, _describe(result)
    assert [s.step_id for s in result.steps] == [s.step_id for s in steps]
    assert all(s.state == OperationStatus.STATE_SUCCEEDED for s in result.steps), \
        _describe(result)

    def first(step_id, state):
        events = obs.events(plan_id=plan_id, step_id=step_id, state=state)
        assert events, f'no event {state} for {step_id}'
        return _stamp_s(events[0].header.stamp)

    started = {s.step_id: first(s.step_id, OperationStatus.STATE_RUNNING) for s in steps}
    ended = {s.step_id: first(s.step_id, OperationStatus.STATE_SUCCEEDED) for s in steps}
    for step in steps:
        for dependency in step.depends_on:
            assert started[step.step_id] >= ended[dependency], (
                f'{step.step_id} started at {started[step.step_id]:.3f} before its '
                f'dependency {dependency} succeeded at {ended[dependency]:.3f}')
    # Independent steps on different robots ran at the same time.
    assert started['sail'] < ended['takeoff'] and started['takeoff'] < ended['sail'], (
        started, ended)
    assert started['snap_ground'] < ended['takeoff'], (started, ended)


# --- 2. a failure skips the dependents -----------------------------------------------------

def test_failing_step_skips_its_dependents(fleet):
    obs, ros = fleet['observer'], fleet['ros']
    drone, ground = _robot(fleet, 'drone'), _robot(fleet, 'ground')
    assert ros.wait_for_state(drone, _landed) is not None, 'drone is not on the ground'
    steps = [
        # A drone on the ground cannot go anywhere: PRECONDITION_FAILED, not retryable.
        _step('move', drone, 'go_to', {'target': {'x_m': 5.0, 'y_m': 0.0, 'altitude_m': 3.0}}),
        _step('snap', drone, 'capture_image', {'count': 1}, ['move']),
        _step('snap_after', ground, 'capture_image', {'count': 1}, ['snap']),
        _step('independent', ground, 'capture_image', {'count': 1}),
    ]
    run = obs.plan(steps)
    result = run.wait()
    states = _states(result)
    assert run.status == GoalStatus.STATUS_ABORTED, _describe(result)
    assert result.error_code != ErrorCode.NONE and 'move' in result.error_msg, _describe(result)
    assert states['move'].state == OperationStatus.STATE_FAILED, _describe(result)
    assert states['move'].error_code == ErrorCode.PRECONDITION_FAILED, _describe(result)
    assert states['move'].attempt == 1, 'a non-retryable failure was retried'
    # Transitive dependents name the failed root dependency.
    for step_id in ('snap', 'snap_after'):
        assert states[step_id].state == OperationStatus.STATE_SKIPPED, _describe(result)
        assert states[step_id].error_code == ErrorCode.DEPENDENCY_FAILED, _describe(result)
        assert "'move'" in states[step_id].error_msg, _describe(result)
        assert states[step_id].attempt == 0, f'{step_id} was started'
    assert states['independent'].state == OperationStatus.STATE_SUCCEEDED, _describe(result)


# --- 4. compensation ----------------------------------------------------------------------

def test_compensation_lands_the_drone_when_the_plan_fails(fleet):
    obs, ros = fleet['observer'], fleet['ros']
    drone = _robot(fleet, 'drone')
    steps = [
        _step('takeoff', drone, 'takeoff', _CLIMB, compensation_operation='land',
              compensation_parameters=json.dumps(_LAND)),
        # Outside the 400 m geofence: the executor refuses it, not retryable.
        _step('fence', drone, 'go_to',
              {'target': {'x_m': 900.0, 'y_m': 0.0, 'altitude_m': 3.0}}, ['takeoff']),
    ]
    run = obs.plan(steps)
    result = run.wait()
    states = _states(result)
    assert run.status == GoalStatus.STATUS_ABORTED, _describe(result)
    assert states['fence'].state == OperationStatus.STATE_FAILED, _describe(result)
    assert states['fence'].error_code == ErrorCode.GEOFENCE_VIOLATION, _describe(result)
    assert states['takeoff'].state == OperationStatus.STATE_COMPENSATED, _describe(result)
    state = _fresh_state(ros, drone, _landed)
    assert state is not None, 'the drone did not end landed and disarmed'


def test_cancel_mid_go_to_runs_compensations(fleet):
    obs, ros = fleet['observer'], fleet['ros']
    drone = _robot(fleet, 'drone')
    plan_id = f'cancel_{uuid.uuid4().hex[:8]}'
    steps = [
        _step('takeoff', drone, 'takeoff', _CLIMB, compensation_operation='land',
              compensation_parameters=json.dumps(_LAND)),
        _step('far', drone, 'go_to', {'target': {'x_m': 150.0, 'y_m': 0.0, 'altitude_m': 3.0}},
              ['takeoff']),
    ]
    run = obs.plan(steps, plan_id=plan_id)
    assert obs.wait_for('events', lambda m: m.plan_id == plan_id and m.step_id == 'far' and
                        m.state == OperationStatus.STATE_RUNNING, 30.0) is not None
    assert _fresh_state(ros, drone, lambda s: abs(s.velocity.linear.x) > 0.5) is not None, \
        'the drone never moved'
    assert run.accepted.wait(5.0) and run.handle.accepted
    done = threading.Event()
    obs.serial.call(run.handle.cancel_goal_async).add_done_callback(lambda _: done.set())
    assert done.wait(10.0), 'no cancel response'
    result = run.wait()
    states = _states(result)
    assert run.status == GoalStatus.STATUS_CANCELED, _describe(result)
    assert result.error_code == ErrorCode.CANCELED, _describe(result)
    assert states['far'].state == OperationStatus.STATE_CANCELED, _describe(result)
    assert states['takeoff'].state == OperationStatus.STATE_COMPENSATED, _describe(result)
    assert _fresh_state(ros, drone, _landed) is not None, 'drone not landed after the cancel'


# --- 3. retries, breaker, dead letters ---------------------------------------------------

def test_retries_breaker_dead_letter_and_recovery(fleet, start_executor):
    obs, ros = fleet['observer'], fleet['ros']
    late = fleet['spare']['late']
    op_id = f'late_op_{uuid.uuid4().hex[:8]}'
    started_mono = time.monotonic()
    run = obs.operation(late, 'capture_image', {'count': 1}, operation_id=op_id,
                        retry=RetryPolicy(max_attempts=4))
    result = run.wait(40.0)
    print(f'\nlate robot: ended after {run.ended_mono - started_mono:.1f} s, '
          f'{result.attempts} attempts, {result.error_code}: {result.error_msg}')
    assert run.status == GoalStatus.STATUS_ABORTED
    assert result.attempts == 4, result
    # Attempts 1..3 found no executor; the breaker then opened and attempt 4 failed fast.
    retrying = obs.events(operation_id=op_id, state=OperationStatus.STATE_RETRYING)
    assert [m.error_code for m in retrying] == [ErrorCode.COMMUNICATION_FAILURE] * 3, \
        [(m.attempt, m.error_code, m.error_msg) for m in retrying]
    assert result.error_code == ErrorCode.CIRCUIT_OPEN, result
    running = obs.events(operation_id=op_id, state=OperationStatus.STATE_RUNNING)
    assert [m.attempt for m in running] == [1, 2, 3, 4]
    for n, (failed, next_start) in enumerate(zip(retrying, running[1:]), start=1):
        gap = _stamp_s(next_start.header.stamp) - _stamp_s(failed.header.stamp)
        floor = _BACKOFF_S * 2 ** (n - 1) * (1.0 - _JITTER)
        assert gap >= floor - 0.02, f'retry {n} after {gap:.3f} s < back-off {floor:.3f} s'
    opened = obs.wait_for('circuits', lambda m: m.robot_id == late and not m.operation and
                          m.state == CircuitState.OPEN, 10.0)
    assert opened is not None, 'the robot breaker never showed OPEN'
    assert opened.consecutive_failures >= _FAILURE_THRESHOLD
    assert opened.last_error_code == ErrorCode.COMMUNICATION_FAILURE
    dead = obs.wait_for('dead', lambda m: m.operation_id == op_id, 10.0)
    assert dead is not None and dead.robot_id == late and dead.attempts == 4, dead
    listed = obs.call('list_dead_letters', ListDeadLetters.Request(robot_id=late))
    assert [d.operation_id for d in listed.dead_letters] == [op_id] and listed.total == 1

    # The robot comes up; the breaker goes half-open after its reset timeout.
    executor = start_executor('ground', robot_id=late)
    ros.wait_for_servers(executor, ['capture_image'])
    link = f'brain_execution/robot/{late}/link'
    assert obs.diagnostics(lambda s: link in s and s[link].level == DiagnosticStatus.OK,
                           30.0) is not None, 'coordinator never saw the late robot'
    assert obs.wait_for('circuits', lambda m: m.robot_id == late and not m.operation and
                        m.state == CircuitState.HALF_OPEN, 10.0) is not None
    answer = obs.call('retry_dead_letters', RetryDeadLetters.Request(operation_ids=[op_id]))
    assert answer.error_code == ErrorCode.NONE, answer.error_msg
    assert answer.retried_operation_ids == [f'{op_id}~retry1'], answer
    succeeded = obs.wait_for('events', lambda m: m.operation_id == f'{op_id}~retry1' and
                             m.state == OperationStatus.STATE_SUCCEEDED, 30.0)
    assert succeeded is not None, obs.events(operation_id=f'{op_id}~retry1')
    # The successful probe closed the breaker.
    closed_after = _stamp_s(succeeded.header.stamp)
    assert obs.wait_for('circuits', lambda m: m.robot_id == late and not m.operation and
                        m.state == CircuitState.CLOSED and
                        _stamp_s(m.header.stamp) >= closed_after, 10.0) is not None
    listed = obs.call('list_dead_letters', ListDeadLetters.Request(robot_id=late))
    assert listed.total == 0 and not listed.dead_letters
    reset = obs.call('reset_circuit', ResetCircuit.Request(robot_id=late))
    assert reset.circuits and all(c.state == CircuitState.CLOSED for c in reset.circuits)


# --- 5. robot loss ------------------------------------------------------------------------

def test_robot_killed_mid_go_to_ends_in_a_dead_letter(fleet, start_executor):
    obs, ros = fleet['observer'], fleet['ros']
    lost = fleet['spare']['lost']
    executor = start_executor('surface', robot_id=lost)
    ros.wait_for_servers(executor, ['go_to'])
    link = f'brain_execution/robot/{lost}/link'
    assert obs.diagnostics(lambda s: link in s and s[link].level == DiagnosticStatus.OK,
                           30.0) is not None, 'coordinator never saw the robot'
    op_id = f'lost_op_{uuid.uuid4().hex[:8]}'
    run = obs.operation(lost, 'go_to', {'target': {'x_m': 150.0, 'y_m': 0.0}},
                        operation_id=op_id, retry=RetryPolicy(max_attempts=3))
    assert obs.wait_for('events', lambda m: m.operation_id == op_id and
                        m.state == OperationStatus.STATE_RUNNING, 20.0) is not None
    assert _fresh_state(ros, lost, lambda s: abs(s.velocity.linear.x) > 0.3) is not None, \
        'the boat never moved'
    killed_mono = time.monotonic()
    executor.kill()
    result = run.wait(30.0)
    took = run.ended_mono - killed_mono
    print(f'\nrobot loss: goal ended {took:.1f} s after SIGKILL, {result.attempts} attempts, '
          f'{result.error_code}: {result.error_msg}')
    assert took < 40.0
    assert run.status == GoalStatus.STATUS_ABORTED
    assert result.error_code == ErrorCode.COMMUNICATION_FAILURE, result
    assert result.attempts == 3, result
    opened = obs.wait_for('circuits', lambda m: m.robot_id == lost and not m.operation and
                          m.state == CircuitState.OPEN, 10.0)
    assert opened is not None, 'the breaker of the lost robot never opened'
    dead = obs.wait_for('dead', lambda m: m.operation_id == op_id, 10.0)
    assert dead is not None and dead.error_code == ErrorCode.COMMUNICATION_FAILURE, dead
    final = obs.events(operation_id=op_id)[-1]
    assert final.state == OperationStatus.STATE_DEAD_LETTER, final


# --- 6. load ------------------------------------------------------------------------------

def test_burst_of_1000_operations_all_answered(fleet):
    obs = fleet['observer']
    robots = [_robot(fleet, p) for p in ('drone', 'ground', 'surface')]
    prefix = uuid.uuid4().hex[:6]
    count = 1000
    started = time.monotonic()
    runs = [obs.operation(robots[i % len(robots)], 'capture_image', {'count': 1},
                          operation_id=f'burst_{prefix}_{i}') for i in range(count)]
    # Generous: a shared 2-core CI box answers a few goals per second (see the report).
    deadline = started + 420.0
    for run in runs:
        run.finished.wait(max(0.0, deadline - time.monotonic()))
    took = time.monotonic() - started
    answered = [r for r in runs if r.finished.is_set()]
    codes = collections.Counter(
        r.result.error_code if r.result is not None else 'rejected' for r in answered)
    print(f'\nburst: {len(answered)}/{count} answers in {took:.1f} s; per code {dict(codes)}')
    assert len(answered) == count, f'{count - len(answered)} goals never answered'
    assert set(codes) <= {ErrorCode.NONE, ErrorCode.BUSY}, codes
    # The first goals fill the queue and run; the rest meet the intake limit.
    assert codes[ErrorCode.NONE] >= _MAX_PENDING, codes
    assert codes[ErrorCode.BUSY] > 0, 'the intake limit never pushed back'
    busy = next(r.result for r in answered if r.result.error_code == ErrorCode.BUSY)
    assert busy.retryable and str(_MAX_PENDING) in busy.error_msg, busy
    ids = {r.result.operation_id for r in answered if r.result.error_code == ErrorCode.NONE}
    fleet['burst_succeeded'] = collections.Counter(
        robots[i % len(robots)] for i, r in enumerate(runs) if r.result.error_code == 0)
    assert len(ids) == codes[ErrorCode.NONE], 'an operation id was answered twice'


# --- 7. bad input -------------------------------------------------------------------------

_BAD_YAML = ['{count: [', '[1, 2]', 'just text', '{count: 1', '- a', '{count: {x: }']
_OUT_OF_RANGE = [('count', 0), ('count', -3), ('count', 10 ** 9), ('interval_s', -1.0),
                 ('interval_s', float('nan')), ('count', 'many')]
_MUTATIONS = st.one_of(
    st.tuples(st.just('duplicate'), st.integers(1, 2)),
    st.tuples(st.just('unknown_robot'), st.text('abcxyz_', min_size=1, max_size=8)),
    st.tuples(st.just('unknown_operation'), st.text('abcxyz_', min_size=1, max_size=8)),
    st.tuples(st.just('unsupported'), st.sampled_from(['takeoff', 'land', 'hover'])),
    st.tuples(st.just('cycle'), st.integers(2, 3)),
    st.tuples(st.just('bad_yaml'), st.sampled_from(_BAD_YAML)),
    st.tuples(st.just('out_of_range'), st.sampled_from(_OUT_OF_RANGE)),
    st.tuples(st.just('dangling'), st.text('abcxyz', min_size=1, max_size=8)),
)


def _mutated_plan(fleet, mutation, index):
    """Return (steps, the offending step id or '#index', the field to name, or None)."""
    robots = [_robot(fleet, p) for p in ('ground', 'surface', 'drone')]
    steps = [_step(f's{i}', robots[i], 'capture_image', {'count': 1},
                   [f's{i - 1}'] if i else ()) for i in range(3)]
    kind, value = mutation
    step = steps[index]
    if kind == 'duplicate':
        target = steps[value]
        target.step_id = steps[value - 1].step_id
        target.depends_on = []
        return steps, (target.step_id, f'#{value}'), 'step_id'
    if kind == 'unknown_robot':
        step.robot_id = f'ghost_{value}'
        return steps, (step.step_id,), 'robot_id'
    if kind == 'unknown_operation':
        step.operation = f'warp_{value}'
        return steps, (step.step_id,), 'operation'
    if kind == 'unsupported':
        steps[0].operation, steps[0].parameters = value, ''
        return steps, (steps[0].step_id,), 'operation'
    if kind == 'cycle':
        steps[0].depends_on = [steps[value - 1].step_id]
        return steps, tuple(s.step_id for s in steps), None
    if kind == 'bad_yaml':
        step.parameters = value
        return steps, (step.step_id,), 'parameters'
    if kind == 'out_of_range':
        field, bad = value
        step.parameters = json.dumps({field: bad}) if bad == bad else f'{{{field}: .nan}}'
        return steps, (step.step_id,), field
    step.depends_on = list(step.depends_on) + [f'nowhere_{value}']
    return steps, (step.step_id,), 'depends_on'


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=_MUTATIONS, index=st.integers(0, 2))
def test_malformed_plans_are_refused_with_a_reason(fleet, mutation, index):
    steps, names, field = _mutated_plan(fleet, mutation, index)
    run = fleet['observer'].plan(steps)
    result = run.wait(20.0)
    assert run.status == GoalStatus.STATUS_ABORTED, (mutation, _describe(result))
    assert result.error_code in _ALLOWED_BAD_PLAN_CODES, (mutation, result.error_msg)
    assert any(f"'{n}'" in result.error_msg or n in result.error_msg for n in names), (
        mutation, result.error_msg)
    if field is not None:
        assert field in result.error_msg, (mutation, result.error_msg)
    assert fleet['coordinator'].running(), fleet['coordinator'].log()


def test_coordinator_survives_bad_input(fleet):
    assert fleet['coordinator'].running(), fleet['coordinator'].log()
    ground = _robot(fleet, 'ground')
    result = fleet['observer'].plan([_step('ok', ground, 'capture_image', {'count': 1})]).wait()
    assert result.error_code == ErrorCode.NONE, _describe(result)


# --- 8. visibility ------------------------------------------------------------------------

def test_diagnostics_and_metrics_after_the_scenarios(fleet):
    obs = fleet['observer']
    healthy = [_robot(fleet, p) for p in ('drone', 'ground', 'surface')]
    lost = fleet['spare']['lost']
    names = ['brain_execution/breakers', 'brain_execution/queue', 'brain_execution/journal',
             'brain_execution/dead_letters', f'brain_execution/robot/{lost}/link']
    statuses = obs.diagnostics(lambda s: all(n in s for n in names))
    assert statuses is not None, 'no complete /diagnostics array'
    assert all(name.startswith('brain_execution/') for name in statuses)
    for robot_id in healthy:
        assert statuses[f'brain_execution/robot/{robot_id}/link'].level == DiagnosticStatus.OK
    assert statuses[f'brain_execution/robot/{lost}/link'].level == DiagnosticStatus.ERROR
    # The lost robot's breaker is open (ERROR) or probing after its timeout (WARN).
    breakers = statuses['brain_execution/breakers']
    assert breakers.level in (DiagnosticStatus.ERROR, DiagnosticStatus.WARN), breakers
    assert any(n.startswith(f'brain_execution/breaker/{lost}') for n in statuses), statuses
    assert statuses['brain_execution/queue'].level == DiagnosticStatus.OK
    assert statuses['brain_execution/journal'].level == DiagnosticStatus.OK
    assert statuses['brain_execution/dead_letters'].level == DiagnosticStatus.WARN
    listed = obs.call('list_dead_letters', ListDeadLetters.Request())
    assert listed.total >= 1

    url = f'http://127.0.0.1:{fleet["coordinator"].metrics_port}/metrics'
    with urllib.request.urlopen(url, timeout=10.0) as response:
        text = response.read().decode()
    ops = {}
    for match in re.finditer(r'^brain_execution_operations_total\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        ops[(labels['robot'], labels['operation'], labels['outcome'])] = float(match.group(2))
    for robot_id, succeeded in fleet.get('burst_succeeded', {}).items():
        assert ops.get((robot_id, 'capture_image', 'SUCCEEDED'), 0.0) >= succeeded, ops
    assert ops.get((healthy[1], 'capture_image', 'SUCCEEDED'), 0.0) >= 1, ops
    assert ops.get((lost, 'go_to', 'COMMUNICATION_FAILURE'), 0.0) >= 1, ops
    dead = re.search(r'^brain_execution_dead_letters (\S+)$', text, re.M)
    assert dead is not None and float(dead.group(1)) == listed.total, text[-2000:]
