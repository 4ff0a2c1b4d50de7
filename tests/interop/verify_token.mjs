// Verifies an access token (read from stdin) with jose, the JOSE library oauth2-mock-server is
// built on, against the identity provider's published keys: signature (RS256 only), issuer,
// audience, lifetime. Independent of tokend, which only passes the token through.
//
// Usage: node verify_token.mjs IDP_URL AUDIENCE < token
// Prints the verified payload as one JSON line and exits 0; prints the reason and exits 1.
import process from 'node:process';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [idpUrl, audience] = process.argv.slice(2);
if (!idpUrl || !audience) {
  console.error('usage: node verify_token.mjs IDP_URL AUDIENCE < token');
  process.exit(2);
}

let token = '';
for await (const chunk of process.stdin) token += chunk;
token = token.trim();

try {
  const jwks = createRemoteJWKSet(new URL('/jwks', idpUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    algorithms: ['RS256'],
    issuer: idpUrl,
    audience,
    typ: 'JWT',
  });
  process.stdout.write(`${JSON.stringify({ header: protectedHeader, payload })}\n`);
} catch (err) {
  console.error(`verify_token.mjs: ${err.code || 'ERROR'}: ${err.message}`);
  process.exit(1);
}
