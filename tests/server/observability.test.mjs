// observability.test.mjs: the audit log (JSON lines, every security event,
// never a secret) and GET /metrics (Prometheus text format, counters that
// move) of the real tesserad.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import {
  startServer, addUser, login, loginOk, form, refresh, verify, decodeJwt, eventually,
} from './lib.mjs';

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

// The audit file as parsed JSON lines; every line must be one JSON object.
function auditLines(path) {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'audit log ends with a newline');
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const o = JSON.parse(l);
    assert.equal(typeof o, 'object');
    assert.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof o.event, 'string');
    return o;
  });
}

const find = (lines, pred) => lines.find(pred);

async function metrics(server) {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return res.text();
}

// Parses the exposition strictly: # HELP / # TYPE lines, then samples
// `name{label="v",...} value`. Returns Map "name{labels}" -> number.
function parseMetrics(text) {
  const samples = new Map();
  const types = new Map();
  assert.ok(text.endsWith('\n'));
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('# HELP ')) continue;
    const t = /^# TYPE ([a-z_:][a-z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (t) { types.set(t[1], t[2]); continue; }
    const m = /^([a-z_:][a-z0-9_:]*)(\{(?:[a-z_]+="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
    const v = Number(m[3]);
    assert.ok(Number.isFinite(v) && v >= 0, line);
    const base = m[1].replace(/_(bucket|sum|count|total)$/, '');
    assert.ok(types.has(m[1]) || types.has(base), `no # TYPE for ${m[1]}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, v);
  }
  return samples;
}

const ALG_NONE = (payload) => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`;

test('an audit log that cannot be opened stops the start (config and --audit-log)', async () => {
  await assert.rejects(startServer({ audit_log: '/nonexistent-dir/audit.log' }),
    /cannot open audit log \/nonexistent-dir\/audit\.log/);
  await assert.rejects(startServer({}, { args: ['--audit-log', '/nonexistent-dir/flag.log'] }),
    /cannot open audit log \/nonexistent-dir\/flag\.log/);
});

test('audit log: every event as a JSON line, no secret in any log', async () => {
  // The flag for the service, and the same file in the config for the
  // admin commands (they read the config, not the service's flags).
  const auditDir = mkdtempSync(join(tmpdir(), 'tesserad-audit-'));
  const auditPath = join(auditDir, 'audit.log');
  const srv = await startServer({
    refresh_grace: 0, lockout_threshold: 3, lockout_base_ms: 60000, rate_ip_burst: 40,
    rate_ip_refill_ms: 600000, rate_account_burst: 100, audit_log: auditPath,
  }, { args: ['--audit-log', auditPath] });
  const cliOut = [];
  const cli = (args, input) => {
    const r = srv.cli(args, input);
    cliOut.push(r.stdout, r.stderr);
    return r;
  };
  try {
    const pw = 'audit-test-password-123';
    const pw2 = 'second-user-password-456';
    assert.equal(cli(['user', 'add', 'alice'], `${pw}\n`).status, 0);
    assert.equal(cli(['user', 'add', 'bob'], `${pw2}\n`).status, 0);
    const secrets = [pw, pw2, 'wrong-password-xyz'];

    // login ok / failed
    const t1 = await loginOk(srv, 'alice', pw);
    secrets.push(t1.access_token, t1.refresh_token);
    assert.equal((await login(srv, 'alice', 'wrong-password-xyz')).status, 400);
    // refresh, then a reuse of the used refresh token (grace off)
    const r2 = await refresh(srv, t1.refresh_token);
    assert.equal(r2.status, 200);
    secrets.push(r2.body.access_token, r2.body.refresh_token);
    assert.equal((await refresh(srv, t1.refresh_token)).status, 400);
    // revoke and logout
    const t3 = await loginOk(srv, 'alice', pw);
    secrets.push(t3.access_token, t3.refresh_token);
    assert.equal((await form(srv, '/oauth/revoke', { token: t3.refresh_token })).status, 200);
    const t4 = await loginOk(srv, 'alice', pw);
    secrets.push(t4.access_token, t4.refresh_token);
    const lo = await fetch(`${srv.url}/v1/logout`, {
      method: 'POST', headers: { Authorization: `Bearer ${t4.access_token}` },
    });
    assert.equal(lo.status, 204);
    // key rotation through the admin command
    assert.equal(cli(['keys', 'rotate', '--now']).status, 0, cliOut.join(''));
    // rejected tokens: alg none, HS256 signed with the public JWK (the
    // classic confusion), a tampered signature, and a revoked token
    const t5 = await loginOk(srv, 'alice', pw);
    secrets.push(t5.access_token, t5.refresh_token);
    const { header, payload } = decodeJwt(t5.access_token);
    const none = ALG_NONE(payload);
    const jwks = await (await fetch(`${srv.url}/.well-known/jwks.json`)).json();
    const hsInput = `${b64({ alg: 'HS256', kid: header.kid, typ: 'at+jwt' })}.${b64(payload)}`;
    const hs = `${hsInput}.${createHmac('sha256', JSON.stringify(jwks.keys[0])).update(hsInput).digest('base64url')}`;
    const parts = t5.access_token.split('.');
    const tampered = `${parts[0]}.${parts[1]}.${parts[2].slice(0, -4)}AAAA`;
    secrets.push(none, hs, tampered, hs.split('.')[2], parts[2]);
    for (const tok of [none, hs, tampered, t4.access_token]) {
      assert.equal((await verify(srv, tok)).status, 401);
    }
    // lockout: three failures for bob
    for (let i = 0; i < 3; i++) await login(srv, 'bob', 'wrong-password-xyz');
    // rate limit: the address bucket (40 per 10 minutes) runs out; a new
    // name each time, so that no account lockout answers first
    let limited = false;
    for (let i = 0; i < 60 && !limited; i++) {
      limited = (await login(srv, `nobody${i}`, 'wrong-password-xyz')).status === 429;
    }
    assert.ok(limited, 'the login flood was rate limited');

    await eventually(() => auditLines(auditPath).some((l) => l.event === 'rate_limited'));
    const lines = auditLines(auditPath);
    const ev = (name) => lines.filter((l) => l.event === name);
    const sub = payload.sub;

    const ok = find(lines, (l) => l.event === 'login' && l.outcome === 'ok');
    assert.ok(ok, 'login ok');
    assert.equal(ok.user, sub);
    assert.equal(ok.client, '127.0.0.1');
    assert.match(ok.session_id, /^[A-Za-z0-9_-]{10,}$/);
    const failed = ev('login_failed');
    assert.ok(failed.length >= 1 && failed.every((l) => l.outcome === 'failure'), 'login failed');
    assert.equal(failed[0].client, '127.0.0.1');
    assert.equal(failed[0].reason, 'bad_password');
    assert.equal(failed[0].user, sub);
    assert.ok(failed.some((l) => l.reason === 'unknown_user' && l.user === undefined));
    assert.ok(ev('refresh').some((l) => l.outcome === 'ok' && l.session_id), 'refresh');
    const reuse = ev('refresh_reuse');
    assert.equal(reuse.length, 1, 'reuse detected once');
    assert.equal(reuse[0].outcome, 'detected');
    assert.equal(reuse[0].session_id, decodeJwt(t1.access_token).payload.sid);
    assert.ok(ev('session_revoked').some((l) => l.reason === 'revoked' &&
      l.session_id === decodeJwt(t3.access_token).payload.sid), 'revoke ends the session');
    assert.ok(ev('session_revoked').some((l) => l.reason === 'logout' &&
      l.session_id === decodeJwt(t4.access_token).payload.sid), 'logout ends the session');
    assert.ok(ev('access_revoked').some((l) => l.jti === decodeJwt(t4.access_token).payload.jti),
      'logout denylists the access token');
    assert.ok(ev('logout').some((l) => l.outcome === 'ok' &&
      l.session_id === decodeJwt(t4.access_token).payload.sid), 'logout');
    const created = ev('key_created');
    assert.ok(created.length >= 2, 'first key and the rotation');
    for (const k of created) {
      assert.match(k.kid, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(k.alg, 'ES256');
    }
    const rejected = ev('token_rejected');
    assert.ok(rejected.every((l) => l.outcome === 'rejected' && l.client === '127.0.0.1'));
    const byAlg = (alg) => rejected.filter((l) => l.alg === alg);
    assert.equal(byAlg('none').length, 1, 'alg none rejected');
    assert.equal(byAlg('none')[0].reason, 'alg_not_allowed');
    assert.equal(byAlg('HS256').length, 1, 'HS256 confusion rejected');
    assert.equal(byAlg('HS256')[0].reason, 'alg_not_allowed');
    assert.equal(byAlg('HS256')[0].kid, header.kid);
    assert.equal(byAlg('ES256').length, 2, 'the tampered and the revoked token');
    assert.ok(byAlg('ES256').some((l) => l.reason === 'bad_signature'), 'tampered');
    assert.ok(rejected.some((l) => l.alg === 'ES256' && l.reason === 'token_revoked'),
      'the access token presented at logout');
    const lock = ev('lockout');
    assert.equal(lock.length, 1, 'one lockout');
    assert.equal(lock[0].client, '127.0.0.1');
    const rl = ev('rate_limited');
    assert.ok(rl.length >= 1);
    assert.equal(rl[0].client, '127.0.0.1');
    assert.equal(rl[0].outcome, 'refused');

    // No secret anywhere: the audit file, the service's stderr, the admin
    // commands' output, and every other file in the data directory that is
    // a log.
    const masterKey = readFileSync(join(srv.data, 'master.key'), 'utf8').trim();
    assert.ok(masterKey.length >= 43);
    secrets.push(masterKey);
    const logs = {
      audit: readFileSync(auditPath, 'utf8'), stderr: srv.log, cli: cliOut.join('\n'),
    };
    for (const [name, text] of Object.entries(logs)) {
      for (const sec of secrets) {
        assert.ok(!text.includes(sec), `${name} contains a secret (${sec.slice(0, 6)}...)`);
      }
      assert.ok(!/Bearer\s+ey/i.test(text), `${name} contains an Authorization header`);
      assert.ok(!/eyJ[A-Za-z0-9_-]+\.eyJ/.test(text), `${name} contains something like a JWT`);
    }
  } finally {
    await srv.stop();
    rmSync(auditDir, { recursive: true, force: true });
  }
});

test('metrics: Prometheus format, and the counters move', async () => {
  const server = await startServer();
  try {
    addUser(server, 'carol', 'metrics-password-1');
    const m0 = parseMetrics(await metrics(server));
    const at = await loginOk(server, 'carol', 'metrics-password-1');
    assert.equal((await login(server, 'carol', 'nope-nope-nope')).status, 400);
    for (let i = 0; i < 3; i++) assert.equal((await verify(server, at.access_token)).status, 200);
    assert.equal((await verify(server, 'abc.def.ghi')).status, 401);
    assert.equal((await verify(server)).status, 401);
    const { payload } = decodeJwt(at.access_token);
    assert.equal((await verify(server, ALG_NONE(payload))).status, 401);
    const r = await refresh(server, at.refresh_token);
    assert.equal(r.status, 200);
    assert.equal((await refresh(server, at.refresh_token)).status, 200); // grace replay
    const big = await fetch(`${server.url}/v1/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'x'.repeat(20000),
    });
    assert.equal(big.status, 413);
    const text = await metrics(server);
    const m1 = parseMetrics(text);
    const d = (k) => (m1.get(k) ?? NaN) - (m0.get(k) ?? 0);
    assert.equal(d('tesserad_tokens_issued_total'), 2);
    assert.equal(d('tesserad_logins_total{outcome="ok"}'), 1);
    assert.equal(d('tesserad_logins_total{outcome="failure"}'), 1);
    assert.equal(d('tesserad_refreshes_total'), 1);
    assert.equal(d('tesserad_verifications_total{result="ok",reason=""}'), 3);
    assert.equal(d('tesserad_verifications_total{result="rejected",reason="missing_token"}'), 1);
    const rejectedTotal = [...m1.keys()]
      .filter((k) => k.startsWith('tesserad_verifications_total{result="rejected"'))
      .reduce((n, k) => n + d(k), 0);
    assert.equal(rejectedTotal, 3);
    assert.equal(d('tesserad_http_body_too_large_total'), 1);
    assert.ok(m1.has('tesserad_refresh_reuse_total'));
    assert.ok(m1.has('tesserad_lockouts_total'));
    assert.ok(m1.has('tesserad_rate_limited_total{scope="address"}'));
    assert.ok(m1.has('tesserad_rate_limited_total{scope="account"}'));
    // The verify histogram: 6 requests, cumulative buckets, +Inf == count.
    const h = 'tesserad_http_request_duration_seconds';
    const ep = 'endpoint="/v1/verify"';
    assert.equal(d(`${h}_count{${ep}}`), 6);
    let prev = 0;
    for (const le of ['0.0001', '0.001', '0.01', '0.1', '1', '2.5', '+Inf']) {
      const v = m1.get(`${h}_bucket{${ep},le="${le}"}`);
      assert.ok(v >= prev, `bucket ${le} is cumulative`);
      prev = v;
    }
    assert.equal(prev, m1.get(`${h}_count{${ep}}`));
    assert.ok(m1.get(`${h}_sum{${ep}}`) > 0);
    assert.ok(m1.has(`${h}_count{endpoint="/v1/login"}`));
    assert.match(text, /# TYPE tesserad_http_request_duration_seconds histogram/);
    // no ids or tokens in the metrics
    assert.ok(!text.includes(payload.sub) && !text.includes(payload.sid));
  } finally {
    await server.stop();
  }
});

// The verifier's own reason codes (alg_not_allowed for `none` and for an
// HMAC-signed token under an EC key, bad_signature, malformed) reach the
// audit log and the metrics through audit_note_verify_error() in
// access_verify.
test('verifier reason codes in the audit log and metrics', async () => {
  const auditDir = mkdtempSync(join(tmpdir(), 'tesserad-audit-'));
  const auditPath = join(auditDir, 'audit.log');
  const server = await startServer({ audit_log: auditPath });
  try {
    addUser(server, 'dave', 'reason-password-1');
    const at = await loginOk(server, 'dave', 'reason-password-1');
    const { header, payload } = decodeJwt(at.access_token);
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const hsInput = `${b64({ alg: 'HS256', kid: header.kid, typ: 'at+jwt' })}.${b64(payload)}`;
    const hs = `${hsInput}.${createHmac('sha256', JSON.stringify(jwks.keys[0])).update(hsInput).digest('base64url')}`;
    const parts = at.access_token.split('.');
    const tampered = `${parts[0]}.${parts[1]}.${parts[2].slice(0, -4)}AAAA`;
    const m0 = parseMetrics(await metrics(server));
    for (const tok of [ALG_NONE(payload), hs, tampered, 'abc.def.ghi']) {
      assert.equal((await verify(server, tok)).status, 401);
    }
    const m1 = parseMetrics(await metrics(server));
    const d = (r) => {
      const k = `tesserad_verifications_total{result="rejected",reason="${r}"}`;
      return m1.get(k) - (m0.get(k) ?? 0);
    };
    assert.equal(d('alg_not_allowed'), 2);
    assert.equal(d('bad_signature'), 1);
    assert.equal(d('malformed'), 1);
    const rejected = auditLines(auditPath).filter((l) => l.event === 'token_rejected');
    assert.deepEqual(rejected.map((l) => [l.alg ?? '', l.reason]),
      [['none', 'alg_not_allowed'], ['HS256', 'alg_not_allowed'], ['ES256', 'bad_signature'],
        ['', 'malformed']]);
  } finally {
    await server.stop();
    rmSync(auditDir, { recursive: true, force: true });
  }
});
