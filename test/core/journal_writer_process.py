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
Write journal records in a loop until killed; run as a separate process by the crash test.

Usage::

    python journal_writer_process.py <database> <prefix> [--threads N]

Each of ``N`` threads writes, in turn, an operation (recorded and marked dispatched), a plan
(recorded, with one started step) and a dead letter, all with ids starting with ``prefix``.
Only after a write method has returned, that is after its transaction committed, the thread
prints ``<kind> <id>`` on a line of its own and flushes: every printed line is an
acknowledgement the journal must keep whenever the process is killed.
"""

import argparse
import itertools
import sys
import threading
import time

from brain_execution.core.journal import DeadLetterRecord, Journal

# Attempt number journaled for every operation; the crash test checks it.
ATTEMPT = 2


def write_forever(journal, prefix, print_lock):
    """
    Write records with ids starting with ``prefix`` and acknowledge each on stdout.

    :param journal: The journal to write to.
    :param prefix: Prefix of every id written.
    :param print_lock: Keeps the lines of several threads whole.
    """
    for i in itertools.count():
        item_id = '%s-%d' % (prefix, i)
        kind = ('operation', 'plan', 'dead_letter')[i % 3]
        if kind == 'operation':
            journal.record_operation(item_id, 'drone1', 'go_to', {'x_m': float(i)}, False)
            journal.mark_dispatched(item_id, ATTEMPT)
        elif kind == 'plan':
            journal.record_plan(item_id, {'plan_id': item_id, 'steps': [{'step_id': 's'}]},
                                float(i))
            journal.record_step_state(item_id, 's', state=2, attempt=1,
                                      operation_id=item_id + '/s', started=True)
        else:
            journal.add_dead_letter(DeadLetterRecord(
                operation_id=item_id, robot_id='boat1', operation='go_to',
                parameters='{x_m: %d}' % i, attempts=3, error_code=9,
                error_msg='link lost', first_attempt_s=float(i), dead_letter_s=float(i + 1)))
        with print_lock:
            sys.stdout.write('%s %s\n' % (kind, item_id))
            sys.stdout.flush()


def main(args=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('database')
    parser.add_argument('prefix')
    parser.add_argument('--threads', type=int, default=3)
    options = parser.parse_args(args)
    journal = Journal(options.database, clock=time.monotonic)
    print_lock = threading.Lock()
    threads = [
        threading.Thread(target=write_forever, daemon=True,
                         args=(journal, '%s-t%d' % (options.prefix, n), print_lock))
        for n in range(options.threads)]
    for thread in threads:
        thread.start()
    # The writers never end on their own: the test kills the process.
    for thread in threads:
        thread.join()


if __name__ == '__main__':
    main()
