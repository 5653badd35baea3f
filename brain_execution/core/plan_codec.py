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
Plans, outcomes and step states as the journal stores them, and back.

The journal holds plain JSON data; these functions are the one place that knows how a
:class:`~brain_execution.core.plan.Plan`, a
:class:`~brain_execution.core.scheduler.PlanOutcome` and a step's journaled record map onto it,
so that what a restart reads back is what was written.
"""

import collections.abc
import dataclasses
import typing

from .errors import ErrorCode, ExecutionError, InvalidParametersError
from .journal import PlanRecord, StepRecord
from .plan import operation_id_for, Plan, PlanStep, RetrySpec
from .scheduler import PlanOutcome, StepState, StepStatus, TERMINAL_STATES

__all__ = [
    'journaled_statuses',
    'jsonable',
    'outcome_from_dict',
    'outcome_to_dict',
    'plan_from_dict',
    'plan_to_dict',
    'safe_json',
    'status_from_record',
]


def jsonable(value: typing.Any) -> typing.Any:
    """Return plain JSON data: mappings become dicts, bytes lists of integers (as YAML)."""
    if isinstance(value, collections.abc.Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        # A plan step spells uint8[] as a list of integers, which validation accepts too.
        return list(bytes(value))
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidParametersError(
        f'value of type {type(value).__name__} cannot be journaled; use numbers, text, '
        f'lists and mappings')


def safe_json(value: typing.Any) -> typing.Any:
    """Return result fields as JSON data, or their text when they cannot be (for the log)."""
    try:
        return jsonable(value)
    except ExecutionError:
        return {'text': repr(value)[:1000]}


def plan_to_dict(plan: Plan) -> typing.Dict[str, typing.Any]:
    """Return a plan as the journal stores it (and as plan_identity compares it)."""
    return {
        'plan_id': plan.plan_id, 'max_concurrency': plan.max_concurrency,
        'compensate': plan.compensate, 'priority': plan.priority, 'timeout_s': plan.timeout_s,
        'steps': [{
            'step_id': step.step_id, 'robot_id': step.robot_id, 'operation': step.operation,
            'parameters': jsonable(step.parameters), 'depends_on': list(step.depends_on),
            'operation_id': step.operation_id, 'priority': step.priority,
            'timeout_s': step.timeout_s, 'retry': dataclasses.asdict(step.retry),
            'safe_to_repeat': step.safe_to_repeat,
            'compensation_operation': step.compensation_operation,
            'compensation_parameters': jsonable(step.compensation_parameters),
        } for step in plan.steps]}


def plan_from_dict(data: typing.Mapping[str, typing.Any]) -> Plan:
    """
    Return the plan :func:`plan_to_dict` stored.

    :raises TypeError, ValueError, KeyError: When the data is not such a plan.
    """
    steps = []
    for raw in data['steps']:
        fields = dict(raw)
        fields['retry'] = RetrySpec(**fields.get('retry', {}))
        fields['depends_on'] = tuple(fields.get('depends_on', ()))
        steps.append(PlanStep(**fields))
    return Plan(plan_id=data['plan_id'], steps=tuple(steps),
                max_concurrency=data.get('max_concurrency', 0),
                compensate=data.get('compensate', True), priority=data.get('priority', 100),
                timeout_s=data.get('timeout_s', 0.0))


def outcome_to_dict(outcome: PlanOutcome) -> typing.Dict[str, typing.Any]:
    """Return a plan's outcome as the journal stores it."""
    data = dataclasses.asdict(outcome)
    data['state'] = int(outcome.state)
    return data


def outcome_from_dict(plan_id: str, data: typing.Any) -> PlanOutcome:
    """Return the outcome :func:`outcome_to_dict` stored; a FAILED one if it is unreadable."""
    try:
        fields = dict(data)
        fields['state'] = StepState(fields['state'])
        return PlanOutcome(**fields)
    except (TypeError, ValueError, KeyError):
        return PlanOutcome(plan_id, StepState.FAILED, ErrorCode.INTERNAL_ERROR,
                           f'journaled outcome of plan {plan_id!r} is unreadable: {data!r}')


def status_from_record(step: PlanStep, plan_id: str, record: StepRecord) -> StepStatus:
    """Return the status of a step as the journal recorded it."""
    state = StepState(record.state)
    return StepStatus(
        step_id=step.step_id, robot_id=step.robot_id, operation=step.operation,
        operation_id=record.operation_id or operation_id_for(plan_id, step), state=state,
        attempt=record.attempt, code=record.code, message=record.message,
        # The journal keeps no retryable flag: a journaled failure is final anyway.
        retryable=False, started_s=record.updated_s if record.started else None,
        ended_s=record.updated_s if state in TERMINAL_STATES else None,
        updated_s=record.updated_s)


def journaled_statuses(record: PlanRecord) -> typing.Tuple[StepStatus, ...]:
    """Return the statuses of a journaled plan's steps (PENDING for a step never journaled)."""
    plan = plan_from_dict(record.plan)
    return tuple(
        status_from_record(step, record.plan_id, record.steps[step.step_id])
        if step.step_id in record.steps else
        StepStatus(step.step_id, step.robot_id, step.operation,
                   operation_id_for(record.plan_id, step), StepState.PENDING)
        for step in plan.steps)
