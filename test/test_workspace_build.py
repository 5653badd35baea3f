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
A robot team's workspace build: the repository cloned into ``src/`` and built with colcon.

The repository's files (``git ls-files -co --exclude-standard``, so ``.work/`` stays out) are
copied into ``<tmp>/ws/src/brain_execution`` and the command the README gives robot users is run
from the workspace root. The build starts from this environment with the setup step's own
workspace (``.work/<distro>/ws``) removed from every search path, so only the venv's ROS
packages (standing in for ``/opt/ros/<distro>``) are underneath. It takes about two minutes.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

_BUILD_TIMEOUT_S = 1200
_PATH_VARIABLES = (
    'AMENT_PREFIX_PATH', 'CMAKE_PREFIX_PATH', 'PYTHONPATH', 'LD_LIBRARY_PATH',
    'COLCON_PREFIX_PATH',
)


def _inside(path, parent):
    try:
        Path(path).resolve().relative_to(Path(parent).resolve())
    except ValueError:
        return False
    return True


def _in_setup_workspace(entry, repo_root):
    """Return whether a search path entry lies in a setup step workspace, .work/<distro>/ws."""
    try:
        parts = Path(entry).resolve().relative_to((repo_root / '.work').resolve()).parts
    except ValueError:
        return False
    return len(parts) >= 2 and parts[1] == 'ws'


def without_setup_workspace(environ, repo_root):
    """
    Return a copy of ``environ`` whose search paths no longer name the setup step's workspace.

    :param environ: The environment to start from.
    :param repo_root: The repository, whose ``.work/<distro>/ws`` entries are dropped.
    :return: A new dictionary.
    """
    env = dict(environ)
    for name in _PATH_VARIABLES:
        if name not in env:
            continue
        kept = [entry for entry in env[name].split(os.pathsep)
                if entry and not _in_setup_workspace(entry, repo_root)]
        if kept:
            env[name] = os.pathsep.join(kept)
        else:
            del env[name]
    return env


def test_environment_filter_drops_only_the_setup_workspace(repo_root):
    ws = repo_root / '.work' / 'jazzy' / 'ws'
    venv = repo_root / '.work' / 'jazzy' / 'venv'
    env = without_setup_workspace({
        'AMENT_PREFIX_PATH': os.pathsep.join([str(ws / 'install' / 'a'), str(venv)]),
        'PYTHONPATH': str(ws / 'build' / 'a'),
        'LD_LIBRARY_PATH': str(ws / 'install' / 'a' / 'lib') + os.pathsep,
        'PATH': str(ws / 'bin'),
    }, repo_root)
    assert env == {'AMENT_PREFIX_PATH': str(venv), 'PATH': str(ws / 'bin')}


@pytest.fixture(scope='module')
def built_workspace(tmp_path_factory, repo_root, repository_files):
    workspace = tmp_path_factory.mktemp('ws')
    source = workspace / 'src' / 'brain_execution'
    for relative in repository_files:
        target = source / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo_root / relative, target)

    venv = Path(sys.prefix)
    colcon = venv / 'bin' / 'colcon'
    assert colcon.is_file(), 'colcon is not installed in %s' % venv
    env = without_setup_workspace(os.environ, repo_root)
    # The venv is the underlay, as /opt/ros/<distro> is on a robot (scripts/setup.sh does this).
    env['AMENT_PREFIX_PATH'] = str(venv)
    env['CMAKE_PREFIX_PATH'] = str(venv)
    env['COLCON_HOME'] = str(workspace / '.colcon')  # no user defaults
    command = [
        str(colcon), 'build',
        '--base-paths', 'src', 'src/brain_execution/brain_execution_interfaces',
        '--event-handlers', 'console_cohesion+',
        '--cmake-args', '-DBUILD_TESTING=OFF',
    ]
    log_path = workspace / 'colcon_build.log'
    with open(log_path, 'wb') as log:
        completed = subprocess.run(
            command, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT,
            timeout=_BUILD_TIMEOUT_S)
    output = log_path.read_text(encoding='utf-8', errors='replace')
    yield workspace, completed.returncode, output, env
    # The build tree is most of the ~170 MB; install/ and the log stay for a post-mortem.
    shutil.rmtree(workspace / 'build', ignore_errors=True)


def test_copy_leaves_out_the_setup_work_tree(built_workspace):
    workspace = built_workspace[0]
    source = workspace / 'src' / 'brain_execution'
    assert (source / 'package.xml').is_file()
    assert (source / 'brain_execution_interfaces' / 'package.xml').is_file()
    assert not (source / '.work').exists()


def test_colcon_builds_both_packages(built_workspace):
    workspace, returncode, output, _ = built_workspace
    tail = '\n'.join(output.splitlines()[-80:])
    assert returncode == 0, tail
    for package in ('brain_execution_interfaces', 'brain_execution'):
        assert 'Finished <<< %s' % package in output, tail
    assert 'Summary: 2 packages finished' in output, tail
    assert 'packages failed' not in output and 'packages aborted' not in output, tail


def test_install_holds_the_interfaces_python_module(built_workspace):
    workspace, returncode, output, env = built_workspace
    assert returncode == 0, output[-4000:]
    prefix = workspace / 'install' / 'brain_execution_interfaces'
    modules = list(prefix.glob('lib/python3*/site-packages/brain_execution_interfaces'))
    assert len(modules) == 1, modules
    for kind in ('msg', 'srv', 'action'):
        assert (modules[0] / kind / '__init__.py').is_file(), kind
    assert list(modules[0].glob('*rosidl_typesupport_c*.so')), list(modules[0].iterdir())
    assert (prefix / 'share' / 'brain_execution_interfaces' / 'action' /
            'Takeoff.action').is_file()

    # The built module works from this install alone (not from the setup step's workspace).
    probe = subprocess.run(
        ['bash', '-c',
         'source install/local_setup.bash && python -c "'
         'import brain_execution_interfaces.action as a, brain_execution_interfaces.msg as m;'
         'from rclpy.serialization import serialize_message as s;'
         'print(a.__file__); s(a.Takeoff.Goal()); print(m.ErrorCode.SHUTDOWN)"'],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    module_file, shutdown_code = probe.stdout.split()[-2:]
    assert _inside(module_file, prefix), module_file
    assert shutdown_code == '21'


def test_install_holds_the_package_share(built_workspace):
    workspace, returncode, output, _ = built_workspace
    assert returncode == 0, output[-4000:]
    prefix = workspace / 'install' / 'brain_execution'
    share = prefix / 'share' / 'brain_execution'
    assert (share / 'package.xml').is_file()
    assert (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' /
            'brain_execution').is_file()
    assert list(prefix.glob('lib/python3*/site-packages/brain_execution/__init__.py'))
    # setup.py's data_files: every launch and config file of the source is installed.
    source = workspace / 'src' / 'brain_execution'
    for folder, pattern in (('launch', '*.py'), ('config', '*.yaml')):
        for path in (source / folder).glob(pattern):
            assert (share / folder / path.name).is_file(), path
