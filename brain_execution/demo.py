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
``make demo``: a drone, a ground robot and a surface vessel fly one fleet plan.

The fleet is a fleet file, ``config/fleets/mixed.yaml``, started by the fleet runner exactly
as ``ros2 launch brain_execution sim.launch.py fleet:=...`` starts it: its protocol
simulators, one robot executor process per robot on its real bridge, and the coordinator.
drone1 runs on the ``mavros`` bridge (``px4_x500.yaml``) against ``sim_mavros`` in its PX4
flavour, MAVROS's interface over a simulated PX4: it arms in OFFBOARD behind a running
setpoint stream, returns with AUTO.RTL and lands itself. rover1 runs on the ``nav2`` bridge
(``ground_nav2.yaml``) against ``sim_nav2``, Nav2's interface over a simulated robot. boat1
runs on the ``nmea`` bridge against ``sim_nmea_autopilot`` on TCP and sails a patrol (an NMEA
autopilot only steers: it cannot keep station). The mission is one ExecutePlan goal to
``/execution/execute_plan``: each robot's steps run in order, the robots in parallel, and the
boat's status broadcast waits for the drone's survey hover (a cross-robot dependency). A
live table follows the plan's feedback (plain lines when the output is not a terminal), then
a summary; the mission's topics are recorded into a rosbag2 MCAP bag, and the mission report
(HTML and PNG, :mod:`brain_execution.report`) is written from the coordinator's journal and
the recording; both paths are printed. Exit status 0 only if the plan succeeded and its
report was written.

``--speed N`` (``make demo SPEED=N``) runs the simulation N times faster than real time:
sim_nav2 owns the clock (``clock_rate``: it publishes ``/clock`` at N times real time),
every node runs with ``use_sim_time``, and the NMEA autopilot, which is no ROS node, runs its
own clock at the same rate. Every duration of the plan (hovers, timeouts, back-offs) is in
that sim time: the robots' time.
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import threading
import time
import typing

from brain_execution.core.errors import code_name
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import PlanStep, RobotState
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter
import yaml

from .cli.client import CoordinatorUnavailableError, ExecutionClient, rows_from_statuses
from .cli.progress import PlanProgress
from .core.fleet_file import Fleet, load_fleet
from .deploy.nodes import describe_simulation, NodeDescription
from .deploy.runner import FleetRunner
from .report import build_report, JournalReadError, RecordingReadError
from .ros.executor import FleetExecutor
from .ros.processes import config_file
from .ros.qos import STATE_QOS
from .ros.recorder import mission_topics, MissionRecorder
from .sim.clock_rate import check_clock_rate

__all__ = ['DEMO_FLEET', 'MISSIONS', 'demo_nodes', 'main', 'mission_plan']

Step = typing.Tuple[str, typing.Dict[str, typing.Any]]

# How long the demo waits for every robot to hear from its platform before the mission, s.
_READY_TIMEOUT_S = 60.0
# How often that wait looks for nodes that exited, s.
_POLL_S = 0.5
# The simulated boat's throttle, m/s: an NMEA autopilot steers, it does not set the speed.
_BOAT_SPEED_MPS = 3.0

# The demo's fleet file, in the package's config/fleets/.
DEMO_FLEET = 'mixed.yaml'

MISSIONS: typing.Dict[str, typing.List[Step]] = {
    # MAVROS has no camera interface (capture_image is UNSUPPORTED unless a camera driver's
    # service is configured): the drone surveys by hovering over the point.
    'drone1': [
        ('takeoff', {'altitude_m': 10.0, 'climb_speed_mps': 3.0}),
        ('go_to', {'target': {'x_m': 30.0, 'y_m': 20.0, 'altitude_m': 15.0},
                   'speed_mps': 8.0}),
        ('hover', {'duration_s': 2.0}),
        ('return_home', {'speed_mps': 8.0, 'land': True}),
    ],
    'rover1': [
        ('undock', {'distance_m': 1.0}),
        ('go_to', {'target': {'x_m': 6.0, 'y_m': 4.0}, 'speed_mps': 1.0}),
        ('follow_waypoints', {'waypoints': [{'x_m': 6.0, 'y_m': 0.0}, {'x_m': 2.0, 'y_m': 0.0}],
                              'speed_mps': 1.0}),
        ('hold', {'duration_s': 1.0}),
        ('dock', {'dock_id': 'charger'}),
    ],
    # An NMEA 0183 autopilot only steers (no station keeping): the boat sails a patrol, at
    # the throttle the fleet file gives its simulator.
    'boat1': [
        ('go_to', {'target': {'frame': 1, 'latitude_deg': 47.39780,
                              'longitude_deg': 8.54590}, 'speed_mps': _BOAT_SPEED_MPS,
                   'acceptance_radius_m': 3.0}),
        ('follow_waypoints', {'waypoints': [{'x_m': 45.0, 'y_m': 15.0},
                                            {'x_m': 45.0, 'y_m': -15.0}],
                              'speed_mps': _BOAT_SPEED_MPS, 'acceptance_radius_m': 4.0}),
        ('broadcast_status', {'message': 'patrol done'}),
        ('return_home', {'speed_mps': _BOAT_SPEED_MPS}),
    ],
}

# The boat's broadcast waits for this step of the drone.
_CROSS_DEPENDENCY = ('boat1', 'broadcast_status', 'drone1-hover')


def mission_plan(plan_id: str) -> ExecutePlan.Goal:
    """Return the demo's fleet plan: each robot's steps in order, robots in parallel."""
    steps = []
    for robot_id, operations in MISSIONS.items():
        previous = None
        for operation, fields in operations:
            step = PlanStep(step_id=f'{robot_id}-{operation}', robot_id=robot_id,
                            operation=operation,
                            parameters=yaml.safe_dump(fields, default_flow_style=True).strip())
            step.depends_on = [previous] if previous else []
            if (robot_id, operation) == _CROSS_DEPENDENCY[:2]:
                step.depends_on.append(_CROSS_DEPENDENCY[2])
            if operation == 'takeoff':
                # Should the plan fail after take-off, the drone is brought down.
                step.compensation_operation = 'land'
            steps.append(step)
            previous = step.step_id
    return ExecutePlan.Goal(plan_id=plan_id, steps=steps)


def _wait_for_links(node: Node, fleet: Fleet, runner: FleetRunner, timeout_s: float
                    ) -> typing.Dict[str, str]:
    """
    Wait until every robot reports its link to the platform up; return those that did not.

    A robot executor serves goals before its bridge has heard from the autopilot (MAVROS
    sends state once a second), and a takeoff sent then fails its link precondition, as
    it would on a real vehicle. An operator waits for the fleet to be ready; so does the demo.
    The value of each robot not ready is what it last reported; a node that exited meanwhile
    (a simulator's port taken, say) ends the wait at once.
    """
    last = {robot.robot_id: 'no robot_state' for robot in fleet.robots}
    ready = threading.Condition()

    def on_state(robot_id: str, msg: RobotState) -> None:
        with ready:
            if msg.link_up:
                last.pop(robot_id, None)
                ready.notify_all()
            elif robot_id in last:
                last[robot_id] = f'link down (mode {msg.mode or "unknown"})'

    subscriptions = [node.create_subscription(
        RobotState, f'{robot.namespace.rstrip("/")}/robot_state',
        lambda msg, robot_id=robot.robot_id: on_state(robot_id, msg), STATE_QOS)
        for robot in fleet.robots]
    deadline = time.monotonic() + timeout_s
    try:
        with ready:
            while last:
                ended = runner.poll()
                if ended:
                    return {n.label: 'exited; see its log' for n in ended}
                remaining = deadline - time.monotonic()
                if remaining <= 0.0:
                    break
                ready.wait(min(remaining, _POLL_S))
            return dict(last)
    finally:
        for subscription in subscriptions:
            node.destroy_subscription(subscription)


def _watch_plan(node: Node, fleet: Fleet, runner: FleetRunner, goal: ExecutePlan.Goal,
                work: str) -> int:
    """Run the plan with the live table, recording it, then report; return the exit status."""
    not_ready = _wait_for_links(node, fleet, runner, _READY_TIMEOUT_S)
    if not_ready:
        print(f'demo: fleet not ready within {_READY_TIMEOUT_S:g} s: ' + ', '.join(
            f'{name} ({why})' for name, why in not_ready.items()) + f' (logs in {work})',
            file=sys.stderr)
        return 1
    recorder = MissionRecorder(node, os.path.join(work, 'recording'),
                               mission_topics(robot.namespace for robot in fleet.robots))
    client = ExecutionClient(node, timeout_s=30.0)
    progress = PlanProgress(f'plan {goal.plan_id}')
    started = time.monotonic()
    try:
        with progress:
            result = client.run_plan(goal, result_timeout_s=180.0, on_feedback=lambda f: (
                progress.update(rows_from_statuses(f.steps), f.progress)))
    except CoordinatorUnavailableError as error:
        progress.message(f'demo: {error}')
        return 1
    finally:
        client.close()
        path = recorder.close()
    ok = result.error_code == 0
    progress.finish(rows_from_statuses(result.steps), (
        f'\nplan {result.plan_id}: {"SUCCEEDED" if ok else code_name(result.error_code)} in '
        f'{time.monotonic() - started:.1f} s {result.error_msg}').rstrip())
    progress.message(f'recording: {path} (ros2 bag play {path}; Foxglove opens the .mcap)')
    try:
        # The coordinator still runs: the report reads its journal read-only, beside it.
        report = build_report(os.path.join(work, 'journal.db'), goal.plan_id, recording=path,
                              output=os.path.join(work, 'report'))
    except (JournalReadError, RecordingReadError, OSError) as error:
        progress.message(f'demo: no report: {error}')
        return 1
    progress.message(f'report: {report.html} (charts: '
                     f'{", ".join(sorted(report.images.values()))})')
    return 0 if ok else 1


def _arguments(argv: typing.Optional[typing.Sequence[str]]):
    parser = argparse.ArgumentParser(prog='brain_execution.demo', description=__doc__.split(
        '\n\n')[0].strip().strip('`'))
    parser.add_argument('--speed', type=float, default=1.0, metavar='N',
                        help='run the simulation N times faster than real time (default 1)')
    args, ros_args = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    try:
        args.speed = check_clock_rate(args.speed)
    except ValueError as error:
        parser.error(f'--speed: {error}')
    return args, ros_args


def demo_nodes(work: str, speed: float) -> typing.Tuple[Fleet, typing.List[NodeDescription]]:
    """
    Return the demo fleet and its nodes: simulators, robot executors, coordinator.

    The nodes are the fleet file's as the launch files describe them, with the demo's
    journal in work and the simulators' clocks at speed.

    :raises ValueError: the fleet file's robots are not the missions' (an edited file).
    """
    fleet = load_fleet(config_file(os.path.join('fleets', DEMO_FLEET)))
    if sorted(r.robot_id for r in fleet.robots) != sorted(MISSIONS):
        raise ValueError(f'{fleet.source}: robots {[r.robot_id for r in fleet.robots]}; the '
                         f'demo flies {sorted(MISSIONS)}')
    nodes = describe_simulation(fleet, use_sim_time=speed != 1.0,
                                journal_path=os.path.join(work, 'journal.db'))
    return fleet, [_at_speed(node, speed, work) for node in nodes]


def _at_speed(node: NodeDescription, speed: float, work: str) -> NodeDescription:
    # One clock owner per domain: sim_nav2 publishes /clock unless the speed is 1, and every
    # ROS node follows it (use_sim_time; sim_mavros's model too). The NMEA autopilot is no
    # ROS node: it runs a clock of its own at the same rate.
    if node.executable == 'sim_nav2':
        return dataclasses.replace(node, parameters=node.parameters + ({'clock_rate': speed},))
    if node.executable == 'sim_nmea_autopilot':
        return dataclasses.replace(node, arguments=node.arguments + (
            '--clock-rate', f'{speed:g}', '--events', os.path.join(work, 'boat1.jsonl')))
    return node


def main(argv: typing.Sequence[str] = None) -> int:
    """Run the demo; return 0 when the fleet plan succeeded and its report was written."""
    args, ros_args = _arguments(argv)
    lock = threading.Lock()

    def printer(line: str) -> None:
        with lock:
            print(line, flush=True)

    work = tempfile.mkdtemp(prefix='brain_execution_demo_')
    fleet, nodes = demo_nodes(work, args.speed)
    sim_time = args.speed != 1.0
    runner = FleetRunner(nodes, work_dir=work)
    runner.start()
    printer(f'started fleet {fleet.name} ({fleet.source}): ' +
            ', '.join(node.label for node in nodes) + f' (logs in {work})' +
            (f'; simulation at {args.speed:g}x real time' if sim_time else ''))
    rclpy.init(args=['brain_execution.demo'] + ros_args)
    node = Node('brain_execution_demo', parameter_overrides=[
        Parameter('use_sim_time', Parameter.Type.BOOL, sim_time)])
    executor = FleetExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        return _watch_plan(node, fleet, runner, mission_plan(f'demo-{int(time.time())}'), work)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        runner.stop()


if __name__ == '__main__':
    sys.exit(main())
