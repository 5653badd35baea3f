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

"""The simulated NMEA autopilot without its process: pypilot's APB rules, boat, talker, faults."""

import datetime
import math

from brain_execution.bridges.nmea.reading import Fix, Heading, SentenceReader
from brain_execution.core.geo import geographic_to_local, GeoPoint
from brain_execution.sim.nmea_autopilot.autopilot import Autopilot
from brain_execution.sim.nmea_autopilot.boat import Boat
from brain_execution.sim.nmea_autopilot.events import EventLog
from brain_execution.sim.nmea_autopilot.faults import Corrupter, LinkFaults
from brain_execution.sim.nmea_autopilot.simulation import Simulation
from brain_execution.sim.nmea_autopilot.talker import Talker
import pynmea2
import pytest

_HOME = GeoPoint(47.397742, 8.545594)
_UTC = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def _apb(track: float, *, status: str = 'A', xte: str = '0.000', steer: str = 'R',
         reference: str = 'T', arrived: str = 'V') -> str:
    return pynmea2.APB('GP', 'APB', (
        status, 'A', xte, steer, 'N', arrived, 'V', f'{track:.1f}', 'T', 'WP1',
        f'{track:.1f}', 'T', f'{track:.1f}', reference)).render()


def _events(log: EventLog, kind: str):
    return [e for e in log.since(0) if e['event'] == kind]


def test_apb_engages_nav_and_sets_the_heading_command():
    log = EventLog()
    autopilot = Autopilot(log)
    autopilot.receive(_apb(120.0), 1.0)
    assert autopilot.nav and autopilot.heading_command == pytest.approx(120.0)
    assert [e['event'] for e in log.since(0)] == ['nav_engaged', 'steer']


def test_apb_is_taken_at_most_every_half_second():
    log = EventLog()
    autopilot = Autopilot(log)
    autopilot.receive(_apb(120.0), 1.0)
    autopilot.receive(_apb(130.0), 1.3)
    assert autopilot.heading_command == pytest.approx(120.0)
    assert autopilot.counts['apb_rate_limited'] == 1
    autopilot.receive(_apb(130.0), 1.5)
    assert autopilot.heading_command == pytest.approx(130.0)


def test_a_magnetic_heading_to_steer_is_ignored():
    autopilot = Autopilot(EventLog())
    autopilot.receive(_apb(120.0, reference='M'), 1.0)
    assert not autopilot.nav and autopilot.heading_command is None
    assert autopilot.counts['apb_not_true'] == 1


def test_cross_track_error_adds_pypilots_gain_capped_at_015_nm():
    autopilot = Autopilot(EventLog())
    autopilot.receive(_apb(90.0, xte='0.010', steer='L'), 1.0)
    assert autopilot.heading_command == pytest.approx(90.0 - 300.0 * 0.010)
    autopilot.receive(_apb(90.0, xte='5.000', steer='R'), 2.0)
    assert autopilot.heading_command == pytest.approx(90.0 + 300.0 * 0.15 - 360.0 + 360.0)


def test_bad_checksums_and_other_sentences_do_not_steer():
    log = EventLog()
    autopilot = Autopilot(log)
    good = _apb(120.0)
    autopilot.receive(good[:-2] + ('00' if good[-2:] != '00' else '01'), 1.0)
    autopilot.receive(good.split('*')[0], 2.0)
    autopilot.receive('$GPRMB,A,0.000,R,START,WP1,4723.8645,N,00832.7356,E,0.1,90.0,1.0,V*2B',
                      3.0)
    autopilot.receive('\x00garbage$$$', 4.0)
    assert autopilot.heading_command is None and log.count == 0
    assert autopilot.counts['bad_checksum'] >= 1


def test_status_v_drops_nav_at_once_and_silence_after_8_s():
    log = EventLog()
    autopilot = Autopilot(log)
    autopilot.receive(_apb(120.0), 1.0)
    autopilot.receive(pynmea2.APB('GP', 'APB', ('V', 'V') + ('',) * 12).render(), 1.2)
    assert not autopilot.nav
    assert autopilot.heading_command == pytest.approx(120.0), 'heading hold keeps the command'
    autopilot.receive(_apb(100.0), 2.0)
    autopilot.update(9.9)
    assert autopilot.nav
    autopilot.update(10.1)
    assert not autopilot.nav
    reasons = [e['reason'] for e in _events(log, 'nav_dropped')]
    assert reasons == ['APB status V (no valid route)', 'no APB for 8 s']


def test_the_boat_turns_toward_the_command_at_its_rate_limit_and_keeps_its_speed():
    boat = Boat(heading_deg=0.0, throttle_mps=2.0)
    for _ in range(20):
        boat.step(0.05, 90.0)
    s = boat.state()
    # 1 s at most 0.5 rad/s.
    assert s.heading_deg == pytest.approx(math.degrees(0.5), abs=0.5)
    for _ in range(400):
        boat.step(0.05, 90.0)
    s = boat.state()
    assert s.heading_deg == pytest.approx(90.0, abs=0.01)
    assert s.speed_mps == pytest.approx(2.0)
    x_before = s.x_m
    for _ in range(20):
        boat.step(0.05, None)
    assert boat.state().heading_deg == pytest.approx(90.0, abs=0.01)
    assert boat.state().x_m == pytest.approx(x_before + 2.0, abs=0.01)


def test_the_talker_reports_the_boat_in_valid_sentences():
    talker = Talker(home=_HOME, utc_start=_UTC, variation_deg=-3.0)
    boat = Boat(x_m=100.0, y_m=-50.0, heading_deg=200.0, throttle_mps=2.0)
    for _ in range(40):
        boat.step(0.05, 200.0)
    sentences = talker.due(1.0, boat.state())
    assert sorted(s[3:6] for s in sentences) == ['GGA', 'HDG', 'RMC', 'VTG']
    reader = SentenceReader()
    readings = []
    for sentence in sentences:
        assert pynmea2.parse(sentence.strip(), check=True)
        result = reader.read_line(sentence.encode())
        assert result.category == 'valid', sentence
        readings += result.readings
    s = boat.state()
    for fix in [r for r in readings if isinstance(r, Fix)]:
        local = geographic_to_local(_HOME, GeoPoint(fix.latitude_deg, fix.longitude_deg))
        assert (local.x_m, local.y_m) == (pytest.approx(s.x_m, abs=0.2),
                                          pytest.approx(s.y_m, abs=0.2))
    headings = [r.heading_deg for r in readings if isinstance(r, Heading)]
    assert headings == [pytest.approx(200.0, abs=0.1)]
    # Only what is due: HDG at 5 Hz is due again 0.2 s later, RMC at 2 Hz not yet.
    assert [s[3:6] for s in talker.due(1.2, boat.state())] == ['HDG']


def test_without_a_fix_the_talker_says_so():
    talker = Talker(home=_HOME, utc_start=_UTC)
    reader = SentenceReader()
    results = [reader.read_line(s.encode()) for s in talker.due(0.0, Boat().state(),
                                                                fix=False)]
    by_kind = {r.sentence: r.category for r in results}
    assert by_kind == {'RMC': 'no_fix', 'GGA': 'no_fix', 'VTG': 'no_fix', 'HDG': 'valid'}


def test_full_corruption_lets_nothing_valid_through():
    faults = LinkFaults(corrupt=1.0)
    corrupter = Corrupter(seed=3)
    talker = Talker(home=_HOME, utc_start=_UTC)
    reader = SentenceReader()
    boat = Boat()
    for step in range(200):
        for sentence in talker.due(step * 0.05, boat.state()):
            for result in reader.feed(corrupter.apply(sentence, faults)):
                assert result.category != 'valid'
    assert reader.counts['valid'] == 0 and reader.counts.bad > 80
    assert set(corrupter.counts) == {'bad_checksum', 'truncated', 'garbage', 'no_checksum'}


def test_fault_switches_are_validated_all_at_once():
    faults = LinkFaults()
    with pytest.raises(ValueError, match='corrupt'):
        faults.update({'noise': 0.5, 'corrupt': 2.0})
    assert faults.noise == 0.0
    with pytest.raises(ValueError, match='unknown faults'):
        faults.update({'stuck': True})
    faults.update({'link_drop': True, 'noise': 0.5})
    assert faults.link_drop and faults.noise == 0.5


def _simulation(moored_throttle_mps=None, **faults) -> Simulation:
    log = EventLog()
    return Simulation(boat=Boat(heading_deg=90.0, throttle_mps=2.0), autopilot=Autopilot(log),
                      talker=Talker(home=_HOME, utc_start=_UTC),
                      faults=LinkFaults(**faults), corrupter=Corrupter(0), events=log,
                      moored_throttle_mps=moored_throttle_mps)


def test_a_moored_boat_lies_still_until_a_route_engages_then_makes_way():
    simulation = _simulation(moored_throttle_mps=2.0)
    simulation.advance_to(30.0)
    still = simulation.boat.state()
    assert (still.x_m, still.y_m, still.speed_mps) == (0.0, 0.0, 0.0)
    simulation.receive(_apb(90.0).encode() + b'\r\n')
    simulation.advance_to(40.0)
    # Under way east at the skipper's throttle (1 s to reach 2 m/s, as from a standstill).
    assert simulation.boat.state().speed_mps == pytest.approx(2.0)
    assert simulation.boat.state().x_m == pytest.approx(20.0 - 1.0, abs=0.3)


def test_the_simulation_is_deterministic_in_its_own_time():
    a, b = _simulation(noise=0.3), _simulation(noise=0.3)
    assert a.advance_to(10.0) == b.advance_to(10.0)
    assert a.boat.state() == b.boat.state()
    assert a.boat.state().x_m == pytest.approx(20.0 - 1.0, abs=0.1)  # 1 s to reach 2 m/s


def test_a_cut_link_sends_nothing_and_hears_nothing():
    simulation = _simulation(link_drop=True)
    assert simulation.advance_to(2.0) == b''
    simulation.receive(_apb(10.0).encode() + b'\r\n')
    assert simulation.autopilot.heading_command is None
    assert simulation.bytes_discarded > 0
