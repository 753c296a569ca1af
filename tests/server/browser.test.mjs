// browser.test.mjs: cookie mode in a real browser over plain HTTP on
// localhost. A small Node server serves a page and proxies /v1 and /oauth
// to tesserad (one origin, as in development behind a dev server); headless
// Chromium loads the page, whose script logs in with "mode":"cookie",
// calls the API with the cookies, refreshes with the CSRF token, logs out,
// and reports what it saw. This checks that the browser stores Secure and
// __Host- cookies from http://localhost (a secure context), keeps the
// HttpOnly ones from scripts, and sends each cookie only where its Path
// allows. scripts/install-deps.sh installs Debian's chromium; a machine
// without it fails this test rather than skipping it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, addUser } from './lib.mjs';

const PW = 'correct horse battery staple';
const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome']
  .find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);

// The page's script: each step records its observation in `out`.
const PAGE = `<!doctype html><title>t</title><script>
(async () => {
  const out = {};
  const csrfCookie = () => (document.cookie.split('; ').find((c) => c.startsWith('__Host-tessera-csrf=')) || '').split('=')[1] || null;
  try {
    let r = await fetch('/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'carol', password: ${JSON.stringify(PW)}, mode: 'cookie' }) });
    const body = await r.json();
    out.login = r.status;
    out.bodyHasTokens = 'access_token' in body || 'refresh_token' in body;
    out.cookieVisible = document.cookie;
    out.csrfMatches = csrfCookie() === body.csrf_token;
    out.verify = (await fetch('/v1/verify')).status;
    out.sessions = (await fetch('/v1/sessions')).status;
    const form = { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' };
    out.refreshNoCsrf = (await fetch('/oauth/token', form)).status;
    r = await fetch('/oauth/token', { ...form, headers: { ...form.headers, 'X-CSRF-Token': csrfCookie() } });
    out.refresh = r.status;
    out.verifyAfterRefresh = (await fetch('/v1/verify')).status;
    out.logoutNoCsrf = (await fetch('/v1/logout', { method: 'POST' })).status;
    out.logout = (await fetch('/v1/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrfCookie() } })).status;
    out.cookieAfterLogout = document.cookie;
    out.verifyAfterLogout = (await fetch('/v1/verify')).status;
  } catch (e) { out.error = String(e); }
  await fetch('/report', { method: 'POST', body: JSON.stringify(out) });
})();
</script>`;

// Runs the page against a fresh tesserad whose cookie_origins is the front
// server's origin; returns what the page reported and what the proxy saw.
async function browse(host) {
  let report;
  const seen = [];
  const done = new Promise((resolve) => { report = resolve; });
  let srv = null;
  const front = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(PAGE);
      return;
    }
    if (req.url === '/report') {
      let b = '';
      req.on('data', (d) => { b += d; });
      req.on('end', () => { res.end(); report(JSON.parse(b)); });
      return;
    }
    // What the browser sent where: the refresh cookie must reach only /oauth/token.
    seen.push({ path: req.url, cookie: req.headers.cookie ?? '' });
    const up = new URL(srv.url);
    const headers = { ...req.headers, host: up.host };
    const p = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers }, (u) => {
      res.writeHead(u.statusCode, u.rawHeaders);
      u.pipe(res);
    });
    req.pipe(p);
  });
  await new Promise((r) => front.listen(0, '127.0.0.1', r));
  const origin = `http://${host}:${front.address().port}`;
  const profile = mkdtempSync(join(tmpdir(), 'tesserad-chromium-'));
  let chrome = null;
  try {
    srv = await startServer({ cookie_origins: origin });
    addUser(srv, 'carol', PW);
    chrome = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
      `--user-data-dir=${profile}`, `${origin}/`], { stdio: 'ignore', detached: true });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no report from the browser')), 60000);
    });
    const out = await Promise.race([done, timeout]);
    clearTimeout(timer);
    return { origin, seen, out };
  } finally {
    if (chrome !== null) {
      try { process.kill(-chrome.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    front.close();
    await srv?.stop();
    rmSync(profile, { recursive: true, force: true });
  }
}

describe('cookie mode in headless Chromium over plain HTTP', () => {
  it('chromium is installed', () => {
    assert.ok(CHROMIUM, 'no chromium binary: run scripts/install-deps.sh');
  });
  for (const host of ['localhost', '127.0.0.1']) {
    it(`http://${host}: stores the Secure cookies, hides the HttpOnly ones, enforces CSRF`, async () => {
      const { out, seen, origin } = await browse(host);
      assert.equal(out.error, undefined, out.error);
      assert.equal(out.login, 200);
      assert.equal(out.bodyHasTokens, false);
      assert.match(out.cookieVisible, /^__Host-tessera-csrf=[A-Za-z0-9_-]{43}$/,
        'only the CSRF cookie is readable by scripts');
      assert.equal(out.csrfMatches, true);
      assert.equal(out.verify, 200, 'the __Host- Secure access cookie was stored and sent over http');
      assert.equal(out.sessions, 200);
      assert.equal(out.refreshNoCsrf, 403);
      assert.equal(out.refresh, 200, 'the refresh cookie (Path=/oauth/token) was sent');
      assert.equal(out.verifyAfterRefresh, 200);
      assert.equal(out.logoutNoCsrf, 403);
      assert.equal(out.logout, 200);
      assert.equal(out.cookieAfterLogout, '', 'logout cleared the cookies');
      assert.equal(out.verifyAfterLogout, 401);
      for (const x of seen) {
        assert.equal(x.cookie.includes('__Secure-tessera-refresh='), x.path === '/oauth/token',
          `${x.path} got cookies ${x.cookie.replace(/=[^;]+/g, '=...')}`);
      }
      console.log(`# ${origin}: Chromium stored and sent the __Host-/__Secure- cookies over plain HTTP`);
    });
  }
});
