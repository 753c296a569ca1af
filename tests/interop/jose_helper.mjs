// jose_helper.mjs: the node `jose` side of tests/interop/test_jose_interop.sh.
// Only the pinned npm package (package-lock.json) is used; nothing touches
// the network.
//
//   node jose_helper.mjs verify JWK_FILE ALG TOKEN [ISS AUD SUB]
//       jwtVerify with the key imported from the JWK and algorithms pinned to
//       [ALG]; prints the payload JSON and exits 0, or prints the jose error
//       code and exits 1.
//   node jose_helper.mjs sign ALG PUBLIC_JWK_OUT [ISS AUD SUB]
//       generates a key pair (a secret for HS*), writes the JWK tessera must
//       verify with (public, or the secret) with alg/kid/use, signs a JWT
//       with iat/exp(15m)/jti and prints it.
//   node jose_helper.mjs pinned JWK_FILE KEY_ALG PINNED_ALG TOKEN
//       jwtVerify with algorithms pinned to [PINNED_ALG]; prints "accepted"
//       or the jose error code.
//   node jose_helper.mjs importset JWKS_FILE
//       imports every key of a JWK Set (each with its own alg); prints the count.
//   node jose_helper.mjs unsecured
//       prints an unsecured JWT (alg "none"), which every verifier must refuse.
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';

const [cmd, ...args] = process.argv.slice(2);

async function verify(jwkFile, alg, token, iss, aud, sub) {
  const jwk = JSON.parse(readFileSync(jwkFile, 'utf8'));
  const key = await jose.importJWK(jwk, alg);
  const opts = { algorithms: [alg] };
  if (iss) opts.issuer = iss;
  if (aud) opts.audience = aud;
  if (sub) opts.subject = sub;
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(token, key, opts);
    if (protectedHeader.alg !== alg) throw new Error('alg mismatch');
    process.stdout.write(JSON.stringify(payload) + '\n');
  } catch (e) {
    process.stdout.write((e.code || e.message) + '\n');
    process.exitCode = 1;
  }
}

async function sign(alg, jwkOut, iss, aud, sub) {
  let signKey, verifyJwk;
  if (alg.startsWith('HS')) {
    signKey = await jose.generateSecret(alg, { extractable: true });
    verifyJwk = await jose.exportJWK(signKey);
  } else {
    const pair = await jose.generateKeyPair(alg, { extractable: true });
    signKey = pair.privateKey;
    verifyJwk = await jose.exportJWK(pair.publicKey);
  }
  const kid = await jose.calculateJwkThumbprint(verifyJwk);
  // tessera's EdDSA is Ed25519 and so is jose's "Ed25519"; keys carry "EdDSA".
  Object.assign(verifyJwk, { alg: alg === 'Ed25519' ? 'EdDSA' : alg, kid, use: 'sig' });
  writeFileSync(jwkOut, JSON.stringify(verifyJwk) + '\n');
  let jwt = new jose.SignJWT({ scope: 'read write', n: 1 })
    .setProtectedHeader({ alg, typ: 'JWT', kid })
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('15m')
    .setJti(crypto.randomUUID());
  if (iss) jwt = jwt.setIssuer(iss);
  if (aud) jwt = jwt.setAudience(aud);
  if (sub) jwt = jwt.setSubject(sub);
  process.stdout.write((await jwt.sign(signKey)) + '\n');
}

async function pinned(jwkFile, keyAlg, pinnedAlg, token) {
  const key = await jose.importJWK(JSON.parse(readFileSync(jwkFile, 'utf8')), keyAlg);
  try {
    await jose.jwtVerify(token, key, { algorithms: [pinnedAlg] });
    process.stdout.write('accepted\n');
  } catch (e) {
    process.stdout.write((e.code || e.message) + '\n');
  }
}

async function importset(file) {
  const set = JSON.parse(readFileSync(file, 'utf8'));
  let n = 0;
  for (const k of set.keys) {
    await jose.importJWK(k, k.alg);
    n++;
  }
  process.stdout.write(n + '\n');
}

try {
  if (cmd === 'verify') await verify(...args);
  else if (cmd === 'pinned') await pinned(...args);
  else if (cmd === 'importset') await importset(...args);
  else if (cmd === 'sign') await sign(...args);
  else if (cmd === 'unsecured') {
    const exp = Math.floor(Date.now() / 1000) + 600;
    process.stdout.write(new jose.UnsecuredJWT({ sub: 'x' }).setExpirationTime(exp).encode() + '\n');
  } else {
    process.stderr.write('usage: jose_helper.mjs verify|sign|unsecured ...\n');
    process.exitCode = 2;
  }
} catch (e) {
  process.stderr.write(`jose_helper: ${e.code || ''} ${e.message}\n`);
  process.exitCode = 2;
}
