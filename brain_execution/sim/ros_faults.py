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
A simulated robot's faults as settable ROS parameters, so process tests inject them mid-run.

The robot executor's own parameters are read-only; these are not: ``ros2 param set
/drone1/robot_executor sim.fault.battery_percent 20.0`` makes the simulated battery read 20 %
from the next tick on, the way a test flips :class:`~brain_execution.sim.faults.SimFaults`
in-process. Only the sim bridge declares them; a real robot has no such parameters.
"""

import typing

from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor, SetParametersResult

from .faults import SimFaults

__all__ = ['declare_fault_parameters']

# name -> (default, description, SimFaults field, off value, (lo, hi)).
_FAULTS = {
    'sim.fault.battery_percent': (
        -1.0, 'Fault injection: the battery reads (and stays at) this value, %; -1 = off.',
        'battery_percent', -1.0, (-1.0, 100.0)),
    'sim.fault.drain_multiplier': (
        1.0, 'Fault injection: factor on the battery drain.', 'drain_multiplier', None,
        (0.0, 10000.0)),
}


def declare_fault_parameters(node: typing.Any, faults: SimFaults) -> None:
    """Declare the settable ``sim.fault.*`` parameters on node; setting one sets the fault."""
    for name, (default, description, _field, _off, (lo, hi)) in _FAULTS.items():
        node.declare_parameter(name, default, ParameterDescriptor(
            description=description,
            floating_point_range=[FloatingPointRange(from_value=lo, to_value=hi, step=0.0)]))

    def on_set(parameters) -> SetParametersResult:
        for parameter in parameters:
            entry = _FAULTS.get(parameter.name)
            if entry is None:
                continue
            _default, _description, field, off, _range = entry
            value = float(parameter.value)
            setattr(faults, field, None if off is not None and value == off else value)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
