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
The emergency lane in the core, without ROS.

Urgent submissions, a stop during a landing, the battery failsafe under a latched stop, and
the coordinator engine held by a fleet-wide stop.

The runtime is driven by the fake clock of ``test_runtime``, the engine by the fake fleet of
``test_coordination``; threads appear only where the point is another thread holding the
runtime's lock, and they are synchronised on events.
"""

import threading

from brain_execution.core.errors import ErrorCode
from brain_execution.core.runtime import OperationState
from brain_execution.core.scheduler import StepState
from brain_execution.core.state import Platform
from brain_execution.core.urgent import UrgentLock

from .test_coordination import fleet_plan, states, World
from .test_runtime import airborne, DT, moving, Robot

_TIMEOUT_S = 10.0


def test_urgent_work_runs_at_once_when_the_lock_is_free():
    lock = UrgentLock()
    ran = []
    lock.submit(lambda: ran.append(threading.get_ident()))
    assert ran == [threading.get_ident()]
    assert lock.pending == 0


def test_urgent_work_waits_for_no_one_and_the_holder_serves_it_at_its_drain():
    lock = UrgentLock()
    ran = []
    holding, submitted, drained = threading.Event(), threading.Event(), threading.Event()

    def holder():
        with lock:
            holding.set()
            assert submitted.wait(_TIMEOUT_S)
            assert ran == [], 'urgent work ran outside the lock'
            lock.drain()
            drained.set()
            assert ran == ['stop']

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(_TIMEOUT_S)
    lock.submit(lambda: ran.append('stop'))  # returns although the lock is held
    submitted.set()
    assert drained.wait(_TIMEOUT_S)
    thread.join(_TIMEOUT_S)
    assert ran == ['stop']


def test_urgent_work_queued_while_held_runs_when_the_holder_releases():
    lock = UrgentLock()
    ran = []
    holding, submitted = threading.Event(), threading.Event()

    def holder():
        with lock:
            holding.set()
            assert submitted.wait(_TIMEOUT_S)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(_TIMEOUT_S)
    lock.submit(lambda: ran.append(threading.current_thread() is thread))
    submitted.set()
    thread.join(_TIMEOUT_S)
    assert ran == [True], 'the holder did not serve the queued work as it released the lock'


def test_an_emergency_stop_is_served_between_two_program_steps_of_a_tick():
    # Many broadcasting programs: each step calls the hook, from inside the tick (which holds
    # the runtime's lock). At the first step another thread submits an emergency stop: it
    # must not wait for the tick, and the tick must serve it before its next step.
    robot = airborne()
    calls, records = [], []
    submitter = []

    def broadcast(message):
        calls.append(message)
        if robot.clock.t > start and not submitter:
            thread = threading.Thread(target=lambda: robot.runtime.submit_urgent(
                'emergency_stop', {'reason': 'urgent test'}, on_record=records.append))
            submitter.append(thread)
            thread.start()
            thread.join(_TIMEOUT_S)
            assert not thread.is_alive(), 'submit_urgent waited for the tick'
            assert records == [], 'served without the lock'

    robot.runtime._hooks['broadcast'] = broadcast
    start = robot.clock.t
    sensing = [robot.runtime.submit('broadcast_status', {
        'message': f'm{i}', 'repeat': 2, 'interval_s': 0.1}) for i in range(20)]
    assert all(r.state is OperationState.RUNNING for r in sensing), sensing[0].outcome
    del calls[:]
    robot.advance(0.1 + DT)
    assert len(records) == 1 and records[0].state is OperationState.SUCCEEDED
    assert len(calls) == 1, f'{len(calls)} program steps ran before the stop was served'
    assert robot.runtime.emergency_stop_active
    assert sum(r.outcome.code == ErrorCode.PREEMPTED for r in sensing) == len(sensing) - 1


def test_emergency_stop_does_not_turn_an_emergency_land_into_a_hover():
    robot = airborne()
    moving(robot)
    land = robot.runtime.submit('emergency_land', {'reason': 'smoke'})
    robot.advance(0.5)
    assert robot.bridge.snapshot().mode == 'EMERGENCY_LAND'
    stop = robot.runtime.submit('emergency_stop', {'reason': 'operator'})
    assert stop.state is OperationState.SUCCEEDED, stop.outcome
    assert robot.runtime.emergency_stop_active, 'the stop still latches'
    assert not land.done, 'the landing was preempted'
    assert robot.commands('emergency_stop') == [], 'the platform was told to hover'
    robot.advance(0.5)
    assert robot.bridge.snapshot().mode == 'EMERGENCY_LAND'
    robot.until(lambda: land.done, 60.0)
    assert land.state is OperationState.SUCCEEDED, land.outcome
    assert not robot.bridge.snapshot().airborne


def test_battery_failsafe_lands_a_latched_drone_in_place():
    robot = airborne()
    moving(robot)
    robot.runtime.submit('emergency_stop', {'reason': 'operator'})
    robot.until(lambda: robot.speed() < 0.05, 10.0)
    where = robot.bridge.snapshot()
    robot.bridge.faults.battery_percent = 20.0
    robot.advance(DT)
    landing = [r for r in robot.runtime.active_records() if r.name == 'emergency_land']
    assert len(landing) == 1, robot.logs[-3:]
    assert not [r for r in robot.runtime.records() if r.name == 'return_home']
    robot.until(lambda: landing[0].done, 60.0)
    assert landing[0].state is OperationState.SUCCEEDED, landing[0].outcome
    s = robot.bridge.snapshot()
    assert not s.airborne
    assert s.distance_to(where.x_m, where.y_m) < 1.0, 'it flew somewhere instead of landing'
    assert robot.runtime.emergency_stop_active


def test_battery_failsafe_of_a_latched_ground_robot_waits_for_the_release():
    robot = Robot(platform=Platform.GROUND)
    go = robot.runtime.submit('go_to', {'target': {'x_m': 30.0, 'y_m': 0.0}})
    robot.until(lambda: robot.bridge.snapshot().distance_to(0.0, 0.0) > 5.0, 30.0)
    robot.runtime.submit('emergency_stop', {'reason': 'operator'})
    assert go.outcome.code == ErrorCode.PREEMPTED
    robot.bridge.faults.battery_percent = 20.0
    robot.advance(1.0)
    assert not robot.runtime.active_records(), 'a latched robot was set moving'
    robot.runtime.submit('emergency_stop', {'release': True})
    robot.advance(DT)
    home = [r for r in robot.runtime.records() if r.name == 'return_home']
    assert len(home) == 1 and home[0].state is OperationState.RUNNING, robot.logs[-3:]


def test_a_held_engine_starts_no_step_and_resumes_preempted_steps_on_release():
    world = World()
    handle = world.coordinator.submit_plan(fleet_plan('held'))
    # Once airborne: a takeoff preempted mid-climb could not run again (already in the air).
    world.until(lambda: states(handle)['fly'] is StepState.RUNNING)
    world.coordinator.hold('fleet-wide stop')
    assert world.coordinator.held == 'fleet-wide stop'
    result = world.coordinator.emergency_stop(reason='test')
    assert all(o.succeeded for o in result.outcomes.values())
    world.until(lambda: states(handle)['fly'] is StepState.RETRYING)
    dispatched = len(world.fleet.dispatched)
    for _ in range(100):  # 10 s of fake time: nothing may start, nothing may fail
        world.step()
    assert len(world.fleet.dispatched) == dispatched, 'a step started while held'
    assert not handle.done
    assert 'held until the emergency stop is released' in {
        s.step_id: s for s in handle.snapshot()}['fly'].message
    world.coordinator.emergency_stop(release=True)
    world.coordinator.release_hold()
    outcome = world.run(handle)
    assert outcome.succeeded, outcome
    assert {s.step_id: s for s in handle.snapshot()}['fly'].attempt == 2
