// transport.test.mjs: native HTTPS (a self-signed certificate made with
// `openssl req`), the plain-HTTP rule, and the connection limits: request
// body (413), header block (431 from libmicrohttpd), per-address and total
// connections, and slow clients (idle and trickling sockets are closed while
// the service keeps answering others).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import https from 'node:https';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { TESSERAD, startServer, sleep } from './lib.mjs';

const MASTER = randomBytes(32).toString('base64url');

// Starts `tesserad serve ARGS`; resolves {url, proc, log, stop} on the ready
// line, or {exit, log} when the process exits first.
function serve(args, { env = {}, dir } = {}) {
  const proc = spawn(TESSERAD, ['serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TESSERAD_MASTER_KEY: MASTER, ...env },
    cwd: dir,
  });
  let log = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); resolve({ exit: 'timeout', log }); }, 30000);
    let done = false;
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /ready on (https?):\/\/[^:]+:(\d+)/.exec(log);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({
          scheme: m[1], port: Number(m[2]), proc, get log() { return log; },
          async stop() {
            if (proc.exitCode !== null) return;
            const exited = new Promise((res) => proc.once('exit', res));
            proc.kill('SIGTERM');
            assert.equal(await exited, 0);
          },
        });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (!done) { done = true; resolve({ exit: code, log }); }
    });
  });
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'tesserad-transport-'));
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  return dir;
}

function conf(dir, options) {
  const path = join(dir, 'tesserad.conf');
  writeFileSync(path, Object.entries({ argon2_m_kib: 64, ...options })
    .map(([k, v]) => `${k} = ${v}\n`).join(''));
  return path;
}

// One raw HTTP exchange: writes `data`, resolves everything read until the
// server closes (or `ms` pass: then {timedOut: true}).
function raw(port, data, ms = 5000) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); resolve({ text: out.toString(), timedOut: true }); }, ms);
    sock.on('connect', () => { if (data) sock.write(data); });
    sock.on('data', (d) => { out = Buffer.concat([out, d]); });
    // A reset after the answer arrived still counts as that answer: the
    // server may close while the client is writing. Callers assert on text.
    sock.on('error', () => { clearTimeout(timer); resolve({ text: out.toString(), timedOut: false }); });
    sock.on('close', () => { clearTimeout(timer); resolve({ text: out.toString(), timedOut: false }); });
  });
}

// Opens a socket and keeps it open, sending nothing. Resolves the socket
// once connected; `closedAt` records when the server closed it.
function idle(port) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.closedAt = null;
    sock.on('close', () => { sock.closedAt = Date.now(); });
    sock.on('error', () => {});
    sock.on('connect', () => resolve(sock));
    setTimeout(() => reject(new Error('connect timeout')), 5000);
  });
}

// /healthz on a fresh connection that is closed after the answer, so that
// no pooled keep-alive connection counts against a connection limit.
async function rawHealthz(port) {
  const r = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return Number(/^HTTP\/1\.1 (\d+) /.exec(r.text)?.[1] ?? 0);
}

async function healthz(port) {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

test('plain HTTP on a non-loopback address is refused without TLS, dev or a proxy', async () => {
  const dir = tempDir();
  try {
    const r = await serve(['--listen', '0.0.0.0:0', '--data', join(dir, 'data'),
      '--config', conf(dir, {})]);
    assert.equal(r.exit, 1, r.log);
    assert.match(r.log, /refusing plain HTTP on the non-loopback address 0\.0\.0\.0/);
    assert.match(r.log, /tls_cert/);
    // Behind a configured trusted proxy it starts (the proxy terminates TLS).
    const p = await serve(['--listen', '0.0.0.0:0', '--data', join(dir, 'data'),
      '--config', conf(dir, { trusted_proxies: '127.0.0.1' })]);
    assert.equal(p.scheme, 'http', p.log);
    assert.equal(await healthz(p.port), 200);
    await p.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS configuration errors stop the start with a clear message', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    const half = await serve(['--listen', '127.0.0.1:0', '--data', join(dir, 'data'),
      '--config', conf(dir, {}), '--tls-cert', join(dir, 'junk.pem')]);
    assert.equal(half.exit, 1);
    assert.match(half.log, /tls_cert and tls_key must be given together/);
    const junk = await serve(['--listen', '127.0.0.1:0', '--data', join(dir, 'data'),
      '--config', conf(dir, {}), '--tls-cert', join(dir, 'junk.pem'), '--tls-key', join(dir, 'junk.pem')]);
    assert.equal(junk.exit, 1);
    assert.match(junk.log, /cannot read a PEM certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function httpsGet(port, path, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

test('HTTPS natively with a certificate, HSTS, and no plain HTTP on that port', async () => {
  const dir = tempDir();
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
      'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ca = readFileSync(cert);
    // Not loopback, not dev, no proxy: allowed because it is HTTPS. The key
    // comes from the config file, the certificate from the flag.
    const s = await serve(['--listen', '0.0.0.0:0', '--data', join(dir, 'data'),
      '--config', conf(dir, { tls_key: key }), '--tls-cert', cert]);
    assert.equal(s.scheme, 'https', s.log);
    try {
      const h = await httpsGet(s.port, '/healthz', ca);
      assert.equal(h.status, 200);
      assert.equal(h.headers['strict-transport-security'], 'max-age=31536000');
      const v = await httpsGet(s.port, '/v1/verify', ca);
      assert.equal(v.status, 401);
      assert.equal(v.headers['strict-transport-security'], 'max-age=31536000');
      // Every kind of response carries HSTS: the JWKS and the verify 200
      // are built outside the common reply path.
      const jwks = await httpsGet(s.port, '/.well-known/jwks.json', ca);
      assert.equal(jwks.status, 200);
      assert.equal(jwks.headers['strict-transport-security'], 'max-age=31536000');
      const meta = JSON.parse((await httpsGet(s.port, '/.well-known/oauth-authorization-server', ca)).body);
      assert.match(meta.issuer, /^https:\/\//);
      // An untrusted certificate is refused by the client (it really is TLS).
      await assert.rejects(httpsGet(s.port, '/healthz', undefined), /self[- ]signed|certificate/i);
      // TLS 1.2 and 1.3 only: a client that offers at most 1.1 is refused
      // (the client side's own floor is lowered so that it really offers 1.1).
      const proto = (v) => new Promise((resolve) => {
        const sock = tls.connect({ host: '127.0.0.1', port: s.port, ca, servername: 'localhost',
          minVersion: v, maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
          resolve(sock.getProtocol());
          sock.end();
        });
        sock.on('error', () => resolve('refused'));
      });
      assert.equal(await proto('TLSv1.1'), 'refused');
      assert.equal(await proto('TLSv1.2'), 'TLSv1.2');
      assert.equal(await proto('TLSv1.3'), 'TLSv1.3');
      // Plain HTTP to the HTTPS port gets no HTTP answer.
      const plain = await raw(s.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
      assert.doesNotMatch(plain.text, /^HTTP\/1\.1 200/);
      // curl with --cacert agrees.
      const c = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', cert,
        '--resolve', `localhost:${s.port}:127.0.0.1`, `https://localhost:${s.port}/healthz`],
      { encoding: 'utf8' });
      assert.equal(c.stdout, '200', c.stderr);
      // The key never reaches a log.
      const keyBody = readFileSync(key, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const line of keyBody) assert.ok(!s.log.includes(line));
    } finally {
      await s.stop();
    }
    // Without TLS the same responses carry no HSTS.
    const p = await serve(['--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--config', conf(dir, {})]);
    const res = await fetch(`http://127.0.0.1:${p.port}/healthz`);
    assert.equal(res.headers.get('strict-transport-security'), null);
    await p.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('limits: body 413, header block 431, per-address connections, idle and slow clients', async () => {
  const server = await startServer({ max_body: 1024, max_header_bytes: 4096, conn_timeout: 2,
    per_ip_connections: 4 });
  const port = Number(new URL(server.url).port);
  try {
    // Body: by Content-Length, and chunked without a length.
    // The declared length alone is refused: the client waits for the
    // answer before sending the body (Expect: 100-continue), so no body
    // bytes are left unread to turn the close into a reset.
    const big = await raw(port, 'POST /v1/login HTTP/1.1\r\nHost: x\r\n' +
      'Content-Type: application/json\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n' +
      'Connection: close\r\n\r\n');
    assert.match(big.text, /^HTTP\/1\.1 413 /);
    const chunked = await raw(port, 'POST /v1/login HTTP/1.1\r\nHost: x\r\n' +
      'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      `7d0\r\n${'a'.repeat(2000)}\r\n0\r\n\r\n`);
    assert.match(chunked.text, /^HTTP\/1\.1 413 /);
    const small = await fetch(`${server.url}/v1/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `"${'x'.repeat(900)}"`,
    });
    assert.equal(small.status, 400, 'under the limit the body is parsed');

    // Headers: an 8 KB header block gets 431 and the connection is closed;
    // 3 KB passes.
    const huge = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    assert.match(huge.text, /^HTTP\/1\.1 431 /);
    assert.equal(huge.timedOut, false, 'closed after the 431');
    const fine = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(3000)}\r\nConnection: close\r\n\r\n`);
    assert.match(fine.text, /^HTTP\/1\.1 200 /);
    // fetch keeps connections alive; let the 2 s timeout close them, so that
    // the connection counts below are exactly the test's own.
    await sleep(2500);

    // Slow clients: a silent socket and one trickling a byte every 3 s are
    // both closed after the 2 s timeout; others are served meanwhile.
    const t0 = Date.now();
    const silent = await idle(port);
    const trickle = await idle(port);
    trickle.write('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => { if (!trickle.destroyed) trickle.write('X'); }, 3000);
    assert.equal(await rawHealthz(port), 200);
    while ((silent.closedAt === null || trickle.closedAt === null) && Date.now() - t0 < 10000) {
      await sleep(100);
    }
    clearInterval(drip);
    assert.ok(silent.closedAt !== null, 'silent socket closed');
    assert.ok(trickle.closedAt !== null, 'trickling socket closed');
    const silentAfter = silent.closedAt - t0;
    assert.ok(silentAfter >= 1500 && silentAfter < 6000, `closed after ${silentAfter} ms`);
    assert.equal(await rawHealthz(port), 200);

    // Per address: four idle sockets fill the allowance; a fifth is closed
    // at once; after they go, requests are served again.
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await idle(port));
    const fifth = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 1500);
    assert.equal(fifth.timedOut, false, 'the fifth connection was closed');
    assert.equal(fifth.text, '', 'and got no answer');
    for (const s of held) s.destroy();
    await sleep(200);
    assert.equal(await rawHealthz(port), 200);
  } finally {
    await server.stop();
  }
});

test('limits: total connection count', async () => {
  // One worker: libmicrohttpd splits the limit among its worker threads.
  const server = await startServer({ max_connections: 3, per_ip_connections: 0, conn_timeout: 30,
    workers: 1 });
  const port = Number(new URL(server.url).port);
  try {
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await idle(port));
    // At the limit libmicrohttpd stops accepting: the fourth connection
    // waits in the kernel's backlog, unanswered, until a slot frees.
    const fourth = await idle(port);
    let answer = '';
    fourth.on('data', (d) => { answer += d; });
    fourth.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await sleep(1500);
    assert.equal(answer, '', 'not served while the limit is reached');
    held.pop().destroy();
    const t0 = Date.now();
    while (!answer.includes('\r\n\r\n') && Date.now() - t0 < 5000) await sleep(50);
    assert.match(answer, /^HTTP\/1\.1 200 /, 'served once a slot is free');
    for (const s of held) s.destroy();
    fourth.destroy();
    await sleep(200);
    assert.equal(await healthz(port), 200);
  } finally {
    await server.stop();
  }
});

test('limit options are range-checked', async () => {
  for (const [k, v] of [['max_header_bytes', 100], ['max_connections', 0], ['conn_timeout', 0]]) {
    await assert.rejects(startServer({ [k]: v }), new RegExp(`option ${k}: not a number in range`));
  }
});
