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
``sim_nav2``: a ground robot behind Nav2's action servers, services and topics (Jazzy).

:mod:`.tasks` is what the navigation stack does with each goal (plan, drive, check progress,
dock), on the kinematic model of :mod:`brain_execution.sim.vehicle`; :mod:`.node` serves it
over ROS under the robot's namespace, with faults switched by parameters at run time.
"""
