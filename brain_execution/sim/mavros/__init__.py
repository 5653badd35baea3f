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
``sim_mavros``: a PX4 or ArduPilot vehicle behind MAVROS's topics, services and QoS.

Run it as ``sim_mavros --ros-args -r __ns:=/drone1 -p flavour:=px4`` (``arducopter``,
``ardurover`` for rovers and boats). Modules: :mod:`.flavours` (what differs per autopilot),
:mod:`.vehicle` (the kinematic model), :mod:`.autopilot` (modes, arming, commands,
failsafes; no ROS), :mod:`.faults` (the fault table), :mod:`.node` (ROS).

Names under the namespace, as MAVROS gives them (node ``sim_mavros``):

* ``mavros/state`` (mavros_msgs/State), ``mavros/extended_state`` (ExtendedState; not for
  ardurover, which sends no EXTENDED_SYS_STATE), ``mavros/home_position/home``
  (HomePosition, geo.altitude ellipsoid): RELIABLE + TRANSIENT_LOCAL depth 10. State is
  published once per heartbeat (``heartbeat_rate_hz``, 1 Hz), so a mode change shows at the
  next heartbeat.
* sensor-data QoS (BEST_EFFORT depth 5): ``mavros/local_position/pose`` (PoseStamped, frame
  ``map``, ENU from home), ``mavros/global_position/global`` (NavSatFix, ellipsoid altitude =
  AMSL + ``geoid_separation_m``), ``mavros/global_position/rel_alt`` (Float64, above home),
  ``mavros/battery`` (BatteryState), ``mavros/altitude`` (Altitude, PX4 only: ``amsl`` is
  what PX4's takeoff altitude is measured against).
* ``mavros/statustext/recv`` (StatusText, reliable depth 10). PX4 sends none (it sends
  STATUSTEXT only to GCS heartbeats); ArduPilot sends its "Arm: ..." reasons there.
* setpoints in, best effort: ``mavros/setpoint_position/local`` (PoseStamped),
  ``mavros/setpoint_raw/local`` (PositionTarget: position, or velocity when position is
  masked; FRAME_BODY_NED velocities rotate by heading), ``mavros/setpoint_raw/global``
  (GlobalPositionTarget: FRAME_GLOBAL_INT altitude AMSL, other frames above home),
  ``mavros/setpoint_velocity/cmd_vel`` (TwistStamped, ENU). Followed only in the guided mode
  (OFFBOARD, GUIDED) while armed; a velocity older than ``velocity_timeout_s`` stops.
* services: ``mavros/set_mode`` (answers at once: ``mode_sent`` true when the name is one
  of the flavour's, false otherwise; the autopilot takes or refuses the mode
  ``mode_delay_s`` later); ``mavros/cmd/arming``, ``mavros/cmd/takeoff``,
  ``mavros/cmd/land``, ``mavros/cmd/command`` (CommandLong: 17, 20, 21, 22, 192, 400, 511;
  others MAV_RESULT 3) and ``mavros/set_message_interval``: answered one at a time, after
  ``ack_delay_s``; ``success`` = ACCEPTED and ``result`` = the raw MAV_RESULT; no
  acknowledgement within ``ack_timeout_s`` (5 s) gives ``success=false, result=0``.
  ``mavros/set_stream_rate`` (no answer fields). ArduPilot publishes no pose, global
  position or battery until stream rates (or message intervals) are requested.

Autopilot behaviour (model time, scaled by ``clock_rate``):

* PX4: boots in AUTO.LOITER; arming before ``ready_delay_s`` gives result 1. OFFBOARD is
  taken while disarmed (as real PX4), but arming in it, or switching to it while armed,
  needs setpoints faster than ``offboard_min_rate_hz`` for ``offboard_warmup_s`` (refused:
  result 1 / event ``mode_refused``). In OFFBOARD, armed, with no setpoint for
  ``offboard_loss_timeout_s``, it fails safe to AUTO.RTL. A position setpoint above it takes
  off in OFFBOARD. cmd/takeoff: altitude AMSL (below home + 2.5 m climbs to 2.5 m), NaN
  lat/lon = here, lat/lon 0 = accepted without climbing, while disarmed = result 4; it
  enters AUTO.TAKEOFF, then AUTO.LOITER. cmd/land = AUTO.LAND. Disarms ``auto_disarm_s``
  after touchdown and goes back to the last mode the user chose.
* ArduCopter: boots in STABILIZE; at ``rc_mode_reset_s`` the RC re-applies STABILIZE,
  losing an earlier GUIDED. Arming before ``ready_delay_s``: result 4 with STATUSTEXT
  "Arm: ...". GUIDED, RTL and AUTO are refused before ``ekf_delay_s`` (no position yet); no
  pose before then. cmd/takeoff needs GUIDED, armed, altitude above home. Armed without
  taking off for ``idle_disarm_s``: disarms. LAND, RTL (climb to ``rtl_altitude_m``, return,
  land), LOITER; disarms ``auto_disarm_s`` after touchdown. With ``gcs_failsafe_s`` >= 0
  (FS_GCS_ENABLE 1), a flying vehicle whose link is down that long returns (RTL), and
  stays in RTL when the link comes back.
* ArduRover (and boats): boots in MANUAL; GUIDED position setpoints, HOLD, RTL (drive home,
  then hold); no LAND mode (mode_sent false), takeoff and land give result 3.
* Pilot modes (POSCTL, MANUAL, LOITER, ...) hold position.

Faults, ROS parameters switched at run time, e.g.
``ros2 param set /drone1/sim_mavros fault.link_down true`` (or rclpy's
``AsyncParameterClient``); a bad value is refused with a reason and changes nothing:

* ``fault.arming_denied`` (string): non-empty refuses every arming with that reason
  (ArduPilot: result 4 and STATUSTEXT "Arm: <reason>"; PX4: result 1, no STATUSTEXT).
* ``fault.ignore_mode_change`` (bool): set_mode answers mode_sent=true, the mode stays.
* ``fault.ack_timeout`` (bool): cmd/* answer success=false result=0 after ``ack_timeout_s``;
  the command still takes effect ``fault.late_effect_s`` (float, default 6, negative =
  never) model seconds after the request.
* ``fault.link_down`` (bool): nothing is published (state, pose, position, battery, texts),
  setpoints and commands are lost (commands time out); ``state`` with connected=false is
  published ``heartbeat_timeout_s`` (10 s) after the drop. The vehicle flies on (PX4 in
  OFFBOARD loses its setpoints and fails safe). Clearing it reconnects with the current mode.
* ``fault.battery_drain_pct_per_s`` (float): extra drain, % per model second.
* ``fault.gps_lost`` (bool): NavSatFix NO_FIX, arming refused, and after ``gps_failsafe_s`` a
  flying vehicle in a mode that needs a position fails safe (copters land, rovers hold);
  ArduCopter's EKF failsafe (FS_EKF_ACTION 1) acts in its pilot's LOITER, POSHOLD and BRAKE
  too, says "EKF variance", and in LAND goes on landing; STABILIZE and ALT_HOLD carry on.
* ``fault.gps_glitch`` (bool): the same for a glitch the EKF rejects, but NavSatFix keeps its
  fix: only the autopilot's failsafe shows it.
* ``fault.pilot_takeover`` (string): a mode name of the flavour; a pilot switches to it at
  once (setting the same name again repeats it).

Events: ``sim_mavros/events`` (std_msgs/String, one JSON object each, reliable + transient
local, last 1000 kept) says what the vehicle physically did. Each has ``t`` (model s) and
``event``: ``armed``, ``disarmed`` (``reason`` request / landed / not taken off),
``took_off``, ``landed``, ``mode`` (``mode``, ``previous``, ``by`` request / pilot / rc /
command / failsafe / autopilot), ``mode_refused``, ``mode_ignored``, ``arm_refused``,
``disarm_refused``, ``reached`` (``target``, ``what`` setpoint / home), ``failsafe``
(``reason`` offboard signal lost / gps lost / gps glitch / gcs lost, ``action``),
``takeoff_ignored``, ``velocity_timeout``, ``battery_low``,
``statustext``, ``command`` (``name``, ``success``, ``result``), ``late_effect``,
``set_mode``, ``streams``, ``fault``, ``link``, ``connection``, ``setpoint_rejected``,
``offboard_signal`` (PX4: ``ok`` true once setpoints have streamed fast enough for the
warm-up, false when they stop or slow down; ``mode``, ``armed`` at that moment),
``stalled`` (``late_s``: this process was not scheduled for that long; the time is not
counted as the clients' silence).
"""
