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
The seam between the coordinator and the robots: sending operations and hearing back.

The coordinator's engine is written against :class:`Dispatcher` only; the ROS adapter
implements it with action clients of the robot executors, the tests with in-memory robots.
Every call returns at once; answers arrive through callbacks, from any thread, exactly once.
"""

import abc
import dataclasses
import typing

from .operation import OperationState, Outcome

__all__ = ['Dispatcher', 'DispatchRequest', 'QueryAnswer']


@dataclasses.dataclass(frozen=True)
class DispatchRequest:
    """One attempt of one operation on one robot, as its action goal will carry it."""

    robot_id: str
    operation: str
    params: typing.Mapping[str, typing.Any]
    operation_id: str
    priority: int = 100
    timeout_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class QueryAnswer:
    """What a robot executor knows of an operation id: its state and, once ended, outcome."""

    state: OperationState
    outcome: typing.Optional[Outcome] = None
    # Whether the robot began acting on it (OperationStatus.started); False proves a second
    # send cannot make anything happen twice. None when the robot does not say.
    started: typing.Optional[bool] = None


class Dispatcher(abc.ABC):
    """Sends operations to robot executors; every callback is called exactly once."""

    @abc.abstractmethod
    def dispatch(self, request: DispatchRequest,
                 on_done: typing.Callable[[Outcome], None]) -> None:
        """
        Send one attempt; report how it ended.

        A goal that never left ends COMMUNICATION_FAILURE (retryable). One that may have
        reached the robot but whose end is not known (robot lost while it runs, no goal
        response, result lost) ends OUTCOME_UNKNOWN: the engine reconciles it by the same id
        through :meth:`query`, and never waits on a silent robot forever.
        """

    @abc.abstractmethod
    def cancel(self, robot_id: str, operation_id: str) -> None:
        """Ask the robot to cancel a dispatched operation; its on_done reports the end."""

    @abc.abstractmethod
    def query(self, robot_id: str, operation_id: str,
              on_done: typing.Callable[[typing.Optional[QueryAnswer], typing.Optional[Outcome]],
                                       None]) -> None:
        """
        Ask a robot what it knows of an operation id (reconciliation after a restart).

        on_done(answer, None) with answer None when the robot does not know the id, or
        on_done(None, outcome) with a COMMUNICATION_FAILURE outcome when it cannot be asked.
        """

    @abc.abstractmethod
    def emergency_stop(self, robot_id: str, *, reason: str, release: bool,
                       on_done: typing.Callable[[Outcome], None]) -> None:
        """Send emergency_stop to a robot ahead of anything else; report the outcome."""
