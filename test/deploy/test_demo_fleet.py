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
``make demo``'s fleet is a fleet file: real bridges, and the protocol simulators they reach.

The demo starts what the fleet file describes, through the fleet runner; these tests check
the file's bridges meet its simulators, the demo's speed reaches every clock, and the one
simulator that is no ROS node starts from the command line the runner (and launch_ros)
builds for it.
"""

import dataclasses
import os

from brain_execution import demo
from brain_execution.core.fleet_file import load_fleet
from brain_execution.deploy import runner
from brain_execution.ros.processes import NodeProcess
from brain_execution.sim.nmea_autopilot.control import wait_ready
import pytest


@pytest.fixture(scope='module')
def fleet(repo_root):
    return load_fleet(repo_root / 'config' / 'fleets' / demo.DEMO_FLEET)


def _simulator(fleet, executable: str):
    return next(s for s in fleet.simulators if s.executable == executable)


def test_the_demo_fleet_flies_the_missions_on_real_bridges(fleet):
    assert {r.robot_id: r.bridge for r in fleet.robots} == {
        'drone1': 'mavros', 'rover1': 'nav2', 'boat1': 'nmea'}
    assert set(demo.MISSIONS) == {r.robot_id for r in fleet.robots}
    # Every plan step is addressed to a robot of the file.
    assert {s.robot_id for s in demo.mission_plan('p').steps} == set(demo.MISSIONS)


def test_each_bridge_reaches_its_simulator(fleet):
    drone, rover, boat = (fleet.robot(r) for r in ('drone1', 'rover1', 'boat1'))
    # MAVROS lives under the drone's namespace (<ns>/mavros/...), as sim_mavros serves it.
    assert _simulator(fleet, 'sim_mavros').namespace == drone.namespace
    assert _simulator(fleet, 'sim_mavros').parameters['flavour'] == 'px4'
    assert _simulator(fleet, 'sim_nav2').namespace == rover.bridge_settings['namespace']
    arguments = list(_simulator(fleet, 'sim_nmea_autopilot').arguments)
    assert arguments[arguments.index('--tcp-port') + 1] == str(boat.bridge_settings['port'])
    assert boat.bridge_settings['transport'] == 'tcp_client'


@pytest.mark.parametrize('speed', [1.0, 5.0])
def test_the_demo_speed_reaches_every_clock(tmp_path, speed):
    fleet, nodes = demo.demo_nodes(str(tmp_path), speed)
    by_executable = {node.executable: node for node in nodes}
    assert set(by_executable) == {'sim_mavros', 'sim_nav2', 'sim_nmea_autopilot',
                                  'robot_executor', 'coordinator'}
    assert len(nodes) == len(fleet.simulators) + len(fleet.robots) + 1

    def parameters(node) -> dict:
        merged = {}
        for entry in node.parameters:
            if isinstance(entry, dict):
                merged.update(entry)
        return merged

    ros_nodes = [n for n in nodes if n.executable != 'sim_nmea_autopilot']
    assert all(parameters(n)['use_sim_time'] is (speed != 1.0) for n in ros_nodes), \
        [(n.label, parameters(n).get('use_sim_time')) for n in ros_nodes]
    # sim_nav2 owns /clock at that rate; the NMEA autopilot keeps its own clock at it.
    assert parameters(by_executable['sim_nav2'])['clock_rate'] == speed
    arguments = list(by_executable['sim_nmea_autopilot'].arguments)
    assert arguments[arguments.index('--clock-rate') + 1] == f'{speed:g}'
    assert parameters(by_executable['coordinator'])['journal_path'] == \
        os.path.join(str(tmp_path), 'journal.db')


def test_an_edited_fleet_file_that_drops_a_robot_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, 'MISSIONS', dict(demo.MISSIONS, glider1=[]))
    with pytest.raises(ValueError, match='glider1'):
        demo.demo_nodes(str(tmp_path), 1.0)


def test_the_nmea_simulator_starts_from_a_node_command_line(tmp_path):
    """launch_ros and the runner append --ros-args; the autopilot takes none and ignores them."""
    ready = tmp_path / 'ready.json'
    node = next(n for n in demo.demo_nodes(str(tmp_path), 1.0)[1]
                if n.executable == 'sim_nmea_autopilot')
    # A free port instead of the demo's, so that a running demo does not collide.
    node = dataclasses.replace(node, arguments=(
        '--tcp-port', '0', '--ready-file', str(ready)))
    command = runner.command_line(node, str(tmp_path))
    assert '--ros-args' in command
    process = NodeProcess(command, log_path=str(tmp_path / 'autopilot.log'))
    try:
        ports = wait_ready(str(ready), process.process)
        assert ports['tcp_port'] > 0
    finally:
        assert process.stop() == 0, (tmp_path / 'autopilot.log').read_text()
