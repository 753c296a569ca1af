// The benchmark baseline: a token-verification endpoint built the way the
// Express + jose guides build it, so that tesserad's /v1/verify is compared
// with what a team would otherwise write. It is not shipped product.
//
// GET /v1/verify reads the Bearer token (or, as the guides also show, an
// access-token cookie through cookie-parser), calls jose's jwtVerify with the
// algorithm, issuer, audience and typ pinned against a JWK Set, and answers
// 200 with the same X-Auth-* headers as tesserad, or 401 with an RFC 6750
// WWW-Authenticate header. It does less than tesserad (no denylist, no
// auth_version check: it has no store), which only favours the baseline.
//
// Configuration (environment, as the guides do it):
//   LISTEN      host:port to listen on            (default 127.0.0.1:3000)
//   JWKS_FILE   path of a JWK Set file            (one of JWKS_FILE, JWKS_URL)
//   JWKS_URL    URL of a JWK Set (createRemoteJWKSet, cached by jose)
//   ISSUER      expected "iss"                    (required)
//   AUDIENCE    expected "aud"                    (required)
//   COOKIE_NAME access-token cookie name          (default __Host-access_token)
import { readFileSync } from 'node:fs';
import express from 'express';
import cookieParser from 'cookie-parser';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`reference: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const [host, port] = (process.env.LISTEN || '127.0.0.1:3000').split(':');
const issuer = required('ISSUER');
const audience = required('AUDIENCE');
const cookieName = process.env.COOKIE_NAME || '__Host-access_token';
const jwks = process.env.JWKS_FILE
  ? createLocalJWKSet(JSON.parse(readFileSync(process.env.JWKS_FILE, 'utf8')))
  : createRemoteJWKSet(new URL(required('JWKS_URL')));

const app = express();
app.disable('x-powered-by');
app.use(cookieParser());

function bearerToken(req) {
  const header = req.get('authorization');
  if (header && header.startsWith('Bearer ')) return header.slice(7);
  return req.cookies[cookieName];
}

function unauthorized(res) {
  res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  res.status(401).json({ error: 'invalid_token' });
}

// The middleware every guide shows: verify, then hang the claims on req.
async function requireAuth(req, res, next) {
  const token = bearerToken(req);
  if (!token) {
    res.set('WWW-Authenticate', 'Bearer');
    res.status(401).json({ error: 'invalid_request' });
    return;
  }
  try {
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: ['ES256'],
      issuer,
      audience,
      typ: 'at+jwt',
    });
    req.auth = payload;
    next();
  } catch {
    unauthorized(res);
  }
}

app.get('/v1/verify', requireAuth, (req, res) => {
  res.set({
    'X-Auth-Subject': String(req.auth.sub ?? ''),
    'X-Auth-Scope': String(req.auth.scope ?? ''),
    'X-Auth-Session': String(req.auth.sid ?? ''),
  });
  res.status(200).end();
});

app.get('/readyz', (req, res) => {
  res.status(200).json({ status: 'ready' });
});

const server = app.listen(Number(port), host, () => {
  console.error(`reference: listening on ${host}:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
