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
``make bench``: what the robot executor adds on top of rclpy, measured in one run.

A bare rclpy action server (``bare_server``) and a robot executor run as separate processes;
the same client sends each the same zero-work goal (CaptureImage, which the simulated camera
answers at once), first one at a time (round-trip latency), then pipelined (throughput).
Absolute figures depend on the machine and its load; the ratios compare like with like.
Prints one JSON object.
"""

import json
import os
import statistics
import sys
import tempfile
import threading
import time
import typing

from brain_execution_interfaces.action import CaptureImage
import psutil
import rclpy
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from ..ros.processes import config_file, node_command, NodeProcess
from ..ros.qos import intake_qos

__all__ = ['main']

SEQUENTIAL_GOALS = 200
PIPELINED_GOALS = 2000
WINDOW = 50
TIMEOUT_S = 120.0


class _Sender:
    """Sends goals through one ActionClient and waits for their results."""

    def __init__(self, client: ActionClient, goal):
        self._client = client
        self._goal = goal

    def _send(self, on_result: typing.Callable[[int], None]) -> None:
        def on_goal(future):
            handle = future.result()
            handle.get_result_async().add_done_callback(
                lambda f: on_result(f.result().result.error_code))
        self._client.send_goal_async(self._goal).add_done_callback(on_goal)

    def sequential(self, count: int) -> typing.List[float]:
        """Return the round-trip time of each goal, sent one after the other."""
        latencies = []
        for _ in range(count):
            done = threading.Event()
            codes = []
            started = time.perf_counter()
            self._send(lambda code: (codes.append(code), done.set()))
            if not done.wait(TIMEOUT_S):
                raise RuntimeError('no result within the timeout')
            if codes != [0]:
                raise RuntimeError(f'goal failed with code {codes}')
            latencies.append(time.perf_counter() - started)
        return latencies

    def pipelined(self, count: int, window: int) -> float:
        """Return goals per second with up to ``window`` goals in flight."""
        slots = threading.Semaphore(window)
        finished = threading.Event()
        lock = threading.Lock()
        state = {'done': 0, 'failed': 0}

        def on_result(code: int) -> None:
            with lock:
                state['done'] += 1
                state['failed'] += code != 0
                if state['done'] == count:
                    finished.set()
            slots.release()

        started = time.perf_counter()
        for _ in range(count):
            if not slots.acquire(timeout=TIMEOUT_S):
                raise RuntimeError('pipeline stalled')
            self._send(on_result)
        if not finished.wait(TIMEOUT_S):
            raise RuntimeError(f'only {state["done"]} of {count} results arrived')
        if state['failed']:
            raise RuntimeError(f'{state["failed"]} goals failed')
        return count / (time.perf_counter() - started)


def _measure(node: Node, action_name: str) -> typing.Dict[str, float]:
    qos = intake_qos(1000)
    client = ActionClient(node, CaptureImage, action_name, goal_service_qos_profile=qos,
                          result_service_qos_profile=qos, cancel_service_qos_profile=qos)
    if not client.wait_for_server(timeout_sec=60.0):
        raise RuntimeError(f'no action server {action_name}')
    sender = _Sender(client, CaptureImage.Goal(count=1))
    sender.sequential(20)  # warm-up: discovery of the result service, caches
    latencies = sender.sequential(SEQUENTIAL_GOALS)
    rate = sender.pipelined(PIPELINED_GOALS, WINDOW)
    client.destroy()
    return {'p50_ms': statistics.median(latencies) * 1000.0,
            'p99_ms': statistics.quantiles(latencies, n=100)[98] * 1000.0,
            'goals_per_s': rate}


def main(argv=None) -> int:
    """Run the benchmark and print its JSON; return 0."""
    log_dir = tempfile.mkdtemp(prefix='brain_execution_bench_')
    prefix = f'bench{os.getpid()}'
    bare = NodeProcess(node_command('bare_server', namespace=f'/{prefix}_bare',
                                    module='brain_execution.bench.bare_server'),
                       log_path=os.path.join(log_dir, 'bare.log'))
    robot = NodeProcess(node_command('robot_executor', namespace=f'/{prefix}_robot',
                                     params_files=[config_file('drone.yaml')],
                                     parameters={'result_timeout_s': 10}),
                        log_path=os.path.join(log_dir, 'robot.log'))
    rclpy.init(args=argv)
    node = Node('brain_execution_bench')
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        bare_figures = _measure(node, f'/{prefix}_bare/capture_image')
        robot_rss_start = psutil.Process(robot.pid).memory_info().rss / 2 ** 20
        robot_figures = _measure(node, f'/{prefix}_robot/capture_image')
        robot_rss_end = psutil.Process(robot.pid).memory_info().rss / 2 ** 20
        report = {
            'cpus': os.cpu_count(),
            'sequential_goals': SEQUENTIAL_GOALS,
            'pipelined_goals': PIPELINED_GOALS,
            'pipeline_window': WINDOW,
            'bare_rclpy_p50_ms': round(bare_figures['p50_ms'], 2),
            'bare_rclpy_p99_ms': round(bare_figures['p99_ms'], 2),
            'direct_p50_ms': round(robot_figures['p50_ms'], 2),
            'direct_p99_ms': round(robot_figures['p99_ms'], 2),
            'direct_vs_bare_latency_ratio': round(
                robot_figures['p50_ms'] / bare_figures['p50_ms'], 3),
            'bare_rclpy_goals_per_s': round(bare_figures['goals_per_s'], 1),
            'direct_goals_per_s': round(robot_figures['goals_per_s'], 1),
            'direct_vs_bare_throughput_ratio': round(
                robot_figures['goals_per_s'] / bare_figures['goals_per_s'], 3),
            'executor_rss_mb_before': round(robot_rss_start, 1),
            'executor_rss_mb_after': round(robot_rss_end, 1),
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        bare.stop()
        robot.stop()


if __name__ == '__main__':
    sys.exit(main())
