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

"""QoS profiles of brain_execution's interfaces, in one place so both ends agree."""

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import (
    DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)

__all__ = ['intake_qos', 'STATE_QOS', 'EVENTS_QOS', 'NO_EVENT_HANDLERS']


def intake_qos(depth: int) -> QoSProfile:
    """
    Return the QoS of action goal, cancel and result services.

    rclpy's default keeps the last 10 requests: a burst of goals from one client silently
    loses the rest before any callback sees them. A deep reliable queue lets every request
    reach the executor, which then answers each one. Clients sending bursts need the same
    depth on their side for the responses (``ActionClient(..., goal_service_qos_profile=)``).
    """
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


# Robot state: the latest value is what matters; reliable so RViz and the coordinator's
# default subscriptions match.
STATE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)

# Operation events: every transition matters to a listener, so a deeper queue.
EVENTS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                        reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.VOLATILE)

# For the coordinator's subscriptions, one per robot and topic: rclpy gives every subscription
# two QoS event handlers by default (incompatible QoS and type warnings), and an executor
# walks each one on every wake; on a coordinator with a hundred robots they outnumber
# everything else it waits on. The warning is not lost for robot_state: a robot whose state
# never arrives is reported unreachable by its silence.
NO_EVENT_HANDLERS = SubscriptionEventCallbacks(use_default_callbacks=False)
