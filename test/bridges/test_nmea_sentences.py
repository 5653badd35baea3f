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
The NMEA bridge's sentences: what it builds passes pynmea2's checks, what it reads is safe.

The recorded stream (``test/resource/nmea/recorded_noisy_stream.nmea``) is 20 s of
``sim_nmea_autopilot --corrupt 0.25 --noise 0.4 --seed 7`` read off its TCP port: mangled
checksums, sentences cut short, garbage bytes, missing checksums, foreign talkers (a GN
receiver and II instruments far from the boat), proprietary sentences and AIS. Hand-made
lines follow it: empty fields, no fix, a field that is not a number, a checksum without its
digits, an overlong line and a partial line at the end.
"""

import math
import pathlib

from brain_execution.bridges.nmea import writing
from brain_execution.bridges.nmea.guidance import guide, Leg
from brain_execution.bridges.nmea.reading import (
    CourseSpeed, Fix, Heading, MagneticHeading, NoFix, SentenceReader, Variation)
from brain_execution.core.geo import geographic_to_local, GeoPoint
from hypothesis import given, settings, strategies as st
import pynmea2
import pytest

_RECORDED = pathlib.Path(__file__).resolve().parents[1] / 'resource' / 'nmea' / \
    'recorded_noisy_stream.nmea'
_HOME = GeoPoint(47.397742, 8.545594)
_LEG = Leg(origin_x_m=0.0, origin_y_m=0.0, destination_x_m=100.0, destination_y_m=0.0,
           origin_id='START', destination_id='DEST')


def _guidance(x_m: float, y_m: float, **kwargs):
    return guide(_LEG, x_m=x_m, y_m=y_m, vx_mps=kwargs.get('vx', 2.0), vy_mps=0.0,
                 arrival_radius_m=10.0, lookahead_m=20.0)


def _parse(text: str):
    assert text.endswith('\r\n')
    assert len(text) <= 82, f'{len(text)} bytes: {text!r}'
    return pynmea2.parse(text.strip(), check=True)


# --- building ---------------------------------------------------------------------------


def test_apb_passes_checksum_validation_and_steers_back_to_the_track():
    # 5 m right of an eastbound track: steer left, heading to steer north of east.
    message = _parse(writing.apb('GP', _LEG, _guidance(20.0, -5.0)))
    assert (message.talker, message.sentence_type) == ('GP', 'APB')
    assert (message.status_gen, message.status_cycle_lock) == ('A', 'A')
    assert message.dir_steer == 'L'
    assert float(message.cross_track_err_mag) == pytest.approx(5.0 / 1852.0, abs=0.0005)
    assert message.cross_track_unit == 'N'
    assert (message.arr_circle_entered, message.perp_passed) == ('V', 'V')
    assert float(message.bearing_to_dest) == pytest.approx(90.0)
    assert message.dest_waypoint_id == 'DEST'
    # pypilot steers only by a true heading to steer (field 14 = T).
    assert (message.bearing_type, message.bearing_pres_dest_type,
            message.heading_to_dest_type) == ('T', 'T', 'T')
    assert 45.0 < float(message.heading_to_dest) < 90.0


def test_apb_flags_arrival_and_the_perpendicular():
    inside = _parse(writing.apb('GP', _LEG, _guidance(95.0, 2.0)))
    passed = _parse(writing.apb('GP', _LEG, _guidance(103.0, 20.0)))
    assert (inside.arr_circle_entered, inside.perp_passed, inside.dir_steer) == ('A', 'V', 'R')
    assert (passed.arr_circle_entered, passed.perp_passed) == ('V', 'A')


def test_rmb_carries_the_destination_position_range_and_closing_speed():
    message = _parse(writing.rmb('EC', _LEG, _guidance(0.0, 0.0, vx=2.0), -33.8568, -151.2153))
    assert (message.talker, message.status, message.arrival_alarm) == ('EC', 'A', 'V')
    assert (message.origin_waypoint_id, message.dest_waypoint_id) == ('START', 'DEST')
    latitude = pynmea2.nmea_utils.dm_to_sd(message.dest_lat)
    longitude = pynmea2.nmea_utils.dm_to_sd(message.dest_lon)
    assert (message.dest_lat_dir, message.dest_lon_dir) == ('S', 'W')
    assert latitude == pytest.approx(33.8568, abs=1e-6)
    assert longitude == pytest.approx(151.2153, abs=1e-6)
    assert float(message.dest_range) == pytest.approx(100.0 / 1852.0, abs=0.0005)
    assert float(message.dest_velocity) == pytest.approx(2.0 / writing.MPS_PER_KNOT, abs=0.05)


def test_xte_and_the_drop_sentences_pass_checksum_validation():
    xte = _parse(writing.xte('II', _guidance(50.0, 3.0)))
    assert (xte.warning_flag, xte.lock_flag, xte.correction_dir, xte.dist_units) == \
        ('A', 'A', 'R', 'N')
    dropped = writing.drop_sentences('GP')
    messages = [_parse(line + '\r\n') for line in dropped.split('\r\n') if line]
    assert [m.sentence_type for m in messages] == ['APB', 'RMB', 'XTE']
    apb, rmb, xte = messages
    assert (apb.status_gen, rmb.status, xte.warning_flag) == ('V', 'V', 'V')
    # Null data: an autopilot that ignores the status (pypilot) cannot steer by them either.
    assert apb.heading_to_dest == '' and apb.cross_track_err_mag == ''


@pytest.mark.parametrize('latitude, longitude', [
    (0.0, 0.0), (89.9999999, 179.9999999), (-0.5, -0.5), (47.397742, 8.545594),
    (59.99999999, 9.99999999)])
def test_positions_round_trip_through_the_nmea_format(latitude, longitude):
    lat, lat_dir = writing.format_latitude(latitude)
    lon, lon_dir = writing.format_longitude(longitude)
    parsed_lat = pynmea2.nmea_utils.dm_to_sd(lat) * (1 if lat_dir == 'N' else -1)
    parsed_lon = pynmea2.nmea_utils.dm_to_sd(lon) * (1 if lon_dir == 'E' else -1)
    # 0.0001 minute is 0.19 m.
    assert parsed_lat == pytest.approx(latitude, abs=2e-6)
    assert parsed_lon == pytest.approx(longitude, abs=2e-6)
    assert len(lat) == 9 and len(lon) == 10


def test_bearings_near_north_never_read_360():
    leg = Leg(0.0, 0.0, -0.0005, 1000.0, 'START', 'DEST')
    message = _parse(writing.apb('GP', leg, guide(leg, x_m=0.0, y_m=0.0, vx_mps=0.0,
                                                  vy_mps=0.0, arrival_radius_m=10.0,
                                                  lookahead_m=20.0)))
    assert message.bearing_to_dest == '000.0'


# --- reading ----------------------------------------------------------------------------


def test_the_recorded_noisy_stream_is_read_without_a_crash_and_counted():
    reader = SentenceReader(accept_talkers=('GP', 'HC'))
    data = _RECORDED.read_bytes()
    # Fed in uneven chunks, as a socket delivers it: sentences straddle the chunks.
    results = []
    for start in range(0, len(data), 37):
        results += reader.feed(data[start:start + 37])
    counts = reader.counts
    assert counts['valid'] == 131
    assert counts.bad == 60, dict(counts)
    assert counts['bad_checksum'] == 12
    assert counts['missing_checksum'] == 20
    # The hand-made lines: an empty position with status A, an empty heading, a heading
    # that is not a number, a checksum marker without its digits.
    assert counts['unparsable'] == 4
    # 23 in the recording (garbage bytes, sentences cut short), and the overlong line.
    assert counts['garbage'] == 24
    assert counts['foreign_talker'] == 9
    assert counts['proprietary'] == 17
    assert counts['no_fix'] == 3
    assert counts['unused'] == 43
    # Every position used is the boat's, near home: the GN receiver's fix at 1 S 1 W and
    # the instruments' heading (180 T) never got in: the compass reads 43 M, 45 T.
    readings = [r for result in results for r in result.readings]
    fixes = [r for r in readings if isinstance(r, Fix)]
    assert len(fixes) > 40
    for fix in fixes:
        local = geographic_to_local(_HOME, GeoPoint(fix.latitude_deg, fix.longitude_deg))
        assert math.hypot(local.x_m, local.y_m) < 200.0, fix
    headings = [r.heading_deg for r in readings if isinstance(r, MagneticHeading)] + \
        [r.heading_deg for r in readings if isinstance(r, Heading)]
    assert headings and all(abs(h - 45.0) < 1.0 for h in headings), set(headings)
    # The partial line at the end is still waiting for the rest of its sentence.
    partial = data[data.rindex(b'$') + 1:].decode()
    rest = f'*{pynmea2.NMEASentence.checksum(partial):02X}\r\n'.encode()
    assert [r.category for r in reader.feed(rest)] == ['valid']


def test_valid_sentences_give_their_readings():
    reader = SentenceReader()
    lines = [
        '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A',
        '$HEHDT,274.1,T*2F',
        '$HCHDG,98.3,0.0,E,12.6,W*57',
        '$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48',
    ]
    results = [reader.read_line(line.encode()) for line in lines]
    assert [r.category for r in results] == ['valid'] * 4, results
    rmc, hdt, hdg, vtg = (r.readings for r in results)
    assert rmc[0] == Fix(pytest.approx(48.1173), pytest.approx(11.516666, abs=1e-6))
    assert rmc[1] == CourseSpeed(pytest.approx(84.4), pytest.approx(22.4 * 1852 / 3600))
    assert rmc[2] == Variation(pytest.approx(-3.1))
    assert hdt == (Heading(pytest.approx(274.1)),)
    assert hdg == (Heading(pytest.approx(98.3 - 12.6)), Variation(pytest.approx(-12.6)))
    assert vtg == (CourseSpeed(pytest.approx(54.7), pytest.approx(5.5 * 1852 / 3600)),)


@pytest.mark.parametrize('line, category', [
    ('$GPRMC,,V,,,,,,,,,,N*53', 'no_fix'),
    ('$GPGGA,120001.00,,,,,0,00,,,M,,M,,*4A', 'no_fix'),
    ('$GPRMC,120002.00,A,,N,,E,1.0,90.0,010126,,,A*53', 'unparsable'),
    ('$GPRMC,120002.00,A,4807.038,X,01131.000,E,1.0,90.0,010126,,,A*', 'unparsable'),
    ('$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W', 'missing_checksum'),
    ('$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6B', 'bad_checksum'),
    ('$HCHDT,,T*07', 'unparsable'),
    ('$PGRME,15.0,M,45.0,M,25.0,M*1C', 'proprietary'),
    ('!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26', 'unused'),
    ('$IIMWV,214.8,R,7.1,N,A*34', 'unused'),
    ('\x00\xff\x13garbage', 'garbage'),
    ('$GPZZZ,1,2,3*4A', 'bad_checksum'),
])
def test_bad_and_foreign_lines_give_no_reading(line, category):
    reader = SentenceReader()
    result = reader.read_line(line.encode('latin-1'))
    assert result.category == category
    assert not [r for r in result.readings if not isinstance(r, NoFix)]


def test_unaccepted_talkers_are_counted_apart():
    reader = SentenceReader(accept_talkers=('GP',))
    result = reader.read_line(
        b'$GNRMC,120000.00,A,0100.0000,S,00100.0000,W,9.9,45.0,010126,,,A*79')
    assert (result.category, result.readings) == ('foreign_talker', ())


def test_a_stream_without_line_ends_cannot_grow_memory():
    reader = SentenceReader()
    for _ in range(100):
        reader.feed(b'A' * 1000)
    assert len(reader._buffer) <= 1000
    assert reader.counts['garbage'] == 100
    # The line that finally ends is part of the discarded one; the next is read.
    results = reader.feed(b'\n$HEHDT,274.1,T*2F\r\n')
    assert [r.category for r in results] == ['valid']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=20))
def test_random_bytes_never_raise(chunks):
    reader = SentenceReader()
    for chunk in chunks:
        for result in reader.feed(chunk):
            assert result.category in ('valid', 'no_fix', 'unused', 'proprietary',
                                       'foreign_talker', 'bad_checksum', 'missing_checksum',
                                       'unparsable', 'garbage')


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(['GPRMC', 'GPGGA', 'GPVTG', 'HCHDG', 'HEHDT']),
       st.lists(st.text(alphabet='0123456789.,-NSEWTAVMK', max_size=12), max_size=16))
def test_sentences_with_any_fields_and_a_valid_checksum_never_raise(kind, fields):
    body = ','.join([kind] + fields)
    line = f'${body}*{pynmea2.NMEASentence.checksum(body):02X}'
    result = SentenceReader().read_line(line.encode())
    for reading in result.readings:
        for value in vars(reading).values():
            assert not isinstance(value, float) or math.isfinite(value)
