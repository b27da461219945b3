// What the rules engine knows of each board's pins: levels, safe values and PWM frequencies,
// learnt from the board's own reports. The board's word always wins; the hub never guesses a
// safe value (protocol.md §4 rule 4: expiry restores the safe value, never 1 - value).
import { isNumber, isObject, type JsonObject } from '../../protocol/json.js';
import { parseBoardState, type BoardState } from '../../protocol/replies.js';

interface PinFacts {
  /** An input's level, a digital output's value or a PWM output's duty. */
  value?: number;
  safeValue?: number;
  freq?: number;
}

export class BoardPins {
  private readonly boards = new Map<string, Map<number, PinFacts>>();

  /** A state report (protocol.md §5.16, §10.4) replaces all the hub believed of that board. */
  applyState(device: string, state: JsonObject): void {
    this.applyBoardState(device, parseBoardState(state));
  }

  /** The same, for a state already parsed (the MQTT bridge keeps one per board). */
  applyBoardState(device: string, state: BoardState): void {
    const pins = new Map<number, PinFacts>();
    for (const p of state.pins) {
      pins.set(p.pin, p.mode === 'input' ? { value: p.value } : p.mode === 'pwm' ? { value: p.duty, safeValue: p.safeValue, freq: p.freq } : { value: p.value, safeValue: p.safeValue });
    }
    this.boards.set(device, pins);
  }

  /** A level seen on an edge, or the value a write set. */
  noteValue(device: string, pin: number, value: number): void {
    this.facts(device, pin).value = value;
  }

  /** A write's reply: its `lease` names the safe value; a null lease means the safe value was written (§4 rule 1). */
  noteWrite(device: string, pin: number, value: number, reply: JsonObject): void {
    const facts = this.facts(device, pin);
    facts.value = value;
    if (reply.lease === null) facts.safeValue = value;
    else if (isObject(reply.lease) && isNumber(reply.lease.safe_value)) facts.safeValue = reply.lease.safe_value;
  }

  /** `lease_expired` (protocol.md §7): `value` is the safe value the board restored. */
  noteExpired(device: string, pin: number, safeValue: number): void {
    const facts = this.facts(device, pin);
    facts.value = safeValue;
    facts.safeValue = safeValue;
  }

  value(device: string, pin: number): number | undefined {
    return this.boards.get(device)?.get(pin)?.value;
  }

  safeValue(device: string, pin: number): number | undefined {
    return this.boards.get(device)?.get(pin)?.safeValue;
  }

  freq(device: string, pin: number): number | undefined {
    return this.boards.get(device)?.get(pin)?.freq;
  }

  private facts(device: string, pin: number): PinFacts {
    let pins = this.boards.get(device);
    if (pins === undefined) this.boards.set(device, (pins = new Map<number, PinFacts>()));
    let facts = pins.get(pin);
    if (facts === undefined) pins.set(pin, (facts = {}));
    return facts;
  }
}

