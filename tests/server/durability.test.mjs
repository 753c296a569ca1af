// durability.test.mjs: kill -9 under load loses nothing acknowledged.
// Clients log in, refresh, log out and revoke while the CLI rotates keys;
// at a random moment the service gets SIGKILL, restarts on the same data
// directory, and every operation that got its 200/204 before the kill must
// still hold: live sessions verify and refresh (the last acknowledged
// refresh token, or its immediate predecessor within the grace window when
// an unacknowledged rotation committed), logged-out or revoked sessions
// stay dead, and every rotated key is still published. Two rounds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { startServer, addUser, refresh, verify, decodeJwt, sleep, TESSERAD } from './lib.mjs';

const PW = 'correct horse battery staple';
const USERS = ['u0', 'u1', 'u2', 'u3'];
const run = promisify(execFile);

// Starts tesserad again on an existing data directory; resolves with its url.
function restart(srv) {
  const proc = spawn(TESSERAD, ['serve', '--dev', '--data', srv.data, '--listen', '127.0.0.1:0',
    '--config', srv.cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no ready line:\n${log}`)); }, 30000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve({ url: m[1], proc, get log() { return log; } }); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${log}`)); });
  });
}

async function post(url, path, init) {
  const res = await fetch(`${url}${path}`, { method: 'POST', ...init });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// One round of load against `target` until `until` resolves.
async function load(target, state, stopped) {
  const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
  const idle = () => state.sessions.filter((s) => s.status === 'live' && !s.busy);
  async function step() {
    const op = Math.random();
    if (op < 0.35 || idle().length === 0) {
      const username = pick(USERS);
      const r = await post(target.url, '/v1/login', { headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password: PW }) });
      if (r.status === 200) {
        state.sessions.push({ status: 'live', access: r.body.access_token, refresh: r.body.refresh_token,
          sid: decodeJwt(r.body.access_token).payload.sid });
        state.acked.login++;
      }
      return;
    }
    const s = pick(idle());
    s.busy = true;
    if (op < 0.75) {
      s.inflight = 'refresh';
      const r = await refresh(target, s.refresh);
      if (r.status === 200) {
        s.refresh = r.body.refresh_token;
        s.access = r.body.access_token;
        s.inflight = null;
        state.acked.refresh++;
      }
    } else if (op < 0.88) {
      s.inflight = 'logout';
      const r = await post(target.url, '/v1/logout', { headers: { Authorization: `Bearer ${s.access}` } });
      if (r.status === 204) { s.status = 'revoked'; s.inflight = null; state.acked.logout++; }
    } else {
      s.inflight = 'revoke';
      const r = await post(target.url, '/oauth/revoke', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: s.refresh }).toString() });
      if (r.status === 200) { s.status = 'revoked'; s.inflight = null; state.acked.revoke++; }
    }
    s.busy = s.inflight !== null; // an unanswered request leaves it uncertain
  }
  async function client() {
    while (!stopped.done) await step().catch(() => {});
  }
  async function rotator() {
    while (!stopped.done) {
      try {
        const { stdout } = await run(TESSERAD, ['keys', 'rotate', '--now', '--data', state.data,
          '--config', state.cfg]);
        const m = /new key (\S+)/.exec(stdout);
        if (m) state.kids.push(m[1]);
      } catch { /* not acknowledged */ }
      await sleep(150);
    }
  }
  await Promise.all([...Array.from({ length: 6 }, client), rotator()]);
}

async function check(target, state) {
  const jwks = await (await fetch(`${target.url}/.well-known/jwks.json`)).json();
  const published = new Set(jwks.keys.map((k) => k.kid));
  for (const kid of state.kids) assert.ok(published.has(kid), `rotated key ${kid} lost`);
  let live = 0, dead = 0;
  for (const s of state.sessions) {
    if (s.inflight !== null && s.inflight !== undefined && s.inflight !== 'refresh') continue; // uncertain
    if (s.status === 'live') {
      const v = await verify(target, s.access);
      assert.equal(v.status, 200, `session ${s.sid} (${s.inflight}): access token of kid ` +
        `${decodeJwt(s.access).header.kid} (published ${published.has(decodeJwt(s.access).header.kid)}, ` +
        `${published.size} keys, ${JSON.stringify(decodeJwt(s.access).payload)}, now ${Date.now() / 1000}): ` +
        `${v.headers.get('www-authenticate')}`);
      const r = await refresh(target, s.refresh);
      assert.equal(r.status, 200, `session ${s.sid}: refresh ${r.text}`);
      s.refresh = r.body.refresh_token;
      s.access = r.body.access_token;
      s.inflight = null;
      s.busy = false;
      live++;
    } else {
      assert.equal((await verify(target, s.access)).status, 401, `session ${s.sid} came back`);
      assert.equal((await refresh(target, s.refresh)).status, 400, `session ${s.sid} refreshes`);
      dead++;
    }
  }
  return { live, dead };
}

describe('durability', () => {
  it('kill -9 at a random moment under load loses nothing acknowledged (two rounds)', async () => {
    // A fixed issuer: the default names the listening port, which a restart
    // on port 0 changes.
    const srv = await startServer({ issuer: 'https://tesserad.test', argon2_m_kib: 1024, argon2_t: 1, refresh_grace: 120,
      reload_ms: 100, key_retire_margin: 3600 });
    let target = srv;
    try {
      for (const u of USERS) addUser(srv, u, PW);
      const state = { sessions: [], kids: [], data: srv.data, cfg: srv.cfg,
        acked: { login: 0, refresh: 0, logout: 0, revoke: 0 } };
      for (let round = 0; round < 2; round++) {
        const stopped = { done: false };
        const running = load(target, state, stopped);
        await sleep(800 + Math.random() * 1700);
        target.proc.kill('SIGKILL');
        stopped.done = true;
        await running;
        target = await restart(srv);
        const { live, dead } = await check(target, state);
        console.log(`# round ${round}: acknowledged ${JSON.stringify(state.acked)}, ` +
          `${state.kids.length} rotations; checked ${live} live and ${dead} ended sessions`);
      }
      assert.ok(state.acked.login >= 5 && state.acked.refresh >= 5, 'the load ran');
      assert.ok(state.acked.logout + state.acked.revoke >= 2, 'some sessions were ended');
      assert.ok(state.kids.length >= 2, 'keys were rotated');
    } finally {
      if (target.proc.exitCode === null) {
        const exited = new Promise((res) => target.proc.once('exit', res));
        target.proc.kill('SIGTERM');
        await exited;
      }
      rmSync(srv.dir, { recursive: true, force: true });
    }
  });
});
