// A board's pins with their mode and live value. Outputs are driven with leases: the user picks
// how long, the board turns the pin back to its safe value by itself when the lease ends, and
// the row counts down to that and then says that it happened.
import { useState } from 'preact/hooks';
import type { Api, JsonObject } from '../api.js';
import type { ShownError } from '../errors.js';
import { describeError } from '../errors.js';
import { clockTime, seconds } from '../format.js';
import { useNow } from '../hooks.js';
import type { ReportedState } from '../model.js';

/** A pin as get_state lists it (protocol.md §5.17). */
export interface PinView {
  pin: number;
  name?: string;
  mode: 'input' | 'output' | 'pwm';
  value?: number;
  pull?: string;
  safe_value?: number;
  duty?: number;
  freq?: number;
  max_lease_s?: number;
  active_low?: boolean;
  lease?: { value: number; safe_value: number; expires_in_s: number } | null;
}

/** A lease that ended, from the board's lease_expired event. */
export interface Revert {
  value: number;
  at: number;
}

export interface PinsProps {
  api: Api;
  device: string;
  online: boolean;
  /** False for a read token: outputs show their state and no controls. */
  mayControl: boolean;
  reported: ReportedState | undefined;
  reverts: ReadonlyMap<number, Revert>;
  onError: (e: ShownError) => void;
}

export function pinsOf(state: JsonObject | undefined): PinView[] {
  const pins = state?.['pins'];
  return Array.isArray(pins) ? (pins as PinView[]) : [];
}

export function PinsSection(props: PinsProps) {
  const pins = pinsOf(props.reported?.state);
  const leased = pins.some((p) => p.lease);
  // Countdowns move ten times a second, and only while a lease is running.
  useNow(100, leased);
  if (props.reported === undefined) return <p class="muted">The board has not reported its pins yet; they show here once it links.</p>;
  if (pins.length === 0) return <p class="muted">No pins are set up on this board (pins and actuators in its config).</p>;
  return (
    <ul class="pins">
      {pins.map((pin) => (
        <PinItem key={pin.pin} pin={pin} at={props.reported?.at ?? 0} revert={props.reverts.get(pin.pin)} {...props} />
      ))}
    </ul>
  );
}

/** An output's level in words: a duty as a percentage, a digital value as on or off. */
const levelText = (value: number, pwm: boolean) => (pwm ? `${Math.round(value * 100)} %` : value === 0 ? 'off' : 'on');

/** `relay (pin 15)` when the board named the pin, else `pin 15`. */
export const pinLabel = (p: { pin: number; name?: string | undefined }) => (p.name !== undefined ? `${p.name} (pin ${p.pin})` : `pin ${p.pin}`);

function PinItem(props: PinsProps & { pin: PinView; at: number; revert: Revert | undefined }) {
  const { pin } = props;
  return (
    <li class={`pin ${pin.mode}`} data-pin={pin.pin} data-mode={pin.mode}>
      <div class="pin-head">
        <strong>{pinLabel(pin)}</strong>
        <span class="tag">{pin.mode === 'pwm' ? `PWM ${pin.freq ?? '?'} Hz` : pin.mode}</span>
        <PinValue pin={pin} />
      </div>
      {pin.mode === 'input' ? (
        <p class="muted small">{pin.pull !== undefined && pin.pull !== 'none' ? `pull-${pin.pull}` : 'no pull'}; updates as its level changes</p>
      ) : props.mayControl ? (
        <OutputControl {...props} />
      ) : (
        <OutputReadOnly pin={pin} at={props.at} />
      )}
    </li>
  );
}

function PinValue({ pin }: { pin: PinView }) {
  if (pin.mode === 'pwm') return <output class="value" data-value={pin.duty}>{`${Math.round((pin.duty ?? 0) * 100)} %`}</output>;
  const high = pin.value === 1;
  const word = pin.mode === 'input' ? (high ? 'high' : 'low') : high ? 'on' : 'off';
  return (
    <output class={`value ${high ? 'high' : 'low'}`} data-value={pin.value}>
      {word}
    </output>
  );
}

/** An output as a read token sees it: its lease, if any, and no way to change it. */
function OutputReadOnly({ pin, at }: { pin: PinView; at: number }) {
  const pwm = pin.mode === 'pwm';
  const remaining = pin.lease ? Math.max(0, at + pin.lease.expires_in_s * 1000 - performance.now()) / 1000 : 0;
  return pin.lease ? (
    <p class="countdown" role="timer" aria-live="off">
      {remaining > 0 ? `Back to ${levelText(pin.lease.safe_value, pwm)} in ${seconds(remaining)}` : 'Lease ended; waiting for the board to report'}
    </p>
  ) : (
    <p class="muted small">An output; its safe value is {levelText(pin.safe_value ?? 0, pwm)}.</p>
  );
}

function OutputControl({ api, device, online, pin, at, revert, onError }: PinsProps & { pin: PinView; at: number; revert: Revert | undefined }) {
  const [leaseS, setLeaseS] = useState(10);
  const [busy, setBusy] = useState(false);
  const pwm = pin.mode === 'pwm';
  const safe = pin.safe_value ?? 0;
  const current = pwm ? (pin.duty ?? 0) : (pin.value ?? 0);
  const [duty, setDuty] = useState<number | undefined>(undefined);
  const maxLease = pin.max_lease_s ?? 3600;
  const label = pinLabel(pin);
  const leaseValid = Number.isFinite(leaseS) && leaseS > 0 && leaseS <= maxLease;

  const send = async (value: number) => {
    setBusy(true);
    const atSafe = value === safe;
    const request: JsonObject = pwm ? { action: 'pwm', pin: pin.pin, freq: pin.freq ?? 1000, duty: value } : { action: 'write_pin', pin: pin.pin, value };
    if (!atSafe) request['timeout'] = leaseS;
    try {
      await api.command(device, request);
    } catch (err) {
      onError(describeError(err, `${device}: setting ${label}`));
    } finally {
      setBusy(false);
      setDuty(undefined);
    }
  };

  const remaining = pin.lease ? Math.max(0, at + pin.lease.expires_in_s * 1000 - performance.now()) / 1000 : 0;
  const other = 1 - safe;
  const disabled = busy || !online;
  return (
    <div class="control">
      <label class="lease">
        Lease
        <input
          type="number"
          min={0.5}
          max={maxLease}
          step={0.5}
          value={leaseS}
          aria-describedby={`lease-help-${pin.pin}`}
          onInput={(e) => setLeaseS(e.currentTarget.valueAsNumber)}
          aria-label={`Lease for ${label}, seconds`}
        />
        s
      </label>
      {pwm ? (
        <label class="duty">
          Duty
          <input
            type="range"
            min={0}
            max={100}
            step={1}
            value={Math.round((duty ?? current) * 100)}
            disabled={disabled || !leaseValid}
            aria-label={`Duty cycle for ${label}, percent`}
            aria-valuetext={`${Math.round((duty ?? current) * 100)} %`}
            onInput={(e) => setDuty(e.currentTarget.valueAsNumber / 100)}
            onChange={(e) => void send(e.currentTarget.valueAsNumber / 100)}
          />
          <span class="small">{Math.round((duty ?? current) * 100)} %</span>
        </label>
      ) : (
        <button type="button" disabled={disabled || !leaseValid} aria-busy={busy} onClick={() => void send(other)}>
          {`${current !== safe ? `Keep it ${levelText(other, false)}` : other === 1 ? 'Turn on' : 'Turn off'} for ${Number.isFinite(leaseS) ? leaseS : '?'} s`}
        </button>
      )}
      {current !== safe ? (
        <button type="button" class="secondary" disabled={disabled} onClick={() => void send(safe)}>
          {pwm ? `Back to ${levelText(safe, true)} now` : `Turn ${levelText(safe, false)} now`}
        </button>
      ) : null}
      <p class="small muted" id={`lease-help-${pin.pin}`}>
        {!leaseValid ? `Pick a lease between 0.5 and ${maxLease} s.` : `The board returns it to ${levelText(safe, pwm)} by itself when the lease ends (longest ${seconds(maxLease)}).`}
      </p>
      {pin.lease ? (
        <p class="countdown" role="timer" aria-live="off">
          {remaining > 0 ? `Back to ${levelText(safe, pwm)} in ${seconds(remaining)}` : 'Lease ended; waiting for the board to report'}
        </p>
      ) : revert !== undefined ? (
        <p class="reverted" role="status">
          {`Lease ended at ${clockTime(revert.at)}: the board put it back to ${levelText(revert.value, pwm)}.`}
        </p>
      ) : null}
    </div>
  );
}
