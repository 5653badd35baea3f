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
Exactly once under faults, with real processes: every step runs once on its robot.

A drone robot executor and the coordinator run as separate processes, started the way
``launch_ros`` starts them. Faults are injected in the middle of a step of each kind: a motion
(hover), a sensing operation (capture_image) and a payload operation (pickup, followed by a
dropoff that puts the payload down again):

* the robot frozen with SIGSTOP past the coordinator's link_timeout_s, then resumed;
* the coordinator stopped with SIGINT mid-step and restarted on the same journal;
* the coordinator killed with SIGKILL at a random point of a step, restarted, looped;
* the coordinator killed with SIGKILL the moment it answers a plan's goal "accepted";
* the robot executor killed with SIGKILL mid-step and restarted on its operation record;
* the journal's disk full (a small tmpfs filled mid-step; skipped where tmpfs cannot be
  mounted).

Executions are counted from the ROBOT's own evidence, never from the coordinator's results:
the operation ids on ``/<robot>/operation_events`` (one event per goal the robot ended; a
second execution would carry a second id, ``<id>~2``) and the records its
``query_operation`` lists. Each step must show exactly one id, its own, and end with the
robot's outcome. Per-run figures are printed (``-s``).
"""

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.ros.processes import config_file, node_command, NodeProcess
from brain_execution.ros.qos import intake_qos
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import ErrorCode, OperationStatus, PlanStep
from brain_execution_interfaces.srv import QueryOperation
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import pytest
from rclpy.action import ActionClient

from .record_robot import program_starts, query_operation, Robot
from .topic_log import TopicLog

_DISCOVERY_TIMEOUT_S = 30.0
_LINK_TIMEOUT_S = 1.5
# kind -> (operation, parameters, seconds after the step starts at which the fault hits).
_KINDS = {
    'motion': ('hover', '{duration_s: 6.0}', 1.5),
    'sensing': ('capture_image', '{count: 4, interval_s: 1.0}', 1.0),
    # A pickup takes one command (held sim.ack_delay_s by the robot): the fault hits while
    # its goal is on the way or being carried out.
    'payload': ('pickup', '{payload_id: box}', 0.2),
}
_ENDED = {OperationStatus.STATE_SUCCEEDED, OperationStatus.STATE_FAILED,
          OperationStatus.STATE_CANCELED, OperationStatus.STATE_SKIPPED,
          OperationStatus.STATE_DEAD_LETTER, OperationStatus.STATE_COMPENSATED}


def _env(ros):
    env = dict(os.environ)
    env.update({'ROS_DOMAIN_ID': str(ros.context.get_domain_id()),
                'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1'})
    return env


def _call(client, request, timeout_s=5.0):
    done = threading.Event()
    future = client.call_async(request)
    future.add_done_callback(lambda f: done.set())
    if not done.wait(timeout_s):
        client.remove_pending_request(future)
        return None
    return future.result()


def _signal_tree(pid, signum):
    """Signal a process and its descendants (a console script may run Python as a child)."""
    children = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True, text=True)
    for child in children.stdout.split():
        _signal_tree(int(child), signum)
    os.kill(pid, signum)


def _log_tail(path, size=4000):
    with open(path, 'rb') as log:
        return log.read().decode(errors='replace')[-size:]


class _Fleet:
    """One drone robot executor, a coordinator process on a journal, and their evidence."""

    def __init__(self, ros, robot, tmp_path, journal_path=None):
        self.ros = ros
        self.robot = robot
        self.robot_id = robot.robot_id
        self.tmp_path = tmp_path
        self.journal_path = journal_path or str(tmp_path / 'journal.db')
        self.coordinator = None
        self.log_path = None
        self._starts = 0
        self.robot_events = TopicLog(ros.node, OperationStatus,
                                     f'/{self.robot_id}/operation_events')
        self.events = TopicLog(ros.node, OperationStatus, '/execution/events')
        self.query = ros.node.create_client(QueryOperation, '/execution/query',
                                            qos_profile=intake_qos(100))
        self.robot_query = ros.node.create_client(QueryOperation,
                                                  f'/{self.robot_id}/query_operation')
        self.serial = SerialCalls(ros.node)
        qos = intake_qos(1000)
        self.client = ActionClient(ros.node, ExecutePlan, '/execution/execute_plan',
                                   goal_service_qos_profile=qos,
                                   result_service_qos_profile=qos,
                                   cancel_service_qos_profile=qos)

    def start_coordinator(self):
        self._starts += 1
        self.log_path = str(self.tmp_path / f'coordinator{self._starts}.log')
        command = node_command(
            'coordinator', namespace='/execution',
            params_files=[config_file('coordinator.yaml')],
            parameters={'robots': [f'{self.robot_id}:drone'], 'journal_path': self.journal_path,
                        'link_timeout_s': _LINK_TIMEOUT_S, 'reconcile_interval_s': 1.0,
                        'diagnostics_rate_hz': 2.0})
        self.coordinator = NodeProcess(command, log_path=self.log_path, env=_env(self.ros))
        assert self.query.wait_for_service(timeout_sec=_DISCOVERY_TIMEOUT_S), self.log()
        assert self.client.wait_for_server(timeout_sec=_DISCOVERY_TIMEOUT_S), self.log()

    def log(self):
        return f'coordinator log:\n{_log_tail(self.log_path)}' if self.log_path else ''

    def send(self, plan_id, steps, on_response=None):
        """
        Send a plan until a goal response arrives (a restarted server may drop the first).

        on_response(response), if given, is called the moment the response arrives, on the
        thread that received it (to strike at that very point).
        """
        goal = ExecutePlan.Goal(plan_id=plan_id, steps=steps)
        for _ in range(10):
            accepted = threading.Event()
            responses = []

            # Bound under its own name: a closure named on_response would rebind the
            # parameter, and a retry would then hand a goal handle to the last try's closure.
            def record(future, accepted=accepted, responses=responses, hook=on_response):
                if hook is not None:
                    hook(future.result())
                responses.append(future.result())
                accepted.set()
            self.serial.call(self.client.send_goal_async, goal).add_done_callback(record)
            if accepted.wait(2.0):
                return responses[0]
        pytest.fail(f'plan {plan_id} never accepted; {self.log()}')

    def wait_plan(self, plan_id, count, timeout_s=90.0):
        """Poll /execution/query until all count steps ended; return their statuses."""
        deadline = time.monotonic() + timeout_s
        statuses = []
        while time.monotonic() < deadline:
            response = _call(self.query, QueryOperation.Request(plan_id=plan_id), 2.0)
            if response is not None and response.found:
                statuses = list(response.operations)
                if len(statuses) == count and all(s.state in _ENDED for s in statuses):
                    return statuses
            # Each call waits for its response; this only spaces polls of a running plan.
            time.sleep(0.2)
        pytest.fail(f'plan {plan_id} did not end: '
                    f'{[(s.step_id, s.state, s.error_msg) for s in statuses]}; {self.log()}')

    def wait_step_state(self, plan_id, step_id, state, timeout_s=30.0):
        """Wait for step_id of plan_id (any of its steps if step_id is None) to reach state."""
        event = self.events.wait(lambda e: e.plan_id == plan_id and e.state == state and (
            step_id is None or e.step_id == step_id), timeout_s)
        assert event is not None, (f'{plan_id}/{step_id} never reached state {state}; '
                                   f'{self.log()}')
        return event

    def executions(self, operation_id):
        """
        Return the robot's own evidence of what ran for a step's operation id.

        (ids on operation_events, ids of records in query_operation), each filtered to the
        step's id and any id derived from it (``<id>~n``).
        """
        def mine(other):
            return other == operation_id or other.startswith(operation_id + '~')
        events = sorted({e.operation_id for e in self.robot_events.snapshot()
                         if mine(e.operation_id)})
        response = _call(self.robot_query, QueryOperation.Request(), 10.0)
        assert response is not None, f'{self.robot_id}: no query_operation response'
        records = sorted(r.operation_id for r in response.operations if mine(r.operation_id))
        return events, records

    def robot_outcome(self, operation_id, timeout_s=30.0):
        event = self.robot_events.wait(
            lambda e: e.operation_id == operation_id and e.state in _ENDED, timeout_s)
        assert event is not None, f'{operation_id}: the robot never reported its end'
        return event

    def close(self):
        if self.coordinator is not None:
            self.coordinator.stop()
        self.client.destroy()
        self.serial.destroy()
        self.ros.node.destroy_client(self.query)
        self.ros.node.destroy_client(self.robot_query)


def _step(plan_id, step_id, robot_id, operation, parameters, depends_on=()):
    return PlanStep(step_id=step_id, robot_id=robot_id, operation=operation,
                    parameters=parameters, depends_on=list(depends_on),
                    operation_id=f'{plan_id}.{step_id}')


def _kind_steps(plan_id, robot_id, kind):
    operation, parameters, _ = _KINDS[kind]
    steps = [_step(plan_id, kind, robot_id, operation, parameters)]
    if kind == 'payload':
        # Puts the payload down again, so that the next pickup's precondition holds.
        steps.append(_step(plan_id, 'put_down', robot_id, 'dropoff', '{}', [kind]))
    return steps


def _check_once(fleet, plan_id, steps, statuses, kind, fault):
    """Every step: one id on the robot, its own; the step ended with the robot's outcome."""
    by_step = {s.step_id: s for s in statuses}
    counts = {}
    for step in steps:
        events, records = fleet.executions(step.operation_id)
        counts[step.step_id] = len(events)
        assert events == [step.operation_id], (
            f'{fault}/{kind}: {step.step_id} ran on the robot as {events}; {fleet.log()}')
        assert records == [step.operation_id], (
            f'{fault}/{kind}: robot records {records} for {step.step_id}')
        robot = fleet.robot_outcome(step.operation_id)
        status = by_step[step.step_id]
        assert status.state == OperationStatus.STATE_SUCCEEDED, (
            f'{fault}/{kind}: {step.step_id} ended {status.state}: {status.error_msg}; '
            f'{fleet.log()}')
        assert (robot.state, robot.error_code) == (OperationStatus.STATE_SUCCEEDED,
                                                   status.error_code)
        assert status.attempt == 1, f'{fault}/{kind}: {step.step_id} attempt {status.attempt}'
    return counts


@pytest.fixture
def drone(start_executor, ros):
    # Each command takes effect after 0.5 s, so that a fault aimed inside a one-command step
    # (pickup) lands there even when the test hears of the step's start late.
    process = start_executor('drone', parameters={'tick_rate_hz': 50.0, 'sim.ack_delay_s': 0.5})
    ros.wait_for_servers(process, ['takeoff', 'hover', 'capture_image', 'pickup', 'dropoff'])
    return process


@pytest.fixture
def fleet(drone, ros, tmp_path):
    fleet = _Fleet(ros, drone, tmp_path)
    yield fleet
    fleet.close()


def _take_off(fleet):
    plan_id = f'prep_{uuid.uuid4().hex[:6]}'
    fleet.send(plan_id, [_step(plan_id, 'up', fleet.robot_id, 'takeoff',
                               '{altitude_m: 5.0, climb_speed_mps: 3.0}')])
    statuses = fleet.wait_plan(plan_id, 1)
    assert statuses[0].state == OperationStatus.STATE_SUCCEEDED, statuses[0].error_msg


def test_robot_frozen_past_link_timeout_mid_step_runs_each_step_once(fleet):
    fleet.start_coordinator()
    _take_off(fleet)
    for round_index in range(2):
        for kind, (_, _, fault_after_s) in _KINDS.items():
            plan_id = f'freeze{round_index}_{kind}_{uuid.uuid4().hex[:6]}'
            steps = _kind_steps(plan_id, fleet.robot_id, kind)
            fleet.send(plan_id, steps)
            fleet.wait_step_state(plan_id, kind, OperationStatus.STATE_RUNNING)
            # Fault timing, not synchronisation: the freeze lands inside the step.
            time.sleep(fault_after_s)
            frozen = time.monotonic()
            _signal_tree(fleet.robot.pid, signal.SIGSTOP)
            try:
                # The coordinator notices the silence and reconciles the step in flight (the
                # pickup, or its put_down if the pickup ended first) instead of retrying it.
                fleet.wait_step_state(plan_id, None, OperationStatus.STATE_RECONCILING,
                                      timeout_s=_LINK_TIMEOUT_S + 10.0)
                # Frozen a little longer: its questions to the robot go unanswered too.
                time.sleep(2.0)
            finally:
                _signal_tree(fleet.robot.pid, signal.SIGCONT)
            frozen_s = time.monotonic() - frozen
            statuses = fleet.wait_plan(plan_id, len(steps))
            counts = _check_once(fleet, plan_id, steps, statuses, kind, 'sigstop')
            print(f'sigstop round {round_index} {kind}: frozen {frozen_s:.1f} s, '
                  f'robot executions {counts}')


def _journaled_state(journal_path, plan_id, step_id):
    connection = sqlite3.connect(journal_path)
    try:
        row = connection.execute('SELECT state FROM steps WHERE plan_id = ? AND step_id = ?',
                                 (plan_id, step_id)).fetchone()
    finally:
        connection.close()
    return None if row is None else row[0]


def test_coordinator_sigint_mid_step_then_restart_runs_each_step_once(fleet):
    fleet.start_coordinator()
    _take_off(fleet)
    for kind, (_, _, fault_after_s) in _KINDS.items():
        plan_id = f'sigint_{kind}_{uuid.uuid4().hex[:6]}'
        steps = _kind_steps(plan_id, fleet.robot_id, kind)
        fleet.send(plan_id, steps)
        fleet.wait_step_state(plan_id, kind, OperationStatus.STATE_RUNNING)
        time.sleep(fault_after_s)
        stopped = time.monotonic()
        assert fleet.coordinator.stop() == 0, fleet.log()
        stop_s = time.monotonic() - stopped
        # Journaled as RECONCILING (not failed, not SHUTDOWN), unless it ended first.
        state = _journaled_state(fleet.journal_path, plan_id, kind)
        assert state in (OperationStatus.STATE_RECONCILING,
                         OperationStatus.STATE_SUCCEEDED), (state, fleet.log())
        fleet.start_coordinator()
        statuses = fleet.wait_plan(plan_id, len(steps))
        counts = _check_once(fleet, plan_id, steps, statuses, kind, 'sigint')
        print(f'sigint {kind}: stopped in {stop_s:.1f} s, journaled state {state}, '
              f'robot executions {counts}')


def test_coordinator_sigkill_at_random_points_runs_each_step_once(fleet):
    rng = random.Random(int(os.environ.get('EXACTLY_ONCE_SEED', '8')))
    fleet.start_coordinator()
    _take_off(fleet)
    for round_index in range(6):
        kind = list(_KINDS)[round_index % len(_KINDS)]
        plan_id = f'sigkill{round_index}_{kind}_{uuid.uuid4().hex[:6]}'
        steps = _kind_steps(plan_id, fleet.robot_id, kind)
        fleet.send(plan_id, steps)
        kill_after_s = rng.uniform(0.0, 3.0)
        time.sleep(kill_after_s)
        fleet.coordinator.kill()
        fleet.start_coordinator()
        statuses = fleet.wait_plan(plan_id, len(steps))
        counts = _check_once(fleet, plan_id, steps, statuses, kind, 'sigkill')
        print(f'sigkill round {round_index} {kind}: killed {kill_after_s:.2f} s after the '
              f'goal, robot executions {counts}')


def _journaled_plan(journal_path, plan_id):
    connection = sqlite3.connect(journal_path)
    try:
        return connection.execute('SELECT 1 FROM plans WHERE plan_id = ?',
                                  (plan_id,)).fetchone() is not None
    finally:
        connection.close()


def test_coordinator_sigkill_as_it_accepts_a_plan_runs_each_step_once(fleet):
    # Issue 8: "accepted" must mean journaled. The coordinator is killed the moment its goal
    # response arrives, before its execute callback could have run: the plan it accepted
    # must be in the journal, resumed by the restart, and each step run once.
    fleet.start_coordinator()
    _take_off(fleet)
    for kind in _KINDS:
        plan_id = f'accepted_{kind}_{uuid.uuid4().hex[:6]}'
        steps = _kind_steps(plan_id, fleet.robot_id, kind)
        process = fleet.coordinator.process
        response = fleet.send(plan_id, steps, on_response=lambda _: process.kill())
        fleet.coordinator.kill()
        assert response.accepted, fleet.log()
        assert _journaled_plan(fleet.journal_path, plan_id), (
            f'{plan_id} was answered accepted but is not in the journal; {fleet.log()}')
        fleet.start_coordinator()
        statuses = fleet.wait_plan(plan_id, len(steps))
        counts = _check_once(fleet, plan_id, steps, statuses, kind, 'sigkill at acceptance')
        print(f'sigkill at acceptance {kind}: robot executions {counts}')


@pytest.fixture
def small_disk(tmp_path):
    """Mount a 4 MiB tmpfs, unmounted afterwards; skip where tmpfs cannot be mounted."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    done = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs: {done.stderr.strip()}')
    try:
        yield mount
    finally:
        subprocess.run(['umount', '-l', str(mount)], check=False)


def _fill(path):
    """Write zeros into path until the file system is full."""
    with open(path, 'wb') as filler:
        try:
            while True:
                filler.write(b'\0' * 65536)
                filler.flush()
        except OSError:
            pass


def test_journal_disk_full_refuses_new_work_and_runs_each_step_once(
        drone, ros, tmp_path, small_disk):
    fleet = _Fleet(ros, drone, tmp_path, journal_path=str(small_disk / 'journal.db'))
    diagnostics = TopicLog(ros.node, DiagnosticArray, '/diagnostics', 10)
    try:
        fleet.start_coordinator()
        _take_off(fleet)
        kind = 'motion'
        plan_id = f'full_{uuid.uuid4().hex[:6]}'
        steps = _kind_steps(plan_id, fleet.robot_id, kind)
        fleet.send(plan_id, steps)
        fleet.wait_step_state(plan_id, kind, OperationStatus.STATE_RUNNING)
        _fill(small_disk / 'filler')
        # The step's result cannot be stored: the fault is raised, not swallowed.
        raised = diagnostics.wait(lambda m: any(
            s.name.endswith('journal') and s.level == DiagnosticStatus.ERROR and
            'JOURNAL_UNAVAILABLE' in s.message for s in m.status), 30.0)
        assert raised is not None, f'no JOURNAL_UNAVAILABLE on /diagnostics; {fleet.log()}'
        refused_id = f'refused_{uuid.uuid4().hex[:6]}'
        handle = fleet.send(refused_id, _kind_steps(refused_id, fleet.robot_id, 'sensing'))
        result = fleet.serial.call(handle.get_result_async)
        done = threading.Event()
        result.add_done_callback(lambda f: done.set())
        assert done.wait(10.0), fleet.log()
        assert result.result().result.error_code == ErrorCode.JOURNAL_UNAVAILABLE, (
            result.result().result.error_msg)
        assert fleet.executions(f'{refused_id}.sensing') == ([], [])
        # The disk is freed: intake reopens; a restart reconciles what was not stored.
        os.remove(small_disk / 'filler')
        fleet.coordinator.stop()
        fleet.start_coordinator()
        statuses = fleet.wait_plan(plan_id, len(steps))
        counts = _check_once(fleet, plan_id, steps, statuses, kind, 'disk full')
        after = f'after_{uuid.uuid4().hex[:6]}'
        after_steps = _kind_steps(after, fleet.robot_id, 'sensing')
        fleet.send(after, after_steps)
        _check_once(fleet, after, after_steps, fleet.wait_plan(after, 1), 'sensing',
                    'disk freed')
        print(f'disk full {kind}: robot executions {counts}')
    finally:
        fleet.close()


def test_robot_sigkilled_mid_step_and_restarted_runs_each_step_once(
        start_executor, ros, tmp_path):
    # The robot executor dies mid-step and comes back on the same durable operation record.
    # Whether the killed program acted is not known, so the robot closes it INTERRUPTED and
    # the coordinator must end the step with that outcome (a dead letter) instead of sending
    # it again; a step that ended before the kill keeps its own outcome.
    robot = Robot(start_executor, ros, tmp_path, {'tick_rate_hz': 50.0,
                                                  'sim.ack_delay_s': 0.5})
    fleet = _Fleet(ros, robot, tmp_path)
    try:
        fleet.start_coordinator()
        for kind, (_, _, fault_after_s) in _KINDS.items():
            if kind == 'motion':
                _take_off(fleet)  # a restarted robot's simulator starts on the ground
            plan_id = f'robotkill_{kind}_{uuid.uuid4().hex[:6]}'
            steps = _kind_steps(plan_id, fleet.robot_id, kind)
            fleet.send(plan_id, steps)
            fleet.wait_step_state(plan_id, kind, OperationStatus.STATE_RUNNING)
            # Fault timing, not synchronisation: the kill lands inside the step.
            time.sleep(fault_after_s)
            robot.kill()
            robot.start()
            statuses = {s.step_id: s for s in fleet.wait_plan(plan_id, len(steps))}
            counts = {}
            for step in steps:
                events, records = fleet.executions(step.operation_id)
                starts = program_starts(robot.log(), step.operation_id)
                counts[step.step_id] = starts
                status = statuses[step.step_id]
                assert starts <= 1 and not [e for e in events if e != step.operation_id], (
                    f'{kind}: {step.step_id} started {starts} times on the robot, ids '
                    f'{events}; {fleet.log()}')
                assert status.attempt <= 1, f'{kind}: {step.step_id} attempt {status.attempt}'
                if not starts:
                    # Only a step after the faulted one may not have run (it was skipped).
                    assert step.step_id != kind and records == [], (step.step_id, records)
                    assert status.state == OperationStatus.STATE_SKIPPED, status
                    continue
                own = query_operation(ros, fleet.robot_id, step.operation_id).operations[0]
                if own.error_code == ErrorCode.INTERRUPTED:
                    assert status.state == OperationStatus.STATE_DEAD_LETTER, (
                        f'{kind}: {step.step_id} ended {status.state} ({status.error_msg}) '
                        f"over the robot's INTERRUPTED; {fleet.log()}")
                else:
                    assert own.state == OperationStatus.STATE_SUCCEEDED, own
                    assert status.state == OperationStatus.STATE_SUCCEEDED, status
                assert status.error_code == own.error_code, (status, own)
            # The faulted step itself ran, once.
            assert counts[kind] == 1, (counts, robot.log()[-3000:])
            print(f'robot sigkill {kind}: robot executions {counts}, outcomes '
                  f'{[(s, statuses[s].state, statuses[s].error_code) for s in counts]}')
    finally:
        fleet.close()
