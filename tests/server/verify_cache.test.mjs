// verify_cache.test.mjs: the verified-token cache of /v1/verify
// (server/tcache.c). A token that verified once is answered from the cache;
// these tests check that every revocation path, an auth_version bump, the
// token's expiry and a key rotation still take effect on a cached token, and
// that nothing but the exact token bytes can hit an entry.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, addUser, loginOk, form, verify, decodeJwt, sleep, eventually,
} from './lib.mjs';

const PASSWORD = 'cache test password 1';

// Verifies a token several times, so that later answers come from the cache.
async function warm(server, token) {
  for (let i = 0; i < 3; i++) {
    const res = await verify(server, token);
    assert.equal(res.status, 200, 'a fresh token verifies');
  }
}

describe('verify cache (default configuration)', () => {
  let server;
  before(async () => {
    server = await startServer();
    addUser(server, 'carol', PASSWORD);
    addUser(server, 'dave', PASSWORD);
    addUser(server, 'erin', PASSWORD);
  });
  after(async () => { await server.stop(); });

  test('a tampered copy of a cached token is rejected', async () => {
    const { access_token: at } = await loginOk(server, 'carol', PASSWORD);
    await warm(server, at);
    const [h, p, s] = at.split('.');
    const flip = (str, i) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
    for (const bad of [`${h}.${p}.${flip(s, 10)}`, `${h}.${flip(p, 5)}.${s}`, `${at}x`,
      at.slice(0, -1), ` ${at}x`]) {
      const res = await verify(server, bad);
      assert.equal(res.status, 401);
    }
    assert.equal((await verify(server, at)).status, 200, 'the original still verifies');
  });

  test('revoking a cached access token fails it at once', async () => {
    const { access_token: at } = await loginOk(server, 'carol', PASSWORD);
    await warm(server, at);
    const r = await form(server, '/oauth/revoke', { token: at, token_type_hint: 'access_token' });
    assert.equal(r.status, 200);
    const res = await verify(server, at);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /invalid_token/);
  });

  test('revoking the refresh token ends the session of a cached access token', async () => {
    const { access_token: at, refresh_token: rt } = await loginOk(server, 'carol', PASSWORD);
    await warm(server, at);
    assert.equal((await form(server, '/oauth/revoke', { token: rt })).status, 200);
    assert.equal((await verify(server, at)).status, 401);
  });

  test('logout fails a cached access token at once', async () => {
    const { access_token: at } = await loginOk(server, 'carol', PASSWORD);
    await warm(server, at);
    const res = await fetch(`${server.url}/v1/logout`, {
      method: 'POST', headers: { Authorization: `Bearer ${at}` },
    });
    assert.equal(res.status, 204);
    assert.equal((await verify(server, at)).status, 401);
  });

  test('an auth_version bump fails cached tokens issued before it', async () => {
    const { access_token: at } = await loginOk(server, 'dave', PASSWORD);
    await warm(server, at);
    const r = server.cli(['user', 'passwd', 'dave'], 'another password 2\n');
    assert.equal(r.status, 0, r.stderr);
    // The admin CLI writes the store; the service picks it up on its next
    // reload (reload_ms = 200 in these tests).
    await eventually(async () => (await verify(server, at)).status === 401, 15000);
    const fresh = await loginOk(server, 'dave', 'another password 2');
    assert.equal((await verify(server, fresh.access_token)).status, 200);
  });

  test('disabling a user fails their cached tokens', async () => {
    const { access_token: at } = await loginOk(server, 'erin', PASSWORD);
    await warm(server, at);
    assert.equal(server.cli(['user', 'disable', 'erin']).status, 0);
    await eventually(async () => (await verify(server, at)).status === 401, 15000);
  });

  test('a cached token keeps verifying across a key rotation', async () => {
    const { access_token: before } = await loginOk(server, 'carol', PASSWORD);
    await warm(server, before);
    const r = server.cli(['keys', 'rotate', '--now']);
    assert.equal(r.status, 0, r.stderr);
    const oldKid = decodeJwt(before).header.kid;
    let after = null;
    await eventually(async () => {
      after = (await loginOk(server, 'carol', PASSWORD)).access_token;
      return decodeJwt(after).header.kid !== oldKid;
    }, 15000);
    assert.equal((await verify(server, before)).status, 200, 'old key still published');
    assert.equal((await verify(server, after)).status, 200);
  });
});

describe('verify cache (short-lived tokens)', () => {
  let server;
  before(async () => {
    server = await startServer({ access_token_ttl: 2, leeway: 0 });
    addUser(server, 'frank', PASSWORD);
  });
  after(async () => { await server.stop(); });

  test('a cached token expires at its exp', async () => {
    const { access_token: at } = await loginOk(server, 'frank', PASSWORD);
    await warm(server, at);
    const { exp } = decodeJwt(at).payload;
    const wait = exp * 1000 - Date.now() + 50;
    if (wait > 0) await sleep(wait);
    const res = await verify(server, at);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /token expired/);
  });
});

describe('verify cache turned off', () => {
  let server;
  before(async () => {
    server = await startServer({ verify_cache_entries: 0 });
    addUser(server, 'gina', PASSWORD);
  });
  after(async () => { await server.stop(); });

  test('verification works without the cache', async () => {
    const { access_token: at } = await loginOk(server, 'gina', PASSWORD);
    await warm(server, at);
    assert.equal((await form(server, '/oauth/revoke', { token: at })).status, 200);
    assert.equal((await verify(server, at)).status, 401);
  });
});
