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
Bridges found by name through the ``brain_execution.bridges`` entry-point group.

A team adds its own bridge without editing this project: its package declares, in its
``setup.py``::

    entry_points={'brain_execution.bridges': ['my_bridge = my_pkg.bridge:create_bridge']}

where ``create_bridge(context: BridgeContext) -> PlatformBridge``, and the executor's
``bridge`` parameter names it. The built-in ``sim`` bridge is registered the same way.

A bridge module imports its platform's message packages at its top; when one is missing,
loading it fails, and only that bridge is unavailable, with one line naming the package.
"""

import importlib.metadata
import typing

from brain_execution.core.bridge import BridgeContext, BridgeUnavailableError, PlatformBridge

__all__ = ['ENTRY_POINT_GROUP', 'available_bridges', 'create_bridge', 'load_factory']

ENTRY_POINT_GROUP = 'brain_execution.bridges'

BridgeFactory = typing.Callable[[BridgeContext], PlatformBridge]


def _entry_points() -> typing.Dict[str, importlib.metadata.EntryPoint]:
    found = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        # The first distribution on the path wins, as for console scripts.
        found.setdefault(entry_point.name, entry_point)
    return found


def available_bridges() -> typing.List[str]:
    """Return the names of every registered bridge, sorted (loadable or not)."""
    return sorted(_entry_points())


def load_factory(name: str) -> BridgeFactory:
    """
    Return the factory registered under ``name``.

    :raises BridgeUnavailableError: no such bridge, or its module cannot be imported (the
        message names the missing package).
    """
    entry_point = _entry_points().get(name)
    if entry_point is None:
        known = ', '.join(available_bridges()) or 'none (is brain_execution installed?)'
        raise BridgeUnavailableError(
            f'bridge={name!r} unknown; registered bridges ({ENTRY_POINT_GROUP}): {known}')
    try:
        return entry_point.load()
    except ModuleNotFoundError as error:
        package = (error.name or str(error)).split('.')[0]
        raise BridgeUnavailableError(
            f'bridge {name!r} needs the ROS package {package!r}, which is not installed '
            f'(rosdep install --from-paths <src>, or install ros-$ROS_DISTRO-'
            f'{package.replace("_", "-")})') from error


def create_bridge(name: str, context: BridgeContext) -> PlatformBridge:
    """
    Build the bridge registered under ``name`` for one robot.

    :raises BridgeUnavailableError: unknown or unloadable bridge, or settings it refuses.
    """
    factory = load_factory(name)
    try:
        bridge = factory(context)
    except ValueError as error:
        raise BridgeUnavailableError(f'bridge {name!r}: {error}') from error
    if not isinstance(bridge, PlatformBridge):
        raise BridgeUnavailableError(
            f'bridge {name!r}: its factory returned {type(bridge).__name__}, not a '
            'PlatformBridge')
    return bridge
