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
``clock_rate``: the simulators run faster than real time, and durations stay in sim time.

sim_nav2 at ``clock_rate: 5`` owns the clock: it publishes ``/clock`` and follows it, so a
leg of the robot takes the same sim time as at rate 1 (its model and its events are on that
clock) and about a fifth of it in wall time. sim_nmea_autopilot (no ROS node) runs its own
clock at the rate: its boat covers the distance of its sim time. Wall-time ratios are
asserted loosely (at least 2.5x for a rate of 5): the machine is shared.
"""

import subprocess
import threading
import time

from brain_execution.ros.processes import node_command
from geometry_msgs.msg import PoseStamped
from nav2_msgs.action import NavigateToPose
import pytest
from rclpy.action import ActionClient
from rosgraph_msgs.msg import Clock

from .conftest import _env, DISCOVERY_TIMEOUT_S, SimEvents, unique_robot_id

_RATE = 5.0
_LEG_M = 4.0  # at sim_nav2's default max_speed_mps 1.0: a leg of at least 4 s of sim time


def _wait(event: threading.Event, what: str, timeout_s: float = DISCOVERY_TIMEOUT_S):
    assert event.wait(timeout_s), f'no {what} within {timeout_s} s'


def test_sim_nav2_drives_a_leg_in_a_fifth_of_the_wall_time(module_start_sim_nav2, ros):
    namespace = f'/{unique_robot_id("fast")}'
    process = module_start_sim_nav2(namespace, {'clock_rate': _RATE})
    events = SimEvents(ros.node, namespace)
    clocks = []
    ticked = threading.Event()

    def on_clock(msg: Clock) -> None:
        clocks.append((time.monotonic(), msg.clock.sec + msg.clock.nanosec * 1e-9))
        ticked.set()

    subscription = ros.node.create_subscription(Clock, '/clock', on_clock, 10)
    client = ActionClient(ros.node, NavigateToPose, f'{namespace}/navigate_to_pose')
    try:
        _wait(ticked, '/clock from sim_nav2 at clock_rate 5')
        assert client.wait_for_server(timeout_sec=DISCOVERY_TIMEOUT_S), process.log()
        mark = events.mark()
        goal = NavigateToPose.Goal(pose=PoseStamped())
        goal.pose.header.frame_id = 'map'
        goal.pose.pose.position.x = _LEG_M
        goal.pose.pose.orientation.w = 1.0
        sent = time.monotonic()
        accepted = threading.Event()
        client.send_goal_async(goal).add_done_callback(lambda f: accepted.set())
        _wait(accepted, 'goal response')
        start = events.wait_for(mark, 'goal_accepted')
        end = events.wait_for(mark, 'goal_ended', timeout_s=60.0)
        wall_s = time.monotonic() - sent
    finally:
        client.destroy()
        ros.node.destroy_subscription(subscription)
    assert end['status'] == 'succeeded', end
    sim_s = end['t'] - start['t']
    # Sim time: the robot's physics are unchanged (4 m at 1 m/s, plus acceleration).
    assert sim_s >= _LEG_M - 0.5, (sim_s, end)
    # Wall time: about a fifth.
    assert wall_s < sim_s / 2.5, f'{sim_s:.2f} sim s took {wall_s:.2f} wall s'
    # /clock itself runs at the rate (over the whole leg, so scheduling jitter averages out).
    (wall0, sim0), (wall1, sim1) = clocks[0], clocks[-1]
    assert (sim1 - sim0) / (wall1 - wall0) > _RATE / 2.0, clocks[-3:]


@pytest.mark.parametrize('rate', ['50.0', '0.0'])
def test_sim_nav2_refuses_a_clock_rate_out_of_range(rate):
    done = subprocess.run(
        node_command('sim_nav2', namespace=f'/{unique_robot_id("bad")}',
                     parameters={'clock_rate': float(rate)}),
        env=_env(), capture_output=True, text=True, timeout=60.0)
    assert done.returncode == 2, done.stdout + done.stderr
    assert 'clock_rate out of range Min: 0.1, Max: 20.0' in done.stderr, done.stderr


def test_nmea_autopilot_sails_its_sim_time_at_the_clock_rate(module_nmea_autopilots):
    boat = module_nmea_autopilots('fast_boat', ['--clock-rate', str(_RATE),
                                                '--speed-mps', '2', '--heading-deg', '90'])
    first = boat.state()
    started = time.monotonic()
    deadline = started + 30.0
    while True:
        state = boat.state()
        if state['time_s'] >= first['time_s'] + 10.0:
            break
        assert time.monotonic() < deadline, f'sim time stuck at {state["time_s"]}'
        time.sleep(0.05)  # polling the simulator's control socket; nothing to block on
    wall_s = time.monotonic() - started
    sim_s = state['time_s'] - first['time_s']
    assert wall_s < sim_s / 2.5, f'{sim_s:.2f} sim s took {wall_s:.2f} wall s'
    # The boat moves by its sim time: 2 m/s east for sim_s seconds (it was up to speed).
    travelled = state['x_m'] - first['x_m']
    assert travelled == pytest.approx(2.0 * sim_s, rel=0.2), (travelled, sim_s)


def test_nmea_autopilot_refuses_a_clock_rate_out_of_range():
    from brain_execution.ros.processes import program_command
    done = subprocess.run(
        program_command('sim_nmea_autopilot', module='brain_execution.sim.nmea_autopilot.main',
                        arguments=['--clock-rate', '0', '--tcp-port', '0']),
        capture_output=True, text=True, timeout=60.0)
    assert done.returncode == 2
    assert 'clock_rate=0 must be within 0.1..20' in done.stderr
