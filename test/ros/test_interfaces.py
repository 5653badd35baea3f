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
Every type of brain_execution_interfaces survives a serialization round trip.

Types are discovered from the .msg/.srv/.action files, not from the generated code, so a file
that was not built (or not listed in CMakeLists.txt) fails here. Each message gets a value
different from its default in every field, recursively, is serialized with rclpy and
deserialized again, and must compare equal.
"""

import array
import importlib
from pathlib import Path
import re
import sys

from brain_execution.core.errors import ErrorCode as CoreErrorCode
import numpy
import pytest
from rclpy.serialization import deserialize_message
from rclpy.serialization import serialize_message
from rosidl_parser import definition

_PACKAGE = 'brain_execution_interfaces'
_PACKAGE_DIR = Path(__file__).resolve().parents[2] / _PACKAGE
_KINDS = ('msg', 'srv', 'action')
# Types generated for each file kind, as attribute paths from the generated class.
_GENERATED = {
    'msg': ('',),
    'srv': ('Request', 'Response', 'Event'),
    'action': (
        'Goal', 'Result', 'Feedback',
        'Impl.SendGoalService.Request', 'Impl.SendGoalService.Response',
        'Impl.SendGoalService.Event',
        'Impl.GetResultService.Request', 'Impl.GetResultService.Response',
        'Impl.GetResultService.Event',
        'Impl.FeedbackMessage',
    ),
}
_INTEGER_RANGES = {
    'int8': (-2 ** 7, 2 ** 7 - 1), 'uint8': (0, 2 ** 8 - 1), 'octet': (0, 2 ** 8 - 1),
    'int16': (-2 ** 15, 2 ** 15 - 1), 'uint16': (0, 2 ** 16 - 1),
    'int32': (-2 ** 31, 2 ** 31 - 1), 'uint32': (0, 2 ** 32 - 1),
    'int64': (-2 ** 63, 2 ** 63 - 1), 'uint64': (0, 2 ** 64 - 1),
    'short': (-2 ** 15, 2 ** 15 - 1), 'unsigned short': (0, 2 ** 16 - 1),
    'long': (-2 ** 31, 2 ** 31 - 1), 'unsigned long': (0, 2 ** 32 - 1),
    'long long': (-2 ** 63, 2 ** 63 - 1), 'unsigned long long': (0, 2 ** 64 - 1),
}


def interface_files():
    """Return ``{kind: sorted names}`` of the interface files in the package."""
    return {
        kind: sorted(path.stem for path in (_PACKAGE_DIR / kind).glob('*.' + kind))
        for kind in _KINDS}


def _type_cases():
    cases = []
    for kind, names in interface_files().items():
        for name in names:
            for attribute in _GENERATED[kind]:
                label = '%s/%s' % (kind, name) + ('.' + attribute if attribute else '')
                cases.append(pytest.param(kind, name, attribute, id=label))
    return cases


def _load(kind, name, attribute=''):
    cls = getattr(importlib.import_module('%s.%s' % (_PACKAGE, kind)), name)
    for part in filter(None, attribute.split('.')):
        cls = getattr(cls, part)
    return cls


def _message_class(namespaced_type):
    package = '.'.join(namespaced_type.namespaces)
    module = importlib.import_module(package)
    if hasattr(module, namespaced_type.name):
        return getattr(module, namespaced_type.name)
    # Action parts (e.g. Takeoff_Goal) live only in the private module of their action.
    for name, candidate in sorted(sys.modules.items()):
        if name.startswith(package + '._') and hasattr(candidate, namespaced_type.name):
            return getattr(candidate, namespaced_type.name)
    raise AssertionError('no generated class for %s/%s' % (package, namespaced_type.name))


def _basic_value(typename, default, index):
    """Return a value of a basic type that differs from ``default`` (and per ``index``)."""
    if typename == 'boolean':
        # Array elements (no default) alternate, so that order matters.
        return (index % 2 == 1) if default is None else not default
    if typename in ('float', 'double', 'long double'):
        # Exactly representable in float32, so the round trip compares equal.
        value = -12.375 + 4.5 * index
        return value if value != default else value + 1.0
    if typename in ('char', 'wchar'):
        value = chr(ord('a') + index % 26)
        return value if value != default else chr(ord(value) + 1)
    if typename == 'octet':
        value = bytes([(0x5a + index) % 256])
        return value if value != default else bytes([(value[0] + 1) % 256])
    low, high = _INTEGER_RANGES[typename]
    # Near the top of the range (and negative for signed types) to catch narrowing.
    value = (high - 3 - index) if low == 0 else (low + 3 + index)
    return value if value != default else value - 1


def _string_value(slot_type, default, index, field):
    # Non-ASCII on purpose: strings travel as UTF-8.
    value = '%s-%d-\u00e9' % (field, index)
    maximum = getattr(slot_type, 'maximum_size', None)
    if maximum is not None:
        value = value[:maximum]
    return value if value != default else value[::-1]


def _value(slot_type, default, index, field):
    """Return a non-default value for one slot of the given rosidl type."""
    if isinstance(slot_type, definition.BasicType):
        return _basic_value(slot_type.typename, default, index)
    if isinstance(slot_type, definition.AbstractGenericString):
        return _string_value(slot_type, default, index, field)
    if isinstance(slot_type, definition.NamespacedType):
        return filled(_message_class(slot_type), index)
    if isinstance(slot_type, definition.AbstractNestedType):
        if isinstance(slot_type, definition.Array):
            size = slot_type.size
        elif isinstance(slot_type, definition.BoundedSequence):
            size = min(2, slot_type.maximum_size)
        else:
            size = 2
        return [_value(slot_type.value_type, None, index + i + 1, field) for i in range(size)]
    raise AssertionError('unhandled rosidl type %r of field %s' % (slot_type, field))


def filled(cls, index=0):
    """
    Return an instance of message class ``cls`` with every field set away from its default.

    :param cls: A generated message class.
    :param index: Varies the values, so that nested and repeated fields differ.
    :return: The filled message.
    """
    message = cls()
    default = cls()
    for position, (field, slot_type) in enumerate(
            zip(cls.get_fields_and_field_types(), cls.SLOT_TYPES)):
        value = _value(slot_type, getattr(default, field), index + position, field)
        setattr(message, field, value)
    return message


def _same(a, b):
    sequences = (numpy.ndarray, array.array)
    if isinstance(a, sequences) or isinstance(b, sequences):
        return list(a) == list(b)
    return a == b


def test_every_kind_has_interfaces():
    files = interface_files()
    for kind in _KINDS:
        assert files[kind], 'no %s files found under %s' % (kind, _PACKAGE_DIR / kind)
    assert 'Takeoff' in files['action'] and 'ErrorCode' in files['msg']


@pytest.mark.parametrize('kind,name,attribute', _type_cases())
def test_round_trip(kind, name, attribute):
    cls = _load(kind, name, attribute)
    message = filled(cls)
    default = cls()

    fields = list(cls.get_fields_and_field_types())
    unchanged = [f for f in fields if _same(getattr(message, f), getattr(default, f))]
    assert not unchanged, 'fields left at their default: %s' % unchanged

    data = serialize_message(message)
    assert isinstance(data, bytes) and data
    restored = deserialize_message(data, cls)
    assert type(restored) is cls
    differing = [f for f in fields if not _same(getattr(restored, f), getattr(message, f))]
    assert not differing, 'fields changed by the round trip: %s' % differing
    assert restored == message
    if fields:
        assert restored != default


def _msg_constants(path):
    """Return ``{name: value}`` of the integer constants declared in a .msg file."""
    constants = {}
    for line in path.read_text(encoding='utf-8').splitlines():
        match = re.match(r'\s*u?int\d+\s+([A-Z][A-Z0-9_]*)\s*=\s*(-?\d+)', line)
        if match:
            constants[match.group(1)] = int(match.group(2))
    return constants


def test_error_codes_match_the_core():
    declared = _msg_constants(_PACKAGE_DIR / 'msg' / 'ErrorCode.msg')
    assert declared.get('NONE') == 0 and len(declared) > 1
    core = {member.name: int(member.value) for member in CoreErrorCode}

    missing_in_core = sorted(set(declared) - set(core))
    missing_in_msg = sorted(set(core) - set(declared))
    assert not missing_in_core, 'in ErrorCode.msg, not in core.errors: %s' % missing_in_core
    assert not missing_in_msg, 'in core.errors, not in ErrorCode.msg: %s' % missing_in_msg
    different = {name: (declared[name], core[name])
                 for name in declared if declared[name] != core[name]}
    assert not different, '(msg, core) values differ: %s' % different

    # The generated class (what nodes use) agrees with its source file.
    generated = _load('msg', 'ErrorCode')
    assert {name: getattr(generated, name) for name in declared} == declared


def test_every_interface_file_is_listed_in_cmake():
    text = (_PACKAGE_DIR / 'CMakeLists.txt').read_text(encoding='utf-8')
    text = '\n'.join(re.sub(r'#.*$', '', line) for line in text.splitlines())
    listed = set(re.findall(r'\b((?:msg|srv|action)/[A-Za-z0-9_]+\.(?:msg|srv|action))\b',
                            text))
    on_disk = {'%s/%s.%s' % (kind, name, kind)
               for kind, names in interface_files().items() for name in names}
    assert on_disk - listed == set(), 'files not listed in CMakeLists.txt'
    assert listed - on_disk == set(), 'CMakeLists.txt lists files that do not exist'
