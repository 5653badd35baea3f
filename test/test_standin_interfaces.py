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

"""The test-only tf2_msgs stand-in has upstream's layout (rosbags' Jazzy definitions)."""

from pathlib import Path

from rosbags.typesys import get_types_from_msg, get_typestore, Stores

_STANDIN = Path(__file__).resolve().parent / 'interfaces' / 'tf2_msgs' / 'msg'


def test_tfmessage_matches_jazzy():
    name = 'tf2_msgs/msg/TFMessage'
    ours = get_types_from_msg((_STANDIN / 'TFMessage.msg').read_text(), name)[name]
    assert ours == get_typestore(Stores.ROS2_JAZZY).fielddefs[name]
