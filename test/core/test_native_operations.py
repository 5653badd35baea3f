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
What a real bridge can tell the runtime beyond acknowledgements, on a fake clock.

A bridge over a navigation stack or an autopilot reports how a behaviour ended (finished,
or interrupted: navigation aborted, a pilot took over), may do composite motions natively
(a waypoint follower, an RTL) and may lack operations its platform kind has. The bridge here
is the simulator with those abilities added, the way the real bridges use them.
"""

from brain_execution.core.bridge import CommandHandle
from brain_execution.core.errors import ErrorCode, ExecutionError
from brain_execution.core.operation import OperationState
from brain_execution.core.state import Platform
from brain_execution.sim.bridge import SimBridge
import pytest

from .test_runtime import HOME, Robot

PILOT = 1901


class NativeBridge(SimBridge):
    """A simulated ground robot whose 'navigation stack' follows routes and goes home."""

    name = 'native'

    def __init__(self, **kwargs):
        super().__init__(platform=Platform.GROUND, robot_id='r1', home=HOME, **kwargs)
        self.route = None          # (handle, points, index)
        self.homing = None
        self.holds = 0
        self.last_go_to = None

    def unsupported_operations(self):
        return {'capture_image': 'this robot has no camera driver'}

    def go_to(self, **kwargs) -> CommandHandle:
        self.last_go_to = super().go_to(**kwargs)
        return self.last_go_to

    def hold(self) -> CommandHandle:
        self.holds += 1
        return super().hold()

    def follow_waypoints(self, *, points, speed_mps, acceptance_radius_m):
        handle = CommandHandle('follow_waypoints')
        self.route = [handle, list(points), 0, speed_mps]
        self._head_for_next()
        handle.set_result()
        return handle

    def return_home(self, *, speed_mps, land):
        self.homing = CommandHandle('return_home')
        self.vehicle.go_to(x_m=0.0, y_m=0.0, z_m=0.0, speed_mps=speed_mps)
        self.homing.set_result()
        return self.homing

    def _head_for_next(self):
        handle, points, index, speed = self.route
        p = points[index]
        self.vehicle.go_to(x_m=p.x_m, y_m=p.y_m, z_m=0.0, speed_mps=speed)
        handle.feedback['current_waypoint'] = index

    def update(self, now_s):
        super().update(now_s)
        s = self.snapshot()
        if self.route is not None:
            handle, points, index, _ = self.route
            if s.distance_to(points[index].x_m, points[index].y_m) < 0.5:
                if index + 1 == len(points):
                    handle.finish(len(points))
                    self.route = None
                else:
                    self.route[2] = index + 1
                    self._head_for_next()
        if self.homing is not None and s.distance_to(0.0, 0.0) < 0.5:
            self.homing.finish()
            self.homing = None


@pytest.fixture
def robot():
    return Robot(bridge=NativeBridge())


def test_native_waypoints_drive_the_route_and_report_its_feedback(robot):
    record = robot.runtime.submit('follow_waypoints', {
        'waypoints': [{'x_m': 5.0, 'y_m': 0.0}, {'x_m': 5.0, 'y_m': 5.0}], 'speed_mps': 2.0})
    assert record.state is OperationState.RUNNING, record.outcome
    seen = set()
    robot.until(lambda: seen.add(record.progress.extra.get('current_waypoint')) or record.done,
                60.0)
    assert record.outcome.code == ErrorCode.NONE, record.outcome
    assert record.outcome.result['waypoints_completed'] == 2
    assert {0, 1} <= seen
    # The route went to the platform as one: the programs sent no go_to of their own.
    assert robot.commands('go_to') == []


def test_native_return_home_ends_when_the_platform_says_home(robot):
    robot.bridge.vehicle.go_to(x_m=8.0, y_m=0.0, z_m=0.0, speed_mps=2.0)
    robot.until(lambda: robot.bridge.snapshot().x_m > 7.5, 30.0)
    record = robot.runtime.submit('return_home', {'speed_mps': 2.0})
    robot.until(lambda: record.done, 60.0)
    assert record.outcome.code == ErrorCode.NONE, record.outcome
    assert record.outcome.result['distance_to_home_m'] < 0.5
    assert robot.commands('go_to') == []


def test_an_interrupted_command_ends_the_operation_with_the_bridges_error(robot):
    record = robot.runtime.submit('go_to', {'target': {'x_m': 50.0, 'y_m': 0.0}})
    robot.until(lambda: robot.speed() > 0.5, 10.0)
    robot.bridge.last_go_to.interrupt(ExecutionError('pilot switched to MANUAL', code=PILOT))
    robot.advance(0.1)
    assert record.done
    assert record.outcome.code == PILOT
    assert 'MANUAL' in record.outcome.message
    # Ending a motion asks the bridge to hold; a bridge under a pilot acknowledges without
    # acting (that is the bridge's part of "never fight the pilot").
    assert robot.bridge.holds == 1


def test_a_finished_go_to_ends_at_once_and_is_judged_by_the_postcondition(robot):
    # A navigation stack's own goal tolerance decides when it stops; the program must not
    # wait for its own radius until the timeout, and the result says how far off it is.
    record = robot.runtime.submit('go_to', {'target': {'x_m': 4.0, 'y_m': 0.0},
                                            'acceptance_radius_m': 0.1})
    robot.until(lambda: robot.bridge.snapshot().x_m > 3.0, 30.0)
    robot.bridge.last_go_to.finish()
    robot.advance(0.1)
    assert record.done
    assert record.outcome.code == ErrorCode.POSTCONDITION_FAILED, record.outcome
    assert 'acceptance_radius_m 0.1' in record.outcome.message


def test_an_operation_the_bridge_lacks_is_refused_with_its_reason(robot):
    record = robot.runtime.submit('capture_image', {}, operation_id='cam-1')
    assert record.outcome.code == ErrorCode.UNSUPPORTED
    assert 'no camera driver' in record.outcome.message and 'native' in record.outcome.message
    assert robot.runtime.query('cam-1') is None
    assert not robot.bridge.command_log


def test_finish_and_interrupt_settle_a_handle_once():
    handle = CommandHandle('go_to')
    assert handle.finish('arrived') is True
    assert handle.done() and handle.value == 'arrived' and handle.finished
    assert handle.interrupt(ExecutionError('late')) is False
    assert handle.interruption is None
    pending = CommandHandle('go_to')
    assert pending.interrupt(ExecutionError('link lost')) is True
    # Interrupted before any acknowledgement: that is a refusal.
    assert pending.error is not None and pending.interruption is None and not pending.finished


def test_the_bridges_interruption_beats_the_bare_link_flag(robot):
    # A bridge that loses its data knows why (a corrupted stream, a lost fix); the operation
    # ends with that code, not with the generic COMMUNICATION_FAILURE of link_up False.
    record = robot.runtime.submit('go_to', {'target': {'x_m': 50.0, 'y_m': 0.0}})
    robot.until(lambda: robot.speed() > 0.5, 10.0)
    robot.bridge.faults.link_down = True
    robot.bridge.last_go_to.interrupt(ExecutionError('stream corrupted', code=50))
    robot.advance(0.1)
    assert record.outcome.code == 50, record.outcome
    assert record.outcome.message == 'stream corrupted'


class PassingBridge(SimBridge):
    """A vessel whose platform reports each point reached as soon as it took it."""

    name = 'passing'

    def __init__(self):
        super().__init__(platform=Platform.SURFACE, robot_id='b1', home=HOME)

    def go_to(self, **kwargs) -> CommandHandle:
        handle = super().go_to(**kwargs)
        handle.finish()
        return handle


def test_a_point_the_platform_reports_reached_moves_a_composite_motion_on():
    robot = Robot(bridge=PassingBridge())
    record = robot.runtime.submit('orbit', {'center': {'x_m': 0.0, 'y_m': 20.0},
                                            'radius_m': 20.0, 'turns': 1.0})
    # Every point is "reached" at once: the orbit ends long before a boat could sail the
    # 126 m of its circle; without the platform's word it would wait at every point.
    took = robot.until(lambda: record.done, 5.0)
    assert record.outcome is not None and took < 2.0
    assert record.outcome.result['turns_completed'] == pytest.approx(1.0)
