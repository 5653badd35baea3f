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
The coordinator's emergency stop, on a node, executor, thread and clients of its own.

``/execution/emergency_stop`` is served here, not by the coordinator node: its executor's
threads carry plans, results and journal commits, and its engine has a lock. This lane has
its own node (``coordinator_emergency`` in the coordinator's namespace), a single-threaded
executor on a thread of its own, one reentrant callback group, one ``emergency_stop`` action
client per robot and its own ``robot_state`` subscriptions, both in the robot's namespace
(``/<robot_id>`` unless the fleet gives another). Nothing in it takes the engine's
lock or waits on I/O: every callback only sends, records and returns.

* A stop goes to each robot independently. The call is answered as soon as every reachable
  robot has acknowledged (its executor commanded the platform). A robot counts as
  unreachable when its action server is not discovered, its ``robot_state`` has been silent
  for ``link_timeout_s``, or it has not answered within ``ack_timeout_s``; it is listed in
  ``failed_robot_ids`` (error_code COMMUNICATION_FAILURE, and ``error_msg`` says
  ``<robot>: unreachable (...); the stop is re-sent ...``) and the stop is re-sent to it
  every ``resend_period_s`` until it acknowledges or an operator releases it.
* Calls never wait behind one another: the callback group is reentrant and each call awaits
  only the answers of its own robots.
* A fleet-wide stop (no robot ids) holds the engine before anything is sent: it starts no
  step until a fleet-wide release, which lets the engine go on only after the robots were
  told to release (else the first steps would find them still latched).
* A release is not chased: a robot that missed it stays stopped, which is the safe side.
* Clocks: acknowledgement deadlines and re-sends are on the steady clock, so a paused
  ``/clock`` never pauses an emergency stop. A robot's ``robot_state`` silence is measured
  like the dispatcher's (:class:`~brain_execution.ros.liveness.LinkClock` on the
  coordinator's clock): under ``use_sim_time`` only as far as both the node clock and the
  steady clock moved, so a paused simulation (whose robots publish nothing) does not make
  every robot unreachable; a robot that does not answer still is, after ``ack_timeout_s``.

One thread, so rclpy's action client cannot drop a response that arrives while a request is
being registered (see :mod:`~brain_execution.ros.dispatcher`): sends and responses are
handled by the same thread.
"""

import itertools
import threading
import time
import typing

from brain_execution.core.errors import ErrorCode
from brain_execution.core.runtime import Outcome
from brain_execution_interfaces.action import EmergencyStop
from brain_execution_interfaces.msg import RobotState
from brain_execution_interfaces.srv import TriggerEmergencyStop
from rclpy.action import ActionClient
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.task import Future

from .client import robot_name
from .liveness import Instant, LinkClock
from .qos import intake_qos, NO_EVENT_HANDLERS, STATE_QOS

__all__ = ['EmergencyLane']

# How often deadlines and re-sends are checked (steady clock), s.
_CHECK_PERIOD_S = 0.02
_SPIN_SLICE_S = 0.1


class _Wait:
    """One emergency goal out to one robot, until it is answered or given up on."""

    __slots__ = ('robot_id', 'release', 'deadline_mono', 'answer', 'goal_future', 'epoch')

    def __init__(self, robot_id: str, release: bool, deadline_mono: float, epoch: int):
        self.robot_id = robot_id
        self.release = release
        self.deadline_mono = deadline_mono
        self.answer = Future()
        self.goal_future = None
        self.epoch = epoch


class _Chase:
    """A robot that has not acknowledged a stop yet: re-sent until it does or is released."""

    __slots__ = ('reason', 'epoch', 'next_send_mono', 'wait', 'sends')

    def __init__(self, reason: str, epoch: int, next_send_mono: float):
        self.reason = reason
        self.epoch = epoch
        self.next_send_mono = next_send_mono
        self.wait: typing.Optional[_Wait] = None
        self.sends = 1


class EmergencyLane:
    """
    Serve ``emergency_stop`` for a fleet, off the coordinator's executor and engine.

    :param parent: the coordinator node (namespace and context).
    :param robots: the fleet's robot ids.
    :param namespaces: robot id -> its executor's namespace; default ``/<robot_id>``.
    :param hold: called with the reason when a fleet-wide stop latches; must not block.
    :param release: called when a fleet-wide release has been sent; must not block.
    :param ack_timeout_s: how long a reachable robot may take to acknowledge (s).
    :param resend_period_s: period of the re-sends to unreachable robots (s).
    :param link_timeout_s: robot_state silence after which a robot is unreachable (s; under
        sim time on both clocks, see the module docstring).
    :param logger: receives (level, message).
    """

    def __init__(self, *, parent: Node, robots: typing.Sequence[str],
                 hold: typing.Callable[[str], None], release: typing.Callable[[], None],
                 ack_timeout_s: float, resend_period_s: float, link_timeout_s: float,
                 logger: typing.Callable[[str, str], None],
                 namespaces: typing.Optional[typing.Mapping[str, str]] = None):
        self._robots = tuple(robots)
        self._namespaces = dict(namespaces or {})
        self._hold, self._release = hold, release
        self._ack_timeout_s = float(ack_timeout_s)
        self._resend_period_s = float(resend_period_s)
        self._link_timeout_s = float(link_timeout_s)
        self._log = logger
        self._epochs = itertools.count(1)
        self._waits: typing.Dict[int, _Wait] = {}
        self._chase: typing.Dict[str, _Chase] = {}
        # The parent's clock: this lane's own node takes no --ros-args, so no use_sim_time.
        self._links = LinkClock(parent.get_clock())
        self._last_seen: typing.Dict[str, Instant] = {}
        self.node = Node('coordinator_emergency', namespace=parent.get_namespace(),
                         context=parent.context, use_global_arguments=False,
                         start_parameter_services=False)
        group = ReentrantCallbackGroup()
        qos = intake_qos(100)
        self._clients = {
            robot_id: ActionClient(self.node, EmergencyStop,
                                   robot_name(robot_id, 'emergency_stop', self._namespaces),
                                   callback_group=group, goal_service_qos_profile=qos,
                                   result_service_qos_profile=qos,
                                   cancel_service_qos_profile=qos)
            for robot_id in self._robots}
        for robot_id in self._robots:
            self.node.create_subscription(
                RobotState, robot_name(robot_id, 'robot_state', self._namespaces),
                lambda _msg, robot_id=robot_id: self._seen(robot_id), STATE_QOS,
                callback_group=group, event_callbacks=NO_EVENT_HANDLERS)
        self._wake = self.node.create_guard_condition(lambda: None, callback_group=group)
        self.node.create_service(TriggerEmergencyStop, 'emergency_stop', self._serve,
                                 callback_group=group, qos_profile=qos)
        # Steady time: a paused /clock must not pause an emergency stop's deadlines.
        self.node.create_timer(_CHECK_PERIOD_S, self._check, callback_group=group,
                               clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._executor = SingleThreadedExecutor(context=parent.context)
        self._executor.add_node(self.node)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._spin, name='emergency_lane', daemon=True)
        self._thread.start()

    # --- lifecycle -------------------------------------------------------------------------

    def _spin(self) -> None:
        while not self._stopping.is_set() and self.node.context.ok():
            try:
                self._executor.spin_once(timeout_sec=_SPIN_SLICE_S)
            except ExternalShutdownException:
                return
            except Exception as error:  # noqa: B902 - the lane must outlive a bad callback
                self._log('error', f'emergency lane callback raised '
                                   f'{type(error).__name__}: {error}')

    def close(self) -> None:
        """Stop the lane's thread, then destroy its clients and node."""
        self._stopping.set()
        self._executor.shutdown()
        self._thread.join(timeout=5.0)
        for client in self._clients.values():
            client.destroy()
        self.node.destroy_node()

    @property
    def chased(self) -> typing.List[str]:
        """Return the robots the stop is being re-sent to (for diagnostics)."""
        return sorted(self._chase)

    # --- the service -----------------------------------------------------------------------

    async def _serve(self, request, response):
        try:
            return await self._stop_or_release(request, response)
        except Exception as error:  # noqa: B902 - the caller must hear back
            self._log('error', f'emergency_stop raised {type(error).__name__}: {error}')
            response.error_code = int(ErrorCode.INTERNAL_ERROR)
            response.error_msg = f'{type(error).__name__}: {error}'
            return response

    async def _stop_or_release(self, request, response):
        release, reason = bool(request.release), request.reason or 'no reason given'
        fleet_wide = not request.robot_ids
        targets = list(dict.fromkeys(request.robot_ids)) or list(self._robots)
        outcomes: typing.Dict[str, Outcome] = {}
        known = []
        for robot_id in targets:
            if robot_id in self._clients:
                known.append(robot_id)
            else:
                outcomes[robot_id] = Outcome(code=int(ErrorCode.UNKNOWN_ROBOT),
                                             message=f'unknown robot {robot_id!r}')
        epoch = next(self._epochs)
        if release:
            for robot_id in known:
                self._chase.pop(robot_id, None)
        else:
            if fleet_wide:
                self._hold(reason)  # before any robot is told: no step may slip in between
            now = time.monotonic()
            for robot_id in known:
                self._chase[robot_id] = _Chase(reason, epoch, now + self._resend_period_s)
        self._log('warn', f'emergency_stop {"release" if release else "stop"} to '
                          f'{", ".join(known) or "no known robot"}: {reason}')
        waits = {robot_id: self._send(robot_id, reason=reason, release=release, epoch=epoch)
                 for robot_id in known}
        for robot_id, wait in waits.items():
            outcomes[robot_id] = await wait.answer
        if release and fleet_wide:
            self._release()
        unreachable = []
        for robot_id in targets:
            outcome = outcomes[robot_id]
            if outcome.succeeded:
                response.stopped_robot_ids.append(robot_id)
                continue
            response.failed_robot_ids.append(robot_id)
            if robot_id in self._chase and not release:
                unreachable.append(robot_id)
        failed = response.failed_robot_ids
        if failed:
            codes = [outcomes[r].code for r in failed]
            response.error_code = int(ErrorCode.COMMUNICATION_FAILURE if unreachable
                                      else codes[0])
            response.error_msg = '; '.join(f'{r}: {outcomes[r].message}' for r in failed)
        return response

    # --- sending ---------------------------------------------------------------------------

    def _send(self, robot_id: str, *, reason: str, release: bool, epoch: int) -> _Wait:
        now = self._links.now()
        wait = _Wait(robot_id, release, now.mono + self._ack_timeout_s, epoch)
        client = self._clients[robot_id]
        if not client.server_is_ready():
            self._settle(wait, self._unreachable(
                robot_id, release,
                f'no {robot_name(robot_id, "emergency_stop", self._namespaces)} server'))
            return wait
        goal = EmergencyStop.Goal(reason=reason, release=release, priority=255)
        try:
            wait.goal_future = client.send_goal_async(goal)
        except Exception as error:  # noqa: B902 - the caller must hear back
            self._settle(wait, self._unreachable(
                robot_id, release, f'send failed: {type(error).__name__}: {error}'))
            return wait
        token = id(wait)
        self._waits[token] = wait
        wait.goal_future.add_done_callback(lambda future: self._on_goal(wait, future))
        silence = self._silence_s(robot_id, now)
        if silence is not None and silence >= self._link_timeout_s:
            # Known lost: the goal is out (it may still arrive), but nobody waits for it.
            self._settle(wait, self._unreachable(
                robot_id, release, f'no robot_state for {silence:.1f} s'))
        return wait

    def _on_goal(self, wait: _Wait, future) -> None:
        try:
            handle = future.result()
        except Exception as error:  # noqa: B902 - the caller must hear back
            self._settle(wait, Outcome(code=int(ErrorCode.COMMUNICATION_FAILURE),
                                       message=f'goal request failed: {error}'))
            return
        if not handle.accepted:
            self._settle(wait, Outcome(code=int(ErrorCode.PLATFORM_REJECTED),
                                       message='emergency_stop goal rejected'))
            return
        handle.get_result_async().add_done_callback(lambda f: self._on_result(wait, f))

    def _on_result(self, wait: _Wait, future) -> None:
        try:
            result = future.result().result
            outcome = Outcome(code=int(result.error_code), message=result.error_msg)
        except Exception as error:  # noqa: B902 - the caller must hear back
            outcome = Outcome(code=int(ErrorCode.COMMUNICATION_FAILURE),
                              message=f'result could not be read: {error}')
        late = wait.answer.done()  # given up on, or the robot was known lost
        self._settle(wait, outcome)
        chase = self._chase.get(wait.robot_id)
        # An older stop's late answer must not end the chase of a newer one.
        if (outcome.succeeded and not wait.release and chase is not None and
                chase.epoch <= wait.epoch):
            del self._chase[wait.robot_id]
            if late:
                self._log('warn', f'{wait.robot_id} acknowledged the emergency stop late, '
                                  f'after {chase.sends} send(s)')

    def _settle(self, wait: _Wait, outcome: Outcome) -> None:
        self._waits.pop(id(wait), None)
        if not wait.answer.done():
            wait.answer.set_result(outcome)
            self._wake.trigger()

    def _unreachable(self, robot_id: str, release: bool, why: str) -> Outcome:
        then = ('the release is not re-sent' if release else
                f'the stop is re-sent every {self._resend_period_s:g} s until it '
                f'acknowledges or is released')
        return Outcome(code=int(ErrorCode.COMMUNICATION_FAILURE), retryable=True,
                       message=f'unreachable ({why}); {then}')

    # --- liveness, deadlines, re-sends -----------------------------------------------------

    def _seen(self, robot_id: str) -> None:
        self._last_seen[robot_id] = self._links.now()

    def _silence_s(self, robot_id: str, now: Instant) -> typing.Optional[float]:
        last = self._last_seen.get(robot_id)
        return None if last is None else self._links.silence_s(last, now)

    def _check(self) -> None:
        now = time.monotonic()
        for wait in [w for w in self._waits.values() if now >= w.deadline_mono]:
            self._settle(wait, self._unreachable(
                wait.robot_id, wait.release,
                f'no acknowledgement within {self._ack_timeout_s:g} s'))
        for robot_id, chase in list(self._chase.items()):
            if now < chase.next_send_mono:
                continue
            if chase.wait is not None and id(chase.wait) in self._waits:
                continue  # the last re-send is still within its deadline
            self._forget(robot_id, chase.wait)
            chase.next_send_mono = now + self._resend_period_s
            chase.sends += 1
            chase.wait = self._send(robot_id, reason=f'{chase.reason} (re-sent)',
                                    release=False, epoch=chase.epoch)

    def _forget(self, robot_id: str, wait: typing.Optional[_Wait]) -> None:
        """Drop an unanswered re-send's future from the client: only the latest is kept."""
        if wait is None or wait.goal_future is None or wait.goal_future.done():
            return
        remove = getattr(self._clients[robot_id], '_remove_pending_goal_request', None)
        if remove is not None:
            remove(wait.goal_future)
