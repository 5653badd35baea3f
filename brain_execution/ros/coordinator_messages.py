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

"""Conversions between the coordinator's messages and its core objects."""

import typing

from brain_execution.core.breaker import CircuitInfo
from brain_execution.core.errors import ErrorCode, ExecutionError, InvalidParametersError
from brain_execution.core.journal import DeadLetterRecord
from brain_execution.core.plan import parse_parameters, Plan, PlanStep, RetrySpec
from brain_execution.core.scheduler import StepStatus
from brain_execution_interfaces.msg import CircuitState, DeadLetter, OperationStatus
from builtin_interfaces.msg import Time

__all__ = ['circuit_msg', 'dead_letter_msg', 'plan_from_goal', 'retry_from_msg', 'stamp',
           'status_msg', 'steps_msgs']


def stamp(seconds: float) -> Time:
    """Return a builtin_interfaces/Time of float seconds (0 for None)."""
    seconds = max(0.0, seconds or 0.0)
    return Time(sec=int(seconds // 1), nanosec=int(seconds % 1 * 1e9))


def retry_from_msg(msg) -> RetrySpec:
    return RetrySpec(max_attempts=msg.max_attempts, initial_backoff_s=msg.initial_backoff_s,
                     max_backoff_s=msg.max_backoff_s, multiplier=msg.multiplier,
                     jitter=msg.jitter, max_elapsed_s=msg.max_elapsed_s)


def plan_from_goal(goal) -> Plan:
    """
    Return the core Plan of an ExecutePlan goal.

    :raises ExecutionError: INVALID_PLAN when a step's parameters are not a YAML mapping,
        naming the step and the field.
    """
    steps, problems = [], []
    for index, s in enumerate(goal.steps):
        label = s.step_id or f'#{index}'
        try:
            params = parse_parameters(s.parameters)
            compensation = parse_parameters(s.compensation_parameters,
                                            field='compensation_parameters')
        except InvalidParametersError as error:
            problems.append(f"step '{label}': {error}")
            continue
        steps.append(PlanStep(
            step_id=s.step_id, robot_id=s.robot_id, operation=s.operation, parameters=params,
            depends_on=tuple(s.depends_on), operation_id=s.operation_id, priority=s.priority,
            timeout_s=s.timeout_s, retry=retry_from_msg(s.retry),
            safe_to_repeat=s.safe_to_repeat,
            compensation_operation=s.compensation_operation,
            compensation_parameters=compensation))
    if problems:
        raise ExecutionError('; '.join(problems), code=ErrorCode.INVALID_PLAN)
    return Plan(plan_id=goal.plan_id, steps=tuple(steps), max_concurrency=goal.max_concurrency,
                compensate=goal.compensate, priority=goal.priority, timeout_s=goal.timeout_s)


def status_msg(plan_id: str, status: StepStatus, *, now: float) -> OperationStatus:
    """Return the OperationStatus of one step."""
    msg = OperationStatus()
    msg.header.stamp = stamp(status.updated_s or now)
    msg.plan_id = plan_id
    msg.step_id = status.step_id
    msg.operation_id = status.operation_id
    msg.robot_id = status.robot_id
    msg.operation = status.operation
    msg.state = int(status.state)
    msg.attempt = int(status.attempt)
    # Conservative for exactly-once: a dispatched attempt counts as started until the robot's
    # own record proves otherwise.
    msg.started = status.first_started_s is not None
    msg.error_code = int(status.code)
    msg.error_msg = status.message
    msg.retryable = bool(status.retryable)
    msg.progress = 1.0 if status.ended_s is not None and status.code == 0 else 0.0
    msg.phase = status.state.name.lower()
    msg.elapsed_s = float(status.elapsed_s(now))
    return msg


def dead_letter_msg(record: DeadLetterRecord) -> DeadLetter:
    return DeadLetter(
        operation_id=record.operation_id, plan_id=record.plan_id, step_id=record.step_id,
        robot_id=record.robot_id, operation=record.operation, parameters=record.parameters,
        attempts=int(record.attempts), error_code=int(record.error_code),
        error_msg=record.error_msg, first_attempt_stamp=stamp(record.first_attempt_s),
        dead_letter_stamp=stamp(record.dead_letter_s))


def circuit_msg(info: CircuitInfo, *, now: float) -> CircuitState:
    msg = CircuitState()
    msg.header.stamp = stamp(now)
    msg.robot_id = info.robot_id
    msg.operation = info.operation
    msg.state = int(info.state)
    msg.consecutive_failures = int(info.consecutive_failures)
    msg.failure_threshold = int(info.failure_threshold)
    msg.retry_stamp = stamp(info.retry_at_s)
    msg.last_error_code = int(info.last_error_code)
    msg.last_error_msg = info.last_error_msg
    return msg


def steps_msgs(plan_id: str, statuses: typing.Iterable[StepStatus],
               now: float) -> typing.List[OperationStatus]:
    return [status_msg(plan_id, s, now=now) for s in statuses]
