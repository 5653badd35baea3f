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

Three robot executors and the coordinator start as separate processes, as launch_ros starts
them. rover1 runs on the ``nav2`` bridge (``ground_nav2.yaml``) against ``sim_nav2``, Nav2's
interface over a simulated robot, in a process of its own. The mission is one ExecutePlan goal
to ``/execution/execute_plan``: each robot's steps run in order, the robots in parallel, and
the boat's status broadcast waits for the drone's photos (a cross-robot dependency). The
boat runs on the ``nmea`` bridge against ``sim_nmea_autopilot``, a process of its own on a
free TCP port, and sails a patrol (an NMEA autopilot only steers: it cannot keep station). A
live table follows the plan's feedback (plain lines when the output is not a terminal), then
a summary; the mission's topics are recorded into a rosbag2 MCAP bag whose path is printed.
Exit status 0 only if the plan succeeded.
"""

import os
import sys
import tempfile
import threading
import time
import typing

from brain_execution.core.errors import code_name
from brain_execution_interfaces.action import ExecutePlan
from brain_execution_interfaces.msg import PlanStep
import rclpy
from rclpy.node import Node
import yaml

from .cli.client import CoordinatorUnavailableError, ExecutionClient, rows_from_statuses
from .cli.progress import PlanProgress
from .ros.executor import FleetExecutor
from .ros.processes import config_file, node_command, NodeProcess, program_command
from .ros.recorder import mission_topics, MissionRecorder
from .sim.nmea_autopilot.control import wait_ready

__all__ = ['MISSIONS', 'main', 'mission_plan']

Step = typing.Tuple[str, typing.Dict[str, typing.Any]]

# The simulated boat's throttle, m/s: an NMEA autopilot steers, it does not set the speed.
_BOAT_SPEED_MPS = 3.0

MISSIONS: typing.Dict[str, typing.Tuple[str, typing.List[Step]]] = {
    'drone1': ('drone.yaml', [
        ('takeoff', {'altitude_m': 10.0, 'climb_speed_mps': 3.0}),
        ('go_to', {'target': {'x_m': 30.0, 'y_m': 20.0, 'altitude_m': 15.0},
                   'speed_mps': 8.0}),
        ('capture_image', {'count': 2, 'interval_s': 0.5}),
        ('hover', {'duration_s': 1.0}),
        ('return_home', {'speed_mps': 8.0, 'land': True}),
    ]),
    'rover1': ('ground_nav2.yaml', [
        ('undock', {'distance_m': 1.0}),
        ('go_to', {'target': {'x_m': 6.0, 'y_m': 4.0}, 'speed_mps': 1.0}),
        ('follow_waypoints', {'waypoints': [{'x_m': 6.0, 'y_m': 0.0}, {'x_m': 2.0, 'y_m': 0.0}],
                              'speed_mps': 1.0}),
        ('hold', {'duration_s': 1.0}),
        ('dock', {'dock_id': 'charger'}),
    ]),
    # An NMEA 0183 autopilot only steers (no station keeping): the boat sails a patrol.
    'boat1': ('nmea_boat.yaml', [
        ('go_to', {'target': {'frame': 1, 'latitude_deg': 47.39780,
                              'longitude_deg': 8.54590}, 'speed_mps': _BOAT_SPEED_MPS,
                   'acceptance_radius_m': 3.0}),
        ('follow_waypoints', {'waypoints': [{'x_m': 45.0, 'y_m': 15.0},
                                            {'x_m': 45.0, 'y_m': -15.0}],
                              'speed_mps': _BOAT_SPEED_MPS, 'acceptance_radius_m': 4.0}),
        ('broadcast_status', {'message': 'patrol done'}),
        ('return_home', {'speed_mps': _BOAT_SPEED_MPS}),
    ]),
}


# rover1's Nav2 (sim_nav2) runs in a namespace of its own: Nav2 and the executor both serve a
# follow_waypoints action.
_ROVER_NAV2 = '/rover1/nav2'
_EXECUTOR_PARAMETERS = {'rover1': {'nav2.namespace': _ROVER_NAV2}}

# The boat's broadcast waits for this step of the drone.
_CROSS_DEPENDENCY = ('boat1', 'broadcast_status', 'drone1-capture_image')


def mission_plan(plan_id: str) -> ExecutePlan.Goal:
    """Return the demo's fleet plan: each robot's steps in order, robots in parallel."""
    steps = []
    for robot_id, (_, operations) in MISSIONS.items():
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


def _watch_plan(node: Node, goal: ExecutePlan.Goal, work: str) -> int:
    """Run the plan with the live table, recording the mission; return the exit status."""
    recorder = MissionRecorder(node, os.path.join(work, 'recording'),
                               mission_topics(f'/{robot_id}' for robot_id in MISSIONS))
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
    return 0 if ok else 1


def _start_boat_autopilot(work: str) -> typing.Tuple[NodeProcess, typing.Dict[str, int]]:
    """Start sim_nmea_autopilot on a free port; return it and boat1's ``nmea.*`` overrides."""
    ready = os.path.join(work, 'boat1_autopilot.json')
    process = NodeProcess(program_command('sim_nmea_autopilot',
                                          module='brain_execution.sim.nmea_autopilot.main',
                                          arguments=[
                                              '--tcp-port', '0', '--ready-file', ready,
                                              '--speed-mps', str(_BOAT_SPEED_MPS),
                                              '--events', os.path.join(work, 'boat1.jsonl')]),
                          log_path=os.path.join(work, 'boat1_autopilot.log'))
    try:
        ports = wait_ready(ready, process.process)
    except RuntimeError:
        process.stop()
        raise
    return process, {'nmea.port': ports['tcp_port']}


def main(argv: typing.Sequence[str] = None) -> int:
    """Run the demo; return 0 when the fleet plan succeeded."""
    lock = threading.Lock()

    def printer(line: str) -> None:
        with lock:
            print(line, flush=True)

    work = tempfile.mkdtemp(prefix='brain_execution_demo_')
    autopilot, boat_parameters = _start_boat_autopilot(work)
    parameters = dict(_EXECUTOR_PARAMETERS, boat1=boat_parameters)
    processes = [autopilot, NodeProcess(node_command('sim_nav2', namespace=_ROVER_NAV2,
                                                     parameters={'start_docked': True}),
                                        log_path=os.path.join(work, 'rover1_sim_nav2.log'))]
    processes += [NodeProcess(node_command('robot_executor', namespace=f'/{robot_id}',
                                           params_files=[config_file(params)],
                                           parameters=parameters.get(robot_id)),
                              log_path=os.path.join(work, f'{robot_id}.log'))
                  for robot_id, (params, _) in MISSIONS.items()]
    processes.append(NodeProcess(
        node_command('coordinator', namespace='/execution',
                     params_files=[config_file('coordinator.yaml')],
                     parameters={'journal_path': os.path.join(work, 'journal.db')}),
        log_path=os.path.join(work, 'coordinator.log')))
    printer("started 3 robot executors, the coordinator, boat1's simulated NMEA autopilot "
            f"and rover1's sim_nav2 (logs in {work})")
    rclpy.init(args=argv)
    node = Node('brain_execution_demo')
    executor = FleetExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        return _watch_plan(node, mission_plan(f'demo-{int(time.time())}'), work)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        for process in processes:
            process.stop()


if __name__ == '__main__':
    sys.exit(main())
