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
No goal ends without a code: action callbacks whose exceptions become results.

rclpy answers an execute callback that raised with an empty result (error_code 0, status
ABORTED) and a goal or cancel callback that raised with nothing at all, and the exception
then reaches the executor. :func:`guard_execute` turns any exception of an execute callback
into INTERNAL_ERROR with the exception's text; :func:`guard_callback` gives goal and cancel
callbacks a safe answer instead. Both log the traceback, and the node keeps serving.
"""

import traceback
import typing

from brain_execution.core.errors import ErrorCode

__all__ = ['guard_callback', 'guard_execute', 'internal_error_result']


def internal_error_result(action_type, error: BaseException, what: str):
    """Return an ``action_type.Result`` reporting error as INTERNAL_ERROR."""
    result = action_type.Result()
    result.error_code = int(ErrorCode.INTERNAL_ERROR)
    result.error_msg = f'{what}: {type(error).__name__}: {error}'
    return result


def guard_execute(execute: typing.Callable, *, action_type, logger, what: str) -> typing.Callable:
    """
    Wrap an async execute callback so that any exception ends the goal with INTERNAL_ERROR.

    :param what: names the action in the message, e.g. ``'go_to'``.
    """
    async def guarded(goal_handle):
        try:
            return await execute(goal_handle)
        except Exception as error:  # noqa: B902 - every goal must end with a code
            logger.error(f'{what}: goal ended INTERNAL_ERROR: {type(error).__name__}: '
                         f'{error}\n{traceback.format_exc()}')
            if goal_handle.is_active:
                goal_handle.abort()
            return internal_error_result(action_type, error, what)
    return guarded


def guard_callback(callback: typing.Callable, *, fallback, logger, what: str) -> typing.Callable:
    """Wrap a goal or cancel callback: on any exception, log it and answer ``fallback``."""
    def guarded(*args):
        try:
            return callback(*args)
        except Exception as error:  # noqa: B902 - the request must still be answered
            logger.error(f'{what}: {type(error).__name__}: {error}\n{traceback.format_exc()}')
            return fallback
    return guarded
