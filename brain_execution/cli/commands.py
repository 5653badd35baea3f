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
``brain-execution``: run missions and operate the coordinator from a terminal or a script.

    brain-execution run mission.yaml --watch        # live table, exit 0 if it succeeded
    brain-execution status [PLAN_ID]                # a plan's steps, or the fleet's health
    brain-execution cancel PLAN_ID
    brain-execution dead-letters list|retry|purge
    brain-execution estop [--release] [ROBOT ...]
    brain-execution circuits [reset ROBOT]
    brain-execution report [PLAN_ID] [--journal PATH] [--recording BAG]

Every command takes ``--json`` (one JSON document on stdout) and ``--timeout``. Exit status:
0 done, 1 the coordinator refused or failed it (or did not answer), 2 bad usage or input
(e.g. an invalid mission file). Errors go to stderr. The same commands are the verbs of
``ros2 execution`` (:mod:`brain_execution.ros2execution`), built from :data:`COMMANDS`.
"""

import argparse
import dataclasses
import json
import pathlib
import sys
import threading
import time
import typing

from brain_execution.core.errors import code_name, ExecutionError
from brain_execution.core.plan import plan_from_yaml

from . import report_command

__all__ = ['COMMANDS', 'Command', 'add_command_arguments', 'build_parser', 'main']


class Command(typing.NamedTuple):
    """One command: its name, one-line summary, arguments and body (returns the exit status)."""

    name: str
    summary: str
    add_arguments: typing.Callable[[argparse.ArgumentParser], None]
    main: typing.Callable[[argparse.Namespace], int]


def _add_common(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    # On a nested parser (dead-letters list) the options must not reset, when absent, what
    # the command's own parser already parsed (dead-letters --json list).
    default = argparse.SUPPRESS if nested else None
    parser.add_argument('--json', action='store_true',
                        default=default if nested else False,
                        help='print one JSON document on stdout instead of text')
    parser.add_argument('--timeout', type=float, default=default if nested else 10.0,
                        metavar='S', help='seconds to wait for the coordinator and each '
                                          'answer (default 10)')


def _emit(args: argparse.Namespace, document: typing.Any, lines: typing.Iterable[str]) -> None:
    if args.json:
        print(json.dumps(document, sort_keys=True))
    else:
        for line in lines:
            print(line)


def _error(message: str, status: int = 1) -> int:
    print(f'brain-execution: {message}', file=sys.stderr)
    return status


def _coordinator_call(body: typing.Callable[[typing.Any], int]) -> typing.Callable:
    """Run body(client) in a ROS session; a silent coordinator is exit status 1."""
    def run(args: argparse.Namespace) -> int:
        from .client import CoordinatorUnavailableError, session
        try:
            with session(timeout_s=args.timeout) as client:
                return body(args, client)
        except CoordinatorUnavailableError as error:
            return _error(str(error))
    return run


def _status_document(s) -> typing.Dict[str, typing.Any]:
    from .client import STATE_NAMES
    return {'plan_id': s.plan_id, 'step_id': s.step_id, 'operation_id': s.operation_id,
            'robot_id': s.robot_id, 'operation': s.operation,
            'state': STATE_NAMES.get(s.state, str(s.state)), 'attempt': int(s.attempt),
            'error_code': int(s.error_code), 'error': code_name(s.error_code),
            'error_msg': s.error_msg, 'elapsed_s': round(float(s.elapsed_s), 3)}


def _answer(args, response, ok_text: str, document: typing.Dict[str, typing.Any]) -> int:
    """Print a service response that has error_code/error_msg; return its exit status."""
    document = dict(document, error_code=int(response.error_code),
                    error=code_name(response.error_code), error_msg=response.error_msg)
    if response.error_code:
        if args.json:
            print(json.dumps(document, sort_keys=True))
        return _error(f'{code_name(response.error_code)}: {response.error_msg}')
    _emit(args, document, [ok_text])
    return 0


# --- run ---------------------------------------------------------------------------------

def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('mission', type=pathlib.Path,
                        help='mission file (YAML: plan_id, steps; see '
                             'brain_execution/core/plan.py)')
    parser.add_argument('--watch', action='store_true',
                        help='follow the plan to its end with a live table; exit 0 only if '
                             'it succeeded')
    parser.add_argument('--plan-id', default='',
                        help="plan id (default: the file's plan_id, else <file>-<time>)")
    parser.add_argument('--record', type=pathlib.Path, metavar='DIR',
                        help='with --watch, record the mission topics into a new rosbag2 '
                             'MCAP bag DIR')


def _run(args: argparse.Namespace) -> int:
    if args.record and not args.watch:
        return _error('--record needs --watch (the recording lasts as long as the watch)', 2)
    try:
        plan = plan_from_yaml(args.mission, plan_id=args.plan_id or None)
    except ExecutionError as error:
        return _error(str(error), 2)
    if not plan.plan_id:
        plan = dataclasses.replace(
            plan, plan_id=f'{args.mission.stem}-{time.strftime("%Y%m%d-%H%M%S")}')
    return _coordinator_call(lambda a, client: _run_plan(a, client, plan))(args)


def _namespaces(node, robots: typing.Sequence[str]) -> typing.List[str]:
    """
    Return each robot's namespace as the graph shows it: where its robot_state is published.

    A robot in a nested namespace (``/site_a/drone1``) is found by the namespace's last
    token; one not (yet) seen is taken to be at ``/<robot_id>``.
    """
    published = [name for name, _ in node.get_topic_names_and_types()
                 if name.endswith('/robot_state')]
    found = []
    for robot in robots:
        matches = sorted(n[:-len('/robot_state')] for n in published
                         if n[:-len('/robot_state')].rpartition('/')[2] == robot)
        found.append(matches[0] if matches else f'/{robot}')
    return found


def _run_plan(args, client, plan) -> int:
    from .client import goal_from_plan, rows_from_statuses
    from .progress import PlanProgress
    goal = goal_from_plan(plan)
    if not args.watch:
        client.run_plan(goal, wait=False)
        _emit(args, {'plan_id': goal.plan_id, 'accepted': True},
              [f'plan {goal.plan_id} accepted; follow it with: brain-execution status '
               f'{goal.plan_id}'])
        return 0
    recorder = None
    if args.record:
        from brain_execution.ros.recorder import mission_topics, MissionRecorder
        robots = sorted({s.robot_id for s in plan.steps})
        recorder = MissionRecorder(client.node, args.record,
                                   mission_topics(_namespaces(client.node, robots)))
    progress = PlanProgress(f'plan {goal.plan_id}', live=None if not args.json else False)
    stop = threading.Event()
    started = time.monotonic()
    try:
        with progress:
            try:
                result = client.run_plan(
                    goal, stop=stop,
                    on_feedback=None if args.json else lambda f: progress.update(
                        rows_from_statuses(f.steps), f.progress))
            except KeyboardInterrupt:
                progress.close()
                return _error(f'stopped watching; plan {goal.plan_id} goes on (cancel it '
                              f'with: brain-execution cancel {goal.plan_id})', 130)
    finally:
        path = recorder.close() if recorder is not None else None
    total = time.monotonic() - started
    ok = result.error_code == 0
    outcome = (f'plan {result.plan_id}: {"SUCCEEDED" if ok else code_name(result.error_code)} '
               f'in {total:.1f} s {result.error_msg}'.rstrip())
    if args.json:
        print(json.dumps({'plan_id': result.plan_id, 'error_code': int(result.error_code),
                          'error': code_name(result.error_code), 'error_msg': result.error_msg,
                          'recording': path,
                          'steps': [_status_document(s) for s in result.steps]},
                         sort_keys=True))
    else:
        progress.finish(rows_from_statuses(result.steps), outcome)
        if path:
            print(f'recording: {path}')
    return 0 if ok else 1


# --- status, cancel ----------------------------------------------------------------------

def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('plan_id', nargs='?', default='',
                        help="a plan's steps; without it, the coordinator's diagnostics")
    parser.add_argument('--operation', default='', metavar='OPERATION_ID',
                        help='one operation instead of a plan')


def _status(args, client) -> int:
    from brain_execution_interfaces.srv import QueryOperation
    from .client import rows_from_statuses
    from .progress import summary_lines
    if args.plan_id or args.operation:
        response = client.call(QueryOperation, 'query', QueryOperation.Request(
            plan_id=args.plan_id if not args.operation else '', operation_id=args.operation))
        if not response.found:
            what = f'operation {args.operation}' if args.operation else f'plan {args.plan_id}'
            if args.json:
                print(json.dumps({'found': False, 'steps': []}))
            return _error(f'the coordinator knows no {what}')
        _emit(args, {'found': True, 'steps': [_status_document(s)
                                              for s in response.operations]},
              summary_lines(rows_from_statuses(response.operations)))
        return 0
    array = client.diagnostics()
    levels = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}
    statuses = [{'name': s.name, 'level': levels.get(s.level[0] if isinstance(
        s.level, bytes) else int(s.level), '?'), 'message': s.message,
        'values': {v.key: v.value for v in s.values}} for s in array.status]
    _emit(args, {'statuses': statuses},
          [f'{s["level"]:<6} {s["name"]:<40} {s["message"]}' for s in statuses])
    return 0


def _cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('plan_id', nargs='?', default='', help='the plan to cancel')
    parser.add_argument('--operation', default='', metavar='OPERATION_ID',
                        help='cancel one operation instead of a plan')


def _cancel(args, client) -> int:
    from brain_execution_interfaces.srv import CancelOperation
    if bool(args.plan_id) == bool(args.operation):
        return _error('name a plan_id or an --operation (exactly one)', 2)
    response = client.call(CancelOperation, 'cancel', CancelOperation.Request(
        plan_id=args.plan_id, operation_id=args.operation))
    canceled = list(response.canceled_operation_ids)
    return _answer(args, response, f'canceled {len(canceled)} operation(s): '
                                   f'{", ".join(canceled)}', {'canceled': canceled})


# --- dead letters --------------------------------------------------------------------------

def _dead_letters_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    listing = actions.add_parser('list', help='list dead letters',
                                 description='List dead letters (operations whose retries '
                                             'ran out).')
    listing.add_argument('--robot', default='', help='only this robot')
    listing.add_argument('--max', type=int, default=0, help='at most this many (0 = all)')
    retry = actions.add_parser('retry', help='run dead letters again',
                               description='Run dead letters again, each as a new operation.')
    retry.add_argument('operation_ids', nargs='+', metavar='OPERATION_ID')
    purge = actions.add_parser('purge', help='forget dead letters',
                               description='Forget dead letters (listed ones, or --all).')
    purge.add_argument('operation_ids', nargs='*', metavar='OPERATION_ID')
    purge.add_argument('--all', action='store_true', help='every dead letter')
    for sub in (listing, retry, purge):
        _add_common(sub, nested=True)


def _dead_letters(args, client) -> int:
    from brain_execution_interfaces import srv
    if args.action == 'list':
        response = client.call(srv.ListDeadLetters, 'list_dead_letters',
                               srv.ListDeadLetters.Request(robot_id=args.robot,
                                                           max_entries=max(0, args.max)))
        letters = [{'operation_id': d.operation_id, 'plan_id': d.plan_id,
                    'step_id': d.step_id, 'robot_id': d.robot_id, 'operation': d.operation,
                    'parameters': d.parameters, 'attempts': int(d.attempts),
                    'error_code': int(d.error_code), 'error': code_name(d.error_code),
                    'error_msg': d.error_msg} for d in response.dead_letters]
        _emit(args, {'total': int(response.total), 'dead_letters': letters},
              [f'{len(letters)} of {response.total} dead letter(s)'] + [
                  f'{d["operation_id"]}  {d["robot_id"]} {d["operation"]}  '
                  f'{d["attempts"]} attempt(s)  {d["error"]}: {d["error_msg"]}'
                  for d in letters])
        return 0
    if args.action == 'retry':
        # Not resent: a second retry of the same letters would find them gone and say so.
        response = client.call(srv.RetryDeadLetters, 'retry_dead_letters',
                               srv.RetryDeadLetters.Request(operation_ids=args.operation_ids),
                               resend=False)
        retried = list(response.retried_operation_ids)
        return _answer(args, response, f'retrying as: {", ".join(retried)}',
                       {'retried': retried})
    if bool(args.operation_ids) == bool(args.all):
        return _error('purge lists OPERATION_IDs or takes --all (not both)', 2)
    response = client.call(srv.PurgeDeadLetters, 'purge_dead_letters',
                           srv.PurgeDeadLetters.Request(operation_ids=args.operation_ids,
                                                        all=args.all))
    return _answer(args, response, f'purged {response.purged} dead letter(s)',
                   {'purged': int(response.purged)})


# --- estop, circuits ---------------------------------------------------------------------

def _estop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('robots', nargs='*', metavar='ROBOT',
                        help='robots to stop (default: the whole fleet)')
    parser.add_argument('--release', action='store_true',
                        help='release the latched stop instead')
    parser.add_argument('--reason', default='operator (brain-execution estop)',
                        help='reason recorded with the stop')


def _estop(args, client) -> int:
    from brain_execution_interfaces.srv import TriggerEmergencyStop
    response = client.call(TriggerEmergencyStop, 'emergency_stop', TriggerEmergencyStop.Request(
        robot_ids=args.robots, reason=args.reason, release=args.release))
    done = list(response.stopped_robot_ids)
    verb = 'released' if args.release else 'stopped'
    return _answer(args, response, f'{verb}: {", ".join(done) or "-"}',
                   {verb: done, 'failed': list(response.failed_robot_ids)})


def _circuits_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest='action', required=False, metavar='ACTION')
    reset = actions.add_parser('reset', help='close circuits',
                               description='Close open circuits (let operations flow again).')
    reset.add_argument('robot', nargs='?', default='', help='the robot (default: every one)')
    reset.add_argument('--operation', default='', help="only this operation's circuit")
    _add_common(reset, nested=True)


_CIRCUIT_STATES = ('CLOSED', 'OPEN', 'HALF_OPEN')


def _circuit_document(c) -> typing.Dict[str, typing.Any]:
    return {'robot_id': c.robot_id, 'operation': c.operation,
            'state': _CIRCUIT_STATES[c.state] if c.state < 3 else str(c.state),
            'consecutive_failures': int(c.consecutive_failures),
            'failure_threshold': int(c.failure_threshold),
            'last_error': code_name(c.last_error_code), 'last_error_msg': c.last_error_msg}


def _circuit_lines(circuits) -> typing.List[str]:
    return [f'{c["state"]:<9} {c["robot_id"]}{"/" + c["operation"] if c["operation"] else ""}'
            f'  {c["consecutive_failures"]}/{c["failure_threshold"]} failures'
            + (f'  last: {c["last_error"]}: {c["last_error_msg"]}'
               if c['consecutive_failures'] else '') for c in circuits] or ['no circuits']


def _circuits(args, client) -> int:
    from brain_execution_interfaces.srv import ResetCircuit
    if args.action == 'reset':
        response = client.call(ResetCircuit, 'reset_circuit', ResetCircuit.Request(
            robot_id=args.robot, operation=args.operation))
        circuits = [_circuit_document(c) for c in response.circuits]
        if response.error_code:
            return _answer(args, response, '', {'circuits': circuits})
        _emit(args, {'circuits': circuits}, ['reset; now:'] + _circuit_lines(circuits))
        return 0
    circuits = [_circuit_document(c) for c in client.circuits()]
    _emit(args, {'circuits': circuits}, _circuit_lines(circuits))
    return 0


COMMANDS: typing.Mapping[str, Command] = {c.name: c for c in (
    Command('run', 'Run a mission file as one plan.', _run_arguments, _run),
    Command('status', "Show a plan's steps, or the coordinator's health.", _status_arguments,
            _coordinator_call(_status)),
    Command('cancel', 'Cancel a plan or an operation.', _cancel_arguments,
            _coordinator_call(_cancel)),
    Command('dead-letters', 'List, retry or purge dead letters.', _dead_letters_arguments,
            _coordinator_call(_dead_letters)),
    Command('estop', 'Emergency-stop robots (the whole fleet by default), or release.',
            _estop_arguments, _coordinator_call(_estop)),
    Command('circuits', 'List circuit breakers, or reset them.', _circuits_arguments,
            _coordinator_call(_circuits)),
    # Reads the journal file: no coordinator needed.
    Command('report', report_command.SUMMARY, report_command.add_arguments,
            report_command.main),
)}


def add_command_arguments(command: Command, parser: argparse.ArgumentParser) -> None:
    """Add one command's arguments (and --json, --timeout) to a parser."""
    _add_common(parser)
    command.add_arguments(parser)


def build_parser(prog: str = 'brain-execution') -> argparse.ArgumentParser:
    """Return the parser of every command."""
    parser = argparse.ArgumentParser(
        prog=prog, description='Run missions and operate the brain_execution coordinator.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Exit status: 0 done, 1 refused, failed or no answer, 2 bad usage or input.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for command in COMMANDS.values():
        sub = commands.add_parser(command.name, help=command.summary,
                                  description=command.summary)
        add_command_arguments(command, sub)
        sub.set_defaults(main=command.main)
    return parser


def main(argv: typing.Sequence[str] = None) -> int:
    """Run one command; return its exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    return args.main(args)


if __name__ == '__main__':
    sys.exit(main())
