// Unit tests of the addon and its wrapper on loopback, without iptables: every connection here
// is direct, so the wrapper must say "not redirected". The redirected path is covered by
// test/e2e/interception.test.ts (network namespaces, root). On Linux the addon must be built
// (npm install does it); a missing build fails these tests on purpose.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import { once } from 'node:events';
import {
  getOriginalDestination,
  nativeAddonAvailable,
  originalDestination,
  tryOriginalDestination,
  socketFd,
  NotRedirectedError,
  SocketDescriptorError,
} from './index.ts';

async function withAcceptedSocket<T>(host: string, fn: (accepted: net.Socket) => T): Promise<T> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, host);
  try {
    const [sock] = await accepted;
    try {
      return fn(sock);
    } finally {
      sock.destroy();
    }
  } finally {
    client.destroy();
    server.close();
  }
}

function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
}

describe('agent/native SO_ORIGINAL_DST addon', () => {
  test('the addon is built on Linux', () => {
    assert.equal(process.platform, 'linux', 'SO_ORIGINAL_DST exists only on Linux');
    assert.equal(nativeAddonAvailable(), true, 'agent/native/build/Release/meshlet_native.node missing: npm rebuild');
  });

  test('a direct IPv4 connection is reported as not redirected', async () => {
    await withAcceptedSocket('127.0.0.1', (sock) => {
      assert.throws(() => originalDestination(sock), (err: unknown) => {
        assert.ok(err instanceof NotRedirectedError);
        assert.equal(err.code, 'E_NOT_REDIRECTED');
        assert.match(err.message, /127\.0\.0\.1:\d+/);
        return true;
      });
    });
  });

  test('tryOriginalDestination: null for a direct connection, errors for a closed socket', async () => {
    await withAcceptedSocket('127.0.0.1', (sock) => {
      assert.equal(tryOriginalDestination(sock), null);
      sock.destroy();
      assert.throws(() => tryOriginalDestination(sock), SocketDescriptorError);
    });
  });

  test('a direct IPv6 connection is reported as not redirected', async (t) => {
    // Containers sometimes run without IPv6; the e2e suite covers IPv6 redirection anyway.
    if (!hasIpv6Loopback()) {
      t.diagnostic('no ::1 on this machine: IPv6 path not exercised');
      return;
    }
    await withAcceptedSocket('::1', (sock) => {
      assert.throws(() => originalDestination(sock), NotRedirectedError);
    });
  });

  test('socketFd returns the descriptor of a live socket and refuses a closed one', async () => {
    await withAcceptedSocket('127.0.0.1', (sock) => {
      const fd = socketFd(sock);
      assert.ok(Number.isInteger(fd) && fd > 2, `fd ${fd}`);
      sock.destroy();
      assert.throws(() => socketFd(sock), SocketDescriptorError);
    });
  });

  test('raw call: bad descriptors fail with errno codes, not crashes', () => {
    assert.throws(() => getOriginalDestination(-1), { code: 'EBADF' });
    const fd = fs.openSync(new URL(import.meta.url), 'r');
    try {
      assert.throws(() => getOriginalDestination(fd), { code: 'ENOTSOCK' });
    } finally {
      fs.closeSync(fd);
    }
    assert.throws(() => getOriginalDestination('3' as unknown as number), TypeError);
  });
});
