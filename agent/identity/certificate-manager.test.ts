import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { generateRoot, issueWorkloadCertificate, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import { makePluginCa } from '../../controller/identity/test-support.ts';
import { buildCsr, generateWorkloadKey } from './csr.ts';
import { CertificateManager, type CertificateAnswer, type CertificateManagerOptions, type WorkloadCertificate } from './certificate-manager.ts';

const T0 = Date.parse('2026-12-02T12:00:00Z');
const H = 3_600_000;
const ca = loadCa(generateRoot({ now: new Date(T0 - H), trustDomain: 'cluster.local' }), new Date(T0));
const ID = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart' };

/** A controller stand-in: issues real 24 h certificates, or fails as told, recording when it was asked. */
function controller(issuer: CertificateAuthority = ca) {
  const c = {
    asked: [] as number[],
    fail: null as null | CertificateAnswer | Error,
    async request(csrPem: string): Promise<CertificateAnswer> {
      c.asked.push(Date.now() - T0);
      await Promise.resolve();
      if (c.fail instanceof Error) throw c.fail;
      if (c.fail) return c.fail;
      const out = issueWorkloadCertificate(issuer, { csrPem, identity: ID, now: new Date(), lifetimeMs: 24 * H });
      return { type: 'certificate', chainPem: out.chainPem, rootsPem: out.rootsPem, notAfter: out.notAfter.toISOString() };
    },
  };
  return c;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

let lines: string[];
function manager(c: ReturnType<typeof controller>, o: Partial<CertificateManagerOptions> = {}): CertificateManager {
  return new CertificateManager({ requestCertificate: (csr) => c.request(csr), random: () => 0.5, log: (l) => lines.push(l), expectedSpiffeId: 'spiffe://cluster.local/ns/shop/sa/cart', ...o });
}

describe('CertificateManager', () => {
  beforeEach(() => {
    lines = [];
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
  });
  afterEach(() => mock.timers.reset());

  test('gets a certificate at start and exposes key, chain, roots, expiry and identity', async () => {
    const c = controller();
    const m = manager(c);
    assert.equal(m.current(), null);
    assert.equal(m.secondsLeft(), 0);
    await m.start();
    mock.timers.tick(0);
    const cert = await m.ready();
    assert.equal(cert.spiffeId, 'spiffe://cluster.local/ns/shop/sa/cart');
    assert.equal(cert.notAfter.getTime(), T0 + 24 * H);
    assert.equal(new X509Certificate(cert.chainPem[0]!).checkPrivateKey(createPrivateKey(cert.keyPem)), true);
    assert.deepEqual(cert.rootsPem, ca.rootsPem);
    assert.equal(m.secondsLeft(), 24 * 3600);
    assert.match(lines[0]!, /got certificate spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart, valid until 2026-12-03T12:00:00.000Z/);
    await m.stop();
  });

  // Lifetime runs from NotBefore (backdated 5 min) to NotAfter: 24 h 5 min.
  const life = 24 * H + 5 * 60_000;
  for (const [random, fraction] of [[0, 0.45], [0.5, 0.5], [1, 0.55]] as const) {
    test(`renews at ${Math.round(fraction * 100)} % of the lifetime when the jitter draws ${random}`, async () => {
      const c = controller();
      const m = manager(c, { random: () => random });
      const changes: WorkloadCertificate[] = [];
      m.onChange((x) => changes.push(x));
      await m.start();
      mock.timers.tick(0);
      await m.ready();
      await settle();
      const due = -5 * 60_000 + Math.round(life * fraction);
      mock.timers.tick(due - 1);
      await settle();
      assert.deepEqual(c.asked, [0], 'not before the renewal time');
      mock.timers.tick(1);
      await settle();
      assert.deepEqual(c.asked, [0, due]);
      assert.equal(changes.length, 2);
      assert.notEqual(changes[1]!.keyPem, changes[0]!.keyPem, 'a new key per certificate');
      assert.match(lines[1]!, /renewed certificate/);
      await m.stop();
    });
  }

  test('while the controller is away it keeps the current certificate and retries with backoff', async () => {
    const c = controller();
    const m = manager(c, { random: () => 1, retry: { initialMs: 1000, maxMs: 8000 } });
    await m.start();
    mock.timers.tick(0);
    const first = await m.ready();
    await settle();
    c.fail = new Error('config channel closed');
    const due = -5 * 60_000 + Math.round(life * 0.55);
    mock.timers.tick(due);
    await settle();
    // random 1 draws the top of each equal-jitter step: 1, 2, 4, 8, 8 s.
    for (const step of [1000, 2000, 4000, 8000, 8000]) {
      mock.timers.tick(step);
      await settle();
    }
    assert.deepEqual(c.asked.slice(1).map((t) => t - due), [0, 1000, 3000, 7000, 15000, 23000]);
    assert.equal(m.current(), first, 'still serving with the current certificate');
    assert.equal(m.secondsLeft(), Math.floor((first.notAfter.getTime() - Date.now()) / 1000));
    assert.match(lines[1]!, /certificate request failed, keeping the current certificate \(\d+ s left\); retrying in 1 s: config channel closed/);
    // Past half the lifetime with the controller away: the seconds left are exported for alerting.
    assert.match(m.metrics(), new RegExp(`^meshlet_workload_certificate_expiry_seconds ${m.secondsLeft()}$`, 'm'));
    assert.ok(m.secondsLeft() < (first.notAfter.getTime() - first.notBefore.getTime()) / 2000, 'more than half the lifetime has passed');
    assert.match(m.metrics(), /^meshlet_workload_certificate_request_failures_total 6$/m);
    c.fail = null;
    mock.timers.tick(8000);
    await settle();
    assert.notEqual(m.current(), first);
    assert.ok(m.current()!.notAfter.getTime() > first.notAfter.getTime());
    await m.stop();
  });

  test('a certificate already past its renewal time (a CA about to expire) is renewed after one step, not in a loop', async () => {
    const dying = loadCa(makePluginCa({ now: new Date(T0), intermediateMs: 90_000 }), new Date(T0));
    const c = controller(dying);
    const m = manager(c, { retry: { initialMs: 1000, maxMs: 60_000 } });
    await m.start();
    mock.timers.tick(0);
    assert.equal((await m.ready()).notAfter.getTime(), T0 + 90_000, 'clamped to the intermediate');
    await settle();
    mock.timers.tick(999);
    await settle();
    assert.deepEqual(c.asked, [0]);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(c.asked, [0, 1000]);
    await m.stop();
  });

  test('a final refusal waits the longest step; a retryable one backs off from the start', async () => {
    const c = controller();
    c.fail = { type: 'certificate-error', code: 'E_CSR_POD_NOT_FOUND', message: 'pod gone', retryable: false };
    const m = manager(c, { retry: { initialMs: 1000, maxMs: 30_000 } });
    await m.start();
    mock.timers.tick(0);
    await settle();
    assert.match(lines[0]!, /no certificate yet; retrying in 30 s: certificate request refused \(E_CSR_POD_NOT_FOUND\): pod gone/);
    mock.timers.tick(30_000);
    await settle();
    assert.deepEqual(c.asked, [0, 30_000]);
    await m.stop();
  });

  test('an answer for another key or without a SPIFFE ID is not installed', async () => {
    const c = controller();
    const other = issueWorkloadCertificate(ca, { csrPem: buildCsr(generateWorkloadKey()), identity: ID, now: new Date(T0) });
    c.fail = { type: 'certificate', chainPem: other.chainPem, rootsPem: other.rootsPem, notAfter: other.notAfter.toISOString() };
    const m = manager(c);
    await m.start();
    mock.timers.tick(0);
    await settle();
    assert.equal(m.current(), null);
    assert.match(lines[0]!, /the issued certificate is not for our key/);
    await m.stop();
    mock.timers.tick(120_000);
    await settle();
    assert.equal(c.asked.length, 1, 'stop() ends the retries');
  });
  test('a root rotation: setRoots() trusts the pushed bundle with the same key and chain, renewNow() re-issues from the new issuer at once', async () => {
    const plug = makePluginCa({ now: new Date(T0 - H) });
    const next = loadCa(plug, new Date(T0));
    const c = controller();
    const m = manager(c);
    await m.start();
    mock.timers.tick(0);
    const first = await m.ready();
    await settle();
    const heard: WorkloadCertificate[] = [];
    m.onChange((cert) => heard.push(cert));

    const bundle = [...next.rootsPem, ...ca.rootsPem];
    m.setRoots(bundle);
    assert.equal(heard.length, 1, 'listeners rebuild their TLS contexts');
    assert.deepEqual(m.current()!.rootsPem, bundle);
    assert.equal(m.current()!.chainPem[0], first.chainPem[0], 'same certificate');
    assert.equal(m.current()!.keyPem, first.keyPem);
    assert.match(lines.at(-1)!, /trust bundle updated \(2 root\(s\)\), keeping certificate spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart/);
    m.setRoots(bundle);
    assert.equal(heard.length, 1, 'the same bundle again changes nothing');
    assert.equal(c.asked.length, 1, 'a bundle alone asks for no certificate');

    // Step 2 of the rotation: the CA issues from the new issuer; renewNow() goes at once, not at half life.
    const issuing = { ...next, rootsPem: bundle };
    const c2 = controller(issuing);
    c.request = (csr: string) => c2.request(csr);
    m.renewNow();
    mock.timers.tick(0);
    await settle();
    assert.equal(heard.length, 2, lines.join("\n"));
    assert.equal(new X509Certificate(m.current()!.chainPem[0]!).issuer, 'O=Example Corp\nCN=meshlet intermediate');
    assert.deepEqual(m.current()!.rootsPem, bundle);
    await m.stop();
  });
});
