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

"""The verbs of ``ros2 execution``, one per ``brain-execution`` command."""

from brain_execution.cli.commands import add_command_arguments, COMMANDS
from ros2cli.plugin_system import PLUGIN_SYSTEM_VERSION
from ros2cli.plugin_system import satisfies_version

__all__ = ['CancelVerb', 'CircuitsVerb', 'DeadLettersVerb', 'EstopVerb', 'ReportVerb',
           'RunVerb', 'StatusVerb', 'VerbExtension']


class VerbExtension:
    """
    The extension point for ``execution`` verb extensions.

    The following properties must be defined:
    * ``NAME`` (set to the entry point name)

    The following methods must be defined:
    * ``main``

    The following methods can be defined:
    * ``add_arguments``
    """

    NAME = None
    EXTENSION_POINT_VERSION = '0.1'

    def __init__(self):
        super().__init__()
        satisfies_version(PLUGIN_SYSTEM_VERSION, '^0.1')

    def add_arguments(self, parser, cli_name):
        pass

    def main(self, *, args):
        raise NotImplementedError()


class _CommandVerb(VerbExtension):
    """A verb whose arguments and body are the brain-execution command of the same name."""

    COMMAND = ''

    def add_arguments(self, parser, cli_name):
        add_command_arguments(COMMANDS[self.COMMAND], parser)

    def main(self, *, args):
        return COMMANDS[self.COMMAND].main(args)


class RunVerb(_CommandVerb):
    """Run a mission file as one plan."""

    COMMAND = 'run'


class StatusVerb(_CommandVerb):
    """Show a plan's steps, or the coordinator's health."""

    COMMAND = 'status'


class CancelVerb(_CommandVerb):
    """Cancel a plan or an operation."""

    COMMAND = 'cancel'


class DeadLettersVerb(_CommandVerb):
    """List, retry or purge dead letters."""

    COMMAND = 'dead-letters'


class EstopVerb(_CommandVerb):
    """Emergency-stop robots (the whole fleet by default), or release."""

    COMMAND = 'estop'


class CircuitsVerb(_CommandVerb):
    """List circuit breakers, or reset them."""

    COMMAND = 'circuits'


class ReportVerb(_CommandVerb):
    """Write a plan's mission report (HTML and PNG) from the journal."""

    COMMAND = 'report'
