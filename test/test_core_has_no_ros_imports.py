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
The core layer imports no ROS: it must run (and be tested) with the standard library only.

Every module under ``brain_execution/core`` is parsed with :mod:`ast`; imports (plain,
``from``, relative ones resolved against the module's package, and ``importlib.import_module``
or ``__import__`` calls with a literal name) of rclpy, ROS packages, interface packages or the
ROS-side layers of brain_execution are failures.
"""

import ast
from pathlib import Path

_CORE = Path('brain_execution', 'core')

# Top-level modules of ROS 2 itself (client library, launch, tooling, middleware glue).
_ROS_MODULES = frozenset({
    'rclpy', 'rcl', 'rcl_interfaces', 'rclpy_message_converter', 'rmw', 'rpyutils',
    'launch', 'launch_ros', 'launch_testing', 'launch_testing_ros', 'launch_xml', 'launch_yaml',
    'ros2cli', 'ros2action', 'ros2topic', 'ros2service', 'ros2param', 'ros2node', 'ros2run',
    'ros2launch', 'ros2bag', 'rosbag2_py', 'message_filters', 'cv_bridge', 'image_geometry',
    'tf2_ros', 'tf2_py', 'tf2_geometry_msgs', 'tf_transformations', 'ament_index_python',
    'builtin_interfaces', 'brain_execution_interfaces', 'mavros', 'mavros_msgs',
    'py_trees_ros', 'diagnostic_updater', 'domain_coordinator',
})
_ROS_PREFIXES = ('rcl', 'rmw_', 'rosidl', 'ros2', 'rosbag2', 'launch_', 'tf2_', 'nav2_',
                 'ament_', 'mavros')
_ROS_SUFFIXES = ('_msgs', '_srvs', '_interfaces', '_actions')
# brain_execution's own ROS-side layers.
_OWN_ROS_LAYERS = frozenset({'ros', 'nodes', 'bridges', 'sim', 'launch'})


def is_forbidden(module):
    """
    Return whether importing ``module`` (an absolute dotted name) drags ROS into the core.

    :param module: Absolute module name, e.g. ``'rclpy.node'``.
    :return: True when the core may not import it.
    """
    parts = module.split('.')
    top = parts[0]
    if top == 'brain_execution':
        return len(parts) > 1 and parts[1] in _OWN_ROS_LAYERS
    return (top in _ROS_MODULES or top.startswith(_ROS_PREFIXES)
            or top.endswith(_ROS_SUFFIXES))


def _resolve(node, package):
    """Return the absolute module names an import node refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module
    else:
        anchor = package.split('.')
        anchor = anchor[:len(anchor) - (node.level - 1)]
        base = '.'.join(anchor + ([node.module] if node.module else []))
    # `from brain_execution import ros` imports a layer as much as `import brain_execution.ros`.
    return [base] + ['%s.%s' % (base, alias.name) for alias in node.names if alias.name != '*']


def _dynamic_import(node):
    """Return the literal module name of importlib.import_module('x') / __import__('x')."""
    func = node.func
    named = (isinstance(func, ast.Name) and func.id in ('__import__', 'import_module')) or (
        isinstance(func, ast.Attribute) and func.attr == 'import_module')
    if named and node.args and isinstance(node.args[0], ast.Constant) and isinstance(
            node.args[0].value, str):
        return node.args[0].value
    return None


def ros_imports(source, module):
    """
    Return ``(line, imported name)`` for every ROS import in ``source``.

    :param source: Python source text.
    :param module: Dotted name of the module the source belongs to (for relative imports).
    :return: A list of ``(line number, module name)``.
    """
    # Module names keep their '__init__', so the package is always all but the last part.
    package = module.rsplit('.', 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _resolve(node, package):
                if is_forbidden(name):
                    found.append((node.lineno, name))
                    break
        elif isinstance(node, ast.Call):
            name = _dynamic_import(node)
            if name and is_forbidden(name):
                found.append((node.lineno, name))
    return found


def _module_name(relative_path):
    return '.'.join(relative_path.with_suffix('').parts)


def test_detects_ros_imports():
    # The scanner must be able to fail.
    source = '\n'.join([
        'import os',
        'import rclpy.node',
        'from geometry_msgs.msg import Point',
        'from std_srvs.srv import Trigger',
        'from ..ros import adapter',
        'from brain_execution import bridges',
        'from . import errors',
        'import importlib',
        "importlib.import_module('launch_ros.actions')",
        "__import__('brain_execution_interfaces.msg')",
        'from .sim_clock import SimClock',
    ])
    found = ros_imports(source, 'brain_execution.core.example')
    assert [line for line, _ in found] == [2, 3, 4, 5, 6, 9, 10]
    assert ros_imports(source, 'brain_execution.core.example')[3][1] == 'brain_execution.ros'
    assert ros_imports('from .. import sim\n', 'brain_execution.core.__init__') == [
        (1, 'brain_execution.sim')]
    assert ros_imports('from ..sim import x\n', 'brain_execution.core.sub.__init__') == []
    assert ros_imports('from ... import sim\n', 'brain_execution.core.sub.mod') == [
        (1, 'brain_execution.sim')]


def test_core_has_no_ros_imports(repo_root):
    modules = sorted((repo_root / _CORE).rglob('*.py'))
    assert repo_root / _CORE / 'errors.py' in modules
    offenders = []
    for path in modules:
        relative = path.relative_to(repo_root)
        source = path.read_text(encoding='utf-8')
        for line, name in ros_imports(source, _module_name(relative)):
            offenders.append('%s:%d imports %s' % (relative, line, name))
    assert not offenders, 'The core must not import ROS:\n' + '\n'.join(offenders)
