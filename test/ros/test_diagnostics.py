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

"""Tests of the coordinator's DiagnosticArray built from a stats dict, level by level."""

from brain_execution.core.breaker import BreakerState, CircuitInfo
from brain_execution.ros.diagnostics import build_diagnostics, worst_level
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import pytest

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR
STAMP = Time(sec=12, nanosec=34)


def _healthy():
    return {
        'robots': {'uav1': {'link_up': True, 'last_seen_s': 0.2},
                   'ugv1': {'link_up': True, 'last_seen_s': 1.0}},
        'breakers': [{'robot_id': 'uav1', 'operation': '', 'state': 0,
                      'consecutive_failures': 0, 'last_error_msg': ''}],
        'queue': {'pending': 3, 'running': 2, 'limit': 100},
        'journal': {'queue_depth': 0, 'last_commit_latency_s': 0.004, 'db_bytes': 8192,
                    'closed': False},
        'dead_letters': 0,
    }


def _by_name(array):
    return {status.name: status for status in array.status}


def _values(status):
    return {value.key: value.value for value in status.values}


def test_healthy_stats_are_all_ok():
    array = build_diagnostics(_healthy(), stamp=STAMP, hardware_id='coord')
    assert isinstance(array, DiagnosticArray)
    assert (array.header.stamp.sec, array.header.stamp.nanosec) == (12, 34)
    assert [status.name for status in array.status] == [
        'brain_execution/robot/uav1/link', 'brain_execution/robot/ugv1/link',
        'brain_execution/breakers', 'brain_execution/queue', 'brain_execution/journal',
        'brain_execution/dead_letters']
    assert all(status.level == OK for status in array.status)
    assert all(status.hardware_id == 'coord' for status in array.status)
    assert worst_level(array) == OK
    statuses = _by_name(array)
    assert 'execution: robot uav1 link up' in statuses['brain_execution/robot/uav1/link'].message
    assert _values(statuses['brain_execution/queue']) == {
        'pending': '3', 'running': '2', 'limit': '100'}
    assert _values(statuses['brain_execution/journal'])['db_bytes'] == '8192'
    assert _values(statuses['brain_execution/breakers'])['closed'] == '1'
    assert build_diagnostics({}, stamp=STAMP).status == []
    assert build_diagnostics(_healthy(), stamp=STAMP).status[0].hardware_id == 'execution'


@pytest.mark.parametrize('robot, level, text', [
    ({'link_up': True, 'last_seen_s': 0.5}, OK, 'link up (last seen 0.5 s ago)'),
    ({'link_up': False, 'last_seen_s': 12.0}, ERROR, 'link down (last seen 12.0 s ago)'),
    ({'link_up': False, 'last_seen_s': None}, ERROR, 'link down (never seen)'),
])
def test_robot_link(robot, level, text):
    status = _by_name(build_diagnostics({'robots': {'usv1': robot}}, stamp=STAMP))[
        'brain_execution/robot/usv1/link']
    assert status.level == level
    assert text in status.message
    assert _values(status)['robot_id'] == 'usv1'


def test_breakers_not_closed_get_a_status_each():
    stats = {'breakers': [
        {'robot_id': 'uav1', 'operation': '', 'state': 1, 'consecutive_failures': 5,
         'last_error_msg': 'link lost'},
        CircuitInfo(name='ugv1/goto', robot_id='ugv1', operation='goto',
                    state=BreakerState.HALF_OPEN, consecutive_failures=3, failure_threshold=3,
                    retry_at_s=0.0, last_error_code=7, last_error_msg='timeout'),
        {'robot_id': 'usv1', 'operation': 'goto', 'state': 0, 'consecutive_failures': 1,
         'last_error_msg': ''},
    ]}
    statuses = _by_name(build_diagnostics(stats, stamp=STAMP))
    assert sorted(statuses) == [
        'brain_execution/breaker/uav1', 'brain_execution/breaker/ugv1/goto',
        'brain_execution/breakers']
    opened = statuses['brain_execution/breaker/uav1']
    assert opened.level == ERROR and 'link lost' in opened.message
    assert _values(opened) == {'robot_id': 'uav1', 'operation': '', 'state': 'OPEN',
                               'consecutive_failures': '5', 'last_error_msg': 'link lost'}
    half_open = statuses['brain_execution/breaker/ugv1/goto']
    assert half_open.level == WARN and _values(half_open)['state'] == 'HALF_OPEN'
    summary = statuses['brain_execution/breakers']
    assert summary.level == ERROR
    assert _values(summary) == {'total': '3', 'closed': '1', 'open': '1', 'half_open': '1'}

    only_half_open = build_diagnostics({'breakers': stats['breakers'][1:]}, stamp=STAMP)
    assert _by_name(only_half_open)['brain_execution/breakers'].level == WARN
    assert _by_name(build_diagnostics({'breakers': []}, stamp=STAMP))[
        'brain_execution/breakers'].level == OK
    with pytest.raises(ValueError):
        build_diagnostics({'breakers': [{'robot_id': 'x', 'state': 7}]}, stamp=STAMP)


@pytest.mark.parametrize('pending, limit, level', [
    (0, 100, OK), (89, 100, OK), (90, 100, WARN), (100, 100, WARN), (5000, 0, OK),
])
def test_queue_warns_near_its_limit(pending, limit, level):
    stats = {'queue': {'pending': pending, 'running': 1, 'limit': limit}}
    assert build_diagnostics(stats, stamp=STAMP).status[0].level == level


@pytest.mark.parametrize('journal, level, text', [
    (None, ERROR, 'no durable journal'),
    ({'queue_depth': 0, 'last_commit_latency_s': 0.01, 'db_bytes': 1, 'closed': True},
     ERROR, 'closed'),
    ({'queue_depth': 40, 'last_commit_latency_s': 0.8, 'db_bytes': 1}, WARN, 'slow'),
    ({'queue_depth': 0, 'last_commit_latency_s': 0.5, 'db_bytes': 1}, OK, 'durable'),
    ({'queue_depth': 0, 'last_commit_latency_s': 0.01, 'db_bytes': 1, 'fault': ''}, OK,
     'durable'),
    ({'queue_depth': 0, 'last_commit_latency_s': 0.01, 'db_bytes': 1,
      'fault': 'result of op1: database or disk is full'}, ERROR,
     'JOURNAL_UNAVAILABLE: a write was not stored (result of op1: database or disk is full)'),
])
def test_journal(journal, level, text):
    status = build_diagnostics({'journal': journal}, stamp=STAMP).status[0]
    assert status.name == 'brain_execution/journal'
    assert status.level == level
    assert text in status.message


@pytest.mark.parametrize('count, level', [(0, OK), (1, WARN), (250, WARN)])
def test_dead_letters(count, level):
    status = build_diagnostics({'dead_letters': count}, stamp=STAMP).status[0]
    assert status.name == 'brain_execution/dead_letters'
    assert status.level == level
    assert _values(status) == {'count': str(count)}


def test_worst_level_picks_the_highest():
    stats = _healthy()
    stats['dead_letters'] = 2
    assert worst_level(build_diagnostics(stats, stamp=STAMP)) == WARN
    stats['robots']['uav1']['link_up'] = False
    assert worst_level(build_diagnostics(stats, stamp=STAMP)) == ERROR
