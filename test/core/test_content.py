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

"""The canonical content helper shared by robot intake and coordinator intake."""

from brain_execution.core.content import (
    canonical_json, check_same_content, content_hash, first_difference)
from brain_execution.core.errors import ErrorCode, OperationIdConflictError
import pytest


def test_hash_ignores_key_order_and_tuple_versus_list():
    a = {'operation': 'go_to', 'parameters': {'target': {'x_m': 1.0, 'y_m': 2.0}, 'v': (1, 2)}}
    b = {'parameters': {'v': [1, 2], 'target': {'y_m': 2.0, 'x_m': 1.0}}, 'operation': 'go_to'}
    assert content_hash(a) == content_hash(b)
    assert first_difference(a, b) is None


def test_hash_changes_with_any_value_and_keeps_int_and_float_apart():
    base = {'altitude_m': 10.0}
    assert content_hash(base) != content_hash({'altitude_m': 10.5})
    assert content_hash(base) != content_hash({'altitude_m': 10})
    assert first_difference(base, {'altitude_m': 10}) == 'altitude_m: 10 != 10.0'


def test_first_difference_names_nested_fields_list_items_and_missing_keys():
    known = {'parameters': {'waypoints': [{'x_m': 1.0}, {'x_m': 2.0}], 'speed_mps': 3.0}}
    assert first_difference(known, {'parameters': {
        'waypoints': [{'x_m': 1.0}, {'x_m': 2.5}], 'speed_mps': 3.0}}) == (
        'parameters.waypoints[1].x_m: 2.5 != 2.0')
    assert first_difference(known, {'parameters': {'waypoints': [{'x_m': 1.0}],
                                                   'speed_mps': 3.0}}) == (
        'parameters.waypoints: 1 items != 2')
    assert first_difference(known, {'parameters': {'waypoints': known['parameters']['waypoints']
                                                   }}) == 'parameters.speed_mps: missing (was 3.0)'


def test_bytes_and_non_finite_floats_have_a_canonical_form():
    text = canonical_json({'data': b'\x00\xff', 'nan': float('nan')})
    assert text == '{"data":{"__bytes__":"00ff"},"nan":{"__float__":"nan"}}'
    assert first_difference({'data': b'\x00'}, {'data': b'\x01'}) is not None


def test_unknown_types_are_a_type_error_not_a_silent_str():
    with pytest.raises(TypeError):
        canonical_json({'x': object()})


def test_check_same_content_raises_the_conflict_code_naming_the_key_and_field():
    with pytest.raises(OperationIdConflictError) as raised:
        check_same_content('plan_id', 'survey-1', {'steps': ['a']}, {'steps': ['b']})
    assert raised.value.code == ErrorCode.OPERATION_ID_CONFLICT
    assert not raised.value.retryable
    assert "plan_id='survey-1'" in str(raised.value) and 'steps[0]: "b" != "a"' in str(
        raised.value)
    check_same_content('plan_id', 'survey-1', {'steps': ['a']}, {'steps': ('a',)})
