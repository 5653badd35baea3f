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
answers at once), first one at a time (round-trip latency), then pipelined (throughput). The
robot executor is first left idle for ``IDLE_WINDOW_S`` (``executor_idle_cpu_percent``, of
one core).

Then a fleet of ten simulated drones (ten robot_executor processes) and a coordinator process
(journal in a temporary directory): a plan of 100 hovers of 0.1 s (seed figure, physical floor
1.0 s), the same plan with max_concurrency 1, zero-work operations pipelined through the
coordinator's execute_operation, the coordinator's memory after the operations it ran (the
key names their count), the fleet-wide emergency stop, and the emergency stop of one robot:
idle, then under load (the ten drones busy with a plan of LOAD_HOVERS hovers, one of them
frozen with SIGSTOP and chased by a stop of its own).

Then, for N in ``SCALE_SIZES``, N drones in one ``fleet_sim`` process and a coordinator: a
plan of 10 x N hovers at concurrency N, run once to discover and once timed
(``scale_<N>_warm_wall_s``, floor 1.0 s), with the coordinator's CPU per step and RSS over
the timed one.

A fleet phase that fails is listed under ``errors`` with its figures None. Absolute figures
depend on the machine and its load; the ratios compare like with like. Prints one JSON
object; process logs go to a temporary directory.

``--only PHASE[,PHASE...]`` runs only the named phases, in their usual order: ``single``
(bare server and one robot executor, idle CPU), ``hover`` (the seed hover plans),
``coordinated`` (zero-work operations through the coordinator, up to RSS_OPS, its memory),
``estop`` (fleet-wide and one-robot emergency stops, idle and under load), ``scale``. Any of
hover, coordinated and estop starts the ten-drone fleet and its takeoff. ``--estop-only`` is
``--only estop``. E.g. ``--only coordinated,estop`` runs the stops under load after the
10k-operations phase, as the full run does.
"""

import json
import os
import signal
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
from ..core.plan import MAX_STEPS
from ..ros.executor import FleetExecutor
from ..ros.processes import config_file, node_command, NodeProcess, program_command
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
# One-robot emergency stops, idle and under load; the load plan's size and hover length.
# The largest plan the coordinator takes (a longer one ends INVALID_PLAN at once); with
# 0.1 s hovers, 10 s of hovering per drone, which the 30 stops must fit into.
ESTOP_ROBOT_TRIALS = 30
LOAD_HOVERS = MAX_STEPS
LOAD_HOVER_S = 0.1
# An idle executor's CPU is measured over this window, s.
IDLE_WINDOW_S = 10.0
# Scale phases: fleets of these sizes in one fleet_sim process each, plans of
# SCALE_HOVERS_PER_ROBOT x N hovers at concurrency N (floor 1.0 s at every N).
SCALE_SIZES = (10, 50, 100)
SCALE_HOVERS_PER_ROBOT = 10
# robot_state of the scale fleets, Hz: the coordinator's link watch needs far less than the
# default 10 Hz, and 100 robots at 10 Hz would load the machine the figures are taken on.
SCALE_STATE_RATE_HZ = 2.0
SCALE_PHASE_TIMEOUT_S = 120.0
# What --only selects from, in the order they run; the fleet phases share one fleet.
PHASES = ('single', 'hover', 'coordinated', 'estop', 'scale')
FLEET_PHASES = frozenset(('hover', 'coordinated', 'estop'))
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


def _robot_processes(robots: typing.Sequence[str],
                     log_dir: str) -> typing.List[NodeProcess]:
    """One robot_executor process per drone."""
    return [NodeProcess(node_command('robot_executor', namespace=f'/{robot}',
                                     params_files=[config_file('drone.yaml')],
                                     # The default 20 Hz tick: a timed wait ends on
                                     # time between ticks (the executor ticks early).
                                     parameters={'result_timeout_s': 10}),
                        log_path=os.path.join(log_dir, f'{robot}.log'))
            for robot in robots]


def _fleet_sim_process(prefix: str, count: int, log_dir: str) -> NodeProcess:
    """All drones /<prefix>1 .. /<prefix><count> in one fleet_sim process."""
    return NodeProcess(program_command('fleet_sim', module='brain_execution.deploy.fleet_sim',
                                       arguments=['--count', str(count), '--prefix', prefix,
                                                  '--param', 'result_timeout_s=10',
                                                  '--param',
                                                  f'state_rate_hz={SCALE_STATE_RATE_HZ}']),
                       log_path=os.path.join(log_dir, f'{prefix}fleet_sim.log'))


class _PlanRun:
    """
    A plan sent without waiting for it: its goal response, then its result.

    The coordinator answers ACCEPT also to a plan it refuses (the result carries the code
    and reason), so a plan that ended is read through :meth:`failure`, not only ``ended``.
    """

    def __init__(self, plan_id: str):
        self.plan_id = plan_id
        #: Set when the result arrived, or the goal was rejected.
        self.ended = threading.Event()
        self.accepted: typing.Optional[bool] = None
        self.status: typing.Optional[int] = None
        self.result = None

    def end(self, *, status: typing.Optional[int] = None, result=None) -> None:
        self.status, self.result = status, result
        self.ended.set()

    def failure(self) -> str:
        """Return why the plan failed; '' while it runs or when it succeeded."""
        if not self.ended.is_set():
            return ''
        if not self.accepted:
            return f'plan {self.plan_id} rejected (goal response)'
        if self.result.error_code == 0:
            return ''
        return (f'plan {self.plan_id} ended with goal status {self.status}, error_code '
                f'{self.result.error_code}: {self.result.error_msg}')


class _Fleet:
    """
    Drone executors and a coordinator, and a client for them.

    :param robots: the drones' ids (namespaces ``/<id>``).
    :param robot_processes: the processes serving them (one each, or one fleet_sim).
    """

    def __init__(self, node: Node, prefix: str, log_dir: str, *,
                 robots: typing.Sequence[str], robot_processes: typing.List[NodeProcess]):
        self.robots = list(robots)
        self.processes = list(robot_processes)
        # A namespace of its own, so that a concurrent coordinator cannot answer.
        self.namespace = f'/{prefix}_execution'
        self.coordinator = NodeProcess(
            node_command('coordinator', namespace=self.namespace,
                         params_files=[config_file('coordinator.yaml')],
                         parameters={'robots': [f'{r}:drone' for r in self.robots],
                                     'journal_path': os.path.join(log_dir,
                                                                  f'{prefix}journal.db'),
                                     'max_concurrency': len(self.robots),
                                     'max_per_robot': 1, 'discovery_timeout_s': 60.0}),
            log_path=os.path.join(log_dir, f'{prefix}coordinator.log'))
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
        self._subscriptions = [
            node.create_subscription(RobotState, f'/{robot}/robot_state',
                                     lambda msg, r=robot: self._on_state(r, msg), 10)
            for robot in self.robots]

    def _on_state(self, robot: str, msg: RobotState) -> None:
        with self._state_lock:
            self._states[robot] = (time.perf_counter(), msg)
            self._state_lock.notify_all()

    def wait_states(self, condition, timeout_s: float = TIMEOUT_S, *,
                    give_up: typing.Callable[[], str] = lambda: ''
                    ) -> typing.Dict[str, float]:
        """
        Return, per robot, when its robot_state first satisfied condition (perf_counter).

        :param give_up: returns why waiting longer is pointless ('' = keep waiting), e.g.
            the plan meant to bring the states about has failed; checked every 0.5 s.
        """
        deadline = time.monotonic() + timeout_s
        seen = {}
        with self._state_lock:
            while len(seen) < len(self.robots):
                reason = give_up()
                if reason:
                    raise RuntimeError(reason)
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

    def run_plan(self, plan_id: str, steps, max_concurrency: int = 0,
                 timeout_s: float = PHASE_TIMEOUT_S) -> float:
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
        if not done.wait(timeout_s):
            raise RuntimeError(f'plan {plan_id} did not end within {timeout_s} s')
        wall = time.perf_counter() - started
        result = box['result']
        if result is None or result.error_code != 0:
            raise RuntimeError(f'plan {plan_id} failed: '
                               f'{result.error_msg if result else "rejected"}')
        return wall

    def hover_plan(self, tag: str, count: int = HOVERS, duration_s: float = HOVER_S):
        return [PlanStep(step_id=f'hover{i}', robot_id=self.robots[i % len(self.robots)],
                         operation='hover', parameters=f'{{duration_s: {duration_s}}}',
                         operation_id=f'{tag}.hover{i}')
                for i in range(count)]

    def start_plan(self, plan_id: str, steps) -> '_PlanRun':
        """Send a plan without waiting for it; see :class:`_PlanRun`."""
        run = _PlanRun(plan_id)

        def on_result(future):
            response = future.result()
            run.end(status=response.status, result=response.result)

        def on_goal(future):
            handle = future.result()
            run.accepted = handle.accepted
            if not handle.accepted:
                run.end()
                return
            self.serial.call(handle.get_result_async).add_done_callback(on_result)

        self.serial.call(self.plans.send_goal_async, ExecutePlan.Goal(
            plan_id=plan_id, steps=steps)).add_done_callback(on_goal)
        return run

    def robot_estop_ms(self, robots: typing.Sequence[str], trials: int) -> typing.List[float]:
        """Stop and release one robot at a time; return each stop's request -> response."""
        times = []
        for trial in range(trials):
            robot = robots[trial % len(robots)]
            started = time.perf_counter()
            response = _call(self.estop, TriggerEmergencyStop.Request(
                robot_ids=[robot], reason='bench'), PHASE_TIMEOUT_S)
            times.append((time.perf_counter() - started) * 1000.0)
            if response.error_code or list(response.stopped_robot_ids) != [robot]:
                _call(self.estop, TriggerEmergencyStop.Request(
                    robot_ids=[robot], release=True), PHASE_TIMEOUT_S)
                raise RuntimeError(f'emergency stop of {robot} failed: {response.error_msg}')
            response = _call(self.estop, TriggerEmergencyStop.Request(
                robot_ids=[robot], release=True), PHASE_TIMEOUT_S)
            if response.error_code:
                raise RuntimeError(f'release of {robot} failed: {response.error_msg}')
        return times

    def take_off(self, tag: str, timeout_s: float = PHASE_TIMEOUT_S) -> None:
        """Take every drone off (not timed: they must be airborne to hover)."""
        self.run_plan(f'{tag}_takeoff', [
            PlanStep(step_id=f'takeoff{i}', robot_id=robot, operation='takeoff',
                     parameters='{altitude_m: 5.0, climb_speed_mps: 5.0}',
                     operation_id=f'{tag}.takeoff{i}')
            for i, robot in enumerate(self.robots)], timeout_s=timeout_s)

    def coordinator_rss_mb(self) -> float:
        return round(psutil.Process(self.coordinator.pid).memory_info().rss / 2 ** 20, 1)

    def coordinator_cpu_s(self) -> float:
        times = psutil.Process(self.coordinator.pid).cpu_times()
        return times.user + times.system

    def close(self) -> None:
        self.serial.destroy()
        self.plans.destroy()
        self.operations.destroy()
        self._node.destroy_client(self.estop)
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        for process in self.processes:
            process.stop()


def _fleet_figures(node: Node, fleet: _Fleet, prefix: str, *,
                   phases: typing.AbstractSet[str] = FLEET_PHASES
                   ) -> typing.Dict[str, typing.Any]:
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
        fleet.take_off(prefix)
        ops['total'] += len(fleet.robots)

    def hover(max_concurrency: int, key: str) -> None:
        figures[key] = round(fleet.run_plan(
            f'{prefix}_{key}', fleet.hover_plan(f'{prefix}_{key}'), max_concurrency), 3)
        ops['total'] += HOVERS

    phase('takeoff', takeoff)
    if not figures['errors'] and 'hover' in phases:
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
        figures[f'rss_mb_after_{ops["total"]}_ops'] = fleet.coordinator_rss_mb()
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
            figures[key] = fleet.coordinator_rss_mb()

    if 'coordinated' in phases:
        phase('coordinated capture_image', coordinated)
    figures['coordinator_ops_total'] = ops['total']
    if 'estop' in phases:
        _estop_figures(fleet, prefix, phase, figures)
    return figures


def _estop_figures(fleet: _Fleet, prefix: str, phase,
                   figures: typing.Dict[str, typing.Any]) -> None:
    """Add the emergency-stop figures (fleet-wide, then one robot idle and under load)."""
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
                # Released, so that the later phases do not find the fleet held.
                _call(fleet.estop, TriggerEmergencyStop.Request(release=True), PHASE_TIMEOUT_S)
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
    figures.update(_estop_under_load(fleet, prefix, phase))


def _estop_under_load(fleet: _Fleet, prefix: str, phase) -> typing.Dict[str, typing.Any]:
    """
    One-robot emergency stops, idle and then under load; the ratio of their p99.

    Load: a plan of LOAD_HOVERS hovers over all ten drones runs, the last drone is frozen
    (SIGSTOP; its steps hang in the coordinator) and a stop of its own is out for it (the
    lane re-sends it in the background). The stops go to the reachable drones in turn.
    """
    figures = {'estop_idle_p99_ms': None, 'estop_under_load_p99_ms': None,
               'estop_under_load_vs_idle_ratio': None}
    reachable, frozen = fleet.robots[:-1], fleet.processes[len(fleet.robots) - 1]

    def idle() -> None:
        figures['estop_idle_p99_ms'] = round(_p99(fleet.robot_estop_ms(
            reachable, ESTOP_ROBOT_TRIALS)), 2)

    def loaded() -> None:
        load = fleet.start_plan(f'{prefix}_load', fleet.hover_plan(
            f'{prefix}_load', LOAD_HOVERS, LOAD_HOVER_S))
        # Under way on every drone before the frozen one stops answering. A refused plan
        # is answered ACCEPT and then ends with its reason: that ends the wait, with it.
        fleet.wait_states(lambda msg: len(msg.active_operations) > 0, 30.0,
                          give_up=load.failure)
        frozen.process.send_signal(signal.SIGSTOP)
        try:
            chased = fleet.estop.call_async(TriggerEmergencyStop.Request(
                robot_ids=[fleet.robots[-1]], reason='bench: frozen'))
            started = time.perf_counter()
            times = fleet.robot_estop_ms(reachable, ESTOP_ROBOT_TRIALS)
            figures['estop_under_load_trials_s'] = round(time.perf_counter() - started, 2)
            if load.ended.is_set():
                raise RuntimeError(load.failure() or 'the load plan ended before the stops did')
            figures['estop_under_load_p99_ms'] = round(_p99(times), 2)
            figures['estop_under_load_max_ms'] = round(max(times), 2)
        finally:
            frozen.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        while not chased.done() and time.monotonic() < deadline:
            time.sleep(0.05)  # the frozen robot's stop answers within its ack timeout
        if chased.done():
            figures['estop_frozen_answer'] = chased.result().error_msg
        _call(fleet.estop, TriggerEmergencyStop.Request(release=True), PHASE_TIMEOUT_S)

    phase('emergency stop of one robot, idle', idle)
    phase('emergency stop of one robot under load', loaded)
    if figures['estop_idle_p99_ms'] and figures['estop_under_load_p99_ms']:
        figures['estop_under_load_vs_idle_ratio'] = round(
            figures['estop_under_load_p99_ms'] / figures['estop_idle_p99_ms'], 2)
    figures['estop_robot_measure'] = (
        f'/execution/emergency_stop of one reachable robot, request -> response, '
        f'{ESTOP_ROBOT_TRIALS} trials each; load: {LOAD_HOVERS} hovers of {LOAD_HOVER_S} s '
        f'over {len(fleet.robots)} drones (floor '
        f'{LOAD_HOVERS * LOAD_HOVER_S / len(fleet.robots):g} s, against '
        f'estop_under_load_trials_s), one frozen (SIGSTOP) with its own stop out')
    return figures


def _idle_figures(robot: NodeProcess) -> typing.Dict[str, float]:
    """CPU and RSS of a robot executor that has nothing to do, over IDLE_WINDOW_S."""
    process = psutil.Process(robot.pid)
    before = process.cpu_times()
    started = time.perf_counter()
    time.sleep(IDLE_WINDOW_S)  # the measurement window itself: nothing to wait for
    after = process.cpu_times()
    busy_s = (after.user + after.system) - (before.user + before.system)
    return {'executor_idle_cpu_percent': round(
                100.0 * busy_s / (time.perf_counter() - started), 2),
            'executor_idle_rss_mb': round(process.memory_info().rss / 2 ** 20, 1),
            'executor_idle_window_s': IDLE_WINDOW_S}


def _scale_figures(node: Node, prefix: str, log_dir: str,
                   count: int) -> typing.Dict[str, typing.Any]:
    """
    Run a plan of 10 x count hovers at concurrency count, over count drones in one fleet_sim.

    The first plan discovers every drone's hover server; the second (warm) one is timed, and
    the coordinator's CPU time over it is divided by its steps.
    """
    # No trailing underscore: the coordinator's namespace is <tag>_execution, and ROS names
    # refuse a double one.
    tag = f'{prefix}_s{count}'
    keys = {f'scale_{count}_warm_wall_s': None, f'scale_{count}_coord_cpu_ms_per_step': None,
            f'scale_{count}_coord_rss_mb': None}
    robots = [f'{tag}_{i}' for i in range(1, count + 1)]
    fleet = _Fleet(node, tag, log_dir, robots=robots,
                   robot_processes=[_fleet_sim_process(f'{tag}_', count, log_dir)])
    hovers = SCALE_HOVERS_PER_ROBOT * count
    try:
        fleet.ready()
        fleet.take_off(tag, SCALE_PHASE_TIMEOUT_S)
        fleet.run_plan(f'{tag}_cold', fleet.hover_plan(f'{tag}_cold', count=hovers), count,
                       SCALE_PHASE_TIMEOUT_S)
        cpu_s = fleet.coordinator_cpu_s()
        wall = fleet.run_plan(f'{tag}_warm', fleet.hover_plan(f'{tag}_warm', count=hovers), count,
                              SCALE_PHASE_TIMEOUT_S)
        cpu_s = fleet.coordinator_cpu_s() - cpu_s
        keys[f'scale_{count}_warm_wall_s'] = round(wall, 3)
        keys[f'scale_{count}_coord_cpu_ms_per_step'] = round(cpu_s * 1000.0 / hovers, 2)
        keys[f'scale_{count}_coord_rss_mb'] = fleet.coordinator_rss_mb()
    finally:
        fleet.close()
    return keys


def _p99(values: typing.Sequence[float]) -> float:
    return (statistics.quantiles(values, n=100, method='inclusive')[98] if len(values) > 1
            else values[0])


def main(argv=None) -> int:
    """Run the benchmark and print its JSON; return 0, or 1 when a fleet phase failed."""
    argv = list(sys.argv if argv is None else argv)
    try:
        phases, argv = _selected_phases(argv)
    except ValueError as error:
        print(f'brain_execution.bench: {error}', file=sys.stderr)
        return 2
    log_dir = tempfile.mkdtemp(prefix='brain_execution_bench_')
    prefix = f'bench{os.getpid()}'
    singles = [] if 'single' not in phases else [
        NodeProcess(node_command('bare_server', namespace=f'/{prefix}_bare',
                                 module='brain_execution.bench.bare_server'),
                    log_path=os.path.join(log_dir, 'bare.log')),
        NodeProcess(node_command('robot_executor', namespace=f'/{prefix}_robot',
                                 params_files=[config_file('drone.yaml')],
                                 parameters={'result_timeout_s': 10}),
                    log_path=os.path.join(log_dir, 'robot.log'))]
    rclpy.init(args=argv)
    node = Node('brain_execution_bench')
    executor = FleetExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    fleet = None
    try:
        report = {'cpus': os.cpu_count(), 'phases': [p for p in PHASES if p in phases],
                  'errors': []}
        if 'single' in phases:
            robot = singles[1]
            idle = ActionClient(node, CaptureImage, f'/{prefix}_robot/capture_image')
            if not idle.wait_for_server(timeout_sec=60.0):
                raise RuntimeError(f'no action server /{prefix}_robot/capture_image')
            idle.destroy()
            # Up and discovered, before its first goal: what an idle robot costs.
            report.update(_idle_figures(robot))
            report.update(_single_robot_figures(node, prefix, robot))
        if phases & FLEET_PHASES:
            # Started only now, so that booting eleven processes does not load the figures
            # above.
            robots = [f'{prefix}_drone{i}' for i in range(FLEET_SIZE)]
            fleet = _Fleet(node, prefix, log_dir, robots=robots,
                           robot_processes=_robot_processes(robots, log_dir))
            fleet_figures = _fleet_figures(node, fleet, prefix, phases=phases)
            fleet.close()
            fleet = None
            report['errors'].extend(fleet_figures.pop('errors'))
            report.update(fleet_figures)
        if {'single', 'coordinated'} <= phases:
            report['coordinated_vs_bare_ratio'] = (
                round(report['coordinated_goals_per_s'] /
                      report['bare_rclpy_goals_per_s'], 3)
                if report['coordinated_goals_per_s'] else None)
        if 'scale' in phases:
            report.update({'scale_robot_state_rate_hz': SCALE_STATE_RATE_HZ,
                           'scale_hovers_per_robot': SCALE_HOVERS_PER_ROBOT,
                           'scale_floor_s': SCALE_HOVERS_PER_ROBOT * HOVER_S})
            for count in SCALE_SIZES:
                try:
                    report.update(_scale_figures(node, prefix, log_dir, count))
                except RuntimeError as error:
                    report['errors'].append(f'scale {count}: {error}')
        report['log_dir'] = log_dir
        print(json.dumps(report, indent=2))
        return 1 if report['errors'] else 0
    finally:
        if fleet is not None:
            fleet.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        for process in singles:
            process.stop()


def _selected_phases(argv: typing.List[str]
                     ) -> typing.Tuple[typing.FrozenSet[str], typing.List[str]]:
    """
    Return the phases --only / --estop-only select (all without them), and the other args.

    :raises ValueError: For an unknown phase or a --only without a value.
    """
    selected, rest = [], []
    args = iter(argv)
    for arg in args:
        if arg == '--estop-only':
            selected.append('estop')
        elif arg == '--only' or arg.startswith('--only='):
            value = arg.partition('=')[2] if '=' in arg else next(args, '')
            names = [name.strip() for name in value.split(',') if name.strip()]
            if not names:
                raise ValueError(f'--only needs phases, some of {", ".join(PHASES)}')
            unknown = sorted(set(names) - set(PHASES))
            if unknown:
                raise ValueError(f'--only: unknown phase(s) {", ".join(unknown)}; '
                                 f'known: {", ".join(PHASES)}')
            selected.extend(names)
        else:
            rest.append(arg)
    return frozenset(selected or PHASES), rest


def _single_robot_figures(node: Node, prefix: str, robot: NodeProcess) -> typing.Dict:
    """Measure the bare rclpy server and one robot executor with the same client."""
    bare_figures = _measure(node, f'/{prefix}_bare/capture_image')
    robot_rss_start = psutil.Process(robot.pid).memory_info().rss / 2 ** 20
    robot_figures = _measure(node, f'/{prefix}_robot/capture_image')
    robot_rss_end = psutil.Process(robot.pid).memory_info().rss / 2 ** 20
    return {
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


if __name__ == '__main__':
    sys.exit(main())
