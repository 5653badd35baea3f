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

"""Fleet files: loading, validation messages naming the file and key, the demo fleet."""

import textwrap

from brain_execution.core.errors import FleetFileError
from brain_execution.core.fleet_file import (
    COORDINATOR_POLICIES, ENVELOPE_PARAMETERS, load_fleet, robot_spec)
from brain_execution.core.state import Platform
import pytest


def _problems(text: str, name: str = 'fleet.yaml'):
    with pytest.raises(FleetFileError) as caught:
        load_fleet(name, text=textwrap.dedent(text))
    return caught.value.problems


def test_demo_fleet_loads_with_every_section(repo_root):
    fleet = load_fleet(repo_root / 'config' / 'fleets' / 'demo.yaml')
    assert fleet.name == 'demo'
    assert [(r.robot_id, r.namespace, r.platform, r.bridge) for r in fleet.robots] == [
        ('drone1', '/drone1', Platform.DRONE, 'sim'),
        ('rover1', '/rover1', Platform.GROUND, 'sim'),
        ('boat1', '/boat1', Platform.SURFACE, 'sim')]
    drone = fleet.robot('drone1')
    # Integers in the file become the float the executor declares.
    assert drone.envelope['geofence.altitude_ceiling_m'] == 100.0
    assert isinstance(drone.envelope['limits.max_speed_mps'], float)
    assert drone.bridge_settings == {'initial_battery_percent': 95.0, 'max_speed_mps': 12.0}
    assert fleet.robot('rover1').bridge_settings['docks'] == ['charger:0.0:0.0']
    assert fleet.coordinator['retry.max_attempts'] == 3
    assert fleet.map_origin.latitude_deg == pytest.approx(47.397742)
    assert fleet.source == str(repo_root / 'config' / 'fleets' / 'demo.yaml')


def test_every_problem_is_reported_with_file_and_key_path():
    problems = _problems("""\
        robots:
          - id: 1drone
            platform: plane
            bridge: {name: sim, settings: {docks: [1, x]}}
            namespace: drone
            envelope: {limits: {max_speed_mps: 300}, geofnce: {}}
          - {id: rover1, platform: ground, bridge: sim, home: {latitude_deg: 91,
             longitude_deg: 0}}
          - {id: rover1, platform: ground, bridge: sim, envelope: {battery: {
             auto_return_home: 1}, geofence: {polygon_xy: [0, 0, 1, 1]}}}
        coordinator: {retry: {max_attempts: 2.5}, link_timeout_s: 0}
        """)
    assert problems == (
        "fleet.yaml: robots[0].id: '1drone' is not a valid robot id (a letter, then "
        'letters, digits or underscores)',
        "fleet.yaml: robots[0].platform: 'plane' is not one of drone, ground, surface",
        'fleet.yaml: robots[0].bridge.settings.docks: a list parameter holds values of one '
        'type: booleans, integers, floats or strings',
        "fleet.yaml: robots[0].namespace: 'drone' is not an absolute ROS namespace such as "
        '/drone1 or /site_a/drone1',
        "fleet.yaml: robots[0].envelope.geofnce: unknown key; did you mean 'geofence'? "
        'expected one of battery, geofence, limits, payload',
        'fleet.yaml: robots[0].envelope.limits.max_speed_mps: 300 is outside 0.1..100.0',
        'fleet.yaml: robots[1].home.latitude_deg: 91 is outside -90.0..90.0',
        'fleet.yaml: robots[2].envelope.battery.auto_return_home: 1 is not a bool',
        'fleet.yaml: robots[2].envelope.geofence.polygon_xy: has 4 numbers; expected at '
        'least 3 x, y pairs',
        "fleet.yaml: robots[2]: id 'rover1' is used twice",
        "fleet.yaml: robots[2]: namespace '/rover1' is used twice",
        'fleet.yaml: coordinator.retry.max_attempts: 2.5 is not an integer',
        'fleet.yaml: coordinator.link_timeout_s: 0 is outside 0.5..600.0',
    )


def test_structure_errors_name_the_key():
    assert _problems('robots: []\n') == (
        'fleet.yaml: robots: expected a non-empty list of robots',)
    assert _problems('name: demo\n') == ('fleet.yaml: robots: missing',)
    assert _problems('robots: [{id: a}]\nextra: 1\n') == (
        'fleet.yaml: extra: unknown key; expected one of name, map_origin, robots, '
        'simulators, coordinator',
        'fleet.yaml: robots[0]: missing platform',
        'fleet.yaml: robots[0]: missing bridge',
        'fleet.yaml: robots[0].bridge: None is not a valid bridge name (or a mapping with '
        'name and settings) (a letter, then letters, digits or underscores)')
    with pytest.raises(FleetFileError, match=r'^fleet.yaml: invalid YAML: '):
        load_fleet('fleet.yaml', text='robots: [')
    with pytest.raises(FleetFileError, match=r'^nowhere.yaml: cannot be read: '):
        load_fleet('nowhere.yaml')


def test_simulators_are_generic_processes(tmp_path):
    (tmp_path / 'sim.yaml').write_text('/**: {ros__parameters: {rate_hz: 5.0}}\n')
    fleet_file = tmp_path / 'f.yaml'
    fleet_file.write_text(textwrap.dedent("""\
        robots: [{id: drone1, platform: drone, bridge: mavros}]
        simulators:
          - name: sim_mavros_drone1
            executable: sim_mavros
            namespace: /drone1
            arguments: [--instance, 0]
            parameters: {link: {loss_rate: 0.1}, clock_rate: 5}
            params_file: sim.yaml
        """))
    fleet = load_fleet(fleet_file)
    assert fleet.name == 'f'
    (sim,) = fleet.simulators
    assert (sim.name, sim.package, sim.executable, sim.namespace, sim.arguments) == (
        'sim_mavros_drone1', 'brain_execution', 'sim_mavros', '/drone1', ('--instance', '0'))
    assert sim.parameters == {'link.loss_rate': 0.1, 'clock_rate': 5}
    assert sim.params_file == str(tmp_path / 'sim.yaml')
    assert _problems("""\
        robots: [{id: a, platform: drone, bridge: sim}]
        simulators: [{name: s, executable: bin/x, params_file: missing.yaml}, {name: s}]
        """, str(tmp_path / 'g.yaml')) == (
        f"{tmp_path}/g.yaml: simulators[0].executable: 'bin/x' is not an executable name",
        f'{tmp_path}/g.yaml: simulators[0].params_file: {tmp_path}/missing.yaml does not '
        'exist',
        f'{tmp_path}/g.yaml: simulators[1]: missing executable',
        f"{tmp_path}/g.yaml: simulators[1]: name 's' is used twice")


def test_robot_spec_alone_is_what_robot_launch_builds():
    robot = robot_spec({'id': 'site_a_drone1', 'namespace': '/site_a/drone1',
                        'platform': 'drone', 'bridge': 'mavros'})
    assert robot.namespace == '/site_a/drone1'
    assert robot.params_file == '' and robot.home is None and robot.envelope == {}
    with pytest.raises(FleetFileError, match=r"^robot.launch.py: arguments.platform: 'boat'"):
        robot_spec({'id': 'x', 'platform': 'boat', 'bridge': 'sim'},
                   source='robot.launch.py', path='arguments')


def _declared(table):
    return {name: limits for name, _default, _description, limits in table}


def test_tables_follow_what_the_nodes_declare():
    # The loader checks numbers against its own tables (the core cannot import the nodes);
    # they must say what the executor and the coordinator declare.
    pytest.importorskip('rclpy', reason='the node parameter tables need rclpy')
    from brain_execution.ros import config, coordinator
    executor = _declared(config._PARAMETERS)
    for name, kind in ENVELOPE_PARAMETERS.items():
        assert name in executor, name
        if isinstance(kind, tuple):
            assert executor[name] == kind, name
    declared = _declared(coordinator._PARAMETERS)
    for name, kind in COORDINATOR_POLICIES.items():
        assert name in declared, name
        if isinstance(kind, tuple):
            assert declared[name] == kind, name
