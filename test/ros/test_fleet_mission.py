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
A fleet file started by fleet_runner, watched as a user would: views, markers, recording, CLI.

One module-scoped fleet (the demo fleet file with robot ids of this run) serves every test:
the runner starts its three executors and the coordinator as processes, exactly as the launch
files describe them. The tests read what standard tools read (NavSatFix, Odometry, Path, TF,
/diagnostics, /execution/markers), record a mission with :class:`MissionRecorder` and open
the bag with rosbags, and run ``brain-execution`` as a subprocess.
"""

import json
import os
import subprocess
import threading
import time
import uuid

from brain_execution.cli.client import ExecutionClient, goal_from_plan
from brain_execution.core.fleet_file import load_fleet
from brain_execution.core.plan import plan_from_yaml
from brain_execution.deploy.nodes import describe_fleet
from brain_execution.deploy.runner import FleetRunner
from brain_execution.ros.recorder import mission_topics, MissionRecorder
from brain_execution.ros.service_calls import call_until_answered
from brain_execution.ros.standard_views import LATCHED_QOS, TF_QOS
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PolygonStamped
import matplotlib.image
from nav_msgs.msg import Odometry, Path
import pytest
from rcl_interfaces.srv import GetParameters
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import Reader
from rosbags.typesys import get_typestore, Stores
from sensor_msgs.msg import NavSatFix
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray
import yaml

from .conftest import _env, DISCOVERY_TIMEOUT_S

_SUFFIX = uuid.uuid4().hex[:6]


class Topic:
    """Messages of one topic as they arrive, with a wait on a condition."""

    def __init__(self, node, msg_type, name, qos=10):
        self.messages = []
        self._cv = threading.Condition()
        self._node = node
        self.subscription = node.create_subscription(msg_type, name, self._on, qos)

    def close(self) -> None:
        self._node.destroy_subscription(self.subscription)

    def _on(self, msg) -> None:
        with self._cv:
            self.messages.append(msg)
            self._cv.notify_all()

    def wait(self, condition=lambda messages: messages, timeout_s=20.0):
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while not condition(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cv.wait(remaining)
            return self.messages[-1]


@pytest.fixture(scope='module')
def mission_fleet(module_ros, repo_root, tmp_path_factory):
    """Start the demo fleet under ids of this run with FleetRunner; yield it with a client."""
    work = tmp_path_factory.mktemp('fleet')
    document = yaml.safe_load((repo_root / 'config' / 'fleets' / 'demo.yaml').read_text())
    for robot in document['robots']:
        robot['id'] = f'{robot["id"]}_{_SUFFIX}'
        robot['namespace'] = f'/{robot["id"]}'
    path = work / 'fleet.yaml'
    path.write_text(yaml.safe_dump(document))
    fleet = load_fleet(path)
    runner = FleetRunner(describe_fleet(fleet, journal_path=str(work / 'journal.db')),
                         work_dir=str(work / 'run'), env=_env())
    runner.start()
    client = ExecutionClient(module_ros.node, timeout_s=DISCOVERY_TIMEOUT_S)
    try:
        for robot in fleet.robots:
            missing = module_ros.operations.wait_for_servers(
                robot.robot_id, ['go_to', 'capture_image'], DISCOVERY_TIMEOUT_S)
            assert not missing, f'{robot.robot_id}: no {missing}; {runner.pids()}'
        yield fleet, runner, client
    finally:
        client.close()
        runner.stop()


@pytest.fixture
def topic(module_ros):
    """Return a function subscribing to a topic; the subscriptions end with the test."""
    opened = []

    def subscribe(msg_type, name, qos=10) -> Topic:
        opened.append(Topic(module_ros.node, msg_type, name, qos))
        return opened[-1]

    yield subscribe
    for subscription in opened:
        subscription.close()


def _parameters(node, name, names):
    client = node.create_client(GetParameters, f'{name}/get_parameters')
    try:
        assert client.wait_for_service(timeout_sec=DISCOVERY_TIMEOUT_S), name
        response = call_until_answered(client, GetParameters.Request(names=names), 20.0)
        assert response is not None, f'{name}/get_parameters never answered'
        values = response.values
        return {n: (v.string_value, v.double_value, v.integer_value, list(v.string_array_value))
                for n, v in zip(names, values)}
    finally:
        node.destroy_client(client)


def test_runner_starts_the_fleet_files_nodes_with_its_parameters(mission_fleet, module_ros):
    fleet, runner, _ = mission_fleet
    drone, rover, boat = fleet.robots
    values = _parameters(module_ros.node, f'{drone.namespace}/robot_executor', [
        'robot_id', 'sim.initial_battery_percent', 'limits.max_speed_mps',
        'views.map_origin.latitude_deg'])
    assert values['robot_id'][0] == drone.robot_id
    assert values['sim.initial_battery_percent'][1] == 95.0
    assert values['limits.max_speed_mps'][1] == 12.0
    assert values['views.map_origin.latitude_deg'][1] == pytest.approx(47.397742)
    # The fleet in the coordinator's per-robot form: each robot reached in its namespace.
    namespaces = [f'robots.{r.robot_id}.namespace' for r in fleet.robots]
    values = _parameters(module_ros.node, '/execution/coordinator',
                         ['robot_ids', 'retry.max_attempts', 'journal_path'] + namespaces)
    assert values['robot_ids'][3] == [r.robot_id for r in fleet.robots]
    assert [values[n][0] for n in namespaces] == [r.namespace for r in fleet.robots]
    assert values['retry.max_attempts'][2] == 3
    assert values['journal_path'][0].endswith('journal.db')
    assert set(runner.pids()) == {f'{r.namespace}/robot_executor' for r in fleet.robots} | {
        '/execution/coordinator'}


def test_every_robot_publishes_standard_views(mission_fleet, topic):
    fleet, _, _ = mission_fleet
    static = topic(TFMessage, '/tf_static', QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    tf = topic(TFMessage, '/tf', TF_QOS)
    diagnostics = topic(DiagnosticArray, '/diagnostics')
    for robot in fleet.robots:
        prefix = robot.namespace.strip('/')
        fix = topic(NavSatFix, f'{robot.namespace}/fix').wait()
        assert fix is not None, f'{robot.robot_id}: no fix'
        assert fix.header.frame_id == f'{prefix}/base_link'
        assert fix.latitude == pytest.approx(robot.home.latitude_deg, abs=1e-3)
        odom = topic(Odometry, f'{robot.namespace}/odom').wait()
        frames = (odom.header.frame_id, odom.child_frame_id)
        assert frames == (f'{prefix}/odom', f'{prefix}/base_link')
        path = topic(Path, f'{robot.namespace}/path').wait()
        assert path.header.frame_id == f'{prefix}/odom' and path.poses
        fence = topic(PolygonStamped, f'{robot.namespace}/geofence', LATCHED_QOS).wait()
        expected = robot.envelope['geofence.polygon_xy']
        corners = list(zip(expected[0::2], expected[1::2]))
        assert [(p.x, p.y) for p in fence.polygon.points] == corners
    children = {f'{r.namespace.strip("/")}/odom' for r in fleet.robots}
    assert static.wait(lambda ms: children <= {t.child_frame_id for m in ms
                                               for t in m.transforms}), 'no map -> odom'
    assert tf.wait(lambda ms: {f'{r.namespace.strip("/")}/base_link' for r in fleet.robots}
                   <= {t.child_frame_id for m in ms for t in m.transforms})
    names = {f'brain_execution/{r.robot_id}/{kind}' for r in fleet.robots
             for kind in ('battery', 'link', 'emergency_stop', 'bridge')}
    assert diagnostics.wait(lambda ms: names <= {s.name for m in ms for s in m.status}), \
        'robot statuses missing from /diagnostics'


def _mission_text(fleet, plan_id):
    drone, rover, boat = (r.robot_id for r in fleet.robots)
    return yaml.safe_dump({'plan_id': plan_id, 'steps': [
        {'id': 'up', 'robot': drone, 'operation': 'takeoff',
         'parameters': {'altitude_m': 5.0, 'climb_speed_mps': 3.0}, 'compensation': 'land'},
        {'id': 'fly', 'robot': drone, 'operation': 'go_to', 'depends_on': ['up'],
         'parameters': {'target': {'x_m': 12.0, 'y_m': 8.0, 'altitude_m': 5.0},
                        'speed_mps': 6.0}},
        {'id': 'down', 'robot': drone, 'operation': 'land', 'depends_on': ['fly']},
        {'id': 'out', 'robot': rover, 'operation': 'undock', 'parameters': {'distance_m': 1.0}},
        {'id': 'drive', 'robot': rover, 'operation': 'go_to', 'depends_on': ['out'],
         'parameters': {'target': {'x_m': 4.0, 'y_m': 3.0}, 'speed_mps': 2.0}},
        {'id': 'sail', 'robot': boat, 'operation': 'follow_waypoints',
         'parameters': {'waypoints': [{'x_m': 6.0, 'y_m': 0.0}, {'x_m': 6.0, 'y_m': 6.0}],
                        'speed_mps': 4.0}},
    ]})


def _marker_sets(array: MarkerArray):
    return ({(m.ns, m.header.frame_id) for m in array.markers},
            {m.text.split('\n')[0] for m in array.markers if m.ns == 'labels'})


def test_mission_is_drawn_and_recorded(mission_fleet, module_ros, topic, tmp_path):
    fleet, _, client = mission_fleet
    frames = {r.robot_id: f'{r.namespace.strip("/")}/odom' for r in fleet.robots}
    markers = topic(MarkerArray, '/execution/markers')
    bag = tmp_path / 'mission'
    recorder = MissionRecorder(module_ros.node, bag,
                               mission_topics(r.namespace for r in fleet.robots))
    plan = plan_from_yaml(_mission_text(fleet, f'drawn-{_SUFFIX}'))
    running = {}

    def on_feedback(feedback) -> None:
        for s in feedback.steps:
            if s.state == 2:
                running.setdefault(s.robot_id, s.operation)

    result_box = {}
    thread = threading.Thread(target=lambda: result_box.setdefault('result', client.run_plan(
        goal_from_plan(plan), on_feedback=on_feedback, result_timeout_s=120.0)))
    thread.start()
    # While every robot has an operation with a place, each robot is drawn with its label,
    # in its own frame, and so is each active target.
    seen = markers.wait(lambda arrays: arrays and all(
        ('targets', frames[r]) in _marker_sets(arrays[-1])[0] and
        ('robots', frames[r]) in _marker_sets(arrays[-1])[0] for r in frames), 60.0)
    thread.join(120.0)
    path = recorder.close()
    assert seen is not None, f'markers never showed every robot and target; {running}'
    shapes, labels = _marker_sets(seen)
    assert labels == set(frames)
    assert {('geofences', f) for f in frames.values()} <= shapes
    result = result_box['result']
    assert result.error_code == 0, result.error_msg

    store = get_typestore(Stores.ROS2_JAZZY)
    metadata = yaml.safe_load((bag / 'metadata.yaml').read_text())
    assert metadata['rosbag2_bagfile_information']['storage_identifier'] == 'mcap'
    assert [p.suffix for p in bag.iterdir() if p.name != 'metadata.yaml'] == ['.mcap']
    with Reader(path) as reader:
        for robot in fleet.robots:
            for suffix, type_name in (('fix', 'sensor_msgs/msg/NavSatFix'),
                                      ('odom', 'nav_msgs/msg/Odometry')):
                connections = [c for c in reader.connections
                               if c.topic == f'{robot.namespace}/{suffix}']
                assert connections and connections[0].msgtype == type_name
                # The definition travels with the data (what Foxglove decodes it with).
                assert 'std_msgs/Header header' in connections[0].msgdef.data
                stamps, messages = [], []
                for _, stamp, data in reader.messages(connections=connections):
                    stamps.append(stamp)
                    messages.append(store.deserialize_cdr(data, type_name))
                assert len(messages) > 10, f'{robot.robot_id} {suffix}: {len(messages)}'
                assert stamps == sorted(stamps)
                headers = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
                           for m in messages]
                assert headers == sorted(headers)
        drone = fleet.robots[0]
        fixes = [store.deserialize_cdr(d, 'sensor_msgs/msg/NavSatFix') for _, _, d in
                 reader.messages([c for c in reader.connections
                                  if c.topic == f'{drone.namespace}/fix'])]
        # The drone flew north-east and came down: its track moved.
        assert max(f.latitude for f in fixes) > min(f.latitude for f in fixes)


def _cli(*args, domain_id=None, timeout_s=120.0):
    env = _env()
    if domain_id is not None:
        env['ROS_DOMAIN_ID'] = str(domain_id)
    from brain_execution.ros.processes import node_command
    executable = node_command('brain-execution', namespace='/')[0]
    return subprocess.run([executable, *args], env=env, capture_output=True, text=True,
                          timeout=timeout_s)


def test_cli_runs_a_mission_and_operates_the_coordinator(mission_fleet, tmp_path):
    fleet, _, _ = mission_fleet
    _, rover, boat = (r.robot_id for r in fleet.robots)
    mission = tmp_path / 'mission.yaml'
    mission.write_text(yaml.safe_dump({'plan_id': f'cli-{_SUFFIX}', 'steps': [
        {'id': 'look', 'robot': rover, 'operation': 'capture_image'},
        {'id': 'hold', 'robot': boat, 'operation': 'station_keep',
         'parameters': {'duration_s': 0.5}}]}))
    done = _cli('run', str(mission), '--watch', '--json')
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [s['state'] for s in document['steps']] == ['SUCCEEDED', 'SUCCEEDED']

    status = _cli('status', f'cli-{_SUFFIX}', '--json')
    assert status.returncode == 0, status.stderr
    assert {s['step_id'] for s in json.loads(status.stdout)['steps']} == {'look', 'hold'}
    health = _cli('status')
    assert health.returncode == 0 and 'brain_execution/queue' in health.stdout, health.stderr

    unknown = _cli('cancel', 'no-such-plan')
    assert unknown.returncode == 1 and 'PRECONDITION_FAILED' in unknown.stderr
    assert _cli('cancel').returncode == 2

    letters = _cli('dead-letters', 'list', '--json')
    assert letters.returncode == 0 and 'total' in json.loads(letters.stdout)
    circuits = _cli('circuits', '--json')
    assert circuits.returncode == 0, circuits.stderr
    # The robots this test used have circuits (others only once they ran something).
    assert {c['robot_id'] for c in json.loads(circuits.stdout)['circuits']} >= {rover, boat}

    # The boat starts free (the rover starts docked): a stop latches, motion is refused.
    stop = _cli('estop', boat, '--json')
    assert stop.returncode == 0, stop.stderr
    assert json.loads(stop.stdout)['stopped'] == [boat]
    motion = tmp_path / 'motion.yaml'
    motion.write_text(yaml.safe_dump({'steps': [
        {'id': 'sail', 'robot': boat, 'operation': 'go_to',
         'parameters': {'target': {'x_m': 1.0, 'y_m': 1.0}}, 'retry': {'max_attempts': 1}}]}))
    refused = _cli('run', str(motion), '--watch')
    assert refused.returncode == 1 and 'EMERGENCY_STOP_ACTIVE' in refused.stdout, \
        refused.stdout + refused.stderr
    release = _cli('estop', '--release', boat)
    assert release.returncode == 0 and boat in release.stdout, release.stderr


def test_report_of_a_real_plan_with_a_failure(mission_fleet, module_ros, tmp_path):
    """A plan whose go_to leaves the geofence: the report has every step and outcome."""
    fleet, _, client = mission_fleet
    drone, rover, _ = (r.robot_id for r in fleet.robots)
    plan_id = f'report-{_SUFFIX}'
    bag = tmp_path / 'mission'
    recorder = MissionRecorder(module_ros.node, bag,
                               mission_topics(r.namespace for r in fleet.robots[:2]))
    plan = plan_from_yaml(yaml.safe_dump({'plan_id': plan_id, 'steps': [
        {'id': 'up', 'robot': drone, 'operation': 'takeoff',
         'parameters': {'altitude_m': 3.0, 'climb_speed_mps': 3.0}, 'compensation': 'land'},
        {'id': 'away', 'robot': drone, 'operation': 'go_to', 'depends_on': ['up'],
         'parameters': {'target': {'x_m': 900.0, 'y_m': 0.0, 'altitude_m': 3.0}}},
        {'id': 'after', 'robot': drone, 'operation': 'hover', 'depends_on': ['away'],
         'parameters': {'duration_s': 0.5}},
        {'id': 'look', 'robot': rover, 'operation': 'capture_image'}]}))
    try:
        result = client.run_plan(goal_from_plan(plan), result_timeout_s=120.0)
    finally:
        path = recorder.close()
    assert result.error_code == 11, result.error_msg  # GEOFENCE_VIOLATION
    journal = _parameters(module_ros.node, '/execution/coordinator',
                          ['journal_path'])['journal_path'][0]
    # The coordinator is running: the report reads its journal beside it.
    done = _cli('report', plan_id, '--journal', journal, '--recording', path,
                '--output', str(tmp_path / 'report'), '--json')
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document['outcome'] == 'FAILED'
    assert document['steps'] == {'up': 'COMPENSATED', 'away': 'FAILED', 'after': 'SKIPPED',
                                 'look': 'SUCCEEDED'}
    page = (tmp_path / 'report' / 'report.html').read_text()
    for text in ('up', 'away', 'after', 'look', 'COMPENSATED', 'FAILED', 'SKIPPED',
                 'SUCCEEDED', 'GEOFENCE_VIOLATION', 'land: done', drone, rover):
        assert text in page, text
    assert set(document['images']) == {'timeline', 'tracks'}
    for image in document['images'].values():
        with open(image, 'rb') as stream:
            assert stream.read(8) == b'\x89PNG\r\n\x1a\n'
        decoded = matplotlib.image.imread(image)
        assert decoded.shape[0] > 100 and decoded.shape[1] > 100
    unknown = _cli('report', 'no-such-plan', '--journal', journal)
    assert unknown.returncode == 2 and "no plan 'no-such-plan'" in unknown.stderr


def test_cli_without_a_coordinator_fails_with_status_1():
    done = _cli('status', '--timeout', '1', domain_id=(os.getpid() % 50) + 180)
    assert done.returncode == 1
    assert 'nothing from the coordinator on /diagnostics' in done.stderr
