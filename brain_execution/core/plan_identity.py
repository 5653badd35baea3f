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
The coordinator's rule for reused ids, shared with the robots' rule for operation ids.

The same plan id or step operation id with other content is refused (OPERATION_ID_CONFLICT),
naming the first differing field.

A plan id is an idempotency key: sending a plan again under its id attaches to it (or gets
its recorded outcome) only if it is the same plan. Silently returning another plan's outcome
for a changed request would tell the caller its new request ran. The comparison uses
:mod:`brain_execution.core.content`, as the robot executors do for operation ids.
"""

import typing

from .content import check_same_content

__all__ = ['check_plan_reuse', 'check_step_reuse', 'step_content']


def check_plan_reuse(plan_id: str, known: typing.Optional[typing.Mapping[str, typing.Any]],
                     new: typing.Mapping[str, typing.Any]) -> None:
    """
    Raise OPERATION_ID_CONFLICT when a known plan id comes with other content.

    :param known: the journaled form of the plan first accepted under plan_id; None when it
        is not known any more (nothing to compare, the id attaches as before).
    :param new: the journaled form of the plan now submitted.
    :raises OperationIdConflictError: naming the first differing field, e.g.
        ``steps[1].parameters.altitude_m: 12.0 != 10.0``.
    """
    if known is not None:
        check_same_content('plan_id', plan_id, known, new)


def step_content(robot_id: str, operation: str,
                 parameters: typing.Mapping[str, typing.Any]) -> dict:
    """Return what makes two steps under one operation id the same operation."""
    return {'robot_id': robot_id, 'operation': operation, 'parameters': dict(parameters)}


def check_step_reuse(operation_id: str, known, new) -> None:
    """
    Raise OPERATION_ID_CONFLICT when a step reuses an operation id of another operation.

    :param known: the PlanStep already carrying operation_id.
    :param new: the PlanStep now submitted with it.
    """
    check_same_content('operation_id', operation_id,
                       step_content(known.robot_id, known.operation, known.parameters),
                       step_content(new.robot_id, new.operation, new.parameters))
