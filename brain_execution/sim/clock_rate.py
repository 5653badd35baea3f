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

"""How much faster than real time a simulator may run: the range of ``clock_rate``."""

__all__ = ['CLOCK_RATE_RANGE', 'check_clock_rate']

# Sim seconds per wall second that a simulator accepts; beyond 20 the 2-core machines this
# runs on fall behind, and below 0.1 a mission would hardly end.
CLOCK_RATE_RANGE = (0.1, 20.0)


def check_clock_rate(rate: float) -> float:
    """
    Return ``rate`` as a float if it is within :data:`CLOCK_RATE_RANGE`.

    :raises ValueError: naming the value and the range.
    """
    low, high = CLOCK_RATE_RANGE
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f'clock_rate={rate!r} is not a number') from None
    if not low <= value <= high:
        raise ValueError(f'clock_rate={value:g} must be within {low:g}..{high:g}')
    return value
