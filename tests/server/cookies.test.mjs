// cookies.test.mjs: cookie mode of /v1/login for browsers: cookie
// attributes, which endpoints accept the cookies, and the CSRF defences
// (Origin allowlist + double-submit token bound to the session) on every
// cookie-authenticated state change. Negative cases first.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser, loginOk } from './lib.mjs';

const PW = 'correct horse battery staple';
const ACCESS = '__Host-tessera-access';
const REFRESH = '__Secure-tessera-refresh';
const CSRF = '__Host-tessera-csrf';

// Parses Set-Cookie lines into { name: { value, attrs: Map(lowercase name -> value) } }.
function cookiesOf(res) {
  const out = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const m = new Map(attrs.map((a) => {
      const i = a.indexOf('=');
      return i < 0 ? [a.toLowerCase(), true] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
    }));
    out[pair.slice(0, eq)] = { value: pair.slice(eq + 1), attrs: m, line };
  }
  return out;
}

async function cookieLogin(srv, origin, username = 'carol') {
  const headers = { 'Content-Type': 'application/json' };
  if (origin !== undefined) headers.Origin = origin;
  const res = await fetch(`${srv.url}/v1/login`, {
    method: 'POST', headers, body: JSON.stringify({ username, password: PW, mode: 'cookie' }),
  });
  return { res, body: await res.json(), cookies: cookiesOf(res) };
}

function jar(c) {
  return Object.entries(c).filter(([, v]) => v.value !== '').map(([k, v]) => `${k}=${v.value}`).join('; ');
}

async function call(srv, method, path, { cookie, csrf, origin, body, ctype } = {}) {
  const headers = {};
  if (cookie) headers.Cookie = cookie;
  if (csrf) headers['X-CSRF-Token'] = csrf;
  if (origin) headers.Origin = origin;
  if (ctype) headers['Content-Type'] = ctype;
  const res = await fetch(`${srv.url}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, res, cookies: cookiesOf(res), body: text ? JSON.parse(text) : null };
}

const refreshCall = (srv, o) => call(srv, 'POST', '/oauth/token',
  { ...o, ctype: 'application/x-www-form-urlencoded', body: 'grant_type=refresh_token' });

describe('cookie mode (origin = issuer)', () => {
  let srv;
  before(async () => {
    srv = await startServer();
    addUser(srv, 'carol', PW);
    addUser(srv, 'dave', PW);
  });
  after(async () => { await srv?.stop(); });

  it('refuses a cookie login without an Origin or from another origin', async () => {
    for (const origin of [undefined, 'http://evil.example', `${srv.url}.evil.example`, 'null']) {
      const { res, body, cookies } = await cookieLogin(srv, origin);
      assert.equal(res.status, 403, String(origin));
      assert.equal(body.error, 'access_denied');
      assert.deepEqual(Object.keys(cookies), []);
    }
  });

  it('refuses an unknown mode', async () => {
    const res = await fetch(`${srv.url}/v1/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Origin: srv.url },
      body: JSON.stringify({ username: 'carol', password: PW, mode: 'cookies' }),
    });
    assert.equal(res.status, 400);
  });

  it('sets the three cookies with the right attributes and no token in the body', async () => {
    const { res, body, cookies } = await cookieLogin(srv, srv.url);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(body.access_token, undefined);
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.token_type, 'cookie');
    assert.match(body.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(body.expires_in, 900);

    const a = cookies[ACCESS];
    assert.ok(a, 'access cookie');
    assert.equal(a.value.split('.').length, 3, 'a compact JWS');
    assert.equal(a.attrs.get('path'), '/');
    assert.equal(a.attrs.get('secure'), true);
    assert.equal(a.attrs.get('httponly'), true);
    assert.equal(a.attrs.get('samesite'), 'Strict');
    assert.equal(a.attrs.get('domain'), undefined, '__Host- forbids Domain');
    assert.equal(a.attrs.get('max-age'), '900');

    const r = cookies[REFRESH];
    assert.ok(r, 'refresh cookie');
    assert.match(r.value, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(r.attrs.get('path'), '/oauth/token');
    assert.equal(r.attrs.get('secure'), true);
    assert.equal(r.attrs.get('httponly'), true);
    assert.equal(r.attrs.get('samesite'), 'Strict');

    const c = cookies[CSRF];
    assert.ok(c, 'csrf cookie');
    assert.equal(c.value, body.csrf_token);
    assert.equal(c.attrs.get('path'), '/');
    assert.equal(c.attrs.get('secure'), true);
    assert.equal(c.attrs.get('httponly'), undefined, 'scripts must read it');
    assert.equal(c.attrs.get('samesite'), 'Strict');
  });

  it('/v1/verify and GET /v1/sessions accept the access cookie', async () => {
    const { cookies } = await cookieLogin(srv, srv.url);
    const cookie = `${ACCESS}=${cookies[ACCESS].value}`;
    assert.equal((await call(srv, 'GET', '/v1/verify', { cookie: `${ACCESS}=x.y.z` })).status, 401);
    const v = await call(srv, 'GET', '/v1/verify', { cookie });
    assert.equal(v.status, 200);
    assert.ok(v.res.headers.get('x-auth-subject'));
    const s = await call(srv, 'GET', '/v1/sessions', { cookie });
    assert.equal(s.status, 200);
    assert.equal(s.body.sessions.filter((x) => x.current).length, 1);
  });

  it('a cookie refresh needs the Origin and the CSRF token of its own session', async () => {
    const one = await cookieLogin(srv, srv.url);
    const two = await cookieLogin(srv, srv.url, 'dave');
    const cookie = `${REFRESH}=${one.cookies[REFRESH].value}`;
    const csrf = one.body.csrf_token;
    // negative cases: each leaves the refresh token unused
    assert.equal((await refreshCall(srv, { cookie, origin: srv.url })).status, 403, 'no token');
    assert.equal((await refreshCall(srv, { cookie, csrf })).status, 403, 'no Origin');
    assert.equal((await refreshCall(srv, { cookie, csrf, origin: 'http://evil.example' })).status, 403);
    assert.equal((await refreshCall(srv, { cookie, csrf: two.body.csrf_token, origin: srv.url })).status,
      403, 'the CSRF token of another session');
    assert.equal((await refreshCall(srv, { cookie, csrf: csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A'),
      origin: srv.url })).status, 403, 'a modified token');
    // the real thing
    const ok = await refreshCall(srv, { cookie, csrf, origin: srv.url });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.refresh_token, undefined);
    assert.equal(ok.body.csrf_token, csrf, 'bound to the session, which a refresh keeps');
    assert.notEqual(ok.cookies[REFRESH].value, one.cookies[REFRESH].value, 'rotated');
    assert.notEqual(ok.cookies[ACCESS].value, one.cookies[ACCESS].value);
    assert.equal((await call(srv, 'GET', '/v1/verify',
      { cookie: `${ACCESS}=${ok.cookies[ACCESS].value}` })).status, 200);
  });

  it('DELETE /v1/sessions/{id} with the cookie needs CSRF and Origin', async () => {
    const me = await cookieLogin(srv, srv.url);
    const other = await cookieLogin(srv, srv.url);
    const cookie = `${ACCESS}=${me.cookies[ACCESS].value}`;
    const list = await call(srv, 'GET', '/v1/sessions', { cookie });
    const target = list.body.sessions.find((s) => !s.current && s.id);
    const otherSid = (await call(srv, 'GET', '/v1/sessions',
      { cookie: `${ACCESS}=${other.cookies[ACCESS].value}` })).body.sessions.find((s) => s.current).id;
    assert.ok(target);
    const path = `/v1/sessions/${otherSid}`;
    assert.equal((await call(srv, 'DELETE', path, { cookie, origin: srv.url })).status, 403);
    assert.equal((await call(srv, 'DELETE', path, { cookie, csrf: me.body.csrf_token })).status, 403);
    assert.equal((await call(srv, 'DELETE', path,
      { cookie, csrf: other.body.csrf_token, origin: srv.url })).status, 403);
    assert.equal((await call(srv, 'GET', '/v1/verify',
      { cookie: `${ACCESS}=${other.cookies[ACCESS].value}` })).status, 200, 'still alive');
    assert.equal((await call(srv, 'DELETE', path,
      { cookie, csrf: me.body.csrf_token, origin: srv.url })).status, 204);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await call(srv, 'GET', '/v1/verify',
      { cookie: `${ACCESS}=${other.cookies[ACCESS].value}` })).status, 401, 'ended');
  });

  it('logout with the cookie needs CSRF, then ends the session and clears all cookies', async () => {
    const me = await cookieLogin(srv, srv.url);
    const cookie = `${ACCESS}=${me.cookies[ACCESS].value}`;
    assert.equal((await call(srv, 'POST', '/v1/logout', { cookie, origin: srv.url })).status, 403);
    assert.equal((await call(srv, 'POST', '/v1/logout',
      { cookie, csrf: me.body.csrf_token, origin: 'http://evil.example' })).status, 403);
    assert.equal((await call(srv, 'GET', '/v1/verify', { cookie })).status, 200, 'not logged out');
    const out = await call(srv, 'POST', '/v1/logout', { cookie, csrf: me.body.csrf_token, origin: srv.url });
    assert.equal(out.status, 200);
    for (const name of [ACCESS, REFRESH, CSRF]) {
      assert.ok(out.cookies[name], name);
      assert.equal(out.cookies[name].value, '');
      assert.equal(out.cookies[name].attrs.get('max-age'), '0');
    }
    assert.equal(out.cookies[REFRESH].attrs.get('path'), '/oauth/token', 'same path, or it is not cleared');
    assert.equal((await call(srv, 'GET', '/v1/verify', { cookie })).status, 401);
    const r = await refreshCall(srv, { cookie: `${REFRESH}=${me.cookies[REFRESH].value}`,
      csrf: me.body.csrf_token, origin: srv.url });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });

  it('Bearer mode is unchanged, and a Bearer request never needs CSRF', async () => {
    const t = await loginOk(srv, 'carol', PW);
    assert.ok(t.access_token && t.refresh_token);
    const res = await fetch(`${srv.url}/v1/logout`, {
      method: 'POST', headers: { Authorization: `Bearer ${t.access_token}` },
    });
    assert.equal(res.status, 204);
  });
});

describe('cookie mode (configured origins)', () => {
  let srv;
  before(async () => {
    srv = await startServer({ cookie_origins: 'https://app.example, http://localhost:5173' });
    addUser(srv, 'carol', PW);
  });
  after(async () => { await srv?.stop(); });

  it('accepts exactly the configured origins', async () => {
    assert.equal((await cookieLogin(srv, srv.url)).res.status, 403, 'the issuer is not listed');
    assert.equal((await cookieLogin(srv, 'https://app.example.evil')).res.status, 403);
    assert.equal((await cookieLogin(srv, 'https://app.example')).res.status, 200);
    const me = await cookieLogin(srv, 'http://localhost:5173');
    assert.equal(me.res.status, 200);
    const r = await refreshCall(srv, { cookie: jar({ [REFRESH]: me.cookies[REFRESH] }),
      csrf: me.body.csrf_token, origin: 'https://app.example' });
    assert.equal(r.status, 200);
  });
});
