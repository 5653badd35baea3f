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
``make demo``: a drone, a ground robot and a surface vessel each fly a short mission.

Three robot executors start as separate processes (as ``ros2 launch brain_execution
fleet.launch.py`` would start them, with the same parameters files). Each robot's operations
are sent as action goals, one after the other, the three robots in parallel, with live
progress from the action feedback and a summary at the end. Exit status 0 only if every
operation succeeded.
"""

import os
import sys
import tempfile
import threading
import time
import typing

from brain_execution.core.errors import code_name
import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from .ros.client import OperationClient
from .ros.processes import config_file, node_command, NodeProcess

__all__ = ['MISSIONS', 'main']

Step = typing.Tuple[str, typing.Dict[str, typing.Any]]

MISSIONS: typing.Dict[str, typing.Tuple[str, typing.List[Step]]] = {
    'drone1': ('drone.yaml', [
        ('takeoff', {'altitude_m': 10.0, 'climb_speed_mps': 3.0}),
        ('go_to', {'target': {'x_m': 30.0, 'y_m': 20.0, 'altitude_m': 15.0},
                   'speed_mps': 8.0}),
        ('capture_image', {'count': 2, 'interval_s': 0.5}),
        ('hover', {'duration_s': 1.0}),
        ('return_home', {'speed_mps': 8.0, 'land': True}),
    ]),
    'rover1': ('ground.yaml', [
        ('undock', {'distance_m': 1.0}),
        ('go_to', {'target': {'x_m': 6.0, 'y_m': 4.0}, 'speed_mps': 2.0}),
        ('capture_image', {'count': 1}),
        ('hold', {'duration_s': 1.0}),
        ('dock', {'dock_id': 'charger'}),
    ]),
    'boat1': ('surface.yaml', [
        ('go_to', {'target': {'frame': 1, 'latitude_deg': 47.39780,
                              'longitude_deg': 8.54590}, 'speed_mps': 4.0}),
        ('station_keep', {'duration_s': 2.0, 'radius_m': 3.0}),
        ('broadcast_status', {'message': 'on station'}),
        ('return_home', {'speed_mps': 4.0}),
    ]),
}


class _Mission:
    """Runs one robot's steps in order from a thread of the demo (not an executor thread)."""

    def __init__(self, client: OperationClient, robot_id: str, steps: typing.List[Step],
                 printer: typing.Callable[[str], None]):
        self.robot_id = robot_id
        self.steps = steps
        self.summary = []
        self._client = client
        self._print = printer
        self._last_print = 0.0

    def run(self) -> None:
        for operation, fields in self.steps:
            started = time.monotonic()
            result = self._send(operation, fields)
            elapsed = time.monotonic() - started
            if result is None:
                self.summary.append((operation, 'NO ANSWER', elapsed, 'no result in 120 s'))
                return
            detail = result.error_msg or _result_detail(result)
            outcome = code_name(result.error_code)
            self.summary.append((operation, 'OK' if result.error_code == 0 else outcome,
                                 elapsed, detail))
            self._print(f'{self.robot_id:>7} {operation:<17} -> '
                        f'{"OK" if result.error_code == 0 else outcome} {detail}')
            if result.error_code != 0:
                return

    def _send(self, operation: str, fields: typing.Dict[str, typing.Any]):
        done = threading.Event()
        box = {}

        def on_feedback(msg) -> None:
            now = time.monotonic()
            if now - self._last_print >= 1.0:
                self._last_print = now
                f = msg.feedback
                self._print(f'{self.robot_id:>7} {operation:<17} {f.progress * 100:5.1f}% '
                            f'{f.phase:<12} remaining {f.distance_remaining_m:7.1f} m')

        def on_result(future) -> None:
            box['result'] = future.result().result
            done.set()

        def on_goal(future) -> None:
            future.result().get_result_async().add_done_callback(on_result)

        self._client.send_goal_async(self.robot_id, operation, fields,
                                     feedback_callback=on_feedback).add_done_callback(on_goal)
        done.wait(timeout=120.0)
        return box.get('result')


def _result_detail(result) -> str:
    fields = [f for f in result.get_fields_and_field_types()
              if f not in ('error_code', 'error_msg', 'retryable', 'elapsed_s', 'operation_id')]
    parts = []
    for name in fields:
        value = getattr(result, name)
        if hasattr(value, 'x'):
            value = f'({value.x:.1f}, {value.y:.1f}, {value.z:.1f})'
        elif isinstance(value, float):
            value = f'{value:.2f}'
        elif isinstance(value, list):
            value = f'{len(value)} item(s)'
        parts.append(f'{name}={value}')
    return ' '.join(parts)


def main(argv: typing.Sequence[str] = None) -> int:
    """Run the demo; return 0 when every operation of every robot succeeded."""
    lock = threading.Lock()

    def printer(line: str) -> None:
        with lock:
            print(line, flush=True)

    log_dir = tempfile.mkdtemp(prefix='brain_execution_demo_')
    processes = [NodeProcess(node_command('robot_executor', namespace=f'/{robot_id}',
                                          params_files=[config_file(params)]),
                             log_path=os.path.join(log_dir, f'{robot_id}.log'))
                 for robot_id, (params, _) in MISSIONS.items()]
    printer(f'started {len(processes)} robot executors (logs in {log_dir})')
    rclpy.init(args=argv)
    node = Node('brain_execution_demo')
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    client = OperationClient(node)
    missions = [_Mission(client, robot_id, steps, printer)
                for robot_id, (_, steps) in MISSIONS.items()]
    try:
        for mission in missions:
            missing = client.wait_for_servers(
                mission.robot_id, {op for op, _ in mission.steps}, timeout_s=30.0)
            if missing:
                printer(f'{mission.robot_id}: no action server for {missing} after 30 s')
                return 1
        started = time.monotonic()
        threads = [threading.Thread(target=m.run, name=m.robot_id) for m in missions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = time.monotonic() - started
        ok = all(len(m.summary) == len(m.steps) and all(s[1] == 'OK' for s in m.summary)
                 for m in missions)
        printer('\nSummary')
        printer(f'{"robot":>7}  {"operation":<17} {"outcome":<20} {"time":>6}  detail')
        for mission in missions:
            for operation, outcome, elapsed, detail in mission.summary:
                printer(f'{mission.robot_id:>7}  {operation:<17} {outcome:<20} '
                        f'{elapsed:5.1f}s  {detail}')
        printer(f'\n{"all operations succeeded" if ok else "SOME OPERATIONS FAILED"} '
                f'in {total:.1f} s')
        return 0 if ok else 1
    finally:
        client.destroy()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        for process in processes:
            process.stop()


if __name__ == '__main__':
    sys.exit(main())
