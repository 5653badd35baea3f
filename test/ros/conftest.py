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
Fixtures for tests against robot executors running as separate processes.

``start_executor`` starts ``robot_executor`` exactly as a user or ``launch_ros`` would
(installed console script, ``--ros-args -r __ns:=/<robot> --params-file config/<x>.yaml``).
``ros`` is the test's side: a node on its own ``Context``, spun by a two-thread executor in a
background thread, with helpers that wait on conditions with timeouts (never fixed sleeps).
The session gets its own ROS domain so that parallel runs on one machine do not cross.
``module_start_sim_nav2`` starts ``sim_nav2`` processes (Nav2's interface over a simulated
robot); :class:`SimEvents` collects what such a robot reports it physically did.
"""

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import typing
import uuid

from brain_execution.ros.client import OperationClient
from brain_execution.ros.executor import FleetExecutor
from brain_execution.ros.processes import config_file, node_command, NodeProcess, program_command
from brain_execution.sim.nmea_autopilot.control import ControlClient, wait_ready
from brain_execution_interfaces.msg import RobotState
import pytest
import rclpy
from rclpy.context import Context
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

DOMAIN_ID = 101 + os.getpid() % 100
# Executors keep their operation records under $ROS_HOME (see operation_record.path): the
# session's own, so that tests never read another run's record nor litter ~/.ros.
ROS_HOME = tempfile.mkdtemp(prefix='brain_execution_ros_home_')
DISCOVERY_TIMEOUT_S = 30.0
RESULT_TIMEOUT_S = 60.0


def _env() -> typing.Dict[str, str]:
    env = dict(os.environ)
    env.update({'ROS_DOMAIN_ID': str(DOMAIN_ID), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                'PYTHONUNBUFFERED': '1', 'ROS_HOME': ROS_HOME})
    return env


def spin_in_thread(executor) -> typing.Tuple[threading.Thread, typing.List[Exception]]:
    """Spin an executor in a daemon thread; return it and the list of what ended spin()."""
    errors = []

    def spin():
        try:
            executor.spin()
        except Exception as error:  # noqa: B902 - recorded for the test to assert on
            errors.append(error)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    return thread, errors


def unique_robot_id(prefix: str) -> str:
    """Return a robot id no other test of this session uses."""
    return f'{prefix}_{uuid.uuid4().hex[:6]}'


class ExecutorProcess(NodeProcess):
    """A robot executor process and its log, for failure messages."""

    def __init__(self, robot_id: str, log_path: str, **kwargs):
        super().__init__(log_path=log_path, env=_env(), **kwargs)
        self.robot_id = robot_id
        self.log_path = log_path

    def log(self) -> str:
        with open(self.log_path, 'rb') as log:
            return log.read().decode(errors='replace')


def _executor_starter(log_dir):
    """Yield a function starting robot executors; all are stopped when the generator ends."""
    started = []

    def start(platform: str = 'drone', *, robot_id: str = None,
              parameters: typing.Mapping[str, typing.Any] = None,
              params_file: str = None) -> ExecutorProcess:
        """Start an executor from config/<params_file or platform>.yaml."""
        robot_id = robot_id or unique_robot_id(platform)
        process = ExecutorProcess(
            robot_id, str(log_dir / f'{robot_id}.log'),
            command=node_command('robot_executor', namespace=f'/{robot_id}',
                                 params_files=[config_file(params_file or f'{platform}.yaml')],
                                 parameters=parameters))
        started.append(process)
        return process

    yield from _stopping_after(start, started)


def _stopping_after(start, started: typing.List[NodeProcess]):
    """Yield ``start``; then stop every process it started."""
    try:
        yield start
    finally:
        for process in started:
            process.stop()


class NmeaAutopilot:
    """
    A ``sim_nmea_autopilot`` process: its ports, faults and events, through its control socket.

    :param arguments: extra command-line arguments (endpoints, start position, faults).
    """

    def __init__(self, log_dir, name: str, arguments: typing.Sequence[str] = ()):
        self._log_dir = log_dir
        self.name = name
        self._arguments = list(arguments)
        self._starts = 0
        self.process = None
        self.ports: typing.Dict[str, int] = {}
        self.start()

    def start(self) -> None:
        """Start the process (again, on the same ports after a kill); wait until it listens."""
        self._starts += 1
        ready = self._log_dir / f'{self.name}-{self._starts}.ready.json'
        arguments = ['--ready-file', str(ready), '--events',
                     str(self._log_dir / f'{self.name}.events.jsonl')] + self._arguments
        if self.ports:
            # Restarted: the same ports (argparse keeps the last of a repeated option).
            arguments += ['--control-port', str(self.ports['control_port'])]
            if 'tcp_port' in self.ports:
                arguments += ['--tcp-port', str(self.ports['tcp_port'])]
        self.log_path = self._log_dir / f'{self.name}-{self._starts}.log'
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen(
                program_command('sim_nmea_autopilot',
                                module='brain_execution.sim.nmea_autopilot.main',
                                arguments=arguments),
                stdout=log, stderr=subprocess.STDOUT)
        self.ports = wait_ready(str(ready), self.process)
        self.control = ControlClient(self.ports['control_port'])

    def request(self, cmd: str, **arguments) -> dict:
        return self.control.request(cmd, **arguments)

    def state(self) -> dict:
        return self.request('state')

    def faults(self, **faults) -> dict:
        return self.request('faults', **faults)

    def events(self, since: int = 0) -> typing.List[dict]:
        return self.request('events', since=since)['events']

    def next_event(self) -> int:
        """Return the number the next event will have (to read only later ones)."""
        return self.state()['events']

    def wait_for_event(self, event: str, since: int, timeout_s: float = 15.0) -> dict:
        """Return the first event of that name numbered since or later, failing on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            for entry in self.events(since):
                if entry['event'] == event:
                    return entry
            if time.monotonic() > deadline:
                pytest.fail(f'{self.name}: no {event!r} event within {timeout_s} s; events: '
                            f'{self.events(since)[-10:]}')
            time.sleep(0.1)  # polling the simulator's log; nothing to block on

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope='module')
def module_nmea_autopilots(tmp_path_factory):
    """Return a function starting ``sim_nmea_autopilot`` processes; stopped after the module."""
    started = []
    log_dir = tmp_path_factory.mktemp('nmea')

    def start(name: str = 'boat', arguments: typing.Sequence[str] = ()) -> NmeaAutopilot:
        autopilot = NmeaAutopilot(log_dir, name, arguments)
        started.append(autopilot)
        return autopilot

    try:
        yield start
    finally:
        for autopilot in started:
            autopilot.stop()


@pytest.fixture
def start_executor(tmp_path):
    """Return a function starting robot executors; all are stopped at teardown."""
    yield from _executor_starter(tmp_path)


@pytest.fixture(scope='module')
def module_start_executor(tmp_path_factory):
    """Module-scoped ``start_executor``: the processes serve every test of a module."""
    yield from _executor_starter(tmp_path_factory.mktemp('executors'))


class SimNav2Process(ExecutorProcess):
    """A ``sim_nav2`` process: Nav2's actions, services and topics under ``namespace``."""

    def __init__(self, namespace: str, log_path: str, **kwargs):
        super().__init__(namespace.strip('/').replace('/', '_'), log_path, **kwargs)
        self.namespace = namespace
        #: The node's full name, for its parameters (the faults).
        self.node_name = f'{namespace}/sim_nav2'


@pytest.fixture(scope='module')
def module_start_sim_nav2(tmp_path_factory):
    """Return a function starting sim_nav2 processes, stopped after the module."""
    log_dir = tmp_path_factory.mktemp('sim_nav2')
    started = []

    def start(namespace: str, parameters: typing.Mapping[str, typing.Any] = None
              ) -> SimNav2Process:
        process = SimNav2Process(
            namespace, str(log_dir / f'{namespace.strip("/").replace("/", "_")}.log'),
            command=node_command('sim_nav2', namespace=namespace, parameters=parameters))
        started.append(process)
        return process

    yield from _stopping_after(start, started)


class SimMavrosProcess(SimNav2Process):
    """A ``sim_mavros`` process: MAVROS's interface under ``<namespace>/mavros``."""

    def __init__(self, namespace: str, log_path: str, **kwargs):
        super().__init__(namespace, log_path, **kwargs)
        self.node_name = f'{namespace}/sim_mavros'


@pytest.fixture(scope='module')
def module_start_sim_mavros(tmp_path_factory):
    """Return a function starting sim_mavros processes, stopped after the module."""
    log_dir = tmp_path_factory.mktemp('sim_mavros')
    started = []

    def start(namespace: str, parameters: typing.Mapping[str, typing.Any] = None
              ) -> SimMavrosProcess:
        process = SimMavrosProcess(
            namespace, str(log_dir / f'{namespace.strip("/").replace("/", "_")}.log'),
            command=node_command('sim_mavros', namespace=namespace, parameters=parameters))
        started.append(process)
        return process

    yield from _stopping_after(start, started)


class SimEvents:
    """
    What a simulated robot reported it did (e.g. ``sim_nav2/events``), as dicts, in order.

    Transient local: the events from before the subscription are delivered too.

    :param topic: the events topic under namespace (``sim_mavros/events`` for sim_mavros).
    """

    QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)

    def __init__(self, node, namespace: str, topic: str = 'sim_nav2/events'):
        self._events: typing.List[dict] = []
        self._changed = threading.Condition()
        self._subscription = node.create_subscription(
            String, f'{namespace}/{topic}', self._on_event, self.QOS)

    def _on_event(self, msg: String) -> None:
        with self._changed:
            self._events.append(json.loads(msg.data))
            self._changed.notify_all()

    def mark(self) -> int:
        """Return a position: the events after it are those to come."""
        with self._changed:
            return len(self._events)

    def since(self, mark: int, event: str = None, **fields) -> typing.List[dict]:
        """Return the events after mark, of a kind and with the given field values."""
        with self._changed:
            return [e for e in self._events[mark:] if (event is None or e['event'] == event)
                    and all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, mark: int, event: str, timeout_s: float = 10.0, **fields) -> dict:
        """Return the first matching event after mark; fail the test if none comes."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = self.since(mark, event, **fields)
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f'no {event} {fields} event within {timeout_s} s; events '
                                f'since: {self._events[mark:]}')
                self._changed.wait(remaining)


class GoalRun:
    """One goal sent by the test: its handle, feedback and result as they arrive."""

    def __init__(self, operations: OperationClient):
        self._operations = operations
        self.accepted = threading.Event()
        self.finished = threading.Event()
        self.goal_handle = None
        self.result = None
        self.status = None
        self.feedback = []
        self.running = threading.Event()  # set by the first feedback: the goal is executing
        self.sent_s = time.time()

    def _on_feedback(self, msg) -> None:
        self.feedback.append(msg.feedback)
        self.running.set()

    def _on_goal(self, future) -> None:
        self.goal_handle = future.result()
        self.accepted.set()
        if self.goal_handle.accepted:
            self._operations.get_result_async(self.goal_handle).add_done_callback(
                self._on_result)
        else:
            self.finished.set()

    def _on_result(self, future) -> None:
        response = future.result()
        self.result, self.status = response.result, response.status
        self.finished.set()

    def wait(self, timeout_s: float = RESULT_TIMEOUT_S):
        """Return the result, failing the test if none arrives in time."""
        if not self.finished.wait(timeout_s):
            pytest.fail(f'no result within {timeout_s} s (feedback so far: '
                        f'{self.feedback[-1:] if self.feedback else "none"})')
        return self.result


class RosSide:
    """The test's ROS node, on its own Context, with an executor in a background thread."""

    def __init__(self):
        self.context = Context()
        rclpy.init(context=self.context, domain_id=DOMAIN_ID)
        self.node = rclpy.create_node(f'test_client_{uuid.uuid4().hex[:8]}',
                                      context=self.context)
        self.executor = FleetExecutor(num_threads=2, context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()
        self.operations = OperationClient(self.node)
        self._states: typing.Dict[str, RobotState] = {}
        self._state_lock = threading.Condition()
        self._subscriptions = {}
        self._parameter_clients = {}

    def close(self) -> None:
        self.operations.destroy()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=10.0)

    def wait_for_servers(self, executor: ExecutorProcess, operations: typing.Iterable[str]):
        missing = self.operations.wait_for_servers(executor.robot_id, operations,
                                                   DISCOVERY_TIMEOUT_S)
        if missing:
            pytest.fail(f'{executor.robot_id}: no server for {missing}; running='
                        f'{executor.running()}; log:\n{executor.log()}')

    def send(self, robot_id: str, operation: str, fields: typing.Mapping = None) -> GoalRun:
        """Send a goal without waiting; feedback and result are collected in the GoalRun."""
        run = GoalRun(self.operations)
        future = self.operations.send_goal_async(
            robot_id, operation, fields or {},
            feedback_callback=run._on_feedback)
        future.add_done_callback(run._on_goal)
        return run

    def run(self, robot_id: str, operation: str, fields: typing.Mapping = None,
            timeout_s: float = RESULT_TIMEOUT_S):
        """Send a goal and return its result."""
        return self.send(robot_id, operation, fields).wait(timeout_s)

    def cancel(self, run: GoalRun, timeout_s: float = 10.0):
        """Request cancellation of a goal; return the cancel response."""
        if not run.accepted.wait(timeout_s):
            pytest.fail('goal was not accepted in time, cannot cancel it')
        done = threading.Event()
        box = {}
        future = self.operations.cancel_goal_async(run.goal_handle)

        def on_done(f):
            box['response'] = f.result()
            done.set()

        future.add_done_callback(on_done)
        if not done.wait(timeout_s):
            pytest.fail('no cancel response in time')
        return box['response']

    def set_parameters(self, node_name: str, values: typing.Mapping[str, typing.Any],
                       timeout_s: float = 10.0) -> None:
        """Set parameters of another node (e.g. a sim's faults); fail the test if refused."""
        client = self._parameter_clients.get(node_name)
        if client is None:
            # Kept: AsyncParameterClient has no destroy, and rediscovery costs time.
            client = self._parameter_clients[node_name] = AsyncParameterClient(
                self.node, node_name)
        if not client.wait_for_services(timeout_s):
            pytest.fail(f'no parameter services of {node_name} within {timeout_s} s')
        future = client.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout_s):
            pytest.fail(f'{node_name} did not answer set_parameters within {timeout_s} s')
        refused = [r.reason for r in future.result().results if not r.successful]
        assert not refused, f'{node_name} refused {values}: {refused}'

    def watch_state(self, robot_id: str) -> None:
        """Subscribe to /<robot_id>/robot_state; the latest message is kept."""
        if robot_id in self._subscriptions:
            return

        def on_state(msg: RobotState) -> None:
            with self._state_lock:
                self._states[robot_id] = msg
                self._state_lock.notify_all()

        self._subscriptions[robot_id] = self.node.create_subscription(
            RobotState, f'/{robot_id}/robot_state', on_state, 10)

    def wait_for_state(self, robot_id: str, condition: typing.Callable[[RobotState], bool],
                       timeout_s: float = 10.0) -> typing.Optional[RobotState]:
        """Return the first robot_state satisfying condition, or None on timeout."""
        self.watch_state(robot_id)
        deadline = time.monotonic() + timeout_s
        with self._state_lock:
            while True:
                state = self._states.get(robot_id)
                if state is not None and condition(state):
                    return state
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._state_lock.wait(remaining)


@pytest.fixture
def ros():
    side = RosSide()
    try:
        yield side
    finally:
        side.close()


@pytest.fixture(scope='module')
def module_ros():
    """Module-scoped ``ros``."""
    side = RosSide()
    try:
        yield side
    finally:
        side.close()
