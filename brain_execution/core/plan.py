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
Fleet plans: steps on robots, their dependencies, and validation of the whole plan.

A :class:`Plan` mirrors ``ExecutePlan.action`` and a :class:`PlanStep` mirrors
``PlanStep.msg``, except that parameters are a mapping (the adapter turns the message's
YAML text into one with :func:`parse_parameters`). :func:`validate_plan` checks everything
before any step moves and reports every problem at once, each as
``step '<id>': <field>: <problem>``, so that a caller fixes a plan in one round trip.

Mission files
-------------
:func:`plan_from_yaml` loads a plan from a YAML document (text, or a :class:`pathlib.Path`)::

    plan_id: survey-1          # optional here; the caller may assign one
    max_concurrency: 4         # steps of this plan at once; 0 = the coordinator's limit
    compensate: true           # undo completed steps when the plan fails (default true)
    priority: 100              # 0..255 against other plans
    timeout_s: 0               # whole plan, 0..604800 s; 0 = unbounded
    steps:
      - id: up                 # required; unique, no whitespace, at most 63 characters
        robot: drone1          # required; robot executor namespace
        operation: takeoff     # required; catalog operation the robot's platform offers
        parameters: {altitude_m: 10}   # goal fields (mapping, or YAML text)
        compensation: land     # or {operation: land, parameters: {descent_speed_mps: 1}}
      - id: look
        robot: drone1
        operation: capture_image
        depends_on: [up]       # or a single id: up
        priority: 100          # 0..255 among ready steps
        timeout_s: 0           # one attempt, 0..86400 s; 0 = adaptive
        operation_id: ''       # idempotency key; empty = '<plan_id>/<step id>'
        safe_to_repeat: false  # may be re-sent after a restart without asking the robot
        retry: {max_attempts: 3, initial_backoff_s: 1, max_backoff_s: 30, multiplier: 2,
                jitter: 0.2, max_elapsed_s: 300}   # 0 in a field = coordinator default

Unknown keys are errors (with a suggestion for a likely typo): a misspelt ``depends_on``
silently ignored would start a step before its dependency.
"""

import collections.abc
import dataclasses
import difflib
import heapq
import math
import os
import types
import typing

import yaml

from .catalog import CATALOG, operations_for
from .errors import ErrorCode, ExecutionError, InvalidParametersError
from .params import validate_params
from .state import Platform

__all__ = [
    'MAX_STEPS',
    'Plan',
    'PlanProblem',
    'PlanStep',
    'RetrySpec',
    'find_plan_problems',
    'operation_id_for',
    'parse_parameters',
    'plan_from_yaml',
    'topological_order',
    'validate_plan',
]

#: Most steps in one plan (as ``ExecutePlan.action``).
MAX_STEPS = 1000
# Step and plan ids are at most this long, so that the derived operation id
# '<plan_id>/<step_id>' fits the 128 characters of an operation id.
_MAX_ID_LENGTH = 63
_MAX_OPERATION_ID_LENGTH = 128
_MAX_STEP_TIMEOUT_S = 86400.0
_MAX_PLAN_TIMEOUT_S = 604800.0
_MAX_PLAN_CONCURRENCY = 65535
# A parameters text above this is a mistake (the largest goal, 64 KiB of send_data written
# as a YAML list of integers, stays well below); refusing it bounds the parser's memory.
_MAX_PARAMETERS_CHARS = 1 << 20
_MAX_MISSION_CHARS = 16 << 20
# An error message lists this many problems; a plan with every step wrong would otherwise
# produce a message too long for a log line or an action result.
_MAX_LISTED_PROBLEMS = 20


def _freeze(mapping: typing.Any) -> typing.Any:
    """Return a read-only copy of a mapping; anything else unchanged (validation reports it)."""
    if isinstance(mapping, collections.abc.Mapping):
        return types.MappingProxyType(dict(mapping))
    return mapping


@dataclasses.dataclass(frozen=True)
class RetrySpec:
    """
    How the coordinator retries a step whose result is retryable (``RetryPolicy.msg``).

    Zero in a field means "use the coordinator's default" for that field; :meth:`resolve`
    fills them in. Back-off before attempt n+1 is
    ``min(max_backoff_s, initial_backoff_s * multiplier ** (n - 1))``, spread by +-jitter.

    :param max_attempts: Total attempts including the first, 1..20 (1 = never retry).
    :param initial_backoff_s: Seconds before the first retry, 0.01..600.
    :param max_backoff_s: Ceiling of one back-off in seconds, 0.01..3600.
    :param multiplier: Growth factor of the back-off, 1..10.
    :param jitter: Random spread as a fraction of the back-off, 0..1.
    :param max_elapsed_s: Seconds from the first attempt after which no retry starts,
        0..604800 (0 in the resolved spec = unbounded).
    """

    max_attempts: int = 0
    initial_backoff_s: float = 0.0
    max_backoff_s: float = 0.0
    multiplier: float = 0.0
    jitter: float = 0.0
    max_elapsed_s: float = 0.0

    def resolve(self, defaults: 'RetrySpec') -> 'RetrySpec':
        """
        Return this spec with each zero field taken from ``defaults``.

        :param defaults: The coordinator's configured policy.
        :return: A new spec; fields that are zero in both stay zero.
        """
        return RetrySpec(**{
            field.name: getattr(self, field.name) or getattr(defaults, field.name)
            for field in dataclasses.fields(self)})


@dataclasses.dataclass(frozen=True)
class PlanStep:
    """
    One step of a plan: an operation on one robot (``PlanStep.msg``).

    The constructor accepts anything and never raises, so that :func:`validate_plan` can
    report every problem of a malformed plan; a list ``depends_on`` becomes a tuple and the
    parameter mappings become read-only copies (shallow: treat nested values as read-only).

    :param step_id: Unique within the plan; other steps name it in ``depends_on``.
    :param robot_id: Robot executor namespace, e.g. ``'drone1'``.
    :param operation: Catalog operation name, e.g. ``'takeoff'``.
    :param parameters: Goal fields of the operation (without operation_id, priority and
        timeout_s, which are step fields).
    :param depends_on: Step ids that must succeed before this step starts.
    :param operation_id: Idempotency key; empty = :func:`operation_id_for` derives one.
    :param priority: 0 (lowest) .. 255 (highest), order among ready steps.
    :param timeout_s: Seconds for one attempt, 0..86400; 0 = adaptive.
    :param retry: How retryable failures are retried.
    :param safe_to_repeat: May be sent again after a restart without asking the robot.
    :param compensation_operation: Run on the same robot to undo this step when the plan
        fails or is canceled after it succeeded; empty = none.
    :param compensation_parameters: Goal fields of the compensation.
    """

    step_id: str
    robot_id: str
    operation: str
    parameters: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=dict, hash=False)
    depends_on: typing.Tuple[str, ...] = ()
    operation_id: str = ''
    priority: int = 100
    timeout_s: float = 0.0
    retry: RetrySpec = RetrySpec()
    safe_to_repeat: bool = False
    compensation_operation: str = ''
    compensation_parameters: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=dict, hash=False)

    def __post_init__(self):
        # Frozen dataclass: object.__setattr__ is the documented way to normalize fields.
        if isinstance(self.depends_on, list):
            object.__setattr__(self, 'depends_on', tuple(self.depends_on))
        object.__setattr__(self, 'parameters', _freeze(self.parameters))
        object.__setattr__(self, 'compensation_parameters',
                           _freeze(self.compensation_parameters))


@dataclasses.dataclass(frozen=True)
class Plan:
    """
    A fleet plan: steps forming a DAG through their ``depends_on`` (``ExecutePlan.action``).

    :param plan_id: Plan name and idempotency key (the adapter assigns one when empty).
    :param steps: 1..1000 steps, in plan order (a list becomes a tuple).
    :param max_concurrency: Steps of this plan running at once; 0 = the coordinator's limit.
    :param compensate: Run the compensations of completed steps, in reverse order of
        completion, when the plan fails or is canceled.
    :param priority: 0 (lowest) .. 255 (highest), order against other plans' ready steps.
    :param timeout_s: Seconds for the whole plan, 0..604800; 0 = unbounded.
    """

    plan_id: str
    steps: typing.Tuple[PlanStep, ...]
    max_concurrency: int = 0
    compensate: bool = True
    priority: int = 100
    timeout_s: float = 0.0

    def __post_init__(self):
        if isinstance(self.steps, list):
            object.__setattr__(self, 'steps', tuple(self.steps))

    def step(self, step_id: str) -> PlanStep:
        """
        Return the step with this id.

        :raises KeyError: When the plan has no such step.
        """
        for step in self.steps:
            if step.step_id == step_id:
                return step
        raise KeyError(step_id)


def operation_id_for(plan_id: str, step: PlanStep) -> str:
    """Return the step's operation id: its own, or ``'<plan_id>/<step_id>'``."""
    return step.operation_id or f'{plan_id}/{step.step_id}'


# --- Parameters ------------------------------------------------------------------------------

def parse_parameters(text: str, *, field: str = 'parameters') -> typing.Dict[str, typing.Any]:
    """
    Turn the YAML (or JSON) text of a step's goal fields into a dict.

    :param text: A YAML mapping such as ``'{altitude_m: 10.0}'``; empty or blank = ``{}``.
    :param field: Name of the field the text came from, used in messages.
    :return: A new dict (values are not checked against a schema here).
    :raises InvalidParametersError: When the text is not valid YAML, not a mapping, or too
        long; the message names ``field``.
    """
    if not isinstance(text, str):
        raise InvalidParametersError(
            f'{field}: has type {type(text).__name__}; expected YAML text')
    if len(text) > _MAX_PARAMETERS_CHARS:
        raise InvalidParametersError(
            f'{field}: {len(text)} characters; at most {_MAX_PARAMETERS_CHARS} allowed')
    if not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidParametersError(f'{field}: invalid YAML: {_yaml_problem(e)}') from e
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParametersError(
            f'{field}: YAML {type(value).__name__} {_short(text)}; expected a mapping such '
            f'as {{altitude_m: 10.0}}')
    return value


def _yaml_problem(error: 'yaml.YAMLError') -> str:
    """Return a one-line description of a YAML error with its position."""
    mark = getattr(error, 'problem_mark', None)
    problem = getattr(error, 'problem', None) or str(error).splitlines()[0]
    if mark is not None:
        return f'{problem} at line {mark.line + 1}, column {mark.column + 1}'
    return problem


def _short(value: typing.Any, limit: int = 60) -> str:
    text = repr(value)
    # Message fields quote user input; a long one would flood the log line.
    return text if len(text) <= limit else text[:limit - 3] + '...'


# --- Validation ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PlanProblem:
    """
    One thing wrong with a plan.

    :param step: Label of the step (``"step 'up'"``, ``'step #3'`` when its id is unusable),
        or ``'plan'`` for plan fields.
    :param field: The offending field, e.g. ``'depends_on'`` or ``'parameters'``.
    :param problem: What is wrong, with the value and the limits.
    :param code: ErrorCode of this kind of problem (UNKNOWN_ROBOT, UNKNOWN_OPERATION,
        UNSUPPORTED or INVALID_PLAN).
    """

    step: str
    field: str
    problem: str
    code: int = ErrorCode.INVALID_PLAN

    def __str__(self) -> str:
        return f'{self.step}: {self.field}: {self.problem}'


def _is_int(value: typing.Any) -> bool:
    # bool is an int subclass; `priority: true` in a mission file is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: typing.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(value: typing.Any, low: int, high: int) -> typing.Optional[str]:
    if not _is_int(value):
        return f'{_short(value)} has type {type(value).__name__}; expected an integer ' \
               f'{low}..{high}'
    if not low <= value <= high:
        return f'{value} out of range {low}..{high}'
    return None


def _check_float(value: typing.Any, low: float, high: float, *,
                 zero_ok: bool = False) -> typing.Optional[str]:
    if not _is_number(value):
        return f'{_short(value)} has type {type(value).__name__}; expected a number'
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        return f'{value} is not a finite number'
    if zero_ok and number == 0.0:
        return None
    if not low <= number <= high:
        zero = '0 (default) or ' if zero_ok else ''
        return f'{value} out of range {zero}{low:g}..{high:g}'
    return None


def _check_bool(value: typing.Any) -> typing.Optional[str]:
    if not isinstance(value, bool):
        return f'{_short(value)} has type {type(value).__name__}; expected true or false'
    return None


def _check_id(value: typing.Any, what: str) -> typing.Optional[str]:
    if not isinstance(value, str):
        return f'{_short(value)} has type {type(value).__name__}; expected a string ' \
               f'(quote it in YAML)'
    if not value:
        return 'must not be empty'
    if len(value) > _MAX_ID_LENGTH:
        return f'{_short(value)} is {len(value)} characters long; at most ' \
               f'{_MAX_ID_LENGTH} allowed'
    if not value.isprintable() or any(c.isspace() for c in value):
        return f'{_short(value)} contains whitespace or control characters; {what} ' \
               f'appear in messages and operation ids'
    return None


# (field, low, high, zero means default) as RetryPolicy.msg documents them.
_RETRY_LIMITS = (
    ('initial_backoff_s', 0.01, 600.0),
    ('max_backoff_s', 0.01, 3600.0),
    ('multiplier', 1.0, 10.0),
)


def _retry_problems(retry: typing.Any) -> typing.List[typing.Tuple[str, str]]:
    if not isinstance(retry, RetrySpec):
        return [('retry', f'has type {type(retry).__name__}; expected a RetrySpec')]
    found = []
    problem = _check_int(retry.max_attempts, 0, 20)
    if problem:
        found.append(('retry.max_attempts', problem + ' (0 = default)'))
    for name, low, high in _RETRY_LIMITS:
        problem = _check_float(getattr(retry, name), low, high, zero_ok=True)
        if problem:
            found.append((f'retry.{name}', problem))
    problem = _check_float(retry.jitter, 0.0, 1.0)
    if problem:
        found.append(('retry.jitter', problem))
    problem = _check_float(retry.max_elapsed_s, 0.0, _MAX_PLAN_TIMEOUT_S)
    if problem:
        found.append(('retry.max_elapsed_s', problem))
    return found


def _step_label(index: int, step_id: typing.Any, usable: bool, duplicate: bool) -> str:
    if not usable:
        return f'step #{index}'
    if duplicate:
        return f'step {step_id!r} (#{index})'
    return f'step {step_id!r}'


def _known_list(names: typing.Iterable[str], limit: int = 12) -> str:
    names = sorted(names)
    shown = ', '.join(names[:limit])
    return shown + (f' and {len(names) - limit} more' if len(names) > limit else '') \
        if names else 'none'


def _operation_problems(label: str, field: str, operation: typing.Any,
                        parameters: typing.Any, platform: typing.Optional[Platform],
                        robot_id: str) -> typing.List[PlanProblem]:
    """Check an operation name against the catalog and the platform, then its fields."""
    params_field = 'parameters' if field == 'operation' else 'compensation_parameters'
    if not isinstance(operation, str) or not operation:
        problem = ('must not be empty' if operation == '' else
                   f'{_short(operation)} has type {type(operation).__name__}; '
                   f'expected an operation name')
        return [PlanProblem(label, field, problem)]
    spec = CATALOG.get(operation)
    if spec is None:
        close = difflib.get_close_matches(operation, list(CATALOG), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else \
            f'; known: {", ".join(CATALOG)}'
        return [PlanProblem(label, field, f'unknown operation {_short(operation)}{hint}',
                            ErrorCode.UNKNOWN_OPERATION)]
    found = []
    if platform is not None and not spec.supports(platform):
        offered = ', '.join(s.name for s in operations_for(platform))
        found.append(PlanProblem(
            label, field, f'{robot_id} is a {platform.value} robot and cannot {operation}; '
                          f'it offers {offered}', ErrorCode.UNSUPPORTED))
    try:
        # No home and no conversion: geographic waypoints are checked for range only, the
        # robot converts them with its own home when the step starts.
        validate_params(spec.params, parameters, operation=operation, include_common=False,
                        convert_waypoints=False)
    except ExecutionError as e:
        found.append(PlanProblem(label, params_field, str(e)))
    return found


def _cycles(graph: typing.Dict[str, typing.List[str]],
            order: typing.Dict[str, int]) -> typing.List[typing.List[str]]:
    """
    Return one cycle (a closed path of ids) per strongly connected component.

    Tarjan's algorithm, iterative: 1000 steps in a chain would exceed the recursion limit.
    """
    index_of, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index_of:
            continue
        work = [(root, iter(graph[root]))]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    cycles = []
    for component in components:
        members = set(component)
        start = min(component, key=order.__getitem__)
        # Shortest way back to the start inside the component: the clearest path to show.
        parents = {start: None}
        queue = collections.deque([start])
        end = None
        while queue and end is None:
            node = queue.popleft()
            for child in graph[node]:
                if child == start:
                    end = node
                    break
                if child in members and child not in parents:
                    parents[child] = node
                    queue.append(child)
        path = []
        while end is not None:
            path.append(end)
            end = parents[end]
        path.reverse()
        cycles.append(path + [start])
    cycles.sort(key=lambda cycle: order[cycle[0]])
    return cycles


def find_plan_problems(plan: Plan, *,
                       robots: typing.Mapping[str, Platform]) -> typing.Tuple[PlanProblem, ...]:
    """
    Return everything wrong with a plan, in plan order; empty when it is valid.

    Checks plan fields, step ids (empty, duplicate, malformed), robots, operations (known,
    offered by the robot's platform), parameters against the operation's schema,
    compensations, ``depends_on`` (unknown ids, itself, cycles), priorities, timeouts,
    retry ranges and operation ids (length, collisions). Beyond :data:`MAX_STEPS` steps only
    that is reported: checking a huge plan would cost more than refusing it.

    :param plan: The plan.
    :param robots: Platform of each robot the coordinator knows, by robot id.
    :return: The problems.
    """
    if not isinstance(plan, Plan):
        return (PlanProblem('plan', 'plan', f'has type {type(plan).__name__}; expected a Plan'),)
    found = []
    plan_id_ok = _check_id(plan.plan_id, 'plan ids')
    if plan_id_ok:
        found.append(PlanProblem('plan', 'plan_id', plan_id_ok))
    for field, problem in (
            ('max_concurrency', _check_int(plan.max_concurrency, 0, _MAX_PLAN_CONCURRENCY)),
            ('compensate', _check_bool(plan.compensate)),
            ('priority', _check_int(plan.priority, 0, 255)),
            ('timeout_s', _check_float(plan.timeout_s, 0.0, _MAX_PLAN_TIMEOUT_S))):
        if problem:
            found.append(PlanProblem('plan', field, problem))
    steps = plan.steps
    if not isinstance(steps, tuple):
        found.append(PlanProblem('plan', 'steps', f'has type {type(steps).__name__}; '
                                                  f'expected a list of steps'))
        return tuple(found)
    if not steps:
        found.append(PlanProblem('plan', 'steps', f'empty; a plan has 1..{MAX_STEPS} steps'))
        return tuple(found)
    if len(steps) > MAX_STEPS:
        found.append(PlanProblem('plan', 'steps', f'{len(steps)} steps; at most {MAX_STEPS}'))
        return tuple(found)

    # Pass 1: ids, so that depends_on can be checked against every other step.
    first_index: typing.Dict[str, int] = {}
    labels = []
    # Whether the step's id is well formed and its first use.
    id_ok = [False] * len(steps)
    # Problems found in this pass, reported with the step's others to keep plan order.
    early: typing.Dict[int, typing.List[PlanProblem]] = collections.defaultdict(list)
    for index, step in enumerate(steps):
        if not isinstance(step, PlanStep):
            labels.append(f'step #{index}')
            early[index].append(PlanProblem(
                labels[-1], 'step', f'has type {type(step).__name__}; expected a PlanStep'))
            continue
        problem = _check_id(step.step_id, 'step ids')
        usable = isinstance(step.step_id, str) and bool(step.step_id)
        duplicate = usable and step.step_id in first_index
        labels.append(_step_label(index, step.step_id, usable and problem is None,
                                  duplicate))
        if problem:
            early[index].append(PlanProblem(labels[-1], 'step_id', problem))
        if not usable:
            continue
        if duplicate:
            early[index].append(PlanProblem(
                labels[-1], 'step_id', f'duplicate: steps #{first_index[step.step_id]} and '
                                       f'#{index} use it'))
        else:
            first_index[step.step_id] = index
            id_ok[index] = problem is None

    # Pass 2: each step's own fields and its dependencies.
    graph: typing.Dict[str, typing.List[str]] = {}
    operation_ids: typing.Dict[str, str] = {}
    for index, step in enumerate(steps):
        found.extend(early.pop(index, ()))
        if not isinstance(step, PlanStep):
            continue
        label = labels[index]
        platform = None
        if not isinstance(step.robot_id, str) or not step.robot_id:
            problem = 'must not be empty' if step.robot_id == '' else \
                f'{_short(step.robot_id)} has type {type(step.robot_id).__name__}; ' \
                f'expected a robot id'
            found.append(PlanProblem(label, 'robot_id', problem))
        elif step.robot_id not in robots:
            close = difflib.get_close_matches(step.robot_id, list(robots), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f'known: {_known_list(robots)}'
            found.append(PlanProblem(label, 'robot_id', f'unknown robot '
                                     f'{_short(step.robot_id)}; {hint}',
                                     ErrorCode.UNKNOWN_ROBOT))
        else:
            platform = Platform(robots[step.robot_id])
        robot_id = step.robot_id if platform is not None else ''
        found.extend(_operation_problems(label, 'operation', step.operation, step.parameters,
                                         platform, robot_id))
        if step.compensation_operation != '':
            found.extend(_operation_problems(
                label, 'compensation_operation', step.compensation_operation,
                step.compensation_parameters, platform, robot_id))
        elif not isinstance(step.compensation_parameters, collections.abc.Mapping) or \
                step.compensation_parameters:
            found.append(PlanProblem(label, 'compensation_parameters',
                                     'given without a compensation_operation'))
        for field, problem in (
                ('priority', _check_int(step.priority, 0, 255)),
                ('timeout_s', _check_float(step.timeout_s, 0.0, _MAX_STEP_TIMEOUT_S)),
                ('safe_to_repeat', _check_bool(step.safe_to_repeat))):
            if problem:
                found.append(PlanProblem(label, field, problem))
        for field, problem in _retry_problems(step.retry):
            found.append(PlanProblem(label, field, problem))
        found.extend(_operation_id_problems(label, plan.plan_id, step, operation_ids,
                                            plan_id_ok is None and id_ok[index]))
        found.extend(_dependency_problems(label, step, first_index, graph))

    if graph:
        for cycle in _cycles(graph, first_index):
            path = ' -> '.join(cycle)
            found.append(PlanProblem(f'step {cycle[0]!r}', 'depends_on',
                                     f'cycle {path} (each waits for the next)'))
    return tuple(found)


def _operation_id_problems(label: str, plan_id: typing.Any, step: PlanStep,
                           seen: typing.Dict[str, str],
                           usable_id: bool) -> typing.List[PlanProblem]:
    if not isinstance(step.operation_id, str):
        return [PlanProblem(label, 'operation_id', f'{_short(step.operation_id)} has type '
                            f'{type(step.operation_id).__name__}; expected a string')]
    if len(step.operation_id) > _MAX_OPERATION_ID_LENGTH:
        return [PlanProblem(label, 'operation_id', f'{len(step.operation_id)} characters; '
                            f'at most {_MAX_OPERATION_ID_LENGTH} allowed')]
    if not usable_id:
        # A derived id from a malformed step id would only repeat the step_id problem.
        return []
    operation_id = operation_id_for(plan_id, step)
    other = seen.setdefault(operation_id, label)
    if other != label:
        # Operation ids are idempotency keys: two steps sharing one would run once.
        return [PlanProblem(label, 'operation_id', f'{operation_id!r} is also the operation '
                            f'id of {other}; the second would not run')]
    return []


def _dependency_problems(label: str, step: PlanStep, known: typing.Dict[str, int],
                         graph: typing.Dict[str, typing.List[str]]) -> typing.List[PlanProblem]:
    depends_on = step.depends_on
    edges = []
    # Only the first step with an id takes part in cycle detection; duplicates are reported.
    # A step is a node even when its own depends_on is malformed: others may depend on it.
    if isinstance(step.step_id, str) and step.step_id in known and \
            step.step_id not in graph:
        graph[step.step_id] = edges
    if not isinstance(depends_on, tuple):
        return [PlanProblem(label, 'depends_on', f'has type {type(depends_on).__name__}; '
                                                 f'expected a list of step ids')]
    found = []
    for dependency in depends_on:
        if not isinstance(dependency, str):
            found.append(PlanProblem(label, 'depends_on', f'{_short(dependency)} has type '
                                     f'{type(dependency).__name__}; expected a step id'))
        elif dependency == step.step_id:
            found.append(PlanProblem(label, 'depends_on', 'names the step itself'))
        elif dependency not in known:
            close = difflib.get_close_matches(dependency, list(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            found.append(PlanProblem(label, 'depends_on',
                                     f'unknown step {_short(dependency)}{hint}'))
        elif dependency in edges:
            found.append(PlanProblem(label, 'depends_on', f'names {dependency!r} twice'))
        else:
            edges.append(dependency)
    return found


def validate_plan(plan: Plan, *, robots: typing.Mapping[str, Platform]) -> None:
    """
    Check a whole plan before any step moves.

    :param plan: The plan.
    :param robots: Platform of each robot the coordinator knows, by robot id.
    :raises ExecutionError: Listing every problem as ``step '<id>': <field>: <problem>``
        (the first 20, then how many more), with code UNKNOWN_ROBOT, UNKNOWN_OPERATION or
        UNSUPPORTED when every problem is of that one kind, INVALID_PLAN otherwise.
    """
    problems = find_plan_problems(plan, robots=robots)
    if not problems:
        return
    raise ExecutionError(_problems_message(plan, problems), code=_problems_code(problems))


def _problems_code(problems: typing.Sequence[PlanProblem]) -> int:
    codes = {problem.code for problem in problems}
    return codes.pop() if len(codes) == 1 else ErrorCode.INVALID_PLAN


def _problems_message(plan: typing.Any, problems: typing.Sequence[PlanProblem]) -> str:
    plan_id = getattr(plan, 'plan_id', '')
    name = f'plan {_short(plan_id)}' if isinstance(plan_id, str) and plan_id else 'plan'
    count = len(problems)
    listed = '; '.join(str(problem) for problem in problems[:_MAX_LISTED_PROBLEMS])
    more = f'; and {count - _MAX_LISTED_PROBLEMS} more' if count > _MAX_LISTED_PROBLEMS else ''
    noun = 'problem' if count == 1 else 'problems'
    return f'{name} is invalid ({count} {noun}): {listed}{more}'


def topological_order(plan: Plan) -> typing.Tuple[PlanStep, ...]:
    """
    Return the steps so that each comes after its dependencies, ties in plan order.

    :param plan: A plan with unique step ids and known, acyclic dependencies.
    :return: Every step once.
    :raises ExecutionError: INVALID_PLAN when ids repeat, a dependency is unknown or the
        steps form a cycle.
    """
    index_of = {}
    for index, step in enumerate(plan.steps):
        if not isinstance(step, PlanStep) or not isinstance(step.step_id, str) or \
                step.step_id in index_of:
            raise ExecutionError(f'plan {plan.plan_id!r}: step #{index}: step_id: missing or '
                                 f'duplicate', code=ErrorCode.INVALID_PLAN)
        index_of[step.step_id] = index
    waiting = []
    dependents: typing.Dict[str, typing.List[int]] = collections.defaultdict(list)
    for index, step in enumerate(plan.steps):
        deps = set(step.depends_on) if isinstance(step.depends_on, tuple) else {None}
        unknown = [dep for dep in deps if dep not in index_of]
        if unknown:
            raise ExecutionError(f'plan {plan.plan_id!r}: step {step.step_id!r}: depends_on: '
                                 f'unknown step {_short(unknown[0])}',
                                 code=ErrorCode.INVALID_PLAN)
        waiting.append(len(deps))
        for dep in deps:
            dependents[dep].append(index)
    # A heap of plan indexes makes the order deterministic and as close to plan order as the
    # dependencies allow.
    ready = [index for index, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        index = heapq.heappop(ready)
        order.append(plan.steps[index])
        for child in dependents.get(plan.steps[index].step_id, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(plan.steps):
        stuck = [step.step_id for step, count in zip(plan.steps, waiting) if count]
        raise ExecutionError(f'plan {plan.plan_id!r}: depends_on: cycle among steps '
                             f'{", ".join(map(repr, stuck[:10]))}', code=ErrorCode.INVALID_PLAN)
    return tuple(order)


# --- Mission files ---------------------------------------------------------------------------

_PLAN_KEYS = ('plan_id', 'max_concurrency', 'compensate', 'priority', 'timeout_s', 'steps')
_STEP_KEYS = ('id', 'robot', 'operation', 'parameters', 'depends_on', 'operation_id',
              'priority', 'timeout_s', 'retry', 'safe_to_repeat', 'compensation')
_REQUIRED_STEP_KEYS = ('id', 'robot', 'operation')
_RETRY_KEYS = tuple(field.name for field in dataclasses.fields(RetrySpec))
_COMPENSATION_KEYS = ('operation', 'parameters')


def _unknown_keys(where: str, mapping: dict, allowed: typing.Sequence[str],
                  errors: typing.List[str]) -> None:
    for key in mapping:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ''
        errors.append(f'{where}: unknown key {_short(key)}; {hint}expected some of '
                      f'{", ".join(allowed)}')


def _mission_parameters(where: str, value: typing.Any, errors: typing.List[str]) -> typing.Any:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            return parse_parameters(value, field=where)
        except InvalidParametersError as e:
            errors.append(str(e))
            return {}
    if not isinstance(value, dict):
        errors.append(f'{where}: has type {type(value).__name__}; expected a mapping')
        return {}
    return value


def _mission_step(where: str, raw: typing.Any, errors: typing.List[str]) -> PlanStep:
    if not isinstance(raw, dict):
        errors.append(f'{where}: has type {type(raw).__name__}; expected a mapping with '
                      f'{", ".join(_REQUIRED_STEP_KEYS)}')
        return None
    _unknown_keys(where, raw, _STEP_KEYS, errors)
    missing = [key for key in _REQUIRED_STEP_KEYS if key not in raw]
    if missing:
        errors.append(f'{where}: missing {", ".join(missing)}')
    depends_on = raw.get('depends_on', ())
    if depends_on is None:
        depends_on = ()
    elif isinstance(depends_on, str):
        depends_on = (depends_on,)
    elif isinstance(depends_on, list):
        depends_on = tuple(depends_on)
    retry = raw.get('retry') or {}
    if isinstance(retry, dict):
        _unknown_keys(f'{where}.retry', retry, _RETRY_KEYS, errors)
        retry = RetrySpec(**{key: value for key, value in retry.items() if key in _RETRY_KEYS})
    compensation = raw.get('compensation')
    comp_operation, comp_parameters = '', {}
    if isinstance(compensation, str):
        comp_operation = compensation
    elif isinstance(compensation, dict):
        _unknown_keys(f'{where}.compensation', compensation, _COMPENSATION_KEYS, errors)
        comp_operation = compensation.get('operation', '')
        comp_parameters = _mission_parameters(f'{where}.compensation.parameters',
                                              compensation.get('parameters'), errors)
    elif compensation is not None:
        errors.append(f'{where}.compensation: has type {type(compensation).__name__}; expected '
                      f'an operation name or a mapping with operation and parameters')
    return PlanStep(
        step_id=raw.get('id', ''), robot_id=raw.get('robot', ''),
        operation=raw.get('operation', ''),
        parameters=_mission_parameters(f'{where}.parameters', raw.get('parameters'), errors),
        depends_on=depends_on, operation_id=raw.get('operation_id', ''),
        priority=raw.get('priority', 100), timeout_s=raw.get('timeout_s', 0.0), retry=retry,
        safe_to_repeat=raw.get('safe_to_repeat', False),
        compensation_operation=comp_operation, compensation_parameters=comp_parameters)


def plan_from_yaml(source: typing.Union[str, os.PathLike], *,
                   plan_id: typing.Optional[str] = None) -> Plan:
    """
    Load a plan from a mission file (the schema is in this module's docstring).

    The plan is built, not validated: call :func:`validate_plan` with the fleet's robots.

    :param source: YAML text, or the path of a file as a :class:`pathlib.Path` (or any
        ``os.PathLike``); a ``str`` is always text.
    :param plan_id: Overrides the document's ``plan_id`` (or supplies it).
    :return: The plan.
    :raises ExecutionError: INVALID_PLAN when the file cannot be read, the YAML is invalid, or
        the document has unknown or missing keys or a wrong structure; every problem found
        is listed, prefixed with the file name and the key path (e.g. ``steps[2].retry``).
    """
    if isinstance(source, os.PathLike):
        name = os.fspath(source)
        try:
            with open(source, encoding='utf-8') as stream:
                text = stream.read(_MAX_MISSION_CHARS + 1)
        except (OSError, UnicodeDecodeError) as e:
            raise ExecutionError(f'cannot read mission file {name}: {e}',
                                 code=ErrorCode.INVALID_PLAN) from e
    elif isinstance(source, str):
        name, text = '<mission>', source
    else:
        raise ExecutionError(f'mission source has type {type(source).__name__}; expected '
                             f'YAML text or a pathlib.Path', code=ErrorCode.INVALID_PLAN)
    if len(text) > _MAX_MISSION_CHARS:
        raise ExecutionError(f'{name}: more than {_MAX_MISSION_CHARS} characters',
                             code=ErrorCode.INVALID_PLAN)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ExecutionError(f'{name}: invalid YAML: {_yaml_problem(e)}',
                             code=ErrorCode.INVALID_PLAN) from e
    if not isinstance(document, dict):
        raise ExecutionError(f'{name}: the document is {type(document).__name__}; expected a '
                             f'mapping with plan_id and steps', code=ErrorCode.INVALID_PLAN)
    errors: typing.List[str] = []
    _unknown_keys(name, document, _PLAN_KEYS, errors)
    raw_steps = document.get('steps')
    steps = []
    if not isinstance(raw_steps, list):
        errors.append(f'{name}: steps: ' + ('missing' if raw_steps is None else
                                            f'has type {type(raw_steps).__name__}; expected '
                                            f'a list of steps'))
    else:
        for index, raw in enumerate(raw_steps):
            steps.append(_mission_step(f'{name}: steps[{index}]', raw, errors))
    if errors:
        shown = '; '.join(errors[:_MAX_LISTED_PROBLEMS])
        more = f'; and {len(errors) - _MAX_LISTED_PROBLEMS} more' \
            if len(errors) > _MAX_LISTED_PROBLEMS else ''
        raise ExecutionError(shown + more, code=ErrorCode.INVALID_PLAN)
    return Plan(
        plan_id=document.get('plan_id', '') if plan_id is None else plan_id,
        steps=tuple(steps), max_concurrency=document.get('max_concurrency', 0),
        compensate=document.get('compensate', True), priority=document.get('priority', 100),
        timeout_s=document.get('timeout_s', 0.0))
