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
fleet_sim as a user starts it: several robots in one process, each a robot like any other.

* Three robots hosted by one ``fleet_sim`` process each run a goal of their own.
* A robot in ``fleet_sim`` has the same topics, services, actions and parameters (names and
  types) as a ``robot_executor`` in its own process, its namespace aside.
"""

import threading
import time
import typing

from brain_execution.core.errors import ErrorCode
from brain_execution.ros.processes import program_command
from brain_execution.ros.service_calls import call_until_answered
import pytest
from rcl_interfaces.srv import DescribeParameters, ListParameters
from rclpy.action import graph as action_graph

from .conftest import ExecutorProcess, RESULT_TIMEOUT_S, unique_robot_id

_DISCOVERY_S = 60.0


@pytest.fixture
def start_fleet_sim(tmp_path):
    started = []

    def start(arguments: typing.Sequence[str]) -> ExecutorProcess:
        process = ExecutorProcess(
            'fleet_sim', str(tmp_path / f'fleet_sim{len(started)}.log'),
            command=program_command('fleet_sim', module='brain_execution.deploy.fleet_sim',
                                    arguments=list(arguments)))
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


def test_fleet_sim_hosts_three_robots_that_each_run_a_goal(ros, start_fleet_sim):
    prefix = unique_robot_id('fs') + '_'
    process = start_fleet_sim(['--count', '3', '--prefix', prefix])
    robots = [f'{prefix}{i}' for i in (1, 2, 3)]
    for robot in robots:
        missing = ros.operations.wait_for_servers(robot, ['takeoff'], _DISCOVERY_S)
        assert not missing, f'{robot}: no server for {missing}; log:\n{process.log()}'
    runs = {robot: ros.send(robot, 'takeoff', {'altitude_m': 3.0 + i, 'climb_speed_mps': 3.0})
            for i, robot in enumerate(robots)}
    for i, (robot, run) in enumerate(runs.items()):
        result = run.wait(RESULT_TIMEOUT_S)
        assert result.error_code == ErrorCode.NONE, f'{robot}: {result.error_msg}'
        state = ros.wait_for_state(robot, lambda s, i=i: abs(s.pose.position.z - 3.0 - i) < 0.3)
        assert state is not None, f'{robot} did not reach its own altitude'
        assert state.robot_id == robot
    assert process.running(), process.log()


def _graph(node, name: str, namespace: str) -> typing.Dict[str, typing.Any]:
    """Return one node's graph entries with its namespace replaced by ``<ns>``."""
    def local(entries):
        return sorted((n.replace(namespace + '/', '<ns>/', 1), tuple(t)) for n, t in entries)

    names = node.get_node_names_and_namespaces()
    if (name, namespace) not in names:
        return {}  # not discovered yet
    return {
        'publishers': local(node.get_publisher_names_and_types_by_node(name, namespace)),
        'subscriptions': local(node.get_subscriber_names_and_types_by_node(name, namespace)),
        'services': local(node.get_service_names_and_types_by_node(name, namespace)),
        'action_servers': local(action_graph.get_action_server_names_and_types_by_node(
            node, name, namespace)),
    }


def _call(node, srv_type, name: str, request, timeout_s: float = 10.0):
    client = node.create_client(srv_type, name)
    try:
        assert client.wait_for_service(timeout_sec=_DISCOVERY_S), f'no service {name}'
        response = call_until_answered(client, request, timeout_s)
        assert response is not None, f'no answer from {name}'
        return response
    finally:
        node.destroy_client(client)


def _parameters(node, fqn: str) -> typing.List[typing.Tuple[str, int, bool]]:
    names = _call(node, ListParameters, f'{fqn}/list_parameters',
                  ListParameters.Request()).result.names
    described = _call(node, DescribeParameters, f'{fqn}/describe_parameters',
                      DescribeParameters.Request(names=list(names))).descriptors
    return sorted((d.name, d.type, d.read_only) for d in described)


def test_fleet_sim_robot_has_the_names_and_types_of_a_standalone_robot(
        ros, start_executor, start_fleet_sim):
    standalone = start_executor('drone')
    prefix = unique_robot_id('parity') + '_'
    # The remappings launch_ros passes to every Node action: left out, robots keep names.
    start_fleet_sim(['--count', '2', '--prefix', prefix, '--ros-args', '-r',
                     '__node:=fleet_sim', '-r', '__ns:=/'])
    hosted = f'/{prefix}2'
    alone = f'/{standalone.robot_id}'
    deadline = time.monotonic() + _DISCOVERY_S
    event = threading.Event()
    while True:
        # The graph fills in as discovery proceeds: compare once both are complete.
        a = _graph(ros.node, 'robot_executor', alone)
        b = _graph(ros.node, 'robot_executor', hosted)
        if a and a == b and a['action_servers'] or time.monotonic() > deadline:
            break
        event.wait(0.2)  # the graph has no change callback in rclpy
    assert a and a['action_servers'], f'no action servers seen on {alone}'
    assert b, f'{hosted} not seen'
    for kind in a:
        assert a[kind] == b[kind], (
            f'{kind} differ: standalone only {sorted(set(a[kind]) - set(b[kind]))}, '
            f'fleet_sim only {sorted(set(b[kind]) - set(a[kind]))}')
    params_a = _parameters(ros.node, f'{alone}/robot_executor')
    params_b = _parameters(ros.node, f'{hosted}/robot_executor')
    assert len(params_a) > 20
    assert params_a == params_b, (
        f'parameters differ: standalone only {sorted(set(params_a) - set(params_b))}, '
        f'fleet_sim only {sorted(set(params_b) - set(params_a))}')


def test_fleet_sim_refuses_a_bad_count(start_fleet_sim):
    process = start_fleet_sim(['--count', '0'])
    assert process.process.wait(timeout=30.0) == 2, process.log()
    assert 'at least 1' in process.log()
