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
The ids the engine derives from operation ids: attempts, one-step plans, undos, retries.

Each derived id stays within the limits of the ids it stands for (128 characters for an
operation id, 63 for a plan id); a base too long is shortened with a hash of itself, so two
different bases never meet in one derived id.
"""

import hashlib

__all__ = [
    'attempt_operation_id',
    'compensation_operation_id',
    'retry_operation_id',
    'single_plan_id',
]

_MAX_OPERATION_ID_LENGTH = 128

_MAX_PLAN_ID_LENGTH = 63


def _digest(text: str, length: int) -> str:
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:length]


def _with_suffix(base: str, suffix: str, limit: int) -> str:
    """Return base + suffix, shortening base (with a hash, to stay unique) to fit limit."""
    if len(base) + len(suffix) <= limit:
        return base + suffix
    keep = limit - len(suffix) - 9
    return f'{base[:keep]}#{_digest(base, 8)}{suffix}'


def attempt_operation_id(operation_id: str, attempt: int) -> str:
    """
    Return the id an attempt carries to the robot.

    The first attempt carries the operation id itself, so that callers and robots agree on
    it; later ones a derived id, since the robot returns the earlier outcome for a known id.

    :param operation_id: The operation's idempotency key.
    :param attempt: 1 for the first attempt.
    :return: At most 128 characters.
    """
    if attempt <= 1:
        return operation_id
    return _with_suffix(operation_id, f'~{attempt}', _MAX_OPERATION_ID_LENGTH)


def single_plan_id(operation_id: str) -> str:
    """
    Return the id of the one-step plan that carries a single operation: ``'op/<id>'``.

    Derived from the operation id alone, so the same operation id maps to the same plan and
    runs once; long ids are shortened with a hash to fit the 63 characters of a plan id.
    """
    if len(operation_id) + 3 <= _MAX_PLAN_ID_LENGTH:
        return 'op/' + operation_id
    return f'op/{operation_id[:20]}#{_digest(operation_id, 32)}'


def compensation_operation_id(operation_id: str) -> str:
    """
    Return the id of the compensation of the step with ``operation_id``: ``'<id>~undo'``.

    Derived from the step's id alone, so a compensation journaled before a restart keeps its
    id after it, and the robot answers that known id with its earlier outcome.
    """
    return _with_suffix(operation_id, '~undo', _MAX_OPERATION_ID_LENGTH)


def retry_operation_id(operation_id: str) -> str:
    """
    Return the id under which a dead letter runs again: ``'<id>~retry<n>'``, n counting up.

    A new id, since the robot remembers the old one and would answer with its old outcome
    instead of acting; a dead letter of a retry gets the next number, not a second suffix.
    """
    base, _, count = operation_id.rpartition('~retry')
    number = int(count) + 1 if base and count.isdigit() else 1
    base = base if base and count.isdigit() else operation_id
    return _with_suffix(base, f'~retry{number}', _MAX_OPERATION_ID_LENGTH)
