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
The Nav2 bridge's geometry: global frame vs local frame, and poses from odometry and fixes.

Plain Python: no ROS. The pose tracker must give what tf2 would (map -> odom -> base_link)
from AMCL-like fixes and odometry, including a fix that arrives before any odometry (AMCL's
latched pose) and a fix stamped between two odometry samples.
"""

import math

from brain_execution.bridges.nav2.frames import (
    GlobalFrame, Pose2D, quaternion_from_yaw, wrap_angle, yaw_from_quaternion)
from brain_execution.bridges.nav2.pose_tracker import PoseTracker
import pytest


def _close(a: Pose2D, b: Pose2D, tol=1e-9):
    return (a.x_m == pytest.approx(b.x_m, abs=tol) and a.y_m == pytest.approx(b.y_m, abs=tol)
            and wrap_angle(a.yaw_rad - b.yaw_rad) == pytest.approx(0.0, abs=tol))


def test_quaternion_round_trip_and_wrap():
    for yaw in (-3.0, -1.0, 0.0, 0.5, 3.1):
        assert yaw_from_quaternion(*quaternion_from_yaw(yaw)) == pytest.approx(yaw)
    assert wrap_angle(3.0 * math.pi) == pytest.approx(-math.pi)


def test_compose_with_inverse_is_identity():
    pose = Pose2D(1.0, -2.0, 2.5)
    assert _close(pose.compose(pose.inverse()), Pose2D(0.0, 0.0, 0.0))
    assert _close(pose.inverse().compose(pose), Pose2D(0.0, 0.0, 0.0))


def test_local_frame_is_the_global_frame_moved_to_home():
    frame = GlobalFrame('map', home=Pose2D(2.0, 1.0, 0.5))
    # The home's yaw is where the robot faces at home; the local axes stay east and north.
    assert _close(frame.to_local(Pose2D(5.0, 3.0, 1.0)), Pose2D(3.0, 2.0, 1.0))
    assert _close(frame.to_global(Pose2D(3.0, 2.0, 1.0)), Pose2D(5.0, 3.0, 1.0))


def test_a_map_whose_x_axis_points_north():
    frame = GlobalFrame('map', home=Pose2D(0.0, 0.0, 0.0), x_axis_heading_rad=math.pi / 2.0)
    # 1 m along the map's x axis is 1 m north; facing the map's x axis is facing north.
    assert _close(frame.to_local(Pose2D(1.0, 0.0, 0.0)), Pose2D(0.0, 1.0, math.pi / 2.0))
    assert frame.velocity_to_local(1.0, 0.0) == pytest.approx((0.0, 1.0))
    local = Pose2D(-3.0, 4.0, 0.2)
    assert _close(frame.to_local(frame.to_global(local)), local)


def test_odometry_alone_is_the_global_pose():
    tracker = PoseTracker(uses_fixes=False)
    assert tracker.pose() is None
    tracker.add_odometry(1.0, Pose2D(1.0, 2.0, math.pi / 2.0), 0.5, 0.0, 0.1)
    assert _close(tracker.pose(), Pose2D(1.0, 2.0, math.pi / 2.0))
    # Forward at 0.5 m/s while facing north: moving north.
    vx, vy, wz = tracker.velocity()
    assert (vx, vy, wz) == pytest.approx((0.0, 0.5, 0.1), abs=1e-12)
    with pytest.raises(ValueError):
        tracker.add_fix(1.0, Pose2D(0.0, 0.0, 0.0))


def test_a_fix_corrects_the_odometry_that_follows_it():
    """Odometry starts where the robot booted; the map knows it started at (2, 1), turned."""
    start = Pose2D(2.0, 1.0, 0.5)
    tracker = PoseTracker(uses_fixes=True)
    tracker.add_odometry(0.0, Pose2D(0.0, 0.0, 0.0), 0.0, 0.0, 0.0)
    assert tracker.pose() is None  # no fix yet: where the robot is in the map is unknown
    tracker.add_fix(0.0, start)
    assert _close(tracker.pose(), start)
    # 1 m forward in the odom frame is 1 m along the robot's heading of 0.5 rad in the map.
    tracker.add_odometry(1.0, Pose2D(1.0, 0.0, 0.0), 1.0, 0.0, 0.0)
    assert _close(tracker.pose(), Pose2D(2.0 + math.cos(0.5), 1.0 + math.sin(0.5), 0.5))
    assert tracker.velocity()[:2] == pytest.approx((math.cos(0.5), math.sin(0.5)))


def test_a_fix_before_any_odometry_is_applied_with_the_first_sample():
    tracker = PoseTracker(uses_fixes=True)
    tracker.add_fix(5.0, Pose2D(3.0, 4.0, 1.0))
    assert tracker.pose() is None
    tracker.add_odometry(5.0, Pose2D(0.5, 0.0, 0.0), 0.0, 0.0, 0.0)
    assert _close(tracker.pose(), Pose2D(3.0, 4.0, 1.0))


def test_a_late_fix_is_matched_with_the_odometry_of_its_stamp():
    tracker = PoseTracker(uses_fixes=True)
    tracker.add_odometry(0.0, Pose2D(0.0, 0.0, 0.0), 1.0, 0.0, 0.0)
    tracker.add_fix(0.0, Pose2D(0.0, 0.0, 0.0))
    for i in range(1, 11):
        tracker.add_odometry(i * 0.1, Pose2D(i * 0.1, 0.0, 0.0), 1.0, 0.0, 0.0)
    # Odometry drifted: at t = 0.55 s the robot really was 0.1 m further than odometry says.
    tracker.add_fix(0.55, Pose2D(0.65, 0.0, 0.0))
    assert _close(tracker.pose(), Pose2D(1.1, 0.0, 0.0))


def test_odometry_that_restarts_drops_its_history():
    tracker = PoseTracker(uses_fixes=True, history_s=10.0)
    tracker.add_odometry(100.0, Pose2D(7.0, 0.0, 0.0), 0.0, 0.0, 0.0)
    tracker.add_odometry(1.0, Pose2D(0.0, 0.0, 0.0), 0.0, 0.0, 0.0)  # a restarted source
    tracker.add_fix(1.0, Pose2D(2.0, 2.0, 0.0))
    assert _close(tracker.pose(), Pose2D(2.0, 2.0, 0.0))
