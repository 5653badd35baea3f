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

"""The ``nmea`` entry point: found by name, every parameter documented, surface vessels only."""

from brain_execution.bridges import registry
from brain_execution.bridges.nmea import create_bridge
from brain_execution.core.bridge import BridgeContext, BridgeUnavailableError
from brain_execution.core.envelope import SafetyEnvelope
from brain_execution.core.geo import GeoPoint
from brain_execution.core.state import Platform
import pytest


class _Declared:
    """A ParameterSource that records what the bridge declares and returns the defaults."""

    def __init__(self, values=None):
        self.values = dict(values or {})
        self.declared = {}

    def declare(self, name, default, description, limits=None):
        self.declared[name] = (default, description, limits)
        return self.values.get(name, [] if not isinstance(default, (bool, int, float, str))
                               else default)


def _context(platform: Platform, parameters: _Declared) -> BridgeContext:
    return BridgeContext(robot_id='boat1', platform=platform, home=GeoPoint(47.4, 8.5),
                         envelope=SafetyEnvelope(), parameters=parameters)


def test_nmea_is_registered_through_the_entry_point_group():
    assert registry.load_factory('nmea') is create_bridge


def test_every_parameter_is_declared_with_a_description_and_numbers_with_limits():
    parameters = _Declared()
    bridge = create_bridge(_context(Platform.SURFACE, parameters))
    try:
        assert bridge.platform is Platform.SURFACE and bridge.name == 'nmea'
        assert set(parameters.declared) == {
            'transport', 'host', 'port', 'listen_port', 'device', 'baud', 'talker_id',
            'accept_talkers', 'require_checksum', 'apb_rate_hz', 'rmb_rate_hz', 'xte_rate_hz',
            'arrival_radius_m', 'lookahead_m', 'link_timeout_s', 'heading_from_course'}
        for name, (default, description, limits) in parameters.declared.items():
            assert description.endswith('.') and len(description) > 20, name
            numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
            assert (limits is not None) == numeric, name
    finally:
        bridge.close()


def test_a_drone_or_bad_settings_are_refused_naming_why():
    with pytest.raises(BridgeUnavailableError, match="bridge 'nmea': platform='drone'"):
        registry.create_bridge('nmea', _context(Platform.DRONE, _Declared()))
    with pytest.raises(BridgeUnavailableError, match=r'nmea\.talker_id=.gps.'):
        registry.create_bridge('nmea', _context(Platform.SURFACE,
                                                _Declared({'talker_id': 'gps'})))
