// lib.mjs: starts the real tesserad on a free loopback port with a fresh
// temporary data directory, and helpers the integration tests share.
// The binary comes from $TESSERAD (set by test_server.sh).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const TESSERAD = process.env.TESSERAD;
if (!TESSERAD) throw new Error('set TESSERAD to the tesserad binary');

// Starts `tesserad serve --dev` on 127.0.0.1:0 and resolves once the ready
// line names the port. `options` become lines of a config file.
export async function startServer(options = {}, { args = [], env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tesserad-test-'));
  const cfg = join(dir, 'tesserad.conf');
  // Rate limits and lockout are off unless a test turns them on: most tests
  // log in many times from one address (ratelimit.test.mjs tests them).
  const lines = Object.entries({ argon2_m_kib: 19456, reload_ms: 200, rate_ip_burst: 0,
    rate_account_burst: 0, lockout_threshold: 0, ...options })
    .map(([k, v]) => `${k} = ${v}`);
  writeFileSync(cfg, `# written by the integration tests\n${lines.join('\n')}\n`);
  const proc = spawn(TESSERAD, ['serve', '--dev', '--data', join(dir, 'data'),
    '--listen', '127.0.0.1:0', '--config', cfg, ...args],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  // Up to 30 s: the first start generates the signing key (RSA-3072 can take
  // seconds on a loaded machine). On failure the child is killed and the
  // data removed, so a failed start never leaves a process behind.
  let started = false;
  const url = await new Promise((resolve, reject) => {
    const fail = (why) => {
      if (started) return;
      started = true;
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`${why}:\n${log}`));
    };
    const timer = setTimeout(() => fail('no ready line'), 30000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m && !started) { started = true; clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); fail(`exited ${code}`); });
  });
  const server = {
    url, dir, cfg, data: join(dir, 'data'), proc,
    get log() { return log; },
    // Runs an admin command on this server's store.
    cli(cmdArgs, input) {
      const r = spawnSync(TESSERAD, [...cmdArgs, '--data', join(dir, 'data'), '--config', cfg],
        { input: input ?? '', encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    // Stops by PID with SIGTERM, checks the clean exit, removes the data.
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null) {
        const exited = new Promise((res) => proc.once('exit', (code, sig) => res({ code, sig })));
        proc.kill('SIGTERM');
        const { code } = await exited;
        assert.equal(code, 0, `tesserad did not stop cleanly:\n${log}`);
      }
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export function addUser(server, name, password) {
  const r = server.cli(['user', 'add', name], `${password}\n`);
  assert.equal(r.status, 0, r.stderr);
}

export async function login(server, username, password) {
  const res = await fetch(`${server.url}/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

export async function loginOk(server, username, password) {
  const r = await login(server, username, password);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

export async function form(server, path, params, headers = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null };
}

export function refresh(server, refreshToken) {
  return form(server, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken });
}

export async function verify(server, token, method = 'GET') {
  const headers = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const res = await fetch(`${server.url}/v1/verify`, { method, headers });
  await res.arrayBuffer();
  return res;
}

export function decodeJwt(token) {
  const [h, p] = token.split('.');
  const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: dec(h), payload: dec(p) };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` until it returns true (the service reloads every reload_ms).
export async function eventually(fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(50);
  }
}
