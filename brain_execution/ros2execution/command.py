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

"""The ``execution`` command of ``ros2``: dispatches to the ``brain_execution.verb`` verbs."""

from ros2cli.command import add_subparsers_on_demand
from ros2cli.command import CommandExtension

__all__ = ['ExecutionCommand']


class ExecutionCommand(CommandExtension):
    """Run missions and operate the brain_execution coordinator."""

    def add_arguments(self, parser, cli_name, *, argv=None):
        self._subparser = parser
        # argv: what ros2cli parses (sys.argv when None), so that only the chosen verb loads.
        add_subparsers_on_demand(parser, cli_name, '_verb', 'brain_execution.verb',
                                 required=False, argv=argv)

    def main(self, *, parser, args):
        if not hasattr(args, '_verb'):
            self._subparser.print_help()
            return 0
        return getattr(args, '_verb').main(args=args)
