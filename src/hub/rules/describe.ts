// The short sentence the API shows for a rule that has no description of its own. Pins are
// named as their boards name them (`relay (pin 15) of shed`) when the caller knows the boards'
// states, else by number.
import { hasComparison, isHttpAction, isInputCondition, type BindingConfig, type Edge, type HttpAction, type PinAction, type ReadingCondition, type RuleConfig } from '../config.js';
import { redactUrl } from './http-template.js';

const EDGE_VERB: Record<Edge, string> = { rising: 'rises', falling: 'falls', both: 'changes' };

/** How a sentence names one pin of one board. */
export type PinLabel = (device: string, pin: number) => string;

export const pinByNumber: PinLabel = (device, pin) => `pin ${pin} of ${device}`;

export function describeRule(rule: RuleConfig, pinLabel: PinLabel = pinByNumber): string {
  if (rule.description !== undefined) return rule.description;
  const w = rule.when;
  if (isHttpAction(rule.then)) {
    const request = describeRequest(rule.then);
    if (isInputCondition(w)) return `When ${pinLabel(w.device, w.pin)} ${EDGE_VERB[w.edge]}, ${request}.`;
    if (!hasComparison(w)) return `On each reading of ${w.quantity} of ${w.sensor} on ${w.device}, ${request}.`;
    return `When ${w.quantity} of ${w.sensor} on ${w.device} becomes ${comparison(w)}, ${request}.`;
  }
  if (isInputCondition(w)) return `When ${pinLabel(w.device, w.pin)} ${EDGE_VERB[w.edge]}, ${describeAction(rule.then, pinLabel)} for ${rule.then.lease_s} s.`;
  return `While ${w.quantity} of ${w.sensor} on ${w.device} is ${comparison(w)}, ${describeAction(rule.then, pinLabel)} (lease ${rule.then.lease_s} s, renewed).`;
}

function comparison(w: ReadingCondition): string {
  const [op, threshold] = w.above !== undefined ? ['above', w.above] : w.below !== undefined ? ['below', w.below] : ['equal to', w.equals];
  return `${op} ${threshold}`;
}

function describeRequest({ http }: HttpAction): string {
  const every = http.min_interval_s > 0 ? ` (at most once per ${http.min_interval_s} s)` : '';
  return `${http.method} ${redactUrl(http.url)}${every}`;
}

export function describeBinding(b: BindingConfig, pinLabel: PinLabel = pinByNumber): string {
  if (b.description !== undefined) return b.description;
  const to = pinLabel(b.to.device, b.to.pin);
  return `${to.charAt(0).toUpperCase()}${to.slice(1)} follows ${b.to.invert ? 'the inverse of ' : ''}${pinLabel(b.from.device, b.from.pin)} (lease ${b.to.lease_s} s, renewed).`;
}

function describeAction(a: PinAction, pinLabel: PinLabel): string {
  const pin = pinLabel(a.device, a.pin);
  if (a.toggle === true) return `toggle ${pin}`;
  if (a.duty !== undefined) return `run ${pin} at duty ${a.duty}`;
  return `set ${pin} to ${a.value}`;
}
