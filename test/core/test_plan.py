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

"""Plans: validation of every problem class, mission files, topological order, fuzzing."""

import dataclasses
import math
import pathlib

from brain_execution.core.errors import ErrorCode, ExecutionError, InvalidParametersError
from brain_execution.core.plan import (
    find_plan_problems, MAX_STEPS, operation_id_for, parse_parameters, Plan, plan_from_yaml,
    PlanStep, RetrySpec, topological_order, validate_plan)
from brain_execution.core.state import Platform
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest

ROBOTS = {
    'drone1': Platform.DRONE,
    'drone2': Platform.DRONE,
    'ugv1': Platform.GROUND,
    'usv1': Platform.SURFACE,
}

MISSION = """
plan_id: survey-1
max_concurrency: 4
steps:
  - {id: up, robot: drone1, operation: takeoff, parameters: {altitude_m: 10},
     compensation: land}
  - {id: look, robot: drone1, operation: capture_image, depends_on: [up]}
  - id: drive
    robot: ugv1
    operation: go_to
    parameters: {target: {x_m: 5.0, y_m: 2.0}}
    priority: 200
    timeout_s: 60
    operation_id: drive-op
    safe_to_repeat: true
    retry: {max_attempts: 3, initial_backoff_s: 1, max_backoff_s: 30, multiplier: 2,
            jitter: 0.2, max_elapsed_s: 300}
  - id: report
    robot: usv1
    operation: broadcast_status
    parameters: '{message: done}'
    depends_on: look
    compensation: {operation: broadcast_status, parameters: {message: undone}}
"""


def _plan(*steps, **kwargs) -> Plan:
    return Plan(kwargs.pop('plan_id', 'p1'), tuple(steps), **kwargs)


def _good_steps():
    return [
        PlanStep('up', 'drone1', 'takeoff', {'altitude_m': 10.0},
                 compensation_operation='land'),
        PlanStep('look', 'drone1', 'capture_image', depends_on=('up',)),
        PlanStep('drive', 'ugv1', 'go_to', {'target': {'x_m': 5.0, 'y_m': 2.0}}),
        PlanStep('sail', 'usv1', 'station_keep', {'duration_s': 5.0}, depends_on=('drive',)),
    ]


def _problems(plan: Plan):
    with pytest.raises(ExecutionError) as info:
        validate_plan(plan, robots=ROBOTS)
    return info.value


# --- valid plans -------------------------------------------------------------------------------

def test_valid_plan_passes_and_orders_dependencies_first():
    plan = _plan(*_good_steps())
    validate_plan(plan, robots=ROBOTS)
    assert find_plan_problems(plan, robots=ROBOTS) == ()
    assert [s.step_id for s in topological_order(plan)] == ['up', 'look', 'drive', 'sail']


def test_topological_order_keeps_plan_order_among_ready_steps():
    plan = _plan(PlanStep('c', 'drone1', 'land', depends_on=('b', 'a')),
                 PlanStep('b', 'drone1', 'hover'),
                 PlanStep('a', 'drone1', 'takeoff'))
    assert [s.step_id for s in topological_order(plan)] == ['b', 'a', 'c']


def test_topological_order_refuses_cycles_and_unknown_dependencies():
    with pytest.raises(ExecutionError) as info:
        topological_order(_plan(PlanStep('a', 'drone1', 'hover', depends_on=('b',)),
                                PlanStep('b', 'drone1', 'hover', depends_on=('a',))))
    assert info.value.code == ErrorCode.INVALID_PLAN
    assert 'cycle' in str(info.value)
    with pytest.raises(ExecutionError, match='unknown step'):
        topological_order(_plan(PlanStep('a', 'drone1', 'hover', depends_on=('zz',))))


def test_geographic_waypoints_need_no_home_to_validate():
    plan = _plan(PlanStep('go', 'drone1', 'go_to', {
        'target': {'frame': 1, 'latitude_deg': 47.4, 'longitude_deg': 8.5,
                   'altitude_m': 20.0}}))
    validate_plan(plan, robots=ROBOTS)


def test_platform_strings_are_accepted_as_robot_platforms():
    validate_plan(_plan(PlanStep('up', 'd', 'takeoff')), robots={'d': 'drone'})


def test_plan_step_normalizes_lists_and_freezes_parameters():
    params = {'altitude_m': 10.0}
    step = PlanStep('up', 'drone1', 'takeoff', params, depends_on=['x'])
    params['altitude_m'] = 99.0
    assert step.depends_on == ('x',)
    assert step.parameters == {'altitude_m': 10.0}
    with pytest.raises(TypeError):
        step.parameters['altitude_m'] = 1.0
    assert _plan(*_good_steps()).steps == _plan(*tuple(_good_steps())).steps
    assert hash(step) == hash(PlanStep('up', 'drone1', 'takeoff', {}, depends_on=('x',)))


def test_operation_id_is_derived_from_plan_and_step():
    assert operation_id_for('p1', PlanStep('up', 'drone1', 'takeoff')) == 'p1/up'
    assert operation_id_for('p1', PlanStep('up', 'drone1', 'takeoff',
                                           operation_id='mine')) == 'mine'


def test_plan_step_lookup():
    plan = _plan(*_good_steps())
    assert plan.step('look').operation == 'capture_image'
    with pytest.raises(KeyError):
        plan.step('nope')


def test_retry_spec_resolves_zero_fields_from_defaults():
    defaults = RetrySpec(3, 1.0, 30.0, 2.0, 0.1, 600.0)
    own = RetrySpec(max_attempts=5, jitter=0.5)
    assert own.resolve(defaults) == RetrySpec(5, 1.0, 30.0, 2.0, 0.5, 600.0)
    assert RetrySpec().resolve(RetrySpec()) == RetrySpec()


# --- each problem class, named by step and field -----------------------------------------------

def _replace(index, **changes):
    steps = _good_steps()
    steps[index] = dataclasses.replace(steps[index], **changes)
    return _plan(*steps)


CASES = [
    # (plan, expected text, code when alone)
    (_replace(0, step_id=''), 'step #0: step_id: must not be empty', ErrorCode.INVALID_PLAN),
    (_replace(2, step_id='has space'), "step #2: step_id: 'has space' contains whitespace",
     ErrorCode.INVALID_PLAN),
    (_replace(2, step_id='x' * 64), 'step #2: step_id: ', ErrorCode.INVALID_PLAN),
    (_replace(2, step_id=7), 'step #2: step_id: 7 has type int', ErrorCode.INVALID_PLAN),
    (_replace(2, robot_id='drone9'), "step 'drive': robot_id: unknown robot 'drone9'",
     ErrorCode.UNKNOWN_ROBOT),
    (_replace(2, robot_id=''), "step 'drive': robot_id: must not be empty",
     ErrorCode.INVALID_PLAN),
    (_replace(1, operation='capture'), "step 'look': operation: unknown operation 'capture'",
     ErrorCode.UNKNOWN_OPERATION),
    (_replace(2, operation='takeoff', parameters={}),
     "step 'drive': operation: ugv1 is a ground robot and cannot takeoff",
     ErrorCode.UNSUPPORTED),
    (_replace(0, parameters={'altitude_m': 500.0}),
     "step 'up': parameters: altitude_m=500.0 out of range", ErrorCode.INVALID_PLAN),
    (_replace(0, parameters={'altitude': 5.0}),
     "step 'up': parameters: unknown field(s) altitude", ErrorCode.INVALID_PLAN),
    (_replace(2, parameters={}), "step 'drive': parameters: target is required",
     ErrorCode.INVALID_PLAN),
    (_replace(2, parameters={'target': {'frame': 1, 'latitude_deg': 95.0}}),
     "step 'drive': parameters: target.latitude_deg=95.0", ErrorCode.INVALID_PLAN),
    (_replace(0, parameters='{altitude_m: 5}'),
     "step 'up': parameters: goal fields for takeoff have type str", ErrorCode.INVALID_PLAN),
    (_replace(1, depends_on=('nope',)), "step 'look': depends_on: unknown step 'nope'",
     ErrorCode.INVALID_PLAN),
    (_replace(1, depends_on=('look',)), "step 'look': depends_on: names the step itself",
     ErrorCode.INVALID_PLAN),
    (_replace(1, depends_on=('up', 'up')), "step 'look': depends_on: names 'up' twice",
     ErrorCode.INVALID_PLAN),
    (_replace(1, depends_on='up'), "step 'look': depends_on: has type str",
     ErrorCode.INVALID_PLAN),
    (_replace(0, compensation_operation='lnad'),
     "step 'up': compensation_operation: unknown operation 'lnad'; did you mean 'land'?",
     ErrorCode.UNKNOWN_OPERATION),
    (_replace(2, compensation_operation='land'),
     "step 'drive': compensation_operation: ugv1 is a ground robot and cannot land",
     ErrorCode.UNSUPPORTED),
    (_replace(0, compensation_parameters={'descent_speed_mps': 99.0}),
     "step 'up': compensation_parameters: descent_speed_mps=99.0", ErrorCode.INVALID_PLAN),
    (_replace(1, compensation_parameters={'x': 1}),
     "step 'look': compensation_parameters: given without a compensation_operation",
     ErrorCode.INVALID_PLAN),
    (_replace(0, priority=256), "step 'up': priority: 256 out of range 0..255",
     ErrorCode.INVALID_PLAN),
    (_replace(0, priority=True), "step 'up': priority: True has type bool",
     ErrorCode.INVALID_PLAN),
    (_replace(0, timeout_s=math.nan), "step 'up': timeout_s: nan is not a finite number",
     ErrorCode.INVALID_PLAN),
    (_replace(0, timeout_s=-1.0), "step 'up': timeout_s: -1.0 out of range 0..86400",
     ErrorCode.INVALID_PLAN),
    (_replace(0, timeout_s=86401.0), "step 'up': timeout_s: 86401.0 out of range",
     ErrorCode.INVALID_PLAN),
    (_replace(0, safe_to_repeat='yes'), "step 'up': safe_to_repeat: 'yes' has type str",
     ErrorCode.INVALID_PLAN),
    (_replace(0, retry=RetrySpec(max_attempts=21)),
     "step 'up': retry.max_attempts: 21 out of range 0..20", ErrorCode.INVALID_PLAN),
    (_replace(0, retry=RetrySpec(initial_backoff_s=-1.0)),
     "step 'up': retry.initial_backoff_s: -1.0 out of range 0 (default) or 0.01..600",
     ErrorCode.INVALID_PLAN),
    (_replace(0, retry=RetrySpec(max_backoff_s=math.inf)),
     "step 'up': retry.max_backoff_s: inf is not a finite number", ErrorCode.INVALID_PLAN),
    (_replace(0, retry=RetrySpec(multiplier=0.5)),
     "step 'up': retry.multiplier: 0.5 out of range 0 (default) or 1..10",
     ErrorCode.INVALID_PLAN),
    (_replace(0, retry=RetrySpec(jitter=1.5)), "step 'up': retry.jitter: 1.5 out of range 0..1",
     ErrorCode.INVALID_PLAN),
    (_replace(0, retry=RetrySpec(max_elapsed_s=-5.0)),
     "step 'up': retry.max_elapsed_s: -5.0 out of range", ErrorCode.INVALID_PLAN),
    (_replace(0, retry={'max_attempts': 3}), "step 'up': retry: has type dict",
     ErrorCode.INVALID_PLAN),
    (_replace(1, operation_id='p1/up'),
     "step 'look': operation_id: 'p1/up' is also the operation id of step 'up'",
     ErrorCode.INVALID_PLAN),
    (_replace(1, operation_id='x' * 129), "step 'look': operation_id: 129 characters",
     ErrorCode.INVALID_PLAN),
    (Plan('p1', tuple(_good_steps()), max_concurrency=-1),
     'plan: max_concurrency: -1 out of range', ErrorCode.INVALID_PLAN),
    (Plan('p1', tuple(_good_steps()), priority=300), 'plan: priority: 300 out of range',
     ErrorCode.INVALID_PLAN),
    (Plan('p1', tuple(_good_steps()), timeout_s=604801.0),
     'plan: timeout_s: 604801.0 out of range 0..604800', ErrorCode.INVALID_PLAN),
    (Plan('p1', tuple(_good_steps()), compensate=1), 'plan: compensate: 1 has type int',
     ErrorCode.INVALID_PLAN),
    (Plan('', tuple(_good_steps())), 'plan: plan_id: must not be empty', ErrorCode.INVALID_PLAN),
    (Plan('p1', ()), 'plan: steps: empty; a plan has 1..1000 steps', ErrorCode.INVALID_PLAN),
    (Plan('p1', None), 'plan: steps: has type NoneType', ErrorCode.INVALID_PLAN),
    (Plan('p1', ('up',)), 'step #0: step: has type str; expected a PlanStep',
     ErrorCode.INVALID_PLAN),
]


@pytest.mark.parametrize('plan, expected, code', CASES,
                         ids=[case[1][:40] for case in CASES])
def test_each_problem_is_named_by_step_and_field(plan, expected, code):
    error = _problems(plan)
    assert expected in str(error)
    assert error.code == code
    assert str(error).startswith('plan ')


def test_duplicate_step_ids_are_told_apart_by_index():
    steps = _good_steps()
    steps.append(PlanStep('up', 'drone9', 'takeoff'))
    text = str(_problems(_plan(*steps)))
    assert "step 'up' (#4): step_id: duplicate: steps #0 and #4 use it" in text
    assert "step 'up' (#4): robot_id: unknown robot 'drone9'" in text


def test_cycles_are_reported_with_their_path():
    plan = _plan(PlanStep('a', 'drone1', 'hover', depends_on=('c',)),
                 PlanStep('b', 'drone1', 'hover', depends_on=('a',)),
                 PlanStep('c', 'drone1', 'hover', depends_on=('b',)),
                 PlanStep('d', 'drone2', 'hover', depends_on=('e',)),
                 PlanStep('e', 'drone2', 'hover', depends_on=('d',)),
                 PlanStep('f', 'drone2', 'hover', depends_on=('d',)))
    problems = [str(p) for p in find_plan_problems(plan, robots=ROBOTS)]
    assert problems == [
        "step 'a': depends_on: cycle a -> c -> b -> a (each waits for the next)",
        "step 'd': depends_on: cycle d -> e -> d (each waits for the next)",
    ]


def test_a_long_chain_validates_without_recursion_limits():
    steps = [PlanStep('s0', 'drone1', 'hover')]
    steps += [PlanStep(f's{i}', 'drone1', 'hover', depends_on=(f's{i - 1}',))
              for i in range(1, MAX_STEPS)]
    plan = _plan(*steps)
    validate_plan(plan, robots=ROBOTS)
    assert topological_order(plan)[-1].step_id == f's{MAX_STEPS - 1}'
    steps[0] = dataclasses.replace(steps[0], depends_on=(f's{MAX_STEPS - 1}',))
    assert 'cycle s0 -> s999 -> s998' in str(_problems(_plan(*steps)))


def test_too_many_steps_is_reported_alone():
    steps = [PlanStep(f's{i}', 'nobody', 'nothing') for i in range(MAX_STEPS + 1)]
    problems = find_plan_problems(_plan(*steps), robots=ROBOTS)
    assert [str(p) for p in problems] == ['plan: steps: 1001 steps; at most 1000']


def test_every_problem_is_listed_and_mixed_kinds_are_invalid_plan():
    steps = _good_steps()
    steps[0] = dataclasses.replace(steps[0], robot_id='drone9', priority=999)
    steps[1] = dataclasses.replace(steps[1], operation='nope')
    error = _problems(_plan(*steps))
    assert error.code == ErrorCode.INVALID_PLAN
    assert '(3 problems)' in str(error)
    for part in ("step 'up': robot_id: unknown robot 'drone9'",
                 "step 'up': priority: 999 out of range",
                 "step 'look': operation: unknown operation 'nope'"):
        assert part in str(error)
    # Plan order: the first step's problems come first.
    assert str(error).index("step 'up'") < str(error).index("step 'look'")


def test_only_unknown_robots_give_unknown_robot():
    steps = [dataclasses.replace(step, robot_id='ghost') for step in _good_steps()]
    error = _problems(_plan(*steps))
    assert error.code == ErrorCode.UNKNOWN_ROBOT
    assert '(4 problems)' in str(error)


def test_long_problem_lists_are_truncated():
    steps = [PlanStep(f's{i}', 'ghost', 'hover') for i in range(50)]
    text = str(_problems(_plan(*steps)))
    assert text.endswith('; and 30 more')
    assert text.count('unknown robot') == 20


# --- parameters text ---------------------------------------------------------------------------

def test_parse_parameters():
    assert parse_parameters('') == {}
    assert parse_parameters('   \n') == {}
    assert parse_parameters('{altitude_m: 10.0}') == {'altitude_m': 10.0}
    assert parse_parameters('{"target": {"x_m": 1}}') == {'target': {'x_m': 1}}
    assert parse_parameters('# only a comment') == {}


@pytest.mark.parametrize('text, expected', [
    ('[1, 2]', 'parameters: YAML list'),
    ('10', 'parameters: YAML int'),
    ('{altitude_m: 10', 'parameters: invalid YAML: '),
    ('a: b: c', 'parameters: invalid YAML: mapping values are not allowed here at line 1'),
])
def test_parse_parameters_refuses_non_mappings(text, expected):
    with pytest.raises(InvalidParametersError) as info:
        parse_parameters(text)
    assert expected in str(info.value)
    assert info.value.code == ErrorCode.INVALID_PARAMETERS


def test_parse_parameters_names_the_field_and_bounds_the_text():
    with pytest.raises(InvalidParametersError, match='compensation_parameters: YAML str'):
        parse_parameters('land', field='compensation_parameters')
    with pytest.raises(InvalidParametersError, match='characters; at most'):
        parse_parameters('{a: "' + 'x' * (1 << 20) + '"}')
    with pytest.raises(InvalidParametersError, match='has type bytes'):
        parse_parameters(b'{}')


# --- mission files -----------------------------------------------------------------------------

def test_mission_text_loads_and_validates():
    plan = plan_from_yaml(MISSION)
    assert plan.plan_id == 'survey-1'
    assert plan.max_concurrency == 4
    assert plan.compensate is True
    assert [s.step_id for s in plan.steps] == ['up', 'look', 'drive', 'report']
    up, look, drive, report = plan.steps
    assert up.parameters == {'altitude_m': 10}
    assert up.compensation_operation == 'land'
    assert look.depends_on == ('up',)
    assert drive.retry == RetrySpec(3, 1, 30, 2, 0.2, 300)
    assert (drive.priority, drive.timeout_s, drive.operation_id, drive.safe_to_repeat) == \
        (200, 60, 'drive-op', True)
    assert report.parameters == {'message': 'done'}
    assert report.depends_on == ('look',)
    assert report.compensation_parameters == {'message': 'undone'}
    validate_plan(plan, robots=ROBOTS)


def test_mission_file_loads_from_a_path(tmp_path):
    path = tmp_path / 'mission.yaml'
    path.write_text(MISSION, encoding='utf-8')
    assert plan_from_yaml(path) == plan_from_yaml(MISSION)
    assert plan_from_yaml(path, plan_id='other').plan_id == 'other'


def test_mission_without_plan_id_takes_the_callers():
    plan = plan_from_yaml('steps: [{id: a, robot: drone1, operation: takeoff}]',
                          plan_id='assigned')
    assert plan.plan_id == 'assigned'
    assert plan_from_yaml('steps: [{id: a, robot: drone1, operation: takeoff}]').plan_id == ''


@pytest.mark.parametrize('text, expected', [
    ('plan_id: x\nstep: []\n', "<mission>: unknown key 'step'; did you mean 'steps'?"),
    ('plan_id: x\n', '<mission>: steps: missing'),
    ('steps: {a: 1}', '<mission>: steps: has type dict; expected a list of steps'),
    ('steps: [{id: a, robto: drone1, operation: hover}]',
     "<mission>: steps[0]: unknown key 'robto'; did you mean 'robot'?"),
    ('steps: [{id: a, robot: drone1, operation: hover, dependson: [b]}]',
     "steps[0]: unknown key 'dependson'; did you mean 'depends_on'?"),
    ('steps: [{id: a, robot: drone1}]', '<mission>: steps[0]: missing operation'),
    ('steps: [{id: a, robot: drone1, operation: hover, retry: {attempts: 3}}]',
     "steps[0].retry: unknown key 'attempts'"),
    ('steps: [{id: a, robot: drone1, operation: hover, compensation: {op: land}}]',
     "steps[0].compensation: unknown key 'op'"),
    ('steps: [{id: a, robot: drone1, operation: hover, compensation: [land]}]',
     'steps[0].compensation: has type list'),
    ('steps: [{id: a, robot: drone1, operation: hover, parameters: [1]}]',
     'steps[0].parameters: has type list; expected a mapping'),
    ('steps: [{id: a, robot: drone1, operation: hover, parameters: "[1]"}]',
     'steps[0].parameters: YAML list'),
    ('steps: [7]', '<mission>: steps[0]: has type int; expected a mapping'),
    ('- a\n- b\n', '<mission>: the document is list; expected a mapping'),
    ('', '<mission>: the document is NoneType'),
    ('steps: [\n', '<mission>: invalid YAML: '),
])
def test_mission_errors_name_the_key(text, expected):
    with pytest.raises(ExecutionError) as info:
        plan_from_yaml(text)
    assert expected in str(info.value)
    assert info.value.code == ErrorCode.INVALID_PLAN


def test_mission_errors_are_all_listed():
    with pytest.raises(ExecutionError) as info:
        plan_from_yaml('plan: x\nsteps: [{id: a}, {robot: r, operation: hover, prio: 1}]')
    text = str(info.value)
    assert "unknown key 'plan'" in text
    assert 'steps[0]: missing robot, operation' in text
    assert "steps[1]: unknown key 'prio'; did you mean 'priority'?" in text
    assert 'steps[1]: missing id' in text


def test_mission_values_are_checked_by_validate_plan():
    plan = plan_from_yaml('plan_id: x\nsteps: [{id: 1, robot: drone1, operation: hover, '
                          'priority: high}]')
    text = str(_problems(plan))
    assert 'step #0: step_id: 1 has type int; expected a string (quote it in YAML)' in text
    assert "step #0: priority: 'high' has type str" in text


def test_missing_mission_file_is_an_execution_error(tmp_path):
    with pytest.raises(ExecutionError, match='cannot read mission file') as info:
        plan_from_yaml(tmp_path / 'absent.yaml')
    assert info.value.code == ErrorCode.INVALID_PLAN
    with pytest.raises(ExecutionError, match='expected YAML text or a pathlib.Path'):
        plan_from_yaml(42)


def test_shipped_mission_examples_load_if_any(repo_root):
    # Mission files under config/ are documentation users copy: they must stay loadable.
    for path in sorted(pathlib.Path(repo_root, 'config').glob('*mission*.yaml')):
        plan_from_yaml(path)


# --- fuzzing -----------------------------------------------------------------------------------

_junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20), st.floats(),
    st.text(max_size=8), st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
_names = st.sampled_from(['a', 'b', 'c', 'd', ''])


@st.composite
def _malformed_step(draw):
    def field(good):
        return draw(st.one_of(good, _junk))
    return PlanStep(
        step_id=field(_names),
        robot_id=field(st.sampled_from(sorted(ROBOTS) + ['ghost'])),
        operation=field(st.sampled_from(['takeoff', 'go_to', 'hover', 'dock', 'nope'])),
        parameters=field(st.dictionaries(
            st.sampled_from(['altitude_m', 'target', 'duration_s', 'x']),
            st.one_of(st.floats(), st.integers(), st.text(max_size=3),
                      st.fixed_dictionaries({'x_m': st.floats()})), max_size=2)),
        depends_on=field(st.lists(_names, max_size=3).map(tuple)),
        operation_id=field(st.text(max_size=4)),
        priority=field(st.integers(-5, 300)),
        timeout_s=field(st.floats()),
        retry=field(st.builds(RetrySpec, st.integers(-1, 30), st.floats(), st.floats(),
                              st.floats(), st.floats(), st.floats())),
        safe_to_repeat=field(st.booleans()),
        compensation_operation=field(st.sampled_from(['', 'land', 'nope'])),
        compensation_parameters=field(st.dictionaries(st.text(max_size=3), st.floats(),
                                                      max_size=2)),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(_malformed_step(), _junk), max_size=6),
       plan_id=st.one_of(st.text(max_size=5), _junk),
       max_concurrency=st.one_of(st.integers(-2, 5), _junk),
       priority=st.one_of(st.integers(-2, 300), _junk))
def test_malformed_plans_only_raise_execution_errors(steps, plan_id, max_concurrency,
                                                     priority):
    plan = Plan(plan_id, tuple(steps), max_concurrency=max_concurrency, priority=priority)
    try:
        validate_plan(plan, robots=ROBOTS)
    except ExecutionError as e:
        assert e.code in (ErrorCode.INVALID_PLAN, ErrorCode.UNKNOWN_ROBOT,
                          ErrorCode.UNKNOWN_OPERATION, ErrorCode.UNSUPPORTED)
        assert str(e).startswith('plan')
        return
    # Accepted: then the scheduler's structural checks must accept it too.
    assert len(topological_order(plan)) == len(steps)


def test_a_step_depended_on_whose_own_depends_on_is_malformed_is_reported_not_a_crash():
    """Found by the test above: cycle detection met a step it had never recorded."""
    plan = Plan('p', (PlanStep('a', 'drone1', 'takeoff', depends_on=('b',)),
                      PlanStep('b', 'drone1', 'takeoff', depends_on=None)))
    with pytest.raises(ExecutionError) as raised:
        validate_plan(plan, robots=ROBOTS)
    assert raised.value.code == ErrorCode.INVALID_PLAN
    assert "step 'b': depends_on: has type NoneType" in str(raised.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_mission_text_only_raises_execution_errors(text):
    try:
        plan_from_yaml(text)
    except ExecutionError as e:
        assert e.code == ErrorCode.INVALID_PLAN


@st.composite
def _valid_dag(draw):
    count = draw(st.integers(1, 25))
    steps = []
    for index in range(count):
        earlier = [f's{i}' for i in range(index)]
        depends_on = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) \
            if earlier else []
        robot = draw(st.sampled_from(sorted(ROBOTS)))
        operation = 'hover' if ROBOTS[robot] is Platform.DRONE else 'capture_image'
        steps.append(PlanStep(f's{index}', robot, operation, depends_on=tuple(depends_on),
                              priority=draw(st.integers(0, 255))))
    order = draw(st.permutations(steps))
    return Plan('dag', tuple(order), max_concurrency=draw(st.integers(0, 10)))


@settings(max_examples=200, deadline=None)
@given(_valid_dag())
def test_random_valid_dags_validate_and_order_dependencies_first(plan):
    validate_plan(plan, robots=ROBOTS)
    position = {step.step_id: i for i, step in enumerate(topological_order(plan))}
    assert len(position) == len(plan.steps)
    for step in plan.steps:
        for dep in step.depends_on:
            assert position[dep] < position[step.step_id]
