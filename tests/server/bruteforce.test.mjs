// bruteforce.test.mjs: defences against password guessing and login floods:
// no user enumeration by timing or message, bounded argon2id concurrency
// (memory stays flat, /healthz answers during a flood), token-bucket rate
// limits per address and per account with recovery, lockout with
// exponential backoff, and X-Forwarded-For believed only from a trusted
// proxy. Windows are configured small so the tests are fast.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, addUser, login, loginOk, refresh, sleep } from './lib.mjs';

const PW = 'correct horse battery staple';

async function tryLogin(srv, username, password, headers = {}) {
  const res = await fetch(`${srv.url}/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

function vmHwmKiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

async function metric(srv, name) {
  const res = await fetch(`${srv.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  assert.ok(line !== undefined, `metric ${name} missing`);
  return Number(line.split(' ').pop());
}

function assertRateLimited(r) {
  assert.equal(r.status, 429, JSON.stringify(r.body));
  const after = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(after) && after >= 1, `Retry-After ${r.headers.get('retry-after')}`);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(typeof r.body.error, 'string', 'RFC 6749 5.2 error body');
  assert.equal(typeof r.body.error_description, 'string');
}

// The limit tests need no real hashing cost: cheap argon2id keeps each
// login far shorter than the refill intervals they measure.
const CHEAP = { argon2_m_kib: 64, argon2_t: 1 };

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

describe('no user enumeration', () => {
  let srv;
  before(async () => { srv = await startServer(); addUser(srv, 'alice', PW); });
  after(async () => { await srv?.stop(); });

  it('unknown user and wrong password get the same answer', async () => {
    const a = await tryLogin(srv, 'alice', 'wrong password');
    const b = await tryLogin(srv, 'nobody-here', 'wrong password');
    assert.equal(a.status, 400);
    assert.deepEqual(a.body, b.body);
    assert.equal(a.status, b.status);
  });

  it('unknown user and wrong password take the same time (median ratio)', async () => {
    const known = [], unknown = [];
    await tryLogin(srv, 'alice', 'warm up');
    // Interleaved so that machine load drifts affect both series alike.
    for (let i = 0; i < 25; i++) {
      for (const [name, out] of [['alice', known], [`ghost${i}`, unknown]]) {
        const t0 = process.hrtime.bigint();
        const r = await tryLogin(srv, name, `wrong ${i}`);
        out.push(Number(process.hrtime.bigint() - t0) / 1e6);
        assert.equal(r.status, 400);
      }
    }
    const ratio = median(unknown) / median(known);
    // Without the dummy hash an unknown user costs well under a tenth of a
    // known one (no argon2id run at all).
    assert.ok(ratio > 0.75 && ratio < 1.33,
      `median unknown ${median(unknown).toFixed(1)} ms vs known ${median(known).toFixed(1)} ms`);
  });
});

describe('login flood', () => {
  let srv;
  const CONC = 2;
  const M_KIB = 19456;
  before(async () => {
    // 16 workers could run 16 hashes at once (16 x 19 MiB); the semaphore
    // must hold it at argon2_concurrency. ASan's quarantine would keep
    // freed argon2 blocks resident, so it is turned off for this server.
    srv = await startServer({ workers: 16, argon2_concurrency: CONC, argon2_m_kib: M_KIB },
      { env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:quarantine_size_mb=0` } });
    addUser(srv, 'alice', PW);
  });
  after(async () => { await srv?.stop(); });

  it('200 concurrent logins leave RSS bounded and /healthz answering', async () => {
    await tryLogin(srv, 'alice', 'warm up');
    await tryLogin(srv, 'alice', 'warm up');
    const base = vmHwmKiB(srv.proc.pid);
    let pending = 200;
    const t0 = Date.now();
    const flood = Array.from({ length: 200 }, (_, i) =>
      tryLogin(srv, i % 2 ? 'alice' : `ghost${i}`, `guess ${i}`)
        .catch((e) => ({ status: e.message })).finally(() => { pending--; }));
    await sleep(300);
    const h0 = Date.now();
    const h = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(120000) });
    assert.equal(h.status, 200);
    const healthMs = Date.now() - h0;
    const pendingAtHealth = pending;
    const results = await Promise.all(flood);
    const floodMs = Date.now() - t0;
    // The hashes queue, so the flood lasts about 200 hashes / CONC; the
    // health check must not wait for it to drain.
    assert.ok(pendingAtHealth > 0, `/healthz took ${healthMs} ms, after the whole flood (${floodMs} ms)`);
    const statuses = new Set(results.map((r) => r.status));
    assert.deepEqual([...statuses], [400], 'every login was answered');
    const growthMiB = (vmHwmKiB(srv.proc.pid) - base) / 1024;
    const bound = (CONC + 2) * (M_KIB / 1024) + 32;
    console.log(`# flood: VmHWM growth ${growthMiB.toFixed(1)} MiB (bound ${bound.toFixed(0)}), ` +
      `/healthz in ${healthMs} ms with ${pendingAtHealth} logins pending; flood ${floodMs} ms`);
    assert.ok(growthMiB < bound, `VmHWM grew by ${growthMiB.toFixed(1)} MiB`);
  });
});

describe('shutdown during a login flood', () => {
  it('SIGTERM exits cleanly at once; queued logins get 503, none hangs', async () => {
    const srv = await startServer({ argon2_concurrency: 1 });
    try {
      addUser(srv, 'alice', PW);
      const flood = Array.from({ length: 100 }, (_, i) =>
        tryLogin(srv, 'alice', `guess ${i}`).then((r) => r.status, () => 'closed'));
      await sleep(500);
      const t0 = Date.now();
      const exited = new Promise((res) => srv.proc.once('exit', (code) => res(code)));
      srv.proc.kill('SIGTERM');
      assert.equal(await exited, 0);
      // 100 queued hashes would take about 100 x 100 ms; the queue is dropped.
      assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
      const statuses = await Promise.all(flood);
      // The one login whose hash was running when SIGTERM came is finished,
      // but its connection can be closed by the daemon's stop before the
      // answer is written: at most argon2_concurrency (1) such closes.
      assert.ok(statuses.filter((s) => s === 'closed').length <= 1, JSON.stringify(statuses));
      assert.ok(statuses.every((s) => s === 400 || s === 503 || s === 'closed'),
        JSON.stringify(statuses));
      assert.ok(statuses.filter((s) => s === 503).length > 50, 'the queue was answered 503');
    } finally { await srv.stop(); }
  });
});

describe('rate limits', () => {
  let srv;
  before(async () => {
    srv = await startServer({ ...CHEAP, rate_ip_burst: 3, rate_ip_refill_ms: 1000 });
    addUser(srv, 'alice', PW);
  });
  after(async () => { await srv?.stop(); });

  it('per address: the burst passes, the next gets 429, and it recovers', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await tryLogin(srv, 'alice', 'x')).status, 400);
    const r = await tryLogin(srv, 'alice', PW);
    assertRateLimited(r);
    assert.equal(r.body.error, 'temporarily_unavailable');
    assertRateLimited(await tryLogin(srv, 'someone-else', PW));
    await sleep(1100);
    assert.equal((await tryLogin(srv, 'alice', PW)).status, 200, 'one request regained');
    assertRateLimited(await tryLogin(srv, 'alice', PW));
    assert.match(srv.log, /"event":"rate_limited"/);
    const n = await metric(srv, 'tesserad_rate_limited_total{scope="address"}');
    assert.ok(n >= 3, `metric ${n}`);
  });

  it('applies to /oauth/token too', async () => {
    await sleep(1100); // one login regained
    const t = await loginOk(srv, 'alice', PW);
    let rt = t.refresh_token;
    // the token endpoint has its own buckets: the login did not use them
    for (let i = 0; i < 3; i++) {
      const r = await refresh(srv, rt);
      assert.equal(r.status, 200, r.text);
      rt = r.body.refresh_token;
    }
    const r = await refresh(srv, rt);
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(r.body.error, 'temporarily_unavailable');
    await sleep(1100);
    assert.equal((await refresh(srv, rt)).status, 200, 'the refused token was not consumed');
  });
});

describe('per-account rate limit', () => {
  let srv;
  before(async () => {
    srv = await startServer({ ...CHEAP, rate_account_burst: 2, rate_account_refill_ms: 1000 });
    addUser(srv, 'alice', PW);
    addUser(srv, 'bob', PW);
  });
  after(async () => { await srv?.stop(); });

  it('limits one account without touching another, and recovers', async () => {
    assert.equal((await tryLogin(srv, 'alice', 'x')).status, 400);
    assert.equal((await tryLogin(srv, 'alice', 'y')).status, 400);
    assertRateLimited(await tryLogin(srv, 'alice', PW));
    assert.equal((await tryLogin(srv, 'bob', PW)).status, 200);
    // an unknown name is limited the same way (no enumeration)
    assert.equal((await tryLogin(srv, 'ghost', 'x')).status, 400);
    assert.equal((await tryLogin(srv, 'ghost', 'x')).status, 400);
    assertRateLimited(await tryLogin(srv, 'ghost', 'x'));
    await sleep(1100);
    assert.equal((await tryLogin(srv, 'alice', PW)).status, 200);
    const n = await metric(srv, 'tesserad_rate_limited_total{scope="account"}');
    assert.ok(n >= 2, `metric ${n}`);
    assert.equal(await metric(srv, 'tesserad_rate_limited_total{scope="address"}'), 0);
  });
});

describe('lockout', () => {
  let srv;
  before(async () => {
    srv = await startServer({ ...CHEAP, lockout_threshold: 3, lockout_base_ms: 600,
      lockout_max_ms: 1200 });
    addUser(srv, 'alice', PW);
  });
  after(async () => { await srv?.stop(); });

  it('locks after the threshold, doubles per failure up to the cap, and a success resets', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await tryLogin(srv, 'alice', `bad ${i}`)).status, 400);
    let t0 = Date.now();
    const locked = await tryLogin(srv, 'alice', PW);
    assertRateLimited(locked);
    assert.match(locked.body.error_description, /failed logins/);
    // first lock: 600 ms
    await sleep(650 - (Date.now() - t0));
    assert.equal((await tryLogin(srv, 'alice', 'bad 3')).status, 400, 'unlocked; fails again');
    // second lock: 1200 ms (doubled); still locked after 700 ms
    t0 = Date.now();
    await sleep(700);
    assertRateLimited(await tryLogin(srv, 'alice', PW));
    await sleep(1250 - (Date.now() - t0));
    assert.equal((await tryLogin(srv, 'alice', 'bad 4')).status, 400);
    // third: capped at 1200 ms, not 2400
    t0 = Date.now();
    assertRateLimited(await tryLogin(srv, 'alice', PW));
    await sleep(1250 - (Date.now() - t0));
    assert.equal((await tryLogin(srv, 'alice', PW)).status, 200, 'the cap held');
    // the success cleared the count: one failure does not lock
    assert.equal((await tryLogin(srv, 'alice', 'bad 5')).status, 400);
    assert.equal((await tryLogin(srv, 'alice', PW)).status, 200);
    assert.match(srv.log, /"event":"lockout"/);
    const n = await metric(srv, 'tesserad_lockouts_total');
    assert.equal(n, 3, 'three locks so far');
  });

  it('an unknown name locks exactly like a real one', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await tryLogin(srv, 'ghost', `bad ${i}`)).status, 400);
    const a = await tryLogin(srv, 'ghost', PW);
    assertRateLimited(a);
    assert.match(a.body.error_description, /failed logins/);
  });
});

describe('client address', () => {
  it('X-Forwarded-For is ignored unless the peer is a trusted proxy', async () => {
    const srv = await startServer({ ...CHEAP, rate_ip_burst: 2, rate_ip_refill_ms: 60000 });
    try {
      addUser(srv, 'alice', PW);
      assert.equal((await tryLogin(srv, 'alice', 'x', { 'X-Forwarded-For': '10.0.0.1' })).status, 400);
      assert.equal((await tryLogin(srv, 'alice', 'x', { 'X-Forwarded-For': '10.0.0.2' })).status, 400);
      assertRateLimited(await tryLogin(srv, 'alice', 'x', { 'X-Forwarded-For': '10.0.0.3' }));
      assertRateLimited(await tryLogin(srv, 'alice', 'x'));
    } finally { await srv.stop(); }
  });

  it('from a trusted proxy, the rightmost untrusted X-Forwarded-For entry is the client', async () => {
    const srv = await startServer({ ...CHEAP, rate_ip_burst: 2, rate_ip_refill_ms: 60000,
      trusted_proxies: '127.0.0.0/8, 192.0.2.7' });
    try {
      addUser(srv, 'alice', PW);
      const as = (xff) => tryLogin(srv, 'alice', 'x', { 'X-Forwarded-For': xff });
      assert.equal((await as('10.0.0.1')).status, 400);
      assert.equal((await as('10.0.0.1')).status, 400);
      assertRateLimited(await as('10.0.0.1'));
      assert.equal((await as('10.0.0.2')).status, 400, 'another client, another bucket');
      // The client can write anything left of the proxies' entries.
      assertRateLimited(await as('203.0.113.9, 10.0.0.1'));
      // A second trusted hop is skipped.
      assertRateLimited(await as('10.0.0.1, 192.0.2.7'));
      assert.equal((await as('10.0.0.1, 10.0.0.3')).status, 400, '10.0.0.3 is the client');
      // The socket address is used when there is no header.
      assert.equal((await tryLogin(srv, 'alice', 'x')).status, 400);
      assert.match(srv.log, /"client":"10\.0\.0\.1"/);
    } finally { await srv.stop(); }
  });

  it('refuses a malformed trusted_proxies entry at start-up', async () => {
    await assert.rejects(startServer({ trusted_proxies: '10.0.0.0/33' }), /trusted_proxies/);
  });
});

// login() from lib.mjs is the plain form; keep the import used.
void login;
