// Verifies the benchmark corpus (tokens.txt and jwks.json written by
// tokend-jwt-verify-benchmark --corpus_out=DIR) with a peer library, each key prepared once,
// cycling through the tokens for DURATION seconds: signature, algorithm, exp/nbf at the
// corpus's fixed time, issuer and audience. Prints one JSON line with verifications per second.
// Usage: node verify.mjs jose|jsonwebtoken DIR [DURATION]
import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';

const [peer, dir, durationArg] = process.argv.slice(2);
const duration = Number(durationArg ?? 3);
const tokens = readFileSync(`${dir}/tokens.txt`, 'utf8').trim().split('\n');
const jwks = JSON.parse(readFileSync(`${dir}/jwks.json`, 'utf8'));
const meta = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8'));
const kidOf = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).kid;

let verify;
if (peer === 'jose') {
  const keys = new Map();
  for (const jwk of jwks.keys) keys.set(jwk.kid, await jose.importJWK(jwk, 'RS256'));
  const options = { algorithms: ['RS256'], issuer: meta.issuer, audience: meta.audience,
                    currentDate: new Date(meta.now * 1000) };
  verify = async (token) => {
    const { payload } = await jose.jwtVerify(token, keys.get(kidOf(token)), options);
    return payload;
  };
} else if (peer === 'jsonwebtoken') {
  const keys = new Map();
  for (const jwk of jwks.keys) keys.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
  const options = { algorithms: ['RS256'], issuer: meta.issuer, audience: meta.audience,
                    clockTimestamp: meta.now };
  verify = async (token) => jsonwebtoken.verify(token, keys.get(kidOf(token)), options);
} else {
  console.error(`unknown peer ${peer}`);
  process.exit(2);
}

// Every token must verify before anything is timed.
for (const token of tokens) {
  const payload = await verify(token);
  if (!payload.roles.includes(meta.role)) throw new Error('a token lacks the expected role');
}
let count = 0;
const start = process.hrtime.bigint();
const end = start + BigInt(Math.round(duration * 1e9));
let now = start;
while (now < end) {
  for (let i = 0; i < 64; ++i) await verify(tokens[(count + i) % tokens.length]);
  count += 64;
  now = process.hrtime.bigint();
}
const seconds = Number(now - start) / 1e9;
console.log(JSON.stringify({ peer, verifications: count, seconds, per_second: count / seconds }));
