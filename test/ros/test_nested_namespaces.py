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
Robots in nested namespaces, coordinated through the fleet file path, as separate processes.

A fleet file puts a drone at ``/site_a/<id>`` and a ground robot at ``/site_b/<id>`` (sim
bridge); their executors and the coordinator are started with the command lines that
``fleet_runner`` and the launch files build from it (``describe_robot`` /
``describe_coordinator`` + ``runner.command_line``), so the coordinator gets ``robot_ids``
and ``robots.<id>.platform`` / ``robots.<id>.namespace``. Nothing answers at ``/<id>``: a
name built the old way finds no server, no state and no service.

* the coordinator's per-robot parameters are declared, read-only and described;
* a plan over both robots runs on them; the coordinator is SIGKILLed while the drone hovers
  and restarted on its journal, and the resumed plan ends without a second hover (the
  unknown step was reconciled through the drone's ``query_operation``);
* ``/execution/emergency_stop`` reaches both robots: the drone's running hover is ended, both
  latch the stop, and after the release the held plan goes on and lands;
* a robot given both ways, an invalid namespace, an unknown platform or a ``robots.<id>.*``
  value for an unlisted id stops the coordinator with exit status 2 and one line naming it.

Outcomes are asserted from the robots' own evidence (``<namespace>/operation_events``,
``<namespace>/robot_state``, ``<namespace>/query_operation``), never from what the
coordinator reports. Every wait is on a condition with a timeout.
"""

import json
import threading
import time
import uuid

from brain_execution.bridges.serial_calls import SerialCalls
from brain_execution.core.fleet_file import load_fleet
from brain_execution.deploy import nodes, runner
from brain_execution.ros.client import OperationClient
from brain_execution.ros.processes import config_file, NodeProcess
from brain_execution.ros.qos import intake_qos, STATE_QOS
from brain_execution.ros.service_calls import call_until_answered
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import ErrorCode, OperationStatus, PlanStep, RobotState
from brain_execution_interfaces.srv import QueryOperation, TriggerEmergencyStop
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import pytest
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import DescribeParameters, GetParameters
from rclpy.action import ActionClient
from rclpy.action.graph import (
    get_action_client_names_and_types_by_node, get_action_server_names_and_types_by_node)

from .bad_parameters import refusal
from .conftest import _env, DISCOVERY_TIMEOUT_S, ExecutorProcess, unique_robot_id
from .topic_log import TopicLog

_TIMEOUT_S = 60.0
_CLIMB = {'altitude_m': 3.0, 'climb_speed_mps': 3.0}
_LAND = {'descent_speed_mps': 3.0}
_ENDED = {OperationStatus.STATE_SUCCEEDED, OperationStatus.STATE_FAILED,
          OperationStatus.STATE_CANCELED}


class _Coordinator:
    """The fleet file's coordinator, started (and restarted on its journal) as fleet_runner."""

    def __init__(self, fleet, work_dir):
        self._work_dir = work_dir
        description = nodes.describe_coordinator(fleet,
                                                 journal_path=str(work_dir / 'journal.db'))
        self.parameters = dict(description.parameters[0])
        self._command = runner.command_line(description, str(work_dir))
        self._starts = 0
        self.process = self.log_path = None

    def start(self) -> None:
        self._starts += 1
        self.log_path = str(self._work_dir / f'coordinator.{self._starts}.log')
        self.process = NodeProcess(self._command, log_path=self.log_path, env=_env())

    def log(self) -> str:
        with open(self.log_path, 'rb') as log:
            return 'coordinator log:\n' + log.read().decode(errors='replace')[-6000:]


class _Robot:
    """One robot's executor process and its own evidence, in its namespace."""

    def __init__(self, node, spec, work_dir):
        self.spec, self.robot_id, self.namespace = spec, spec.robot_id, spec.namespace
        self.process = ExecutorProcess(
            spec.robot_id, str(work_dir / f'{spec.robot_id}.log'),
            command=runner.command_line(nodes.describe_robot(spec), str(work_dir)))
        self.states = TopicLog(node, RobotState, f'{spec.namespace}/robot_state', STATE_QOS,
                               keep=50)
        self.events = TopicLog(node, OperationStatus, f'{spec.namespace}/operation_events')
        self.query = node.create_client(QueryOperation, f'{spec.namespace}/query_operation')

    def fresh_state(self, condition, timeout_s: float = 20.0):
        """Return the first robot_state from now on satisfying condition (None: none came)."""
        self.states.clear()
        return self.states.wait(condition, timeout_s)

    def ended(self, operation_id: str, timeout_s: float = _TIMEOUT_S) -> OperationStatus:
        """Return the robot's event ending operation_id; fail the test if none comes."""
        event = self.events.wait(lambda e: e.operation_id == operation_id and
                                 e.state in _ENDED, timeout_s)
        assert event is not None, f'{self.namespace}: {operation_id} never ended on the robot'
        return event

    def ids_run(self, prefix: str):
        """Return the operation ids the robot reported starting, of those under prefix."""
        return sorted({e.operation_id for e in self.events.snapshot()
                       if e.operation_id.startswith(prefix) and e.started})


@pytest.fixture(scope='module')
def site(module_ros, tmp_path_factory):
    """Start a drone at /site_a/<id>, a ground robot at /site_b/<id> and the coordinator."""
    work = tmp_path_factory.mktemp('nested')
    drone_id, rover_id = unique_robot_id('drone'), unique_robot_id('rover')
    fleet_path = work / 'fleet.yaml'
    fleet_path.write_text(json.dumps({
        'name': 'nested',
        'robots': [
            {'id': drone_id, 'namespace': f'/site_a/{drone_id}', 'platform': 'drone',
             'bridge': 'sim', 'params_file': config_file('drone.yaml')},
            {'id': rover_id, 'namespace': f'/site_b/{rover_id}', 'platform': 'ground',
             'bridge': 'sim', 'params_file': config_file('ground.yaml')}],
        # Short enough that a robot_state or a server looked up under the wrong name fails a
        # step well within the test's timeouts instead of passing unnoticed.
        'coordinator': {'link_timeout_s': 2.0, 'discovery_timeout_s': 10.0,
                        'reconcile_deadline_s': 60.0, 'reconcile_interval_s': 0.5,
                        'diagnostics_rate_hz': 2.0}}))
    fleet = load_fleet(fleet_path)
    node = module_ros.node
    robots, clients = [], {}
    coordinator = _Coordinator(fleet, work)
    operations = OperationClient(node, namespaces={r.robot_id: r.namespace
                                                   for r in fleet.robots})
    qos = intake_qos(100)
    plans = ActionClient(node, ExecutePlan, '/execution/execute_plan',
                         goal_service_qos_profile=qos, result_service_qos_profile=qos,
                         cancel_service_qos_profile=qos)
    diagnostics = TopicLog(node, DiagnosticArray, '/diagnostics', 10, keep=20)
    try:
        robots = [_Robot(node, spec, work) for spec in fleet.robots]
        clients = {
            'estop': node.create_client(TriggerEmergencyStop, '/execution/emergency_stop',
                                        qos_profile=qos),
            'query': node.create_client(QueryOperation, '/execution/query', qos_profile=qos),
            'get': node.create_client(GetParameters, '/execution/coordinator/get_parameters'),
            'describe': node.create_client(DescribeParameters,
                                           '/execution/coordinator/describe_parameters')}
        coordinator.start()
        for robot in robots:
            missing = operations.wait_for_servers(robot.robot_id, ['capture_image'],
                                                  DISCOVERY_TIMEOUT_S)
            assert not missing, f'{robot.namespace}: no {missing}; {robot.process.log()}'
        assert plans.wait_for_server(timeout_sec=DISCOVERY_TIMEOUT_S), coordinator.log()
        yield {'drone': robots[0], 'rover': robots[1], 'coordinator': coordinator,
               'node': node, 'plans': plans, 'clients': clients,
               'diagnostics': diagnostics, 'serial': SerialCalls(node)}
    finally:
        if coordinator.process is not None:
            coordinator.process.stop()
        for robot in robots:
            robot.process.stop()
            for log in (robot.states, robot.events):
                log.destroy()
            node.destroy_client(robot.query)
        for client in clients.values():
            node.destroy_client(client)
        plans.destroy()
        operations.destroy()
        diagnostics.destroy()


def _call(client, request, timeout_s: float = 20.0):
    assert client.wait_for_service(timeout_sec=DISCOVERY_TIMEOUT_S), client.srv_name
    response = call_until_answered(client, request, timeout_s)
    assert response is not None, f'{client.srv_name} never answered'
    return response


def _step(plan_id, step_id, robot, operation, params, depends_on=()) -> PlanStep:
    # The step's operation id is what the robot reports: its evidence is found by it.
    return PlanStep(step_id=step_id, robot_id=robot.robot_id, operation=operation,
                    parameters=json.dumps(params), depends_on=list(depends_on),
                    operation_id=f'{plan_id}.{step_id}')


def _links_up(site) -> None:
    """Wait until the coordinator reports both robots' links up (their robot_state)."""
    names = [f'brain_execution/robot/{site[r].robot_id}/link' for r in ('drone', 'rover')]
    site['diagnostics'].clear()
    found = site['diagnostics'].wait(lambda array: all(
        any(s.name == name and s.level == DiagnosticStatus.OK for s in array.status)
        for name in names), 30.0)
    assert found is not None, f'robot links never up; {site["coordinator"].log()}'


def _send(site, plan_id, steps) -> None:
    """Send a plan until it is answered accepted (journaled); the plan id makes it once."""
    goal = ExecutePlan.Goal(plan_id=plan_id, steps=steps)
    for _ in range(10):
        # A killed coordinator's endpoints linger in the graph a while: a goal matched to
        # them is never answered, and is sent again.
        answered, handles = threading.Event(), []

        def on_goal(future, answered=answered, handles=handles):
            handles.append(future.result())
            answered.set()

        site['serial'].call(site['plans'].send_goal_async, goal).add_done_callback(on_goal)
        if answered.wait(2.0):
            assert handles[0].accepted, site['coordinator'].log()
            return
    pytest.fail(f'plan {plan_id} never answered; {site["coordinator"].log()}')


def _eventually(condition, timeout_s: float = DISCOVERY_TIMEOUT_S):
    """Return condition()'s first true value, asking the ROS graph again until timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        # Graph queries have no change notification in rclpy; this only spaces them.
        time.sleep(0.1)


def _landed(state: RobotState) -> bool:
    return state.landed_state == RobotState.LANDED_ON_GROUND and not state.armed


def test_per_robot_parameters_are_declared_read_only_and_described(site):
    drone, rover, clients = site['drone'], site['rover'], site['clients']
    # What the fleet file path hands the coordinator: the per-robot form, nothing short.
    assert site['coordinator'].parameters['robot_ids'] == [drone.robot_id, rover.robot_id]
    assert 'robots' not in site['coordinator'].parameters
    names = ['robot_ids', f'robots.{drone.robot_id}.platform',
             f'robots.{drone.robot_id}.namespace', f'robots.{rover.robot_id}.namespace']
    values = _call(clients['get'], GetParameters.Request(names=names)).values
    assert [v.type for v in values] == [ParameterType.PARAMETER_STRING_ARRAY] + [
        ParameterType.PARAMETER_STRING] * 3, values
    assert list(values[0].string_array_value) == [drone.robot_id, rover.robot_id]
    assert [v.string_value for v in values[1:]] == ['drone', drone.namespace, rover.namespace]
    names.append('robots')  # the short form is declared and documented too
    descriptors = _call(clients['describe'],
                        DescribeParameters.Request(names=names)).descriptors
    by_name = {d.name: d for d in descriptors}
    assert set(by_name) == set(names), by_name
    for name, descriptor in by_name.items():
        # Fixed at start-up: ros2 param set must not re-address a robot under a running plan.
        assert descriptor.read_only, name
        assert descriptor.description, f'{name} is not described'
    assert 'namespace' in by_name[f'robots.{drone.robot_id}.namespace'].description
    assert 'drone, ground or surface' in by_name[f'robots.{drone.robot_id}.platform'].description
    assert '"robot_id:platform"' in by_name['robots'].description


def test_the_coordinator_addresses_each_robot_in_its_namespace_only(site):
    node, robots = site['node'], (site['drone'], site['rover'])
    # The executors run in their namespaces, and nothing runs at /<robot_id>.
    nodes_up = [('robot_executor', r.namespace) for r in robots] + [
        ('coordinator', '/execution'), ('coordinator_emergency', '/execution')]
    assert _eventually(lambda: set(nodes_up) <= set(node.get_node_names_and_namespaces())), \
        node.get_node_names_and_namespaces()
    for robot in robots:
        served = [name for name, _ in get_action_server_names_and_types_by_node(
            node, 'robot_executor', robot.namespace)]
        assert f'{robot.namespace}/capture_image' in served, served
    namespaces = {ns for _, ns in node.get_node_names_and_namespaces()}
    assert not namespaces & {f'/{r.robot_id}' for r in robots}, namespaces

    # The coordinator's own endpoints (its node and its emergency lane's): every one that
    # names a robot is in the robot's namespace.
    def coordinator_names():
        names = []
        for name in ('coordinator', 'coordinator_emergency'):
            names += [n for n, _ in get_action_client_names_and_types_by_node(
                node, name, '/execution')]
            names += [n for n, _ in node.get_subscriber_names_and_types_by_node(
                name, '/execution')]
        return names

    expected = {f'{r.namespace}/{leaf}' for r in robots
                for leaf in ('robot_state', 'emergency_stop')}

    def complete():
        names = coordinator_names()
        return names if expected <= set(names) else []

    names = _eventually(complete)
    assert names, f'the coordinator lacks {expected - set(coordinator_names())}'
    stray = [n for n in names for r in robots if n.startswith(f'/{r.robot_id}/')]
    assert not stray, stray


def test_plan_runs_on_the_nested_robots_and_survives_a_coordinator_restart(site):
    drone, rover, coordinator = site['drone'], site['rover'], site['coordinator']
    _links_up(site)
    plan_id = f'nested_{uuid.uuid4().hex[:8]}'
    # Long enough for the coordinator to be killed and restarted while it may still run; the
    # reconcile works either way (running: its result is awaited; ended: from the record).
    steps = [_step(plan_id, 'takeoff', drone, 'takeoff', _CLIMB),
             _step(plan_id, 'look', rover, 'capture_image', {'count': 1}),
             _step(plan_id, 'hover', drone, 'hover', {'duration_s': 4.0}, ['takeoff']),
             _step(plan_id, 'land', drone, 'land', _LAND, ['hover', 'look'])]
    _send(site, plan_id, steps)
    hover_id = f'{plan_id}.hover'
    running = drone.events.wait(lambda e: e.operation_id == hover_id and e.started,
                                _TIMEOUT_S)
    assert running is not None, f'the hover never started on the drone; {coordinator.log()}'
    coordinator.process.kill()
    coordinator.start()
    # Only the restarted coordinator can send the land: the first one is gone.
    for robot, step in ((drone, 'takeoff'), (rover, 'look'), (drone, 'hover'),
                        (drone, 'land')):
        event = robot.ended(f'{plan_id}.{step}')
        assert event.state == OperationStatus.STATE_SUCCEEDED, (step, event.error_msg,
                                                                coordinator.log())
    # Each step ran once, under its own id: the hover was reconciled by its id on
    # <namespace>/query_operation, not sent again (a new attempt would be <id>~2).
    drone_steps = ('takeoff', 'hover', 'land')
    assert drone.ids_run(plan_id) == sorted(f'{plan_id}.{s}' for s in drone_steps)
    assert rover.ids_run(plan_id) == [f'{plan_id}.look']
    records = _call(drone.query, QueryOperation.Request()).operations
    assert sorted(r.operation_id for r in records if r.operation_id.startswith(
        hover_id)) == [hover_id]
    assert drone.fresh_state(_landed) is not None, 'the drone did not end landed'
    statuses = _call(site['clients']['query'], QueryOperation.Request(
        plan_id=plan_id)).operations
    assert {s.step_id: s.attempt for s in statuses} == {s.step_id: 1 for s in steps}


def test_emergency_stop_reaches_the_nested_robots_and_release_lets_the_plan_go_on(site):
    drone, rover, clients = site['drone'], site['rover'], site['clients']
    coordinator = site['coordinator']
    if not coordinator.process.running():
        coordinator.start()  # an earlier test failed with its coordinator killed
    # The lane sends to robots it has heard from (their robot_state in their namespaces).
    _links_up(site)
    for robot in (drone, rover):
        assert robot.fresh_state(lambda s: not s.emergency_stop_active) is not None
    plan_id = f'stopped_{uuid.uuid4().hex[:8]}'
    hover_id = f'{plan_id}.hover'
    _send(site, plan_id, [
        _step(plan_id, 'takeoff', drone, 'takeoff', _CLIMB),
        _step(plan_id, 'hover', drone, 'hover', {'duration_s': 10.0}, ['takeoff']),
        _step(plan_id, 'land', drone, 'land', _LAND, ['hover'])])
    assert drone.events.wait(lambda e: e.operation_id == hover_id and e.started,
                             _TIMEOUT_S) is not None, coordinator.log()

    stop = _call(clients['estop'], TriggerEmergencyStop.Request(reason='test: nested'))
    assert stop.error_code == ErrorCode.NONE, stop.error_msg
    assert sorted(stop.stopped_robot_ids) == sorted([drone.robot_id, rover.robot_id]), stop
    # On the robots themselves: the hover ended before its 10 s, and both latched.
    hover = drone.ended(hover_id, 15.0)
    assert hover.state != OperationStatus.STATE_SUCCEEDED, hover
    for robot in (drone, rover):
        assert robot.fresh_state(lambda s: s.emergency_stop_active and
                                 not s.active_operations) is not None, \
            f'{robot.namespace} never latched the stop; {robot.process.log()[-3000:]}'

    release = _call(clients['estop'], TriggerEmergencyStop.Request(release=True,
                                                                   reason='test: done'))
    assert release.error_code == ErrorCode.NONE, release.error_msg
    assert sorted(release.stopped_robot_ids) == sorted([drone.robot_id, rover.robot_id])
    for robot in (drone, rover):
        assert robot.fresh_state(lambda s: not s.emergency_stop_active) is not None, \
            f'{robot.namespace} kept the stop after the release'
    # Held, not failed: the hover runs again (its next attempt), then the land.
    land = drone.ended(f'{plan_id}.land', 90.0)
    assert land.state == OperationStatus.STATE_SUCCEEDED, (land.error_msg, coordinator.log())
    assert drone.fresh_state(_landed) is not None, 'the drone did not end landed'


@pytest.mark.parametrize('parameters, named', [
    # The same robot in the short form and in robot_ids: which address would be meant?
    ({'robots': ['drone1:drone'], 'robot_ids': ['drone1'],
      'robots.drone1.platform': 'drone'}, 'robot_ids: robot drone1 is also in robots'),
    ({'robot_ids': ['drone1'], 'robots.drone1.platform': 'drone',
      'robots.drone1.namespace': '/site_a//drone1'}, 'robots.drone1.namespace'),
    ({'robot_ids': ['drone1'], 'robots.drone1.platform': 'plane'}, 'robots.drone1.platform'),
    # Left out of the fleet, a robot would be left out of fleet-wide emergency stops.
    ({'robot_ids': ['drone1'], 'robots.drone1.platform': 'drone',
      'robots.drone2.platform': 'drone'}, 'robots.drone2.platform'),
])
def test_a_bad_fleet_parameter_exits_2_with_one_line_naming_it(parameters, named):
    line = refusal('coordinator', parameters, namespace='/execution')
    assert line.startswith(f'coordinator: invalid parameter: {named}'), line
