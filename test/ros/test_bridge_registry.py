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
Bridges are found by name through the ``brain_execution.bridges`` entry-point group.

Third-party bridges are real distributions on the path (a ``.dist-info`` with an
``entry_points.txt``), found by the same lookup the executor uses; the executor is started as
a process, so a missing message package is seen the way a user sees it.
"""

import os
import subprocess
import textwrap

from brain_execution.bridges import registry
from brain_execution.core.bridge import BridgeUnavailableError
from brain_execution.ros.processes import config_file, node_command
import pytest

from .conftest import _env, unique_robot_id


def _install_distribution(root, name: str, entry_points: str, modules: dict) -> None:
    """Make ``root`` hold an installed distribution with the given entry points."""
    dist = root / f'{name}-1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n')
    (dist / 'entry_points.txt').write_text(textwrap.dedent(entry_points))
    for module, source in modules.items():
        (root / f'{module}.py').write_text(textwrap.dedent(source))


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    """Put third-party bridges on the path: one working, one missing its messages, one bad."""
    _install_distribution(tmp_path, 'team_bridges', """
        [brain_execution.bridges]
        team = team_bridge:create_bridge
        needs_msgs = broken_bridge:create_bridge
        not_a_bridge = team_bridge:create_other
        """, {
        'team_bridge': """
            from brain_execution.sim.plugin import create_bridge as _sim


            def create_bridge(context):
                bridge = _sim(context)
                bridge.name = 'team'
                return bridge


            def create_other(context):
                return object()
            """,
        'broken_bridge': """
            import acme_autopilot_msgs.msg  # noqa: F401 - the point of the test


            def create_bridge(context):
                raise AssertionError('never reached')
            """,
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_sim_is_registered_through_the_entry_point_group():
    assert 'sim' in registry.available_bridges()
    from brain_execution.sim.plugin import create_bridge
    assert registry.load_factory('sim') is create_bridge


def test_an_unknown_bridge_names_the_registered_ones():
    with pytest.raises(BridgeUnavailableError, match=r"bridge='warp_drive' unknown.*sim"):
        registry.load_factory('warp_drive')


def test_a_missing_message_package_is_named(third_party):
    assert {'team', 'needs_msgs'} <= set(registry.available_bridges())
    with pytest.raises(BridgeUnavailableError, match="'acme_autopilot_msgs'") as raised:
        registry.load_factory('needs_msgs')
    assert '\n' not in str(raised.value)


def test_a_factory_must_return_a_bridge(third_party):
    with pytest.raises(BridgeUnavailableError, match='returned object, not a PlatformBridge'):
        registry.create_bridge('not_a_bridge', context=None)


def _executor_command(bridge: str, robot_id: str):
    return node_command('robot_executor', namespace=f'/{robot_id}',
                        params_files=[config_file('drone.yaml')],
                        parameters={'bridge': bridge})


def test_executor_with_a_bridge_missing_its_package_exits_2_with_one_line(third_party):
    env = _env()
    env['PYTHONPATH'] = os.pathsep.join([str(third_party), env.get('PYTHONPATH', '')])
    done = subprocess.run(_executor_command('needs_msgs', unique_robot_id('d')), env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "'acme_autopilot_msgs'" in lines[0] and 'needs_msgs' in lines[0]


def test_a_third_party_bridge_serves_goals_without_editing_the_project(
        third_party, ros, tmp_path):
    robot_id = unique_robot_id('team')
    env = _env()
    env['PYTHONPATH'] = os.pathsep.join([str(third_party), env.get('PYTHONPATH', '')])
    log = open(tmp_path / 'team.log', 'wb')
    process = subprocess.Popen(_executor_command('team', robot_id), env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        state = ros.wait_for_state(robot_id, lambda s: True, timeout_s=30.0)
        assert state is not None, (tmp_path / 'team.log').read_text()
        assert state.bridge == 'team'
        missing = ros.operations.wait_for_servers(robot_id, ['capture_image'], 30.0)
        assert not missing
        result = ros.run(robot_id, 'capture_image', {'count': 1})
        assert result.error_code == 0, result.error_msg
        assert result.image_uris[0].startswith(f'sim://{robot_id}/')
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
