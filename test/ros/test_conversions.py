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
Messages built from plain values: checked, so that bad values raise instead of aborting.

A dict left inside ``Waypoint[]`` or an int in a float field passes rclpy's unchecked setters
and trips an assert in the C conversion at send time, which kills the process (robot executor
or coordinator) with every goal it holds. Each case is serialised, as sending would.
"""

from brain_execution.ros.client import OperationClient
from brain_execution.ros.conversions import checked_message, message_to_dict
from brain_execution_interfaces.action import EmergencyStop, FollowWaypoints, GoTo
import pytest
from rclpy.serialization import serialize_message


def test_waypoint_lists_and_ints_become_messages_and_floats():
    goal = OperationClient.make_goal(None, 'follow_waypoints', {
        'waypoints': [{'x_m': 1, 'y_m': 2.0, 'altitude_m': 5}], 'speed_mps': 4})
    assert serialize_message(FollowWaypoints.Impl.SendGoalService.Request(goal=goal))
    assert message_to_dict(goal)['waypoints'][0]['x_m'] == 1.0
    assert goal.speed_mps == 4.0


@pytest.mark.parametrize('fields, where', [
    ({'waypoints': [{'x_m': 'one'}]}, 'waypoints[0].x_m'),
    ({'waypoints': [{'frame': 300}]}, 'waypoints[0].frame'),
    ({'speed_mps': 'fast'}, 'speed_mps'),
])
def test_a_wrong_value_raises_with_where_it_is(fields, where):
    with pytest.raises(ValueError, match=where.replace('[', r'\[').replace(']', r'\]')):
        OperationClient.make_goal(None, 'follow_waypoints', fields)


def test_unknown_names_raise_in_goals_and_are_skipped_in_results():
    with pytest.raises(KeyError, match='altitude'):
        OperationClient.make_goal(None, 'go_to', {'altitude': 3.0})
    with pytest.raises(KeyError, match='bogus'):
        checked_message(GoTo.Goal, {'target': {'bogus': 1.0}}, 'go_to goal')
    # A program's result may carry more than the action's Result has; float seconds are a
    # Time.
    result = checked_message(EmergencyStop.Result, {'command_stamp': 12.25, 'extra': 1},
                             'emergency_stop result', skip_unknown=True)
    assert (result.command_stamp.sec, result.command_stamp.nanosec) == (12, 250000000)
