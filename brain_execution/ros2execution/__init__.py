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
``ros2 execution <verb>``: the ``brain-execution`` commands as a ros2cli command extension.

Registered through ros2cli's extension points (``setup.py``): the ``ros2cli.command`` entry
``execution``, the extension point ``brain_execution.verb`` (``ros2cli.extension_point``)
and one entry per verb in that group. Each verb is a thin layer over
:data:`brain_execution.cli.commands.COMMANDS`: the same arguments, the same code, the same
exit statuses. Importing this package needs ros2cli.
"""
