// server.test.mjs: drives every endpoint of a real tesserad over loopback.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TESSERAD, startServer, addUser, login, loginOk, form, refresh, verify, decodeJwt, sleep,
  eventually,
} from './lib.mjs';

const PW = 'correct horse battery staple';
const RS_SECRET = 'resource-server-secret-0123456789';
const RS_HASH = createHash('sha256').update(RS_SECRET).digest('hex');
const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

// Every secret a test handled; the logs must contain none of them.
const secretsSeen = new Set([PW, RS_SECRET]);
function remember(pair) {
  secretsSeen.add(pair.access_token);
  secretsSeen.add(pair.refresh_token);
  return pair;
}
function assertLogClean(server) {
  for (const s of secretsSeen) {
    assert.ok(!server.log.includes(s), 'a token, password or secret appeared in the log');
  }
}

describe('tesserad (default configuration)', () => {
  let srv;
  before(async () => {
    srv = await startServer({ introspect_client: `rs1:${RS_HASH}` });
    addUser(srv, 'alice', PW);
    addUser(srv, 'bob', PW);
  });
  after(async () => {
    assertLogClean(srv);
    await srv.stop();
  });

  describe('health and metadata', () => {
    it('dev mode says how to create a user and get a token', () => {
      assert.match(srv.log, /user add alice/);
      assert.match(srv.log, /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/login/);
      assert.match(srv.log, /generated a new master key/);
    });

    it('answers /healthz and /readyz', async () => {
      for (const p of ['/healthz', '/readyz']) {
        const res = await fetch(srv.url + p);
        assert.equal(res.status, 200);
        assert.match((await res.json()).status, /ok|ready/);
      }
    });

    it('unknown paths and methods get JSON 404/405', async () => {
      const a = await fetch(`${srv.url}/nope`);
      assert.equal(a.status, 404);
      assert.equal((await a.json()).error, 'not_found');
      const b = await fetch(`${srv.url}/v1/login`);
      assert.equal(b.status, 405);
      await b.arrayBuffer();
    });

    it('publishes RFC 8414 metadata with every required member', async () => {
      const res = await fetch(`${srv.url}/.well-known/oauth-authorization-server`);
      assert.equal(res.status, 200);
      const m = await res.json();
      assert.equal(m.issuer, srv.url);
      assert.ok(Array.isArray(m.response_types_supported));
      for (const [k, p] of [['token_endpoint', '/oauth/token'], ['jwks_uri', '/.well-known/jwks.json'],
        ['revocation_endpoint', '/oauth/revoke'], ['introspection_endpoint', '/oauth/introspect']]) {
        assert.equal(m[k], srv.url + p);
      }
      assert.deepEqual(m.grant_types_supported, ['refresh_token']);
      assert.deepEqual(m.introspection_endpoint_auth_methods_supported, ['client_secret_basic']);
    });

    it('serves a public JWKS with Cache-Control and an ETag', async () => {
      const res = await fetch(`${srv.url}/.well-known/jwks.json`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('cache-control'), /max-age=\d+/);
      const etag = res.headers.get('etag');
      const jwks = await res.json();
      assert.equal(jwks.keys.length, 1);
      const k = jwks.keys[0];
      assert.equal(k.kty, 'EC');
      assert.equal(k.alg, 'ES256');
      assert.ok(k.kid);
      assert.equal(k.d, undefined, 'private part must never be published');
      const again = await fetch(`${srv.url}/.well-known/jwks.json`, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304);
      await again.arrayBuffer();
    });
  });

  describe('login', () => {
    it('rejects a body that is not JSON content', async () => {
      const res = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: 'username=alice' });
      assert.equal(res.status, 415);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal((await res.json()).error, 'invalid_request');
    });

    it('rejects malformed JSON, wrong types and unknown members', async () => {
      for (const body of ['{"username":', '[]', '{"username":"alice"}', '{"username":1,"password":"x"}',
        `{"username":"alice","password":"${PW}","admin":true}`,
        `{"username":"alice","username":"bob","password":"${PW}"}`,
        `{"username":"alice","password":"${PW}","mode":"cookies"}`,
        `{"username":"alice","password":"${PW}","mode":1}`]) {
        const res = await fetch(`${srv.url}/v1/login`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
        });
        assert.equal(res.status, 400, body);
        assert.equal((await res.json()).error, 'invalid_request', body);
      }
    });

    it('rejects an oversized body with 413', async () => {
      const res = await fetch(`${srv.url}/v1/login`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'x'.repeat(40000) }),
      });
      assert.equal(res.status, 413);
      await res.arrayBuffer();
    });

    it('answers unknown users and wrong passwords identically', async () => {
      const a = await login(srv, 'alice', 'wrong password!');
      const b = await login(srv, 'mallory', PW);
      assert.equal(a.status, 400);
      assert.deepEqual(a.body, b.body);
      assert.equal(a.body.error, 'invalid_grant');
      assert.equal(a.headers.get('cache-control'), 'no-store');
    });

    it('issues RFC 6749 token fields and an RFC 9068 access token', async () => {
      const r = await login(srv, 'alice', PW);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const t = remember(r.body);
      assert.equal(t.token_type, 'Bearer');
      assert.equal(t.expires_in, 900);
      assert.equal(t.scope, 'api');
      assert.match(t.refresh_token, /^[A-Za-z0-9_-]{43}$/);
      const { header, payload } = decodeJwt(t.access_token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      const jwks = await (await fetch(`${srv.url}/.well-known/jwks.json`)).json();
      assert.equal(header.kid, jwks.keys[0].kid);
      for (const c of ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id', 'scope', 'sid', 'ver']) {
        assert.ok(payload[c] !== undefined, `claim ${c}`);
      }
      assert.equal(payload.iss, srv.url);
      assert.equal(payload.exp - payload.iat, 900);
      assert.notEqual(payload.sub, 'alice', 'no personal data in claims');
      assert.ok(Buffer.from(payload.jti, 'base64url').length >= 16, 'jti has 128 bits');
    });
  });

  describe('verify', () => {
    let t;
    before(async () => { t = remember(await loginOk(srv, 'alice', PW)); });

    it('401 with a bare Bearer challenge when no token is sent', async () => {
      const res = await verify(srv);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tesserad"');
    });

    it('401 invalid_token for garbage, tampering and a foreign issuer', async () => {
      const [h, p, s] = t.access_token.split('.');
      const other = { ...decodeJwt(t.access_token).payload, sub: 'someone-else' };
      const forged = `${h}.${Buffer.from(JSON.stringify(other)).toString('base64url')}.${s}`;
      const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`;
      const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`;
      const huge = `${h}.${'A'.repeat(6000)}.${s}`;
      for (const bad of ['garbage', forged, flipped, none, `${t.access_token}x`, huge]) {
        const res = await verify(srv, bad);
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
      }
    });

    it('200 with X-Auth-* headers for a valid token, whatever the method', async () => {
      const { payload } = decodeJwt(t.access_token);
      for (const method of ['GET', 'POST', 'HEAD']) {
        const res = await verify(srv, t.access_token, method);
        assert.equal(res.status, 200, method);
        assert.equal(res.headers.get('x-auth-subject'), payload.sub);
        assert.equal(res.headers.get('x-auth-scope'), 'api');
        assert.equal(res.headers.get('x-auth-session'), payload.sid);
      }
    });
  });

  describe('refresh', () => {
    it('rejects bad requests without changing anything', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const cases = [
        [{ refresh_token: t.refresh_token }, 'invalid_request'],
        [{ grant_type: 'password', username: 'alice' }, 'unsupported_grant_type'],
        [{ grant_type: 'refresh_token' }, 'invalid_request'],
        [{ grant_type: 'refresh_token', refresh_token: 'A'.repeat(43) }, 'invalid_grant'],
        [{ grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'admin' }, 'invalid_scope'],
      ];
      for (const [params, error] of cases) {
        const r = await form(srv, '/oauth/token', params);
        assert.equal(r.status, 400, JSON.stringify(params));
        assert.equal(r.body.error, error);
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
      const dup = await fetch(`${srv.url}/oauth/token`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `grant_type=refresh_token&refresh_token=${t.refresh_token}&refresh_token=x`,
      });
      assert.equal(dup.status, 400);
      assert.equal((await dup.json()).error, 'invalid_request');
      for (const body of ['grant_type=refresh_token&refresh_token=%zz', 'grant_type=refresh%00_token',
        'grant_type', '=x', `${'a=1&'.repeat(40)}grant_type=refresh_token`]) {
        const bad = await fetch(`${srv.url}/oauth/token`, {
          method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
        });
        assert.equal(bad.status, 400, body);
        assert.equal((await bad.json()).error, 'invalid_request', body);
      }
      const big = await fetch(`${srv.url}/oauth/token`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `grant_type=refresh_token&refresh_token=${'A'.repeat(20000)}`,
      });
      assert.equal(big.status, 413);
      await big.arrayBuffer();
      const json = await fetch(`${srv.url}/oauth/token`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: t.refresh_token }),
      });
      assert.equal(json.status, 400);
      await json.arrayBuffer();
      // None of that used the token: it still rotates normally.
      const ok = await refresh(srv, t.refresh_token);
      assert.equal(ok.status, 200);
      remember(ok.body);
    });

    it('rotates: a new refresh token in the same session, a new valid access token', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const r = await refresh(srv, t.refresh_token);
      assert.equal(r.status, 200);
      const n = remember(r.body);
      assert.notEqual(n.refresh_token, t.refresh_token);
      assert.notEqual(n.access_token, t.access_token);
      assert.equal(decodeJwt(n.access_token).payload.sid, decodeJwt(t.access_token).payload.sid);
      assert.equal((await verify(srv, n.access_token)).status, 200);
      const r2 = await refresh(srv, n.refresh_token);
      assert.equal(r2.status, 200);
      remember(r2.body);
    });

    it('a replay within the grace window returns the same pair', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const a = await refresh(srv, t.refresh_token);
      const b = await refresh(srv, t.refresh_token);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.equal(b.body.refresh_token, a.body.refresh_token);
      assert.equal(b.body.access_token, a.body.access_token);
      remember(a.body);
    });

    it('50 concurrent refreshes of one token all get 200 and one successor', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const results = await Promise.all(Array.from({ length: 50 }, () => refresh(srv, t.refresh_token)));
      for (const r of results) assert.equal(r.status, 200, r.text);
      const refreshes = new Set(results.map((r) => r.body.refresh_token));
      const accesses = new Set(results.map((r) => r.body.access_token));
      assert.equal(refreshes.size, 1);
      assert.equal(accesses.size, 1);
      const succ = remember(results[0].body);
      assert.equal((await verify(srv, succ.access_token)).status, 200);
      const next = await refresh(srv, succ.refresh_token);
      assert.equal(next.status, 200);
      remember(next.body);
    });

    it('reuse of an older (not immediate) predecessor revokes the family', async () => {
      const a = remember(await loginOk(srv, 'alice', PW));
      const b = remember((await refresh(srv, a.refresh_token)).body);
      const c = remember((await refresh(srv, b.refresh_token)).body);
      const replay = await refresh(srv, a.refresh_token);
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
      const after = await refresh(srv, c.refresh_token);
      assert.equal(after.status, 400, 'the whole family is revoked');
      assert.equal((await verify(srv, c.access_token)).status, 401, 'and its access tokens');
      assert.match(srv.log, /"event":"refresh_reuse"/);
    });
  });

  describe('logout and revocation', () => {
    it('logout with the access token ends the session', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const res = await fetch(`${srv.url}/v1/logout`, {
        method: 'POST', headers: { Authorization: `Bearer ${t.access_token}` },
      });
      assert.equal(res.status, 204);
      assert.equal((await verify(srv, t.access_token)).status, 401);
      assert.equal((await refresh(srv, t.refresh_token)).status, 400);
    });

    it('logout with the refresh token ends the session; without either it is 401', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const res = await fetch(`${srv.url}/v1/logout`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: t.refresh_token }),
      });
      assert.equal(res.status, 204);
      assert.equal((await refresh(srv, t.refresh_token)).status, 400);
      assert.equal((await verify(srv, t.access_token)).status, 401);
      const none = await fetch(`${srv.url}/v1/logout`, { method: 'POST' });
      assert.equal(none.status, 401);
      await none.arrayBuffer();
    });

    it('RFC 7009: unknown tokens are 200, a missing token is 400', async () => {
      assert.equal((await form(srv, '/oauth/revoke', { token: 'no-such-token' })).status, 200);
      const r = await form(srv, '/oauth/revoke', { token_type_hint: 'access_token' });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'invalid_request');
    });

    it('revoking an access token denylists only that token', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      assert.equal((await form(srv, '/oauth/revoke', { token: t.access_token })).status, 200);
      assert.equal((await verify(srv, t.access_token)).status, 401);
      const r = await refresh(srv, t.refresh_token);
      assert.equal(r.status, 200, 'the session itself lives on');
      remember(r.body);
      assert.equal((await verify(srv, r.body.access_token)).status, 200);
    });

    it('revoking a refresh token ends its session', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      const r = await form(srv, '/oauth/revoke', { token: t.refresh_token, token_type_hint: 'refresh_token' });
      assert.equal(r.status, 200);
      assert.equal((await refresh(srv, t.refresh_token)).status, 400);
      assert.equal((await verify(srv, t.access_token)).status, 401);
    });
  });

  describe('introspection', () => {
    it('requires a registered resource server', async () => {
      const t = remember(await loginOk(srv, 'alice', PW));
      for (const auth of [undefined, basic('rs1', 'wrong'), basic('rs2', RS_SECRET), 'Bearer x']) {
        const r = await form(srv, '/oauth/introspect', { token: t.access_token },
          auth ? { Authorization: auth } : {});
        assert.equal(r.status, 401);
        assert.equal(r.body.error, 'invalid_client');
        assert.match(r.headers.get('www-authenticate'), /^Basic/);
      }
    });

    it('active tokens show their claims; dead or foreign ones are {"active":false}', async () => {
      const auth = { Authorization: basic('rs1', RS_SECRET) };
      const t = remember(await loginOk(srv, 'alice', PW));
      const { payload } = decodeJwt(t.access_token);
      const ok = await form(srv, '/oauth/introspect', { token: t.access_token }, auth);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('cache-control'), 'no-store');
      assert.equal(ok.body.active, true);
      assert.equal(ok.body.sub, payload.sub);
      assert.equal(ok.body.scope, 'api');
      assert.equal(ok.body.client_id, payload.client_id);
      assert.equal(ok.body.exp, payload.exp);
      for (const dead of ['garbage', t.refresh_token]) {
        const r = await form(srv, '/oauth/introspect', { token: dead }, auth);
        assert.deepEqual(r.body, { active: false });
      }
      await form(srv, '/oauth/revoke', { token: t.access_token });
      const r = await form(srv, '/oauth/introspect', { token: t.access_token }, auth);
      assert.deepEqual(r.body, { active: false });
    });
  });

  describe('sessions', () => {
    it('a user lists and ends only their own sessions', async () => {
      const bob = remember(await loginOk(srv, 'bob', PW));
      const bob2 = remember(await loginOk(srv, 'bob', PW));
      const alice = remember(await loginOk(srv, 'alice', PW));
      const auth = { Authorization: `Bearer ${bob.access_token}` };
      const res = await fetch(`${srv.url}/v1/sessions`, { headers: auth });
      assert.equal(res.status, 200);
      const { sessions } = await res.json();
      assert.equal(sessions.length, 2);
      const mine = decodeJwt(bob.access_token).payload.sid;
      const other = decodeJwt(bob2.access_token).payload.sid;
      assert.deepEqual(sessions.filter((s) => s.current).map((s) => s.id), [mine]);
      assert.ok(sessions.some((s) => s.id === other));

      const aliceSid = decodeJwt(alice.access_token).payload.sid;
      for (const id of [aliceSid, 'does-not-exist']) {
        const r = await fetch(`${srv.url}/v1/sessions/${id}`, { method: 'DELETE', headers: auth });
        assert.equal(r.status, 404);
        await r.arrayBuffer();
      }
      assert.equal((await verify(srv, alice.access_token)).status, 200);

      const del = await fetch(`${srv.url}/v1/sessions/${other}`, { method: 'DELETE', headers: auth });
      assert.equal(del.status, 204);
      assert.equal((await refresh(srv, bob2.refresh_token)).status, 400);
      assert.equal((await verify(srv, bob2.access_token)).status, 401);
      const after = await (await fetch(`${srv.url}/v1/sessions`, { headers: auth })).json();
      assert.equal(after.sessions.length, 1);
      const unauth = await fetch(`${srv.url}/v1/sessions`);
      assert.equal(unauth.status, 401);
      await unauth.arrayBuffer();
    });

    it('the admin CLI lists sessions', () => {
      const r = srv.cli(['sessions', 'list', 'bob']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.trim().split('\n').length >= 1);
      assert.equal(srv.cli(['sessions', 'list', 'nobody']).status, 1);
    });
  });

  describe('auth_version', () => {
    it('revoke-all invalidates every earlier token of the user only', async () => {
      addUser(srv, 'carol', PW);
      const c1 = remember(await loginOk(srv, 'carol', PW));
      const c2 = remember(await loginOk(srv, 'carol', PW));
      const a = remember(await loginOk(srv, 'alice', PW));
      const r = srv.cli(['user', 'revoke-all', 'carol']);
      assert.equal(r.status, 0, r.stderr);
      await eventually(async () => (await verify(srv, c1.access_token)).status === 401);
      assert.equal((await verify(srv, c2.access_token)).status, 401);
      assert.equal((await refresh(srv, c1.refresh_token)).status, 400);
      assert.equal((await verify(srv, a.access_token)).status, 200, 'other users unaffected');
      const fresh = remember(await loginOk(srv, 'carol', PW));
      assert.equal(decodeJwt(fresh.access_token).payload.ver, 2);
      assert.equal((await verify(srv, fresh.access_token)).status, 200);
    });

    it('passwd changes the password and invalidates old tokens', async () => {
      addUser(srv, 'dave', PW);
      const t = remember(await loginOk(srv, 'dave', PW));
      const newPw = 'another long passphrase';
      secretsSeen.add(newPw);
      assert.equal(srv.cli(['user', 'passwd', 'dave'], `${newPw}\n`).status, 0);
      await eventually(async () => (await verify(srv, t.access_token)).status === 401);
      assert.equal((await login(srv, 'dave', PW)).status, 400);
      remember(await loginOk(srv, 'dave', newPw));
    });

    it('disable blocks login and existing tokens', async () => {
      addUser(srv, 'erin', PW);
      const t = remember(await loginOk(srv, 'erin', PW));
      assert.equal(srv.cli(['user', 'disable', 'erin']).status, 0);
      await eventually(async () => (await verify(srv, t.access_token)).status === 401);
      const l = await login(srv, 'erin', PW);
      assert.equal(l.status, 400);
      assert.equal(l.body.error, 'invalid_grant');
      assert.equal(srv.cli(['user', 'enable', 'erin']).status, 0);
      remember(await loginOk(srv, 'erin', PW));
    });

    it('the CLI refuses duplicate users, short passwords and unknown users', () => {
      assert.equal(srv.cli(['user', 'add', 'alice'], `${PW}\n`).status, 1);
      assert.equal(srv.cli(['user', 'add', 'frank'], 'short\n').status, 1);
      assert.equal(srv.cli(['user', 'revoke-all', 'nobody']).status, 1);
    });
  });

  describe('key rotation', () => {
    it('a forced rotation publishes the new key; old tokens verify until they expire', async () => {
      const old = remember(await loginOk(srv, 'alice', PW));
      const oldKid = decodeJwt(old.access_token).header.kid;
      const r = srv.cli(['keys', 'rotate', '--now']);
      assert.equal(r.status, 0, r.stderr);
      let jwks;
      await eventually(async () => {
        jwks = await (await fetch(`${srv.url}/.well-known/jwks.json`)).json();
        return jwks.keys.length === 2;
      });
      const fresh = remember(await loginOk(srv, 'alice', PW));
      const newKid = decodeJwt(fresh.access_token).header.kid;
      assert.notEqual(newKid, oldKid);
      assert.deepEqual(new Set(jwks.keys.map((k) => k.kid)), new Set([oldKid, newKid]));
      assert.equal((await verify(srv, old.access_token)).status, 200);
      assert.equal((await verify(srv, fresh.access_token)).status, 200);
      const list = srv.cli(['keys', 'list']);
      assert.match(list.stdout, new RegExp(`${oldKid}.*retiring`));
      assert.match(list.stdout, new RegExp(`${newKid}.*active`));
    });

    it('a scheduled rotation publishes the next key before it signs', async () => {
      const before = remember(await loginOk(srv, 'alice', PW));
      const signing = decodeJwt(before.access_token).header.kid;
      assert.equal(srv.cli(['keys', 'rotate']).status, 0);
      let jwks;
      await eventually(async () => {
        jwks = await (await fetch(`${srv.url}/.well-known/jwks.json`)).json();
        return jwks.keys.length === 3;
      });
      const after = remember(await loginOk(srv, 'alice', PW));
      assert.equal(decodeJwt(after.access_token).header.kid, signing, 'the pending key does not sign yet');
      assert.match(srv.cli(['keys', 'list']).stdout, /pending/);
    });
  });
});

describe('tesserad (short lifetimes)', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      access_token_ttl: 2, leeway: 0, key_retire_margin: 0, session_idle_timeout: 3,
    }, { args: ['--refresh-grace', '1'] });
    addUser(srv, 'alice', PW);
  });
  after(async () => {
    assertLogClean(srv);
    await srv.stop();
  });

  it('reuse outside the grace window revokes the family', async () => {
    const a = remember(await loginOk(srv, 'alice', PW));
    const b = remember((await refresh(srv, a.refresh_token)).body);
    await sleep(2200);
    const replay = await refresh(srv, a.refresh_token);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal((await refresh(srv, b.refresh_token)).status, 400);
    assert.match(srv.log, /"event":"refresh_reuse"/);
  });

  it('the previous key is unpublished once its last token expired', async () => {
    const old = remember(await loginOk(srv, 'alice', PW));
    const oldKid = decodeJwt(old.access_token).header.kid;
    assert.equal(srv.cli(['keys', 'rotate', '--now']).status, 0);
    await eventually(async () => {
      const fresh = await loginOk(srv, 'alice', PW);
      remember(fresh);
      return decodeJwt(fresh.access_token).header.kid !== oldKid;
    });
    // (The default-configuration suite checks old tokens after a rotation
    // with a 15-minute lifetime; here only while this 2 s one is surely live.)
    const { exp } = decodeJwt(old.access_token).payload;
    const status = (await verify(srv, old.access_token)).status;
    if (Date.now() / 1000 < exp - 1) assert.equal(status, 200, 'still valid right after rotation');
    await eventually(async () => (await verify(srv, old.access_token)).status === 401, 10000);
    await eventually(async () => {
      const jwks = await (await fetch(`${srv.url}/.well-known/jwks.json`)).json();
      return !jwks.keys.some((k) => k.kid === oldKid);
    }, 15000);
  });

  it('access tokens expire', async () => {
    const t = remember(await loginOk(srv, 'alice', PW));
    assert.equal((await verify(srv, t.access_token)).status, 200);
    await sleep(3100);
    const res = await verify(srv, t.access_token);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /expired/);
  });

  it('an idle session cannot be refreshed', async () => {
    const t = remember(await loginOk(srv, 'alice', PW));
    await sleep(4200);
    const r = await refresh(srv, t.refresh_token);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });
});

describe('tesserad (grace window off, absolute lifetime)', () => {
  let srv;
  before(async () => {
    srv = await startServer({ session_lifetime: 4 }, { args: ['--refresh-grace', '0'] });
    addUser(srv, 'alice', PW);
  });
  after(async () => { await srv.stop(); });

  it('with --refresh-grace 0 any replay revokes the family', async () => {
    const a = await loginOk(srv, 'alice', PW);
    const b = await refresh(srv, a.refresh_token);
    assert.equal(b.status, 200);
    assert.equal((await refresh(srv, a.refresh_token)).status, 400);
    assert.equal((await refresh(srv, b.body.refresh_token)).status, 400);
  });

  it('a session ends at its absolute lifetime', async () => {
    const a = await loginOk(srv, 'alice', PW);
    const start = Date.now();
    let rt = a.refresh_token;
    // Used every 1.2 s the session is never idle, yet it ends at 4 s.
    while (Date.now() - start < 2400) {
      await sleep(1200);
      const r = await refresh(srv, rt);
      assert.equal(r.status, 200);
      rt = r.body.refresh_token;
    }
    await sleep(4400 - (Date.now() - start));
    const end = await refresh(srv, rt);
    assert.equal(end.status, 400);
    assert.equal(end.body.error, 'invalid_grant');
  });
});

describe('tesserad start-up rules', () => {
  const run = (args, env = {}) => spawnSync(TESSERAD, args,
    { encoding: 'utf8', timeout: 10000, env: { ...process.env, ...env } });

  it('refuses to start without a master key outside dev mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tesserad-test-'));
    try {
      const r = run(['serve', '--data', dir, '--listen', '127.0.0.1:0'],
        { TESSERAD_MASTER_KEY: '', TESSERAD_MASTER_KEY_FILE: '' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /no master key/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('refuses plain HTTP on a non-loopback address outside dev mode', () => {
    const r = run(['serve', '--data', '/nonexistent', '--listen', '0.0.0.0:0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /refusing plain HTTP/);
  });

  it('refuses a master key that does not match the store', async () => {
    const srv = await startServer();
    await srv.stop({ keepData: true });
    try {
      const keyFile = join(srv.dir, 'other.key');
      writeFileSync(keyFile, `${Buffer.alloc(32, 7).toString('base64url')}\n`, { mode: 0o600 });
      const r = run(['serve', '--data', srv.data, '--listen', '127.0.0.1:0', '--master-key-file', keyFile]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /does not match/);
    } finally { rmSync(srv.dir, { recursive: true, force: true }); }
  });

  it('refuses the master key in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tesserad-test-'));
    try {
      writeFileSync(join(dir, 'c.conf'), 'master_key = AAAA\n');
      const r = run(['serve', '--dev', '--data', join(dir, 'd'), '--config', join(dir, 'c.conf')]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /never comes from the config file/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
