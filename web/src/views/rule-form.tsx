// The form that makes or edits a rule: a reading rule, an input rule or a binding, with a pin
// action or an HTTP request. The hub checks what is sent (the config file's own checks); this
// form only lays the rule out and shows each of the hub's problems beside the field it names
// (the path in error.problems: `then.lease_s`), so that nothing is checked in two places.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type DryRun, type FieldProblem, type JsonObject } from '../api.js';
import { pinLabel, type PinView } from './pins.js';

export type RuleKind = 'reading' | 'input' | 'binding';
type Action = 'on' | 'off' | 'duty' | 'toggle' | 'http';

/** The form's fields, as typed: numbers stay text until sent, so the hub names a bad one itself. */
export interface Draft {
  kind: RuleKind;
  name: string;
  description: string;
  whenDevice: string;
  sensor: string;
  quantity: string;
  comparison: 'above' | 'below' | 'equals';
  threshold: string;
  whenPin: string;
  edge: 'rising' | 'falling' | 'both';
  action: Action;
  thenDevice: string;
  thenPin: string;
  duty: string;
  lease: string;
  invert: boolean;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
}

export const EMPTY_DRAFT: Draft = {
  kind: 'input',
  name: '',
  description: '',
  whenDevice: '',
  sensor: '',
  quantity: '',
  comparison: 'above',
  threshold: '',
  whenPin: '',
  edge: 'rising',
  action: 'on',
  thenDevice: '',
  thenPin: '',
  duty: '',
  lease: '30',
  invert: false,
  method: 'GET',
  url: '',
};

/** A number when the text is one, else the text itself: the hub then says what it expected. */
function num(text: string): number | string {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

/** The hub config entry the draft stands for (docs/hub-config.md rules[] and bindings[]). */
function definitionOf(d: Draft): JsonObject {
  const head: JsonObject = { name: d.name.trim(), ...(d.description.trim() !== '' ? { description: d.description.trim() } : {}) };
  if (d.kind === 'binding') {
    return { ...head, from: { device: d.whenDevice.trim(), pin: num(d.whenPin) }, to: { device: d.thenDevice.trim(), pin: num(d.thenPin), lease_s: num(d.lease), ...(d.invert ? { invert: true } : {}) } };
  }
  const when: JsonObject =
    d.kind === 'input'
      ? { device: d.whenDevice.trim(), pin: num(d.whenPin), edge: d.edge }
      : { device: d.whenDevice.trim(), sensor: d.sensor.trim(), quantity: d.quantity.trim(), ...(d.threshold.trim() !== '' || d.action !== 'http' ? { [d.comparison]: num(d.threshold) } : {}) };
  if (d.action === 'http') return { ...head, when, then: { http: { method: d.method, url: d.url.trim() } } };
  const value: JsonObject = d.action === 'toggle' ? { toggle: true } : d.action === 'duty' ? { duty: num(d.duty) } : { value: d.action === 'on' ? 1 : 0 };
  return { ...head, when, then: { device: d.thenDevice.trim(), pin: num(d.thenPin), ...value, lease_s: num(d.lease) } };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const obj = (v: unknown): JsonObject => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {});

const EDGES = ['rising', 'falling', 'both'] as const;

/** The draft of a rule the hub lists, for editing it. */
export function draftOf(def: JsonObject): Draft {
  const base = { ...EMPTY_DRAFT, name: str(def.name), description: str(def.description) };
  if ('from' in def) {
    const from = obj(def.from);
    const to = obj(def.to);
    return { ...base, kind: 'binding', whenDevice: str(from.device), whenPin: str(from.pin), thenDevice: str(to.device), thenPin: str(to.pin), lease: str(to.lease_s), invert: to.invert === true };
  }
  const when = obj(def.when);
  const then = obj(def.then);
  const comparison = (['above', 'below', 'equals'] as const).find((k) => when[k] !== undefined) ?? 'above';
  const whenPart =
    'pin' in when
      ? { kind: 'input' as const, whenDevice: str(when.device), whenPin: str(when.pin), edge: EDGES.find((e) => e === when.edge) ?? 'rising' }
      : { kind: 'reading' as const, whenDevice: str(when.device), sensor: str(when.sensor), quantity: str(when.quantity), comparison, threshold: str(when[comparison]) };
  if ('http' in then) {
    const http = obj(then.http);
    const method = http.method === 'POST' || http.method === 'PUT' ? http.method : 'GET';
    return { ...base, ...whenPart, action: 'http', method, url: str(http.url) };
  }
  const action: Action = then.toggle === true ? 'toggle' : then.duty !== undefined ? 'duty' : then.value === 0 ? 'off' : 'on';
  return { ...base, ...whenPart, action, thenDevice: str(then.device), thenPin: str(then.pin), duty: str(then.duty), lease: str(then.lease_s) };
}

/** Where each problem goes: the field whose paths hold it, or the one with the longest path it starts with; else the form. */
function placeProblems(problems: readonly FieldProblem[], fields: ReadonlyArray<{ id: string; paths: readonly string[] }>): { byField: Map<string, string[]>; rest: string[] } {
  const byField = new Map<string, string[]>();
  const rest: string[] = [];
  for (const p of problems) {
    let best: { id: string; length: number } | undefined;
    for (const f of fields) {
      for (const path of f.paths) {
        const fits = p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`);
        if (fits && (best === undefined || path.length > best.length)) best = { id: f.id, length: path.length };
      }
    }
    if (best === undefined) rest.push(`${p.path}: ${p.message}`);
    else byField.set(best.id, [...(byField.get(best.id) ?? []), p.message]);
  }
  return { byField, rest };
}

export interface BoardChoices {
  devices: string[];
  pinsOf(device: string): PinView[];
  sensorsOf(device: string): Array<{ sensor: string; quantity: string }>;
}

export interface RuleFormProps {
  api: Api;
  /** The rule being edited (its name in the hub), or undefined for a new one. */
  editing?: string;
  initial: Draft;
  boards: BoardChoices;
  onSaved: (name: string) => void;
  onCancel: () => void;
  onDryRun: (result: DryRun) => void;
}

export function RuleForm({ api, editing, initial, boards, onSaved, onCancel, onDryRun }: RuleFormProps) {
  const [draft, setDraft] = useState<Draft>(initial);
  const [problems, setProblems] = useState<readonly FieldProblem[]>([]);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const prefix = `rule-${editing ?? 'new'}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const id = (field: string) => `${prefix}-${field}`;
  // The form opens where the keyboard is: on its first field.
  useEffect(() => document.getElementById(id('name'))?.focus(), []);

  const binding = draft.kind === 'binding';
  const http = !binding && draft.action === 'http';
  const whenSide = binding ? 'from' : 'when';
  const thenSide = binding ? 'to' : 'then';
  const fields: Array<{ id: string; paths: string[] }> = [
    { id: 'name', paths: ['name'] },
    { id: 'description', paths: ['description'] },
    { id: 'when-device', paths: [`${whenSide}.device`] },
    { id: 'sensor', paths: ['when.sensor'] },
    { id: 'quantity', paths: ['when.quantity'] },
    { id: 'threshold', paths: draft.kind === 'reading' ? ['when', 'when.above', 'when.below', 'when.equals'] : [] },
    { id: 'when-pin', paths: draft.kind === 'reading' ? [] : [whenSide, `${whenSide}.pin`] },
    { id: 'edge', paths: ['when.edge'] },
    { id: 'action', paths: binding ? [] : ['then.value', 'then.toggle'] },
    { id: 'then-device', paths: [`${thenSide}.device`] },
    // `then` itself: one writer per output, or one of value, duty and toggle.
    { id: 'then-pin', paths: http ? [] : [`${thenSide}.pin`, thenSide] },
    { id: 'duty', paths: ['then.duty', 'then.freq'] },
    { id: 'lease', paths: [`${thenSide}.lease_s`] },
    { id: 'invert', paths: ['to.invert'] },
    { id: 'method', paths: ['then.http.method', 'then.http.body'] },
    { id: 'url', paths: ['then.http', 'then.http.url'] },
  ];
  const placed = placeProblems(problems, fields);
  const errorOf = (field: string) => placed.byField.get(field);

  const submit = async (dry: boolean) => {
    setBusy(true);
    setFailure(undefined);
    try {
      const definition = definitionOf(draft);
      if (dry) onDryRun(await api.dryRun({ definition }));
      else {
        const saved = editing === undefined ? await api.createRule(definition) : await api.updateRule(editing, definition);
        onSaved(saved.name);
      }
      setProblems([]);
    } catch (err) {
      if (err instanceof ApiError && err.problems.length > 0) {
        setProblems(err.problems);
        // The first field with a problem takes the focus, so a keyboard or screen-reader user lands on it.
        requestAnimationFrame(() => document.querySelector<HTMLElement>(`#${prefix}-form [aria-invalid="true"]`)?.focus());
      } else {
        setProblems([]);
        setFailure(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const field = (name: string, label: string, control: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => JSX.Element, hint?: string) => {
    const errors = errorOf(name);
    const describedBy = [errors !== undefined ? id(`${name}-error`) : '', hint !== undefined ? id(`${name}-hint`) : ''].filter((s) => s !== '').join(' ');
    return (
      <div class={`rule-field${errors !== undefined ? ' invalid' : ''}`} data-field={name}>
        <label for={id(name)}>{label}</label>
        {control({ id: id(name), 'aria-invalid': errors !== undefined, ...(describedBy !== '' ? { 'aria-describedby': describedBy } : {}) })}
        {hint !== undefined ? (
          <span class="muted small" id={id(`${name}-hint`)}>
            {hint}
          </span>
        ) : null}
        {errors !== undefined ? (
          <span class="field-error" id={id(`${name}-error`)} data-error-for={name}>
            {errors.join('; ')}
          </span>
        ) : null}
      </div>
    );
  };

  const pinControl = (name: string, label: string, device: string, value: string, onInput: (v: string) => void) => {
    const pins = boards.pinsOf(device.trim());
    return field(name, label, (props) =>
      pins.length > 0 ? (
        <select {...props} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
          <option value="">Choose a pin…</option>
          {pins.map((p) => (
            <option key={p.pin} value={String(p.pin)}>
              {pinLabel(p)} · {p.mode}
            </option>
          ))}
          {value !== '' && !pins.some((p) => String(p.pin) === value) ? <option value={value}>pin {value} (not reported by the board)</option> : null}
        </select>
      ) : (
        <input {...props} type="number" min="0" max="255" inputMode="numeric" value={value} onInput={(e) => onInput(e.currentTarget.value)} />
      ),
    pins.length === 0 ? 'The board has not reported its pins: give the pin number.' : undefined,
    );
  };

  const deviceControl = (name: string, label: string, value: string, onInput: (v: string) => void) =>
    field(name, label, (props) => <input {...props} list={id('devices')} autocomplete="off" value={value} onInput={(e) => onInput(e.currentTarget.value)} />);

  const sensors = boards.sensorsOf(draft.whenDevice.trim());

  return (
    <form
      id={`${prefix}-form`}
      class="rule-form"
      aria-labelledby={id('title')}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit(false);
      }}
    >
      <h2 id={id('title')}>{editing === undefined ? 'New rule' : `Edit rule ${editing}`}</h2>
      <datalist id={id('devices')}>
        {boards.devices.map((d) => (
          <option key={d} value={d} />
        ))}
      </datalist>
      <datalist id={id('sensors')}>
        {[...new Set(sensors.map((s) => s.sensor))].map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <datalist id={id('quantities')}>
        {sensors
          .filter((s) => s.sensor === draft.sensor.trim())
          .map((s) => (
            <option key={s.quantity} value={s.quantity} />
          ))}
      </datalist>
      <div class="rule-grid">
        {field('name', 'Name', (props) => <input {...props} autocomplete="off" value={draft.name} onInput={(e) => set('name', e.currentTarget.value)} />)}
        {field('kind', 'Kind', (props) => (
          <select {...props} value={draft.kind} onChange={(e) => set('kind', e.currentTarget.value as RuleKind)}>
            <option value="input">Input rule: when a pin changes</option>
            <option value="reading">Reading rule: while a reading crosses a threshold</option>
            <option value="binding">Binding: an output follows an input</option>
          </select>
        ))}
        {field('description', 'Description (optional)', (props) => <input {...props} value={draft.description} onInput={(e) => set('description', e.currentTarget.value)} />)}
      </div>

      <fieldset>
        <legend>{binding ? 'From (the input)' : 'When'}</legend>
        <div class="rule-grid">
          {deviceControl('when-device', 'Board', draft.whenDevice, (v) => set('whenDevice', v))}
          {draft.kind === 'reading' ? (
            <>
              {field('sensor', 'Sensor', (props) => <input {...props} list={id('sensors')} autocomplete="off" value={draft.sensor} onInput={(e) => set('sensor', e.currentTarget.value)} />)}
              {field('quantity', 'Quantity', (props) => <input {...props} list={id('quantities')} autocomplete="off" value={draft.quantity} onInput={(e) => set('quantity', e.currentTarget.value)} />)}
              {field('comparison', 'Is', (props) => (
                <select {...props} value={draft.comparison} onChange={(e) => set('comparison', e.currentTarget.value as Draft['comparison'])}>
                  <option value="above">above</option>
                  <option value="below">below</option>
                  <option value="equals">equal to</option>
                </select>
              ))}
              {field('threshold', 'Threshold', (props) => <input {...props} inputMode="decimal" value={draft.threshold} onInput={(e) => set('threshold', e.currentTarget.value)} />)}
            </>
          ) : (
            <>
              {pinControl('when-pin', binding ? 'Input pin' : 'Pin', draft.whenDevice, draft.whenPin, (v) => set('whenPin', v))}
              {binding
                ? null
                : field('edge', 'Edge', (props) => (
                    <select {...props} value={draft.edge} onChange={(e) => set('edge', e.currentTarget.value as Draft['edge'])}>
                      <option value="rising">rises</option>
                      <option value="falling">falls</option>
                      <option value="both">changes</option>
                    </select>
                  ))}
            </>
          )}
        </div>
      </fieldset>

      <fieldset>
        <legend>{binding ? 'To (the output)' : 'Then'}</legend>
        <div class="rule-grid">
          {binding
            ? null
            : field('action', 'Action', (props) => (
                <select {...props} value={draft.action} onChange={(e) => set('action', e.currentTarget.value as Action)}>
                  <option value="on">turn an output on</option>
                  <option value="off">turn an output off</option>
                  <option value="duty">run a PWM output at a duty</option>
                  {draft.kind === 'input' ? <option value="toggle">toggle an output</option> : null}
                  <option value="http">send an HTTP request</option>
                </select>
              ))}
          {http ? (
            <>
              {field('method', 'Method', (props) => (
                <select {...props} value={draft.method} onChange={(e) => set('method', e.currentTarget.value as Draft['method'])}>
                  <option>GET</option>
                  <option>POST</option>
                  <option>PUT</option>
                </select>
              ))}
              {field('url', 'URL', (props) => <input {...props} type="url" value={draft.url} onInput={(e) => set('url', e.currentTarget.value)} />, 'Placeholders such as {value} and {device} are filled in per trigger (docs/hub-config.md).')}
            </>
          ) : (
            <>
              {deviceControl('then-device', 'Board', draft.thenDevice, (v) => set('thenDevice', v))}
              {pinControl('then-pin', 'Output pin', draft.thenDevice, draft.thenPin, (v) => set('thenPin', v))}
              {!binding && draft.action === 'duty' ? field('duty', 'Duty (0–1)', (props) => <input {...props} inputMode="decimal" value={draft.duty} onInput={(e) => set('duty', e.currentTarget.value)} />) : null}
              {field('lease', 'Lease, seconds', (props) => <input {...props} inputMode="decimal" value={draft.lease} onInput={(e) => set('lease', e.currentTarget.value)} />, 'The board turns the output back to safe this long after the hub stops renewing it.')}
              {binding ? field('invert', 'Inverted', (props) => <input {...props} type="checkbox" checked={draft.invert} onChange={(e) => set('invert', e.currentTarget.checked)} />) : null}
            </>
          )}
        </div>
      </fieldset>

      {placed.rest.length > 0 || failure !== undefined ? (
        <div class="error" role="alert">
          {[...placed.rest, ...(failure !== undefined ? [failure] : [])].map((m) => (
            <p key={m}>{m}</p>
          ))}
        </div>
      ) : problems.length > 0 ? (
        <p class="error-text" role="alert">
          The hub refused the rule: see the field{problems.length > 1 ? 's' : ''} marked above.
        </p>
      ) : null}
      <div class="rule-buttons">
        <button type="submit" disabled={busy}>
          {editing === undefined ? 'Create rule' : 'Save rule'}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => void submit(true)}>
          Dry run
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

