// The systemd unit that runs `tether hub` or `tether device` at boot, rendered from plain options
// so that it can be checked without systemd. Quoting follows systemd.syntax(7) "Quoting" and
// systemd.service(5) "Command lines"; the sandboxing settings are explained in docs/service.md.
import { ServiceError } from './service-error.js';

export type ServiceKind = 'hub' | 'device';

export interface ServiceUnitOptions {
  kind: ServiceKind;
  /** Absolute path of the node binary (systemd's PATH has no nvm or ~/.local). */
  node: string;
  /** Flags for node itself, before bin/tether.js (hubNodeFlags: --single-threaded-gc on one CPU). */
  nodeFlags?: readonly string[];
  /** Absolute path of bin/tether.js. */
  bin: string;
  /** Absolute path of the hub or board config; a hub may run without one. */
  config?: string;
  /** Absolute path of the hub's data folder (the store and the API token); hub only. */
  data?: string;
  /** Absolute path the service runs in: relative paths inside the config are taken from here. */
  workingDirectory: string;
  /** The account the service runs as; absent: root. */
  user?: { name: string; group: string };
  /** Extra groups for a device's hardware, e.g. gpio and i2c (only with a user). */
  supplementaryGroups?: readonly string[];
  /** How long systemd waits after SIGTERM before it kills the process. */
  timeoutStopSec?: number;
}

/** Outputs are put in their safe state on SIGTERM; this is how long that may take. */
export const DEFAULT_TIMEOUT_STOP_SEC = 20;

export function renderUnit(options: ServiceUnitOptions): string {
  const { kind } = options;
  if (kind === 'hub' && options.data === undefined) throw new ServiceError('a hub unit needs its data folder');
  for (const [what, value] of [
    ['node', options.node],
    ['bin', options.bin],
    ['config', options.config],
    ['data', options.data],
    ['workingDirectory', options.workingDirectory],
  ] as const) {
    if (value !== undefined) checkUnitPath(value, what);
  }
  for (const flag of options.nodeFlags ?? []) {
    if (!/^--[a-z0-9-]+(=[A-Za-z0-9._,-]+)?$/.test(flag)) throw new ServiceError(`nodeFlags: ${JSON.stringify(flag)} is not a node flag such as --single-threaded-gc`);
  }
  const args = [options.node, ...(options.nodeFlags ?? []), options.bin, kind];
  if (options.config !== undefined) args.push('--config', options.config);
  if (options.data !== undefined) args.push('--data', options.data);

  const lines = [
    `# Written by \`tether service install ${kind}\`: run it again to change this file, and`,
    `# \`tether service uninstall ${kind}\` to remove it. docs/service.md explains each setting.`,
    '[Unit]',
    `Description=Tether ${kind === 'hub' ? 'hub' : 'device (board runtime)'}`,
    'Wants=network-online.target',
    'After=network-online.target',
    // An unattended board keeps trying (every RestartSec) instead of giving up after five quick failures.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${args.map(quoteExecWord).join(' ')}`,
    `WorkingDirectory=${escapeSpecifiers(options.workingDirectory)}`,
  ];
  if (options.user !== undefined) {
    lines.push(`User=${options.user.name}`, `Group=${options.user.group}`);
    const groups = options.supplementaryGroups ?? [];
    if (groups.length > 0) lines.push(`SupplementaryGroups=${groups.join(' ')}`);
  }
  lines.push(
    'Environment=NODE_ENV=production',
    'Restart=always',
    'RestartSec=2',
    // Tether closes connections and puts every output in its safe state on SIGTERM.
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${options.timeoutStopSec ?? DEFAULT_TIMEOUT_STOP_SEC}`,
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
  );
  if (options.data !== undefined) lines.push(`ReadWritePaths=${quoteListWord(options.data)}`);
  lines.push('ProtectHome=read-only', 'PrivateTmp=yes');
  if (kind === 'hub') {
    lines.push('PrivateDevices=yes', 'ProtectKernelTunables=yes');
  } else {
    lines.push(
      '# A board needs /dev/gpiochip* and /dev/i2c-* (so no PrivateDevices=), and writes',
      '# /sys/class/pwm to drive PWM outputs (so no ProtectKernelTunables=, which makes /sys read-only).',
    );
  }
  lines.push('ProtectKernelModules=yes', 'ProtectKernelLogs=yes', 'ProtectControlGroups=yes', 'RestrictSUIDSGID=yes', 'LockPersonality=yes', '', '[Install]', 'WantedBy=multi-user.target', '');
  return lines.join('\n');
}

/** `%` starts a specifier (systemd.unit(5) "Specifiers") in every setting written here. */
export function escapeSpecifiers(text: string): string {
  return text.replaceAll('%', '%%');
}

/**
 * One word of ExecStart=: quoted when it holds whitespace, quotes or a backslash; `%` and `$`
 * doubled so that systemd neither expands a specifier nor substitutes a variable.
 */
export function quoteExecWord(word: string): string {
  return quoteWord(word).replaceAll('$', '$$$$');
}

/** One path of a space-separated list such as ReadWritePaths=. */
export function quoteListWord(word: string): string {
  return quoteWord(word);
}

function quoteWord(word: string): string {
  const escaped = escapeSpecifiers(word);
  if (escaped !== '' && !/[\s"'\\]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** Paths go into the unit verbatim or quoted; a control character or outer blanks cannot. */
function checkUnitPath(value: string, what: string): void {
  if (!value.startsWith('/')) throw new ServiceError(`${what}: the unit needs an absolute path, got ${JSON.stringify(value)}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value) || value !== value.trim()) {
    throw new ServiceError(`${what}: ${JSON.stringify(value)} has a control character or leading/trailing blanks, which a unit file cannot hold; rename it`);
  }
}

/** `tether-hub`, `garden.service` → the unit file name, ending in .service. */
export function unitFileName(name: string): string {
  const base = name.endsWith('.service') ? name.slice(0, -'.service'.length) : name;
  // systemd.unit(5): unit names are ASCII letters, digits, ":", "-", "_", ".", "\"; "@" makes a template.
  if (!/^[A-Za-z0-9:_.-]{1,200}$/.test(base) || base.startsWith('.')) {
    throw new ServiceError(`"${name}" is not a unit name: use letters, digits, "-", "_", "." and ":" (e.g. tether-greenhouse)`);
  }
  return `${base}.service`;
}
