// Secret, ConfigMap and downward API volumes as a kubelet keeps them: written atomically (a
// timestamped directory behind the `..data` symlink, each name a symlink through it) and brought
// up to date while the pod runs, so a container sees a Secret's new keys without a restart (what
// `podtracer node` relies on when targets join).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { apiPath } from '../controllers/kube-client.js';
import { DATA_DIR_LINK, writeVolumeAtomically } from '../kubelet/atomic-writer.js';
import { startKubelet, type Kubelet } from '../kubelet/index.js';
import { startTestApi, suffix, testLogger, waitFor, type TestApi } from './kubelet-helpers.js';

const file = (path: string, text: string, mode = 0o644) => ({ path, data: Buffer.from(text), mode });
const versions = (dir: string) => readdirSync(dir).filter((e) => e.startsWith('..') && e !== DATA_DIR_LINK);

describe('the atomic volume writer', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-writer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('names are symlinks through ..data; an update swaps ..data, drops names that went, removes the old version', () => {
    const vol = join(dir, 'v');
    expect(writeVolumeAtomically(vol, [file('assignment.json', '{"a":1}'), file('token-a', 'A', 0o600), file('conf/nested.txt', 'n')])).toBe(true);
    const first = readlinkSync(join(vol, DATA_DIR_LINK));
    expect(first).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect(readlinkSync(join(vol, 'assignment.json'))).toBe('..data/assignment.json');
    expect(readlinkSync(join(vol, 'conf'))).toBe('..data/conf');
    expect(readFileSync(join(vol, 'conf', 'nested.txt'), 'utf8')).toBe('n');
    expect(statSync(join(vol, 'token-a')).mode & 0o777).toBe(0o600);

    // the same content again: nothing is written
    expect(writeVolumeAtomically(vol, [file('assignment.json', '{"a":1}'), file('token-a', 'A', 0o600), file('conf/nested.txt', 'n')])).toBe(false);
    expect(readlinkSync(join(vol, DATA_DIR_LINK))).toBe(first);

    // a mode change alone is a change too; then a new key, one gone
    expect(writeVolumeAtomically(vol, [file('assignment.json', '{"a":1}'), file('token-a', 'A', 0o644), file('conf/nested.txt', 'n')])).toBe(true);
    expect(writeVolumeAtomically(vol, [file('assignment.json', '{"a":2}'), file('token-b', 'B')])).toBe(true);
    expect(readFileSync(join(vol, 'assignment.json'), 'utf8')).toBe('{"a":2}');
    expect(readFileSync(join(vol, 'token-b'), 'utf8')).toBe('B');
    expect(existsSync(join(vol, 'token-a'))).toBe(false);
    expect(() => lstatSync(join(vol, 'conf'))).toThrow(/ENOENT/);
    expect(versions(vol)).toEqual([readlinkSync(join(vol, DATA_DIR_LINK))]);
  });

  test('a path given twice holds the later bytes, and writing it again is no change', () => {
    const vol = join(dir, 'twice');
    expect(writeVolumeAtomically(vol, [file('k', 'first'), file('k', 'second')])).toBe(true);
    expect(readFileSync(join(vol, 'k'), 'utf8')).toBe('second');
    expect(writeVolumeAtomically(vol, [file('k', 'first'), file('k', 'second')])).toBe(false);
  });
});

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;

d('kubelet: volumes follow their Secrets, ConfigMaps and the pod while it runs', () => {
  let t: TestApi;
  let kubelet: Kubelet;
  const node = `node-vol-${suffix()}`;

  beforeAll(async () => {
    t = await startTestApi('kubelet-volumes-');
    kubelet = await startKubelet({ kubeConfig: t.kc, nodeName: node, stateDir: t.stateDir, kubeconfigPath: t.kubeconfigPath, logger: testLogger });
  });

  afterAll(async () => {
    await kubelet?.stop();
    await t?.stop();
  });

  test('a running container sees a Secret key added, one changed and one removed, a ConfigMap change and a new label, without a restart', async () => {
    await t.kube.create(apiPath('v1', 'secrets', 'default'), { metadata: { name: 'assign' }, stringData: { 'assignment.json': 'v1', gone: 'x' } });
    await t.kube.create(apiPath('v1', 'configmaps', 'default'), { metadata: { name: 'settings' }, data: { level: 'low' } });
    // polls (bounded: 600 × 0.1 s) until it sees every change, then prints what it saw
    const script = [
      'for i in $(seq 1 600); do',
      '  a=$(cat /etc/assign/assignment.json); l=$(cat /etc/settings/level); lab=$(cat /etc/info/labels)',
      '  if [ "$a" = v2 ] && [ "$(cat /etc/assign/token-new 2>/dev/null)" = t ] && [ ! -e /etc/assign/gone ] && [ "$l" = high ] && echo "$lab" | grep -q "joined=\\"yes\\""; then',
      '    echo "saw a=$a l=$l after $i"; exit 0',
      '  fi',
      '  sleep 0.1',
      'done',
      'echo "never saw: a=$a l=$l labels=$lab"; exit 1',
    ].join('\n');
    const body = {
      metadata: { name: 'watcher', namespace: 'default', labels: { app: 'watcher' } },
      spec: {
        nodeName: node,
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        volumes: [
          { name: 'assign', secret: { secretName: 'assign' } },
          { name: 'settings', configMap: { name: 'settings' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', script],
            volumeMounts: [
              { name: 'assign', mountPath: '/etc/assign', readOnly: true },
              { name: 'settings', mountPath: '/etc/settings', readOnly: true },
              { name: 'info', mountPath: '/etc/info', readOnly: true },
            ],
          },
        ],
      },
    };
    await t.kube.create(apiPath('v1', 'pods', 'default'), body);
    const getPod = () => t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'watcher'));
    const running = await waitFor('watcher running', async () => ((await getPod())?.status?.phase === 'Running' ? await getPod() : undefined));
    const uid = running.metadata!.uid!;

    await t.kube.replace(apiPath('v1', 'secrets', 'default', 'assign'), { metadata: { name: 'assign', namespace: 'default' }, stringData: { 'assignment.json': 'v2', 'token-new': 't' } });
    await t.kube.replace(apiPath('v1', 'configmaps', 'default', 'settings'), { metadata: { name: 'settings', namespace: 'default' }, data: { level: 'high' } });
    await t.kube.mergePatch(apiPath('v1', 'pods', 'default', 'watcher'), { metadata: { labels: { joined: 'yes' } } });

    const done = await waitFor('watcher done', async () => {
      const p = await getPod();
      return p && ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') ? p : undefined;
    });
    const log = readFileSync(`${t.stateDir}/logs/default_watcher_main.log`, 'utf8');
    expect({ phase: done.status?.phase, log: log.replace(/ after \d+/, '') }).toEqual({ phase: 'Succeeded', log: 'saw a=v2 l=high\n' });
    expect(done.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    // on the host while the pod's directory remains: one version behind ..data
    const vol = join(t.stateDir, 'kubelet', 'pods', uid, 'volumes', 'assign');
    if (existsSync(vol)) expect(versions(vol)).toHaveLength(1);
  }, 90_000);
});
