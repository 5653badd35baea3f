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

Then a fleet of ten simulated drones (ten robot_executor processes) and a coordinator process
(journal in a temporary directory): a plan of 100 hovers of 0.1 s (seed figure, physical floor
1.0 s), the same plan with max_concurrency 1, zero-work operations pipelined through the
coordinator's execute_operation, the coordinator's memory after the operations it ran (the
key names their count), and the fleet-wide emergency stop. A fleet phase that fails is listed
under ``errors`` with its figures None. Absolute figures depend on the machine and its load;
the ratios compare like with like. Prints one JSON object; process logs go to a temporary
directory.
"""

import json
import os
import statistics
import sys
import tempfile
import threading
import time
import typing

from brain_execution_interfaces.action import CaptureImage, ExecuteOperation, ExecutePlan
from brain_execution_interfaces.msg import PlanStep, RobotState
from brain_execution_interfaces.srv import TriggerEmergencyStop
import psutil
import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node

from ..bridges.serial_calls import SerialCalls
from ..ros.executor import FleetExecutor
from ..ros.processes import config_file, node_command, NodeProcess
from ..ros.qos import intake_qos

__all__ = ['main']

SEQUENTIAL_GOALS = 100
PIPELINED_GOALS = 1000
WINDOW = 50
TIMEOUT_S = 120.0
FLEET_SIZE = 10
HOVERS = 100
HOVER_S = 0.1
# Goals of the coordinated rate; the coordinator's memory is read after RSS_OPS operations.
COORDINATED_GOALS = 1000
RSS_OPS = 10_000
# The slowest rate of the long memory phase that still counts as working, goals/s.
RSS_PHASE_MIN_RATE = 10.0
ESTOP_TRIALS = 5
# A fleet phase that has not ended by then failed (a lost result never ends, see errors).
PHASE_TIMEOUT_S = 45.0


class _Sender:
    """Sends goals through one ActionClient and waits for their results."""

    def __init__(self, serial: SerialCalls, client: ActionClient, goal, *,
                 timeout_s: float = TIMEOUT_S):
        self._serial = serial
        self._client = client
        self._timeout_s = timeout_s
        # A goal, or a function returning the next goal (e.g. round-robin over robots).
        self._goal = goal if callable(goal) else (lambda: goal)

    def _send(self, on_result: typing.Callable[[int], None]) -> None:
        def on_goal(future):
            handle = future.result()
            self._serial.call(handle.get_result_async).add_done_callback(
                lambda f: on_result(f.result().result.error_code))
        self._serial.call(self._client.send_goal_async, self._goal()).add_done_callback(on_goal)

    def sequential(self, count: int) -> typing.List[float]:
        """Return the round-trip time of each goal, sent one after the other."""
        latencies = []
        for _ in range(count):
            done = threading.Event()
            codes = []
            started = time.perf_counter()
            self._send(lambda code: (codes.append(code), done.set()))
            if not done.wait(self._timeout_s):
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
            if not slots.acquire(timeout=self._timeout_s):
                raise RuntimeError('pipeline stalled')
            self._send(on_result)
        if not finished.wait(self._timeout_s):
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
    serial = SerialCalls(node)
    sender = _Sender(serial, client, CaptureImage.Goal(count=1))
    sender.sequential(20)  # warm-up: discovery of the result service, caches
    latencies = sender.sequential(SEQUENTIAL_GOALS)
    rate = sender.pipelined(PIPELINED_GOALS, WINDOW)
    serial.destroy()
    client.destroy()
    return {'p50_ms': statistics.median(latencies) * 1000.0,
            'p99_ms': statistics.quantiles(latencies, n=100)[98] * 1000.0,
            'goals_per_s': rate}


def _call(client, request, timeout_s: float = TIMEOUT_S):
    done = threading.Event()
    future = client.call_async(request)
    future.add_done_callback(lambda f: done.set())
    if not done.wait(timeout_s):
        raise RuntimeError(f'no response from {client.srv_name} within {timeout_s} s')
    return future.result()


class _Fleet:
    """Ten drone executors and a coordinator in separate processes, and a client for them."""

    def __init__(self, node: Node, prefix: str, log_dir: str):
        self.robots = [f'{prefix}_drone{i}' for i in range(FLEET_SIZE)]
        self.processes = [
            NodeProcess(node_command('robot_executor', namespace=f'/{robot}',
                                     params_files=[config_file('drone.yaml')],
                                     # The default 20 Hz tick: a timed wait ends on
                                     # time between ticks (the executor ticks early).
                                     parameters={'result_timeout_s': 10}),
                        log_path=os.path.join(log_dir, f'{robot}.log'))
            for robot in self.robots]
        # A namespace of its own, so that a concurrent coordinator cannot answer.
        self.namespace = f'/{prefix}_execution'
        self.coordinator = NodeProcess(
            node_command('coordinator', namespace=self.namespace,
                         params_files=[config_file('coordinator.yaml')],
                         parameters={'robots': [f'{r}:drone' for r in self.robots],
                                     'journal_path': os.path.join(log_dir, 'journal.db'),
                                     'max_concurrency': 10, 'max_per_robot': 1,
                                     'discovery_timeout_s': 60.0}),
            log_path=os.path.join(log_dir, 'coordinator.log'))
        self.processes.append(self.coordinator)
        self._node = node
        qos = intake_qos(1000)
        qos_args = {'goal_service_qos_profile': qos, 'result_service_qos_profile': qos,
                    'cancel_service_qos_profile': qos}
        # Calls to the two action clients go through their (the node's default) group.
        self.serial = SerialCalls(node)
        self.plans = ActionClient(node, ExecutePlan, f'{self.namespace}/execute_plan',
                                  **qos_args)
        self.operations = ActionClient(node, ExecuteOperation,
                                       f'{self.namespace}/execute_operation', **qos_args)
        self.estop = node.create_client(TriggerEmergencyStop,
                                        f'{self.namespace}/emergency_stop', qos_profile=qos)
        self._states = {}
        self._state_lock = threading.Condition()
        for robot in self.robots:
            node.create_subscription(RobotState, f'/{robot}/robot_state',
                                     lambda msg, r=robot: self._on_state(r, msg), 10)

    def _on_state(self, robot: str, msg: RobotState) -> None:
        with self._state_lock:
            self._states[robot] = (time.perf_counter(), msg)
            self._state_lock.notify_all()

    def wait_states(self, condition, timeout_s: float = TIMEOUT_S) -> typing.Dict[str, float]:
        """Return, per robot, when its robot_state first satisfied condition (perf_counter)."""
        deadline = time.monotonic() + timeout_s
        seen = {}
        with self._state_lock:
            while len(seen) < len(self.robots):
                for robot, (stamp, msg) in self._states.items():
                    if robot not in seen and condition(msg):
                        seen[robot] = stamp
                remaining = deadline - time.monotonic()
                if len(seen) < len(self.robots) and remaining <= 0:
                    raise RuntimeError(f'robot states not reached: '
                                       f'{sorted(set(self.robots) - set(seen))}')
                if len(seen) < len(self.robots):
                    self._state_lock.wait(min(remaining, 0.5))
        return seen

    def ready(self) -> None:
        for client in (self.plans, self.operations):
            if not client.wait_for_server(timeout_sec=TIMEOUT_S):
                raise RuntimeError('no coordinator action server')
        if not self.estop.wait_for_service(timeout_sec=TIMEOUT_S):
            raise RuntimeError('no coordinator emergency_stop service')
        self.wait_states(lambda msg: msg.link_up)

    def run_plan(self, plan_id: str, steps, max_concurrency: int = 0) -> float:
        """Run a plan to its end; return the wall time from sending to its result, s."""
        done = threading.Event()
        box = {}

        def on_result(future):
            box['result'] = future.result().result
            done.set()

        def on_goal(future):
            handle = future.result()
            if not handle.accepted:
                box['result'] = None
                done.set()
                return
            self.serial.call(handle.get_result_async).add_done_callback(on_result)

        started = time.perf_counter()
        self.serial.call(self.plans.send_goal_async, ExecutePlan.Goal(
            plan_id=plan_id, steps=steps, max_concurrency=max_concurrency)).add_done_callback(
                on_goal)
        if not done.wait(PHASE_TIMEOUT_S):
            raise RuntimeError(f'plan {plan_id} did not end within {PHASE_TIMEOUT_S} s')
        wall = time.perf_counter() - started
        result = box['result']
        if result is None or result.error_code != 0:
            raise RuntimeError(f'plan {plan_id} failed: '
                               f'{result.error_msg if result else "rejected"}')
        return wall

    def hover_plan(self, tag: str):
        return [PlanStep(step_id=f'hover{i}', robot_id=self.robots[i % len(self.robots)],
                         operation='hover', parameters=f'{{duration_s: {HOVER_S}}}',
                         operation_id=f'{tag}.hover{i}')
                for i in range(HOVERS)]

    def close(self) -> None:
        self.serial.destroy()
        self.plans.destroy()
        self.operations.destroy()
        self._node.destroy_client(self.estop)
        for process in self.processes:
            process.stop()


def _fleet_figures(node: Node, fleet: _Fleet, prefix: str) -> typing.Dict[str, typing.Any]:
    """
    Measure the fleet phases; a phase that fails is reported in ``errors``, not hidden.

    Each figure is None when its phase failed; the phases after a failure still run (a step
    stuck in the coordinator may hold its robot, so they can fail too; they say so).
    """
    figures = {'fleet_robots': len(fleet.robots), 'seed_hover_operations': HOVERS,
               'seed_hover_duration_s': HOVER_S,
               'seed_hover_floor_s': HOVERS * HOVER_S / len(fleet.robots),
               'seed_hover_wall_s': None, 'seed_hover_warm_wall_s': None,
               'seed_hover_sequential_wall_s': None,
               'sequential_vs_concurrent_speedup': None, 'coordinated_goals_per_s': None,
               'coordinated_robots': len(fleet.robots), 'coordinated_goals': COORDINATED_GOALS,
               'estop_fleet_p99_ms': None, 'rss_mb_after_10k_ops': None, 'errors': []}
    ops = {'total': 0}

    def phase(name: str, body: typing.Callable[[], None]) -> None:
        try:
            body()
        except RuntimeError as error:
            figures['errors'].append(f'{name}: {error}')

    fleet.ready()

    def takeoff() -> None:
        # Not timed: the drones must be airborne before they can hover.
        fleet.run_plan(f'{prefix}_takeoff', [
            PlanStep(step_id=f'takeoff{i}', robot_id=robot, operation='takeoff',
                     parameters='{altitude_m: 5.0, climb_speed_mps: 5.0}',
                     operation_id=f'{prefix}.takeoff{i}')
            for i, robot in enumerate(fleet.robots)])
        ops['total'] += len(fleet.robots)

    def hover(max_concurrency: int, key: str) -> None:
        figures[key] = round(fleet.run_plan(
            f'{prefix}_{key}', fleet.hover_plan(f'{prefix}_{key}'), max_concurrency), 3)
        ops['total'] += HOVERS

    phase('takeoff', takeoff)
    if not figures['errors']:
        # The first hover plan includes discovering each drone's hover server (first use of
        # that client); the same plan again shows the coordinator in steady state.
        phase('hover plan, max_concurrency 10', lambda: hover(10, 'seed_hover_wall_s'))
        phase('hover plan again', lambda: hover(10, 'seed_hover_warm_wall_s'))
        phase('hover plan, max_concurrency 1', lambda: hover(1, 'seed_hover_sequential_wall_s'))
    if figures['seed_hover_warm_wall_s'] and figures['seed_hover_sequential_wall_s']:
        # Both plans with their clients already discovered.
        figures['sequential_vs_concurrent_speedup'] = round(
            figures['seed_hover_sequential_wall_s'] / figures['seed_hover_warm_wall_s'], 2)

    # Zero-work operations through the coordinator, round-robin over the fleet (one step per
    # robot at a time: max_per_robot 1), pipelined as the direct figure is.
    counter = iter(range(10 ** 9))

    def next_goal():
        robot = fleet.robots[next(counter) % len(fleet.robots)]
        return ExecuteOperation.Goal(robot_id=robot, operation='capture_image',
                                     parameters='{count: 1}')

    def coordinated() -> None:
        sender = _Sender(fleet.serial, fleet.operations, next_goal, timeout_s=PHASE_TIMEOUT_S)
        sender.sequential(20)  # warm-up
        ops['total'] += 20
        figures[f'rss_mb_after_{ops["total"]}_ops'] = coordinator_rss_mb()
        figures['coordinated_goals_per_s'] = round(
            sender.pipelined(COORDINATED_GOALS, WINDOW), 1)
        ops['total'] += COORDINATED_GOALS
        # Up to RSS_OPS in two halves: equal figures after both mean memory has levelled off.
        for key, target in (('rss_mb_after_5k_ops', RSS_OPS // 2),
                            ('rss_mb_after_10k_ops', RSS_OPS)):
            rest = target - ops['total']
            _Sender(fleet.serial, fleet.operations, next_goal,
                    timeout_s=rest / RSS_PHASE_MIN_RATE).pipelined(rest, WINDOW)
            ops['total'] += rest
            figures[key] = coordinator_rss_mb()

    def coordinator_rss_mb() -> float:
        return round(psutil.Process(fleet.coordinator.pid).memory_info().rss / 2 ** 20, 1)

    phase('coordinated capture_image', coordinated)
    figures['coordinator_ops_total'] = ops['total']

    # Fleet-wide emergency stop: request -> response, which the coordinator sends once every
    # robot's executor acknowledged its EmergencyStop; also request -> robot_state latched.
    service_ms, state_ms = [], []

    def estop() -> None:
        for _ in range(ESTOP_TRIALS):
            started = time.perf_counter()
            response = _call(fleet.estop, TriggerEmergencyStop.Request(reason='bench'),
                             PHASE_TIMEOUT_S)
            service_ms.append((time.perf_counter() - started) * 1000.0)
            if response.error_code or len(response.stopped_robot_ids) != len(fleet.robots):
                raise RuntimeError(f'emergency stop failed: {response.error_msg}')
            latched = fleet.wait_states(lambda msg: msg.emergency_stop_active, 10.0)
            state_ms.extend((stamp - started) * 1000.0 for stamp in latched.values())
            response = _call(fleet.estop, TriggerEmergencyStop.Request(release=True),
                             PHASE_TIMEOUT_S)
            if response.error_code:
                raise RuntimeError(f'emergency stop release failed: {response.error_msg}')
            fleet.wait_states(lambda msg: not msg.emergency_stop_active, 10.0)

    phase('emergency stop', estop)
    if service_ms:
        figures['estop_fleet_p99_ms'] = round(_p99(service_ms), 2)
        figures['estop_fleet_max_ms'] = round(max(service_ms), 2)
        figures['estop_measure'] = (
            f'/execution/emergency_stop request -> response (sent after all '
            f'{len(fleet.robots)} robots acknowledged), {len(service_ms)} trials')
    if state_ms:
        figures['estop_state_p99_ms'] = round(_p99(state_ms), 2)
        figures['estop_state_measure'] = (
            'request -> first robot_state with emergency_stop_active, per robot and trial; '
            'includes the 10 Hz robot_state period')
    return figures


def _p99(values: typing.Sequence[float]) -> float:
    return (statistics.quantiles(values, n=100, method='inclusive')[98] if len(values) > 1
            else values[0])


def main(argv=None) -> int:
    """Run the benchmark and print its JSON; return 0, or 1 when a fleet phase failed."""
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
    executor = FleetExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    fleet = None
    try:
        bare_figures = _measure(node, f'/{prefix}_bare/capture_image')
        robot_rss_start = psutil.Process(robot.pid).memory_info().rss / 2 ** 20
        robot_figures = _measure(node, f'/{prefix}_robot/capture_image')
        robot_rss_end = psutil.Process(robot.pid).memory_info().rss / 2 ** 20
        # Started only now, so that booting eleven processes does not load the figures above.
        fleet = _Fleet(node, prefix, log_dir)
        fleet_figures = _fleet_figures(node, fleet, prefix)
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
        report.update(fleet_figures)
        report['coordinated_vs_bare_ratio'] = (
            round(fleet_figures['coordinated_goals_per_s'] / bare_figures['goals_per_s'], 3)
            if fleet_figures['coordinated_goals_per_s'] else None)
        report['log_dir'] = log_dir
        print(json.dumps(report, indent=2))
        return 1 if report['errors'] else 0
    finally:
        if fleet is not None:
            fleet.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        bare.stop()
        robot.stop()


if __name__ == '__main__':
    sys.exit(main())
