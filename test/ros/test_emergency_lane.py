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
The emergency lane with real processes: robot executors, a coordinator, SIGSTOP and SIGCONT.

On the robot: a stop while 500 sensing goals load its tick; an emergency_stop during an
emergency_land (the landing goes on); the battery failsafe under a latched stop (injected
through the settable ``sim.fault.battery_percent``). On the coordinator: a stop for drone1
while a stop for a frozen drone2 waits (answered on its own; drone2 listed unreachable and
stopped after SIGCONT); a fleet-wide stop that holds a running plan until release. Both
nodes: an exception injected into a goal's path ends it INTERNAL_ERROR and the node goes on;
a bad parameter exits with status 2 and one line naming it.

Every wait is on a condition with a timeout; nothing asserts on a duration.
"""

import json
import threading
import time
import typing
import uuid

from action_msgs.msg import GoalStatus
from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.core.errors import ErrorCode
from brain_execution.ros.client import OperationClient
from brain_execution.ros.processes import config_file, node_command, NodeProcess
from brain_execution.ros.qos import EVENTS_QOS, intake_qos
from brain_execution_interfaces.action import ExecuteOperation, ExecutePlan
from brain_execution_interfaces.msg import OperationStatus, PlanStep, RobotState
from brain_execution_interfaces.srv import TriggerEmergencyStop
import pytest
from rclpy.action import ActionClient
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from .bad_parameters import refusal
from .conftest import _env, unique_robot_id

_TIMEOUT_S = 60.0
_CLIMB = {'altitude_m': 8.0, 'climb_speed_mps': 4.0}
_SENSING_GOALS = 500


def _ok(result, what: str) -> None:
    assert result is not None, f'{what}: no result'
    assert result.error_code == ErrorCode.NONE, f'{what}: {result.error_code} {result.error_msg}'


def _stopped(state: RobotState) -> bool:
    return state.emergency_stop_active


# --- on the robot ----------------------------------------------------------------------------

def _airborne(ros, executor) -> str:
    ros.wait_for_servers(executor, ['takeoff', 'go_to', 'capture_image', 'emergency_stop',
                                    'emergency_land'])
    _ok(ros.run(executor.robot_id, 'takeoff', _CLIMB), 'takeoff')
    return executor.robot_id


def test_a_stop_is_served_while_500_sensing_goals_load_the_tick(ros, start_executor):
    robot = _airborne(ros, start_executor('drone'))
    go = ros.send(robot, 'go_to', {'target': {'x_m': 150.0, 'y_m': 0.0, 'altitude_m': 8.0}})
    assert ros.wait_for_state(robot, lambda s: abs(s.velocity.linear.x) > 1.0, 20.0)
    captures = [ros.send(robot, 'capture_image', {'count': 4, 'interval_s': 1.0})
                for _ in range(_SENSING_GOALS)]
    # Sensing runs alongside motion: once the robot itself reports a capture active next to
    # the go_to, sensing is running when the stop arrives (under CI load the stop used to
    # overtake the whole burst's intake). Its robot_state, not the goals' feedback: the test
    # client drops feedback under the burst's 2,500 messages a second.
    assert ros.wait_for_state(robot, lambda s: len(s.active_operations) > 1, _TIMEOUT_S), \
        'no capture ever ran next to the go_to'
    # A client of its own: the test's other client is busy sending the burst.
    emergency = OperationClient(ros.node, callback_group=MutuallyExclusiveCallbackGroup())
    try:
        stop_done = threading.Event()
        box = {}

        def on_goal(future):
            emergency.get_result_async(future.result()).add_done_callback(
                lambda f: (box.update(result=f.result().result), stop_done.set()))

        emergency.send_goal_async(robot, 'emergency_stop', {'reason': 'test: loaded'}
                                  ).add_done_callback(on_goal)
        assert stop_done.wait(_TIMEOUT_S), 'the stop was not answered'
        unanswered = sum(not c.finished.is_set() for c in captures)
        _ok(box['result'], 'emergency_stop')
    finally:
        emergency.destroy()
    assert unanswered > 0, 'the burst was over before the stop: no load to speak of'
    motion = go.wait()
    assert motion.error_code == ErrorCode.PREEMPTED, motion.error_msg
    assert ros.wait_for_state(robot, _stopped, 10.0) is not None
    for capture in captures:
        result = capture.wait(_TIMEOUT_S)
        assert result.error_code in (ErrorCode.NONE, ErrorCode.PREEMPTED), result.error_msg
    assert any(c.result.error_code == ErrorCode.PREEMPTED for c in captures), \
        'no sensing goal was running when the stop arrived'
    _ok(ros.run(robot, 'emergency_stop', {'release': True}), 'release')


def test_emergency_stop_does_not_turn_an_emergency_land_into_a_hover(ros, start_executor):
    robot = _airborne(ros, start_executor('drone'))
    land = ros.send(robot, 'emergency_land', {'reason': 'test: smoke'})
    assert ros.wait_for_state(robot, lambda s: s.mode == 'EMERGENCY_LAND', 10.0) is not None
    _ok(ros.run(robot, 'emergency_stop', {'reason': 'test: operator'}), 'emergency_stop')
    latched = ros.wait_for_state(robot, _stopped, 10.0)
    assert latched is not None and latched.mode == 'EMERGENCY_LAND', \
        f'mode {latched.mode if latched else None} after the stop'
    _ok(land.wait(), 'emergency_land')
    landed = ros.wait_for_state(
        robot, lambda s: s.landed_state == RobotState.LANDED_ON_GROUND, 30.0)
    assert landed is not None and landed.emergency_stop_active
    _ok(ros.run(robot, 'emergency_stop', {'release': True}), 'release')


def test_the_battery_failsafe_stays_armed_while_a_stop_is_latched(ros, start_executor):
    executor = start_executor('drone')
    robot = _airborne(ros, executor)
    _ok(ros.run(robot, 'emergency_stop', {'reason': 'test: latched'}), 'emergency_stop')
    assert ros.wait_for_state(robot, _stopped, 10.0) is not None
    ros.set_parameters(f'/{robot}/robot_executor', {'sim.fault.battery_percent': 10.0})
    landing = ros.wait_for_state(robot, lambda s: s.mode == 'EMERGENCY_LAND', 20.0)
    assert landing is not None, f'no landing under the latched stop; log:\n{executor.log()}'
    assert landing.emergency_stop_active
    landed = ros.wait_for_state(
        robot, lambda s: s.landed_state == RobotState.LANDED_ON_GROUND and not s.armed, 60.0)
    assert landed is not None, 'the failsafe landing did not end on the ground'


def test_an_exception_in_a_goal_ends_it_internal_error_and_the_robot_goes_on(
        ros, start_executor):
    executor = start_executor('drone', parameters={
        'fault_injection.raise_in': ['capture_image']})
    ros.wait_for_servers(executor, ['capture_image', 'broadcast_status'])
    for _ in range(2):
        run = ros.send(executor.robot_id, 'capture_image', {})
        result = run.wait()
        assert result.error_code == ErrorCode.INTERNAL_ERROR, result.error_msg
        assert 'fault injected' in result.error_msg
        assert run.status == GoalStatus.STATUS_ABORTED
    _ok(ros.run(executor.robot_id, 'broadcast_status', {'message': 'still here'}),
        'broadcast_status')
    assert executor.running()


# --- parameters --------------------------------------------------------------------------

@pytest.mark.parametrize('executable, name, value', [
    ('robot_executor', 'tick_rate_hz', 'fast'),
    ('robot_executor', 'tick_rate_hz', 5000.0),
    ('robot_executor', 'history_size', 0),
    ('coordinator', 'max_concurrency', 'many'),
    ('coordinator', 'emergency.ack_timeout_s', 0.0),
])
def test_a_bad_parameter_exits_2_with_one_line_naming_it(executable, name, value):
    parameters = {name: value}
    if executable == 'coordinator':
        parameters['robots'] = ['drone1:drone']
    assert name in refusal(executable, parameters, namespace=f'/{unique_robot_id("bad")}')


# --- on the coordinator ------------------------------------------------------------------

class _Coordinator(NodeProcess):
    """A coordinator process over the given drones, its log kept for failure messages."""

    def __init__(self, robots: typing.Sequence[str], log_dir, **parameters):
        self.log_path = str(log_dir / 'coordinator.log')
        values = {'robots': [f'{r}:drone' for r in robots], 'link_timeout_s': 2.0,
                  'discovery_timeout_s': 5.0}
        values.update(parameters)
        super().__init__(node_command('coordinator', namespace='/execution',
                                      params_files=[config_file('coordinator.yaml')],
                                      parameters=values),
                         log_path=self.log_path, env=_env())

    def log(self) -> str:
        with open(self.log_path, 'rb') as log:
            return log.read().decode(errors='replace')[-6000:]


class _Calls:
    """The coordinator's emergency stop service and plan action, called from the test."""

    def __init__(self, node):
        qos = intake_qos(100)
        self.estop = node.create_client(TriggerEmergencyStop, '/execution/emergency_stop',
                                        qos_profile=qos)
        self.serial = SerialCalls(node)
        self.plans = ActionClient(node, ExecutePlan, '/execution/execute_plan',
                                  goal_service_qos_profile=qos,
                                  result_service_qos_profile=qos,
                                  cancel_service_qos_profile=qos)
        self.operations = ActionClient(node, ExecuteOperation, '/execution/execute_operation',
                                       goal_service_qos_profile=qos,
                                       result_service_qos_profile=qos,
                                       cancel_service_qos_profile=qos)
        self.events: typing.List[OperationStatus] = []
        self._cond = threading.Condition()
        node.create_subscription(OperationStatus, '/execution/events', self._on_event,
                                 EVENTS_QOS)

    def _on_event(self, msg: OperationStatus) -> None:
        with self._cond:
            self.events.append(msg)
            self._cond.notify_all()

    def wait_event(self, predicate, timeout_s: float = _TIMEOUT_S):
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def stop_async(self, robot_ids=(), *, release=False, reason='test'):
        """Call emergency_stop; return (event set on the answer, box with 'response')."""
        done, box = threading.Event(), {}
        future = self.estop.call_async(TriggerEmergencyStop.Request(
            robot_ids=list(robot_ids), release=release, reason=reason))

        def on_done(f):
            box['response'] = f.result()
            done.set()

        future.add_done_callback(on_done)
        return done, box

    def stop(self, robot_ids=(), **kwargs):
        done, box = self.stop_async(robot_ids, **kwargs)
        assert done.wait(_TIMEOUT_S), 'emergency_stop was not answered'
        return box['response']

    def goal(self, client, goal):
        """Send a goal; return (its _GoalResult, box with 'result' and 'status')."""
        done, box = _GoalResult(), {}

        def on_result(future):
            response = future.result()
            if not done.is_set():
                box.update(result=response.result, status=response.status)
                done.set()

        def on_goal(future):
            handle = future.result()
            assert handle.accepted
            done.ask = lambda: self.serial.call(handle.get_result_async).add_done_callback(
                on_result)
            done.ask()

        self.serial.call(client.send_goal_async, goal).add_done_callback(on_goal)
        return done, box


class _GoalResult(threading.Event):
    """
    Set when a goal's result arrives; wait() asks for the result again while it does not.

    DDS can drop a service response (see brain_execution.ros.service_calls); a result
    request is safe to repeat, and the server answers each one once the goal has ended.
    """

    _ASK_AGAIN_S = 5.0

    def __init__(self):
        super().__init__()
        self.ask = None  # set once the goal is accepted

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0.0:
                return self.is_set()
            step = self._ASK_AGAIN_S if remaining is None else min(remaining, self._ASK_AGAIN_S)
            if super().wait(step):
                return True
            if self.ask is not None:
                self.ask()


@pytest.fixture(scope='module')
def coordinated(module_start_executor, module_ros, tmp_path_factory):
    """Two drone executors and a coordinator whose execute_operation has a fault injected."""
    drones = [module_start_executor('drone') for _ in range(2)]
    coordinator = _Coordinator(
        [d.robot_id for d in drones], tmp_path_factory.mktemp('coordinator'),
        # Long enough that the frozen robot's call is still waiting when drone1's is answered.
        **{'emergency.ack_timeout_s': 10.0, 'emergency.resend_period_s': 0.5,
           'fault_injection.raise_in': ['execute_operation']})
    try:
        calls = _Calls(module_ros.node)
        for drone in drones:
            module_ros.wait_for_servers(drone, ['takeoff', 'go_to', 'emergency_stop'])
        assert calls.estop.wait_for_service(timeout_sec=30.0), coordinator.log()
        assert calls.plans.wait_for_server(timeout_sec=30.0), coordinator.log()
        for drone in drones:
            assert module_ros.wait_for_state(drone.robot_id, lambda s: s.link_up, 30.0)
        yield {'drones': drones, 'coordinator': coordinator, 'calls': calls,
               'ros': module_ros}
    finally:
        coordinator.stop()


def _step(step_id, robot_id, operation, params=None, depends_on=()) -> PlanStep:
    return PlanStep(step_id=step_id, robot_id=robot_id, operation=operation,
                    parameters=json.dumps(params or {}), depends_on=list(depends_on))


def test_a_fleet_wide_stop_holds_a_running_plan_until_release(coordinated):
    calls, ros = coordinated['calls'], coordinated['ros']
    drone = coordinated['drones'][0].robot_id
    plan_id = f'held_{uuid.uuid4().hex[:6]}'
    far = {'target': {'x_m': 60.0, 'y_m': 0.0, 'altitude_m': 6.0}, 'speed_mps': 5.0}
    done, box = calls.goal(calls.plans, ExecutePlan.Goal(plan_id=plan_id, steps=[
        _step('up', drone, 'takeoff', {'altitude_m': 6.0, 'climb_speed_mps': 4.0}),
        _step('out', drone, 'go_to', far, depends_on=['up']),
        _step('back', drone, 'go_to', {'target': {'x_m': 0.0, 'y_m': 0.0, 'altitude_m': 6.0}},
              depends_on=['out'])]))
    assert calls.wait_event(lambda e: e.plan_id == plan_id and e.step_id == 'out' and
                            e.state == OperationStatus.STATE_RUNNING), \
        coordinated['coordinator'].log()
    response = calls.stop(reason='test: fleet-wide')
    assert response.error_code == ErrorCode.NONE, response.error_msg
    assert sorted(response.stopped_robot_ids) == sorted(
        d.robot_id for d in coordinated['drones'])
    held = calls.wait_event(lambda e: e.plan_id == plan_id and e.step_id == 'out' and
                            'held until the emergency stop is released' in e.error_msg)
    assert held is not None, coordinated['coordinator'].log()
    # Held: from its first latched state on, twenty robot states in a row show the drone
    # latched with nothing running.
    assert ros.wait_for_state(drone, _stopped, 10.0) is not None
    seen = {}

    def held_for_a_while(state: RobotState) -> bool:
        seen[(state.header.stamp.sec, state.header.stamp.nanosec)] = (
            state.emergency_stop_active and not state.active_operations)
        return len(seen) >= 20

    assert ros.wait_for_state(drone, held_for_a_while, 30.0), 'no robot states'
    assert all(seen.values()), 'the plan went on under the stop'
    assert not done.is_set(), 'the plan ended under the stop'
    assert not [e for e in calls.events if e.plan_id == plan_id and e.step_id == 'back']
    assert calls.stop(release=True).error_code == ErrorCode.NONE
    assert done.wait(_TIMEOUT_S), 'the plan did not go on after the release'
    assert box['result'].error_code == ErrorCode.NONE, box['result'].error_msg
    steps = {s.step_id: s for s in box['result'].steps}
    assert steps['out'].attempt == 2 and steps['back'].state == OperationStatus.STATE_SUCCEEDED


def test_a_stop_is_answered_while_another_waits_on_a_frozen_robot(coordinated):
    calls, ros = coordinated['calls'], coordinated['ros']
    drone1, drone2 = coordinated['drones']
    assert ros.wait_for_state(drone2.robot_id, lambda s: not s.emergency_stop_active, 20.0)
    drone2.process.send_signal(19)  # SIGSTOP
    try:
        frozen_done, frozen = calls.stop_async([drone2.robot_id], reason='test: frozen')
        # The frozen robot's call is still waiting (10 s acknowledgement timeout) when
        # drone1's is made, and drone1's must not wait for it.
        response = calls.stop([drone1.robot_id], reason='test: reachable')
        assert not frozen_done.is_set(), 'the frozen robot answered: nothing was tested'
        assert response.error_code == ErrorCode.NONE, response.error_msg
        assert list(response.stopped_robot_ids) == [drone1.robot_id]
        assert frozen_done.wait(_TIMEOUT_S), 'the call for the frozen robot never answered'
        answer = frozen['response']
        assert list(answer.failed_robot_ids) == [drone2.robot_id], answer.error_msg
        assert answer.error_code == ErrorCode.COMMUNICATION_FAILURE
        assert answer.error_msg.startswith(f'{drone2.robot_id}: unreachable')
        assert 're-sent' in answer.error_msg
    finally:
        drone2.process.send_signal(18)  # SIGCONT
    latched = ros.wait_for_state(drone2.robot_id, _stopped, 30.0)
    assert latched is not None, 'the frozen robot never got its stop after SIGCONT'
    assert calls.stop(release=True).error_code == ErrorCode.NONE
    for drone in (drone1, drone2):
        assert ros.wait_for_state(drone.robot_id, lambda s: not s.emergency_stop_active, 20.0)


def test_an_exception_in_a_coordinator_goal_ends_it_internal_error(coordinated):
    calls = coordinated['calls']
    drone = coordinated['drones'][0].robot_id
    done, box = calls.goal(calls.operations, ExecuteOperation.Goal(
        robot_id=drone, operation='capture_image', parameters='{}'))
    assert done.wait(_TIMEOUT_S)
    assert box['result'].error_code == ErrorCode.INTERNAL_ERROR, box['result'].error_msg
    assert 'fault injected' in box['result'].error_msg
    assert box['status'] == GoalStatus.STATUS_ABORTED
    # Still serving: a plan runs, and the emergency stop answers.
    done, box = calls.goal(calls.plans, ExecutePlan.Goal(
        plan_id=f'after_{uuid.uuid4().hex[:6]}',
        steps=[_step('img', drone, 'capture_image')]))
    assert done.wait(_TIMEOUT_S) and box['result'].error_code == ErrorCode.NONE
    assert coordinated['coordinator'].running()
