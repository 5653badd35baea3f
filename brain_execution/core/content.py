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
Canonical content of a goal or a plan: one hash to compare, one field path to name.

Operation ids and plan ids are idempotency keys. The same key with the same content is the
same request (attach to it, or return its outcome); the same key with other content is a
mistake the caller must hear about (OPERATION_ID_CONFLICT), with the first differing field
named, e.g. ``parameters.altitude_m: 12.0 != 10.0``. Both the robot executor (against its
durable record, after a restart too) and the coordinator (plans and steps) use this module,
so the two sides agree on what "the same content" means.

Canonical form: mappings by sorted key, tuples as lists, bytes as hex, floats by ``repr``
(so 10.0 and 10 stay different, as they are in typed ROS messages). :func:`canonical_json`
is what a durable record stores, so a difference can still be named after a restart.
"""

import hashlib
import json
import math
import typing

from .errors import OperationIdConflictError

__all__ = ['canonical', 'canonical_json', 'check_same_content', 'content_hash',
           'first_difference']

# Longest value quoted in a difference message; beyond it the value is cut with '...'.
_MAX_QUOTED = 60


def canonical(value: typing.Any) -> typing.Any:
    """
    Return value as plain JSON data: dicts, lists, str, int, float, bool, None.

    :raises TypeError: a value of a type with no canonical form (a bug in the caller).
    """
    if isinstance(value, typing.Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda i: str(i[0]))}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {'__bytes__': bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN; a tagged string keeps NaN equal to NaN for comparison.
        return {'__float__': repr(value)}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, 'value') and isinstance(getattr(value, 'value'), (str, int)):
        return canonical(value.value)  # enums
    raise TypeError(f'no canonical form for {type(value).__name__}: {value!r}')


def canonical_json(value: typing.Any) -> str:
    """Return the canonical JSON text of value (stable across processes and restarts)."""
    return json.dumps(canonical(value), sort_keys=True, separators=(',', ':'),
                      ensure_ascii=False)


def content_hash(value: typing.Any) -> str:
    """Return the SHA-256 (hex) of value's canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode('utf-8')).hexdigest()


def first_difference(known: typing.Any, new: typing.Any,
                     path: str = '') -> typing.Optional[str]:
    """
    Return the first field where new differs from known, as ``path: new != known``; or None.

    Both are compared in canonical form, keys in sorted order, so the answer is the same
    whichever process asks. A field present on one side only is reported as missing.
    """
    return _difference(canonical(known), canonical(new), path)


def _difference(known, new, path: str) -> typing.Optional[str]:
    if isinstance(known, dict) and isinstance(new, dict):
        for key in sorted(set(known) | set(new)):
            sub = f'{path}.{key}' if path else key
            if key not in known:
                return f'{sub}: {_quote(new[key])} is new (not in the first request)'
            if key not in new:
                return f'{sub}: missing (was {_quote(known[key])})'
            found = _difference(known[key], new[key], sub)
            if found:
                return found
        return None
    if isinstance(known, list) and isinstance(new, list):
        for index, (a, b) in enumerate(zip(known, new)):
            found = _difference(a, b, f'{path}[{index}]')
            if found:
                return found
        if len(known) != len(new):
            return f'{path or "value"}: {len(new)} items != {len(known)}'
        return None
    if type(known) is not type(new) or known != new:
        return f'{path or "value"}: {_quote(new)} != {_quote(known)}'
    return None


def _quote(value) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED - 3] + '...'


def check_same_content(kind: str, key: str, known: typing.Any, new: typing.Any) -> None:
    """
    Raise OPERATION_ID_CONFLICT when new differs from the content first seen under key.

    :param kind: what the key names, for the message, e.g. ``'operation_id'``, ``'plan_id'``.
    :raises OperationIdConflictError: naming the key and the first differing field.
    """
    difference = first_difference(known, new)
    if difference is not None:
        raise OperationIdConflictError(
            f'{kind}={key!r} is already known with different content: {difference} '
            f'(new != first); use a new {kind} for a different request', retryable=False)
