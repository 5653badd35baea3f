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
``/diagnostics`` of the coordinator: a ``DiagnosticArray`` built from a plain stats dict.

:func:`build_diagnostics` does no ROS I/O and keeps no state, so the coordinator node calls it
from its diagnostics timer and tests call it with hand-made dicts. The stats dict (every key
optional; a missing section yields no status, except ``journal`` whose ``None`` is an error)::

    {
        'robots': {robot_id: {'link_up': bool,
                              'last_seen_s': float | None}},   # age of the last message, s
        'breakers': [CircuitInfo or a dict with robot_id, operation, state (0 closed, 1 open,
                     2 half-open), consecutive_failures, last_error_msg],
        'queue': {'pending': int, 'running': int, 'limit': int},  # limit <= 0: unlimited
        'journal': journal.stats() (queue_depth, last_commit_latency_s, db_bytes, closed, ...)
                   or None when there is no durable journal,
        'dead_letters': int,
    }

Statuses, all named ``brain_execution/...`` with the given ``hardware_id``:

* ``brain_execution/robot/<id>/link``: OK while the link is up, ERROR otherwise.
* ``brain_execution/breaker/<robot>[/<operation>]`` for each breaker not closed: WARN
  half-open, ERROR open; and ``brain_execution/breakers``, the summary (the worst of them).
* ``brain_execution/queue``: WARN when ``pending`` reaches 90 % of ``limit``.
* ``brain_execution/journal``: ERROR when there is none or it is closed, WARN when the latest
  commit took longer than 0.5 s.
* ``brain_execution/dead_letters``: WARN when there is any.
"""

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

__all__ = [
    'BREAKER_LEVELS',
    'JOURNAL_LATENCY_WARN_S',
    'PREFIX',
    'QUEUE_WARN_FRACTION',
    'build_diagnostics',
    'worst_level',
]

PREFIX = 'brain_execution/'
QUEUE_WARN_FRACTION = 0.9
JOURNAL_LATENCY_WARN_S = 0.5
# Breaker state (0 closed, 1 open, 2 half-open) -> level.
BREAKER_LEVELS = (DiagnosticStatus.OK, DiagnosticStatus.ERROR, DiagnosticStatus.WARN)
_STATE_NAMES = ('CLOSED', 'OPEN', 'HALF_OPEN')


def _rank(level) -> int:
    # Levels are bytes (b'\x00') in Jazzy's Python messages and ints in older generators.
    return level[0] if isinstance(level, (bytes, bytearray)) else int(level)


def _text(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return '%.6g' % value
    return str(value)


def _status(name, level, message, hardware_id, values):
    return DiagnosticStatus(
        level=level, name=PREFIX + name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=str(key), value=_text(value)) for key, value in values])


def _field(record, key, default=None):
    """Read ``key`` from a dict or an object such as ``CircuitInfo``."""
    if isinstance(record, dict):
        return record.get(key, default)
    return getattr(record, key, default)


def _robot_statuses(robots, hardware_id):
    for robot_id in sorted(robots):
        robot = robots[robot_id] or {}
        up = bool(robot.get('link_up', False))
        seen = robot.get('last_seen_s')
        if seen is None:
            when = 'never seen'
        else:
            when = 'last seen %.1f s ago' % seen
        yield _status(
            'robot/%s/link' % robot_id, DiagnosticStatus.OK if up else DiagnosticStatus.ERROR,
            'execution: robot %s link %s (%s)' % (robot_id, 'up' if up else 'down', when),
            hardware_id, [('robot_id', robot_id), ('link_up', up), ('last_seen_s', seen)])


def _breaker_statuses(breakers, hardware_id):
    statuses = []
    counts = [0, 0, 0]
    for info in breakers:
        state = int(_field(info, 'state', 0))
        if state not in (0, 1, 2):
            raise ValueError('breaker state must be 0, 1 or 2, got %r' % (state,))
        counts[state] += 1
        if state == 0:
            continue
        robot_id = str(_field(info, 'robot_id', '') or '')
        operation = str(_field(info, 'operation', '') or '')
        name = 'breaker/%s' % robot_id + ('/%s' % operation if operation else '')
        error = str(_field(info, 'last_error_msg', '') or '')
        message = '%s %s%s' % (
            'circuit', _STATE_NAMES[state].lower().replace('_', '-'),
            ': %s' % error if error else '')
        statuses.append(_status(name, BREAKER_LEVELS[state], message, hardware_id, [
            ('robot_id', robot_id), ('operation', operation), ('state', _STATE_NAMES[state]),
            ('consecutive_failures', _field(info, 'consecutive_failures', 0)),
            ('last_error_msg', error)]))
    statuses.sort(key=lambda status: status.name)
    closed, opened, half_open = counts
    if opened:
        level = DiagnosticStatus.ERROR
    elif half_open:
        level = DiagnosticStatus.WARN
    else:
        level = DiagnosticStatus.OK
    message = ('all %d closed' % closed if not (opened or half_open)
               else '%d open, %d half-open, %d closed' % (opened, half_open, closed))
    statuses.append(_status('breakers', level, message, hardware_id, [
        ('total', sum(counts)), ('closed', closed), ('open', opened),
        ('half_open', half_open)]))
    return statuses


def _queue_status(queue, hardware_id):
    pending = int(queue.get('pending', 0))
    running = int(queue.get('running', 0))
    limit = int(queue.get('limit', 0) or 0)
    level, message = DiagnosticStatus.OK, '%d pending, %d running' % (pending, running)
    if limit > 0:
        message += ' (limit %d)' % limit
        if pending >= limit:
            level, message = DiagnosticStatus.WARN, 'full, new work is refused: ' + message
        elif pending >= QUEUE_WARN_FRACTION * limit:
            level, message = DiagnosticStatus.WARN, 'nearly full: ' + message
    return _status('queue', level, message, hardware_id, [
        ('pending', pending), ('running', running), ('limit', limit)])


def _journal_status(journal, hardware_id):
    if journal is None:
        return _status('journal', DiagnosticStatus.ERROR,
                       'no durable journal: plans are not resumed after a restart',
                       hardware_id, [])
    values = sorted(journal.items())
    if journal.get('fault'):
        return _status('journal', DiagnosticStatus.ERROR,
                       'JOURNAL_UNAVAILABLE: a write was not stored (%s); new work is refused'
                       % journal['fault'], hardware_id, values)
    if journal.get('closed'):
        return _status('journal', DiagnosticStatus.ERROR, 'journal closed', hardware_id,
                       values)
    latency = journal.get('last_commit_latency_s') or 0.0
    if latency > JOURNAL_LATENCY_WARN_S:
        return _status('journal', DiagnosticStatus.WARN,
                       'slow commits: last took %.3f s (> %.1f s)' % (
                           latency, JOURNAL_LATENCY_WARN_S), hardware_id, values)
    return _status('journal', DiagnosticStatus.OK, 'durable, last commit %.3f s' % latency,
                   hardware_id, values)


def build_diagnostics(stats, *, stamp, hardware_id: str = 'execution') -> DiagnosticArray:
    """
    Build the coordinator's ``DiagnosticArray`` from a stats dict (see the module docstring).

    :param stats: The stats dict; sections may be left out.
    :param stamp: The header stamp (``builtin_interfaces/Time``, the node clock's now).
    :param hardware_id: ``hardware_id`` of every status.
    :return: A ``diagnostic_msgs/DiagnosticArray``, statuses in a stable order: robot links,
        breakers then their summary, queue, journal, dead letters.
    :raises ValueError: If a breaker state is not 0, 1 or 2.
    """
    statuses = []
    statuses.extend(_robot_statuses(stats.get('robots') or {}, hardware_id))
    if 'breakers' in stats:
        statuses.extend(_breaker_statuses(stats['breakers'] or [], hardware_id))
    if stats.get('queue') is not None:
        statuses.append(_queue_status(stats['queue'], hardware_id))
    if 'journal' in stats:
        statuses.append(_journal_status(stats['journal'], hardware_id))
    if 'dead_letters' in stats:
        count = int(stats['dead_letters'] or 0)
        statuses.append(_status(
            'dead_letters', DiagnosticStatus.WARN if count > 0 else DiagnosticStatus.OK,
            '%d dead letter(s)' % count, hardware_id, [('count', count)]))
    array = DiagnosticArray(status=statuses)
    array.header.stamp = stamp
    return array


def worst_level(array: DiagnosticArray):
    """Return the highest level among the statuses of ``array`` (OK when there are none)."""
    return max((status.level for status in array.status), key=_rank,
               default=DiagnosticStatus.OK)
