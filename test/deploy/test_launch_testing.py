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
fleet.launch.py under launch_testing: the launch file starts a fleet that serves its robots.

launch_testing is not installable from the package registry here (see ROS2_ENV.md); where it
is absent the module skips with that reason. Where ROS 2 is installed it launches the demo
fleet file and waits for every robot's state and the coordinator's plan server.
"""

import os
import time
import unittest

from ament_index_python.packages import get_package_share_directory
import pytest

launch_testing = pytest.importorskip(
    'launch_testing', reason='launch_testing is not installed (not on the package registry '
                             'here); it runs where ROS 2 is installed from apt')

from launch import LaunchDescription  # noqa: E402, I100
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
import launch_testing.actions  # noqa: E402

_SHARE = get_package_share_directory('brain_execution')
_ROBOTS = ('drone1', 'rover1', 'boat1')


@pytest.mark.launch_test
def generate_test_description():
    fleet = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(_SHARE, 'launch', 'fleet.launch.py')),
        launch_arguments={'journal_path': '/tmp/brain_execution_launch_test.db'}.items())
    return LaunchDescription([fleet, launch_testing.actions.ReadyToTest()])


class TestFleetServes(unittest.TestCase):
    """The launched coordinator runs a plan on the launched robots."""

    def test_a_plan_runs_on_every_robot(self):
        from brain_execution.cli.client import goal_from_plan, session
        from brain_execution.core.plan import Plan, PlanStep
        plan = Plan(plan_id=f'launch-test-{int(time.time())}', steps=tuple(
            PlanStep(step_id=robot, robot_id=robot, operation='capture_image')
            for robot in _ROBOTS))
        with session(timeout_s=60.0) as client:
            result = client.run_plan(goal_from_plan(plan), result_timeout_s=60.0)
        self.assertEqual(result.error_code, 0, result.error_msg)
        self.assertEqual([s.state for s in result.steps], [4, 4, 4])


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """Every process ends cleanly on SIGINT."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
