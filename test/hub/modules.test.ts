// The hub as a runtime plus modules (module.ts): modules start in order and stop in reverse, a
// module that fails to start stops the ones before it, reports belong to one module each, the
// bus survives a listener that throws, and the hub's id and GET /api/hub on a real hub.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Logger } from '../../src/device/logger.js';
import { HUB_ID_FILE } from '../../src/hub/hub-id.js';
import { HubBus, type HubContext, type HubModule } from '../../src/hub/module.js';
import { hubModules } from '../../src/hub/modules/index.js';
import { ModuleReports, startModules } from '../../src/hub/modules/lifecycle.js';
import { parseHubConfig } from '../../src/hub/config.js';
import type { HubInfo, HubUpdate } from '../../src/hub/types.js';
import { startTestHub, tempDataDir } from '../support/test-hub.js';

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const line = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return { logger: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }, lines };
}

/** Only what startModules reads of the context: the logger. */
function contextWith(logger: Logger): HubContext {
  return { logger } as HubContext;
}

/** A module that writes what happens to it into `log`; `failStart`/`failStop` make it throw. */
function tracedModule(name: string, log: string[], options: { failStart?: Error; failStop?: Error } = {}): HubModule {
  return {
    name,
    start: () => {
      log.push(`start ${name}`);
      return options.failStart !== undefined ? Promise.reject(options.failStart) : Promise.resolve();
    },
    stop: () => {
      log.push(`stop ${name}`);
      return options.failStop !== undefined ? Promise.reject(options.failStop) : Promise.resolve();
    },
  };
}

describe('hub modules: start and stop', { timeout: 30_000 }, () => {
  test('modules start in order and stop in reverse order; one that fails to stop is logged and the others still stop', async () => {
    const log: string[] = [];
    const { logger, lines } = recordingLogger();
    const started = await startModules([tracedModule('a', log), tracedModule('b', log, { failStop: new Error('socket stuck') }), tracedModule('c', log)], contextWith(logger));
    assert.deepEqual(log, ['start a', 'start b', 'start c']);
    await started.stop();
    assert.deepEqual(log, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('error')),
      ['error b: failed to stop: socket stuck'],
    );
  });

  test('a module that fails to start stops the ones started before it, starts none after it, and its error is the one thrown', async () => {
    const log: string[] = [];
    const failure = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:7340'), { code: 'EADDRINUSE' });
    const modules = [tracedModule('a', log), tracedModule('b', log), tracedModule('http', log, { failStart: failure }), tracedModule('d', log)];
    await assert.rejects(startModules(modules, contextWith(recordingLogger().logger)), (err) => err === failure);
    assert.deepEqual(log, ['start a', 'start b', 'start http', 'stop b', 'stop a']);
  });

  test('each report belongs to one module: a second module reporting the same key is refused', () => {
    const reports = new ModuleReports();
    assert.equal(reports.source('mqtt'), undefined);
    const down = { state: 'down', url: 'mqtt://127.0.0.1:1883', since: 1, error: 'connection refused', retryAt: 2 } as const;
    reports.report('mqtt', () => down);
    assert.deepEqual(reports.source('mqtt')?.(), down);
    assert.throws(() => reports.report('mqtt', () => down), /two hub modules report mqtt/);
  });

  test('the bus gives every update to every listener in order, logs a listener that throws and still reaches the others', () => {
    const { logger, lines } = recordingLogger();
    const bus = new HubBus(logger);
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    const unsubscribe = bus.subscribe((u) => seen.push(u.type));
    const update: HubUpdate = { type: 'state', device: 'shed', state: {} };
    bus.publish(update);
    bus.publish(update);
    unsubscribe();
    bus.publish(update);
    assert.deepEqual(seen, ['state', 'state'], 'the listener got both updates before it unsubscribed, none after');
    assert.deepEqual(lines, Array<string>(3).fill('error a hub listener failed on a state update: boom'));
  });

  test('each module is switched on by its config section: retention with days or max_mb; the rules (which the API may add to), the OTA rollouts and the API always', () => {
    const names = (config: Record<string, unknown>) => hubModules(parseHubConfig({ data: '/tmp/x', ...config }, 'test'), { adminToken: 't', tokens: {} as never }).map((m) => m.name);
    assert.deepEqual(names({ retention: { days: 0 } }), ['rules', 'ota', 'http']);
    assert.deepEqual(names({}), ['rules', 'retention', 'ota', 'http'], 'retention.days defaults to 30');
    assert.deepEqual(names({ retention: { days: 0, max_mb: 100 } }), ['rules', 'retention', 'ota', 'http']);
    const rule = { name: 'fan', when: { device: 'shed', sensor: 'air', quantity: 'temperature', above: 25 }, then: { device: 'shed', pin: 15, value: 1, lease_s: 60 } };
    assert.deepEqual(names({ retention: { days: 0 }, rules: [rule] }), ['rules', 'ota', 'http']);
  });
});

describe('hub modules on a real hub: its id and GET /api/hub', { timeout: 60_000 }, () => {
  const getHub = async (hub: { http: { port: number }; apiToken: { token: string } }): Promise<{ status: number; body: HubInfo }> => {
    const res = await fetch(`http://127.0.0.1:${hub.http.port}/api/hub`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } });
    return { status: res.status, body: (await res.json()) as HubInfo };
  };

  test('the hub id is made once in <data>/hub-id and stays the same across a restart; GET /api/hub shows it, with mqtt null without an mqtt section', async () => {
    const data = tempDataDir();
    const first = await startTestHub({ data });
    let id: string;
    try {
      id = first.hubId;
      assert.match(id, /^[a-z0-9]{6,32}$/);
      assert.equal(fs.readFileSync(path.join(data, HUB_ID_FILE), 'utf8').trim(), id);
      const { status, body } = await getHub(first);
      assert.equal(status, 200);
      assert.deepEqual(body, { id, version: body.version, mqtt: null });
      assert.match(body.version, /^\d+\.\d+\.\d+/);
      assert.deepEqual(first.facade.hub(), body);
    } finally {
      await first.close();
    }
    const second = await startTestHub({ data });
    try {
      assert.equal(second.hubId, id);
      assert.equal((await getHub(second)).body.id, id);
    } finally {
      await second.close();
    }
    const elsewhere = await startTestHub();
    try {
      assert.notEqual(elsewhere.hubId, id, 'another data folder, another hub');
    } finally {
      await elsewhere.close();
    }
  });

  test('an HTTP port in use fails startHub with the listen error (its code and port for the CLI) and leaves the link port free', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const httpPort = (blocker.address() as net.AddressInfo).port;
    const linkPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    try {
      await assert.rejects(startTestHub({ linkPort, config: { http: { host: '127.0.0.1', port: httpPort } } }), (err: NodeJS.ErrnoException & { port?: number }) => {
        assert.equal(err.code, 'EADDRINUSE');
        assert.equal(err.port, httpPort);
        return true;
      });
      // The core closed after the module failed: its link port can be taken again.
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(linkPort, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => again.close(resolve));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('GET /api/rules lists the configured rules through the rules module, and none without rules', async () => {
    const rule = { name: 'fan', when: { device: 'shed', sensor: 'air', quantity: 'temperature', above: 25 }, then: { device: 'shed', pin: 15, value: 1, lease_s: 60 } };
    const withRules = await startTestHub({ config: { rules: [rule] } });
    try {
      assert.deepEqual(
        withRules.facade.rules().map((r) => r.name),
        ['fan'],
      );
    } finally {
      await withRules.close();
    }
    const without = await startTestHub();
    try {
      assert.deepEqual(without.facade.rules(), []);
    } finally {
      await without.close();
    }
  });
});
