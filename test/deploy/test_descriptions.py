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
The launch files and fleet_runner describe the same nodes with the same parameters.

``launch`` is not installable here, so the launch files are checked statically: parsed, every
declared argument documented, every node built by the shared description code from the
launch arguments of the same names the runner passes. The descriptions themselves, and the
command lines the runner makes of them, are checked against what launch_ros would do.
"""

import ast
from pathlib import Path

from brain_execution.core.fleet_file import load_fleet
from brain_execution.deploy import nodes, runner
import pytest
import yaml

_LAUNCH = Path(__file__).resolve().parents[2] / 'launch'
# The describe_* function each launch file calls, and what it must pass from which argument.
_EXPECTED = {
    'robot.launch.py': ('describe_robot', {'robot_id', 'namespace', 'platform', 'bridge',
                                           'params_file', 'use_sim_time', 'log_level',
                                           'respawn'}),
    'fleet.launch.py': ('describe_fleet', {'fleet', 'use_sim_time', 'log_level', 'respawn',
                                           'journal_path', 'fleet_sim'}),
    'sim.launch.py': ('describe_simulation', {'fleet', 'rviz', 'use_sim_time', 'log_level',
                                              'respawn', 'journal_path', 'fleet_sim'}),
}


def _calls(tree, name):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        getattr(node.func, 'id', None) == name or getattr(node.func, 'attr', None) == name)]


def _declared(tree):
    """Return the argument names a launch file declares (through declare_arguments)."""
    assert not _calls(tree, 'DeclareLaunchArgument'), 'declared outside LAUNCH_ARGUMENTS'
    (call,) = _calls(tree, 'declare_arguments')
    assert all(isinstance(a, ast.Constant) for a in call.args), ast.dump(call)
    return [a.value for a in call.args]


def _read_arguments(node):
    """Return the launch argument names an expression reads with argument()/flag()."""
    return {call.args[1].value for call in _calls(node, 'argument') + _calls(node, 'flag')}


@pytest.mark.parametrize('name', sorted(_EXPECTED))
def test_launch_file_arguments_are_documented_and_passed_on(name):
    tree = ast.parse((_LAUNCH / name).read_text(), filename=name)
    function, arguments = _EXPECTED[name]
    declared = _declared(tree)
    assert sorted(declared) == sorted(arguments)
    for argument in declared:
        default, description, choices = nodes.LAUNCH_ARGUMENTS[argument]
        assert description.strip().endswith('.'), f'{name}: {argument}: no description'
        assert default is None or isinstance(default, str)
        assert choices is None or default is None or default in choices
    # Every node comes from the shared description code: launch_nodes(describe_*(...)).
    (launch_call,) = _calls(tree, 'launch_nodes')
    described = _calls(launch_call, function)
    assert described, f'{name} does not build its nodes with {function}'
    assert not _calls(tree, 'Node'), f'{name} builds a Node of its own'
    # Every declared argument is read (and nothing undeclared is).
    assert _read_arguments(tree) == arguments
    assert {'generate_launch_description'} <= {
        f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert _calls(tree, 'OpaqueFunction')


def test_every_documented_argument_is_used():
    used = set().union(*(arguments for _, arguments in _EXPECTED.values()))
    assert used == set(nodes.LAUNCH_ARGUMENTS)
    assert nodes.fleet_file('') == nodes.config_path('fleets', 'demo.yaml')


def test_keywords_of_the_launch_files_match_the_runners(repo_root):
    # fleet.launch.py passes describe_fleet the keywords fleet_runner's describe() passes;
    # with the same values both get the same nodes.
    tree = ast.parse((_LAUNCH / 'fleet.launch.py').read_text())
    (call,) = _calls(tree, 'describe_fleet')
    launch_keywords = {k.arg: _read_arguments(k.value) for k in call.keywords}
    keywords = ('use_sim_time', 'log_level', 'respawn', 'journal_path', 'fleet_sim')
    assert launch_keywords == {k: {k} for k in keywords}
    fleet_file = str(repo_root / 'config' / 'fleets' / 'demo.yaml')
    arguments = runner.parse_arguments([fleet_file, '--journal-path', '/tmp/j.db',
                                        '--respawn', '--log-level', 'debug'])
    assert runner.describe(arguments) == nodes.describe_fleet(
        load_fleet(fleet_file), use_sim_time=False, log_level='debug', respawn=True,
        journal_path='/tmp/j.db')
    sim = runner.describe(runner.parse_arguments([fleet_file, '--sim', '--rviz']))
    assert sim == nodes.describe_simulation(load_fleet(fleet_file), rviz=True)
    assert sim[-1].executable == 'rviz2'


def test_fleet_nodes_carry_the_fleet_file(repo_root, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    fleet = load_fleet(repo_root / 'config' / 'fleets' / 'demo.yaml')
    described = nodes.describe_fleet(fleet)
    assert [(d.executable, d.namespace, d.name) for d in described] == [
        ('robot_executor', '/drone1', 'robot_executor'),
        ('robot_executor', '/rover1', 'robot_executor'),
        ('robot_executor', '/boat1', 'robot_executor'),
        ('coordinator', '/execution', 'coordinator')]
    (drone,) = described[0].parameters
    assert drone == {
        'robot_id': 'drone1', 'platform': 'drone', 'bridge': 'sim', 'use_sim_time': False,
        'home.latitude_deg': 47.397742, 'home.longitude_deg': 8.545594,
        'geofence.polygon_xy': [-200.0, -200.0, 200.0, -200.0, 200.0, 200.0, -200.0, 200.0],
        'geofence.altitude_ceiling_m': 100.0, 'limits.max_speed_mps': 12.0,
        'limits.cruise_speed_mps': 5.0, 'battery.min_takeoff_percent': 30.0,
        'battery.min_departure_percent': 25.0, 'battery.return_home_percent': 25.0,
        'payload.max_mass_kg': 2.0, 'sim.initial_battery_percent': 95.0,
        'sim.max_speed_mps': 12.0, 'views.map_origin.latitude_deg': 47.397742,
        'views.map_origin.longitude_deg': 8.545594}
    assert described[0].ros_arguments == ('--log-level', 'info')
    (coordinator,) = described[-1].parameters
    journal = tmp_path / 'state' / 'brain_execution' / 'demo' / 'journal.db'
    assert coordinator['journal_path'] == str(journal)
    assert journal.parent.is_dir()
    # The per-robot form, in fleet file order: each robot's namespace reaches the coordinator.
    assert 'robots' not in coordinator
    assert coordinator['robot_ids'] == ['drone1', 'rover1', 'boat1']
    assert {k: v for k, v in coordinator.items() if k.startswith('robots.')} == {
        'robots.drone1.platform': 'drone', 'robots.drone1.namespace': '/drone1',
        'robots.rover1.platform': 'ground', 'robots.rover1.namespace': '/rover1',
        'robots.boat1.platform': 'surface', 'robots.boat1.namespace': '/boat1'}
    assert coordinator['retry.max_attempts'] == 3


def test_fleet_sim_option_hosts_the_fleet_files_robots_in_one_process(
        repo_root, tmp_path, monkeypatch):
    from brain_execution.deploy import fleet_sim

    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    path = str(repo_root / 'config' / 'fleets' / 'demo.yaml')
    fleet = load_fleet(path)
    described = nodes.describe_fleet(fleet, fleet_sim=True, use_sim_time=True)
    assert [(d.executable, d.namespace) for d in described] == [
        ('fleet_sim', '/'), ('coordinator', '/execution')]
    assert described[0].arguments == ('--fleet', fleet.source, '--use-sim-time')
    assert described == runner.describe(runner.parse_arguments(
        [path, '--fleet-sim', '--use-sim-time']))
    # fleet_sim gives each robot the parameters its own process would get.
    hosted = fleet_sim.robots_from_arguments(
        fleet_sim.parse_arguments(list(described[0].arguments)), nodes.config_path)
    alone = nodes.describe_fleet(fleet, use_sim_time=True)[:-1]
    assert [r.namespace for r in hosted] == [d.namespace for d in alone]
    for robot, description in zip(hosted, alone):
        files = tuple(p for p in description.parameters if isinstance(p, str))
        (values,) = [p for p in description.parameters if not isinstance(p, str)]
        assert (robot.params_files, dict(robot.parameters)) == (files, values)


def test_fleet_sim_keeps_ros_arguments_but_not_name_remappings():
    from brain_execution.deploy.fleet_sim import split_ros_arguments

    kept, dropped = split_ros_arguments([
        'fleet_sim', '--count', '2', '--ros-args', '--log-level', 'info', '--ros-args', '-r',
        '__node:=fleet_sim', '-r', '__ns:=/', '-p', 'state_rate_hz:=2.0', '--params-file',
        '/f.yaml', '-r', 'robot_executor:__ns:=/x', '-r', 'fix:=gps', '--', '--after'])
    assert kept == ['--log-level', 'info', '-p', 'state_rate_hz:=2.0', '--params-file',
                    '/f.yaml', '-r', 'fix:=gps']
    assert dropped == ['-r', '__node:=fleet_sim', '-r', '__ns:=/', '-r',
                       'robot_executor:__ns:=/x']


def test_journal_defaults_to_the_user_state_directory(tmp_path):
    home = str(tmp_path)
    assert nodes.state_directory({'HOME': home, 'XDG_STATE_HOME': '/x/state'}) == \
        '/x/state/brain_execution'
    assert nodes.default_journal_path('demo', {'XDG_STATE_HOME': ''}).endswith(
        '/.local/state/brain_execution/demo/journal.db')


def test_robot_launch_arguments_default_to_the_platform_file():
    robot = nodes.robot_from_arguments(robot_id='rover7', platform='ground')
    assert robot.namespace == '/rover7'
    assert robot.params_file == nodes.config_path('ground.yaml')
    description = nodes.describe_robot(robot, use_sim_time=True, log_level='warn',
                                       respawn=True)
    assert description.parameters == (nodes.config_path('ground.yaml'), {
        'robot_id': 'rover7', 'platform': 'ground', 'bridge': 'sim', 'use_sim_time': True})
    assert description.respawn and description.respawn_delay_s > 0
    with pytest.raises(ValueError, match="log_level='loud' is not one of debug, info"):
        nodes.describe_robot(robot, log_level='loud')
    with pytest.raises(ValueError, match="respawn:='maybe' is not a boolean"):
        nodes.parse_flag('respawn', 'maybe')


def test_coordinator_reaches_robots_in_nested_namespaces(tmp_path):
    fleet = load_fleet('f.yaml', text='robots: [{id: drone1, namespace: /site_a/drone1, '
                                      'platform: drone, bridge: sim}]')
    executor, coordinator = nodes.describe_fleet(fleet, journal_path=str(tmp_path / 'j.db'))
    assert executor.namespace == '/site_a/drone1'
    (values,) = coordinator.parameters
    assert values['robot_ids'] == ['drone1']
    assert values['robots.drone1.namespace'] == '/site_a/drone1'
    assert values['robots.drone1.platform'] == 'drone'
    # The runner's parameters file keeps the dotted names as the node declares them.
    command = runner.command_line(coordinator, str(tmp_path))
    params_file = command[command.index('--params-file') + 1]
    with open(params_file, encoding='utf-8') as stream:
        written = yaml.safe_load(stream)
    assert written['/execution/coordinator']['ros__parameters'][
        'robots.drone1.namespace'] == '/site_a/drone1'


def test_runner_command_lines_are_launch_ros_command_lines(tmp_path):
    description = nodes.NodeDescription(
        package='brain_execution', executable='robot_executor', name='robot_executor',
        namespace='/drone1', parameters=('/cfg/drone.yaml', {'platform': 'drone'}),
        arguments=('--flag',), ros_arguments=('--log-level', 'info'))
    command = runner.command_line(description, str(tmp_path))
    assert command[0].endswith('/lib/brain_execution/robot_executor')
    params_file = str(tmp_path / 'drone1__robot_executor.1.yaml')
    # launch_ros: executable, arguments, --ros-args + ros_arguments, then --ros-args with
    # the node name, namespace and one --params-file per entry (mappings written to a file
    # keyed by the node's full name).
    assert command[1:] == [
        '--flag', '--ros-args', '--log-level', 'info', '--ros-args', '-r',
        '__node:=robot_executor', '-r', '__ns:=/drone1', '--params-file', '/cfg/drone.yaml',
        '--params-file', params_file]
    assert yaml.safe_load(Path(params_file).read_text()) == {
        '/drone1/robot_executor': {'ros__parameters': {'platform': 'drone'}}}
    with pytest.raises(ValueError, match="no executable 'nope'"):
        runner.command_line(nodes.NodeDescription(
            package='brain_execution', executable='nope', name='n', namespace='/'), '.')
    with pytest.raises(ValueError, match="package 'rviz2' is not installed"):
        runner.command_line(nodes.describe_rviz(), '.')


def test_rviz_config_shows_the_markers_and_the_demo_fleet(repo_root):
    config = yaml.safe_load((repo_root / 'config' / 'brain_execution.rviz').read_text())
    manager = config['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'map'
    topics = {d['Class']: set() for d in manager['Displays']}
    for display in manager['Displays']:
        if 'Topic' in display:
            topics[display['Class']].add(display['Topic']['Value'])
    assert topics['rviz_default_plugins/MarkerArray'] == {'/execution/markers'}
    fleet = load_fleet(repo_root / 'config' / 'fleets' / 'demo.yaml')
    assert topics['rviz_default_plugins/Path'] == {f'{r.namespace}/path' for r in fleet.robots}
    assert topics['rviz_default_plugins/Odometry'] == {
        f'{r.namespace}/odom' for r in fleet.robots}
    assert 'rviz_default_plugins/TF' in topics
