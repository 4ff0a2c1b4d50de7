// An Entra-ID-shaped identity provider built on oauth2-mock-server, an OAuth 2.0 server that
// shares no code with tokend or tests/devidp. interop_test.sh points tokend at it.
//
// It serves, on 127.0.0.1 and a port the kernel picks:
//   POST /{tenant}/oauth2/v2.0/token   the v2 token endpoint (scope=...)
//   POST /{tenant}/oauth2/token        the v1 token endpoint (resource=...)
//   GET  /jwks                         the signing keys (one RS256 key)
// for one tenant, named by its GUID or its domain (any other: 400 AADSTS90002, as Entra). Both
// token paths are the library's single token route, declared with a path parameter and an
// optional segment (Express 5 syntax: "/:tenant/oauth2{/v2.0}/token").
//
// Environment:
//   INTEROP_TENANT_ID      the tenant (default 11111111-1111-1111-1111-111111111111)
//   INTEROP_TENANT_DOMAIN  its domain (default interop-test.onmicrosoft.com)
//   INTEROP_CLIENT_ID      the only client id accepted (required)
//   INTEROP_CLIENT_SECRET  its secret (required); never printed
//   INTEROP_MODE           "" (Entra v2 shape: numbers), "strings" (Entra v1 shape: expires_in,
//                          ext_expires_in, expires_on, not_before as numeric strings, and
//                          refresh_in as one too), "error" (every token request gets 401
//                          invalid_client AADSTS7000215)
//
// stdout: one line {"url":"http://127.0.0.1:PORT"} once listening. stderr: one JSON line per
// token request (path, endpoint version, client id, scope or resource, whether the secret
// matched, the status answered, the SHA-256 of the access token issued), never the secret.
// Exits 0 on SIGTERM or SIGINT.
import { createHash, randomUUID } from 'node:crypto';
import process from 'node:process';
import { OAuth2Server } from 'oauth2-mock-server';

const tenantId = process.env.INTEROP_TENANT_ID || '11111111-1111-1111-1111-111111111111';
const tenantDomain = process.env.INTEROP_TENANT_DOMAIN || 'interop-test.onmicrosoft.com';
const clientId = process.env.INTEROP_CLIENT_ID;
const clientSecret = process.env.INTEROP_CLIENT_SECRET;
const mode = process.env.INTEROP_MODE || '';
const roles = ['Ti.ReadWrite', 'Event.Write'];

if (!clientId || !clientSecret) {
  console.error('idp.mjs: INTEROP_CLIENT_ID and INTEROP_CLIENT_SECRET are required');
  process.exit(2);
}
if (!['', 'strings', 'error'].includes(mode)) {
  console.error(`idp.mjs: INTEROP_MODE must be empty, "strings" or "error", not "${mode}"`);
  process.exit(2);
}

const server = new OAuth2Server(undefined, undefined, {
  endpoints: { token: '/:tenant/oauth2{/v2.0}/token' },
});
await server.issuer.keys.generate('RS256');

const isV2 = (req) => req.path.endsWith('/v2.0/token');

// v2 scope "https://api.example/.default" -> audience "https://api.example"; v1: the resource.
function audienceOf(req) {
  if (isV2(req)) {
    const first = String(req.body.scope || '').split(' ')[0];
    return first.endsWith('/.default') ? first.slice(0, -'/.default'.length) : first;
  }
  return String(req.body.resource || '');
}

// Entra's claims for an app-only token.
server.service.on('beforeTokenSigning', (token, req) => {
  const v2 = isV2(req);
  Object.assign(token.payload, {
    aud: audienceOf(req),
    tid: tenantId,
    roles,
    oid: '22222222-2222-2222-2222-222222222222',
    sub: '22222222-2222-2222-2222-222222222222',
    idtyp: 'app',
    ver: v2 ? '2.0' : '1.0',
    uti: randomUUID(),
  });
  if (v2) {
    token.payload.azp = req.body.client_id;
    token.payload.azpacr = '1';
  } else {
    token.payload.appid = req.body.client_id;
    token.payload.appidacr = '1';
  }
  delete token.payload.scope; // app-only tokens carry roles, not scp
});

function entraError(status, error, code, description) {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return {
    statusCode: status,
    body: {
      error,
      error_description:
        `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} ` +
        `Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

server.service.on('beforeResponse', (response, req) => {
  const body = req.body || {};
  const secretOk = body.client_id === clientId && body.client_secret === clientSecret;
  const v2 = isV2(req);
  const issued = response.statusCode === 200 ? response.body.access_token : undefined;
  let answer = null;
  if (mode === 'error') {
    answer = entraError(401, 'invalid_client', 7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the ' +
      'client secret value, not the client secret ID, for a secret added to app ' +
      `'${body.client_id}'.`);
  } else if (![tenantId, tenantDomain].includes(req.params.tenant)) {
    answer = entraError(400, 'invalid_request', 90002,
      `Tenant '${req.params.tenant}' not found. Check to make sure you have the correct tenant ` +
      'ID and are signing into the correct cloud.');
  } else if (body.grant_type !== 'client_credentials') {
    answer = entraError(400, 'unsupported_grant_type', 70003,
      'The app requested an unsupported grant type.');
  } else if (body.client_id !== clientId) {
    answer = entraError(400, 'unauthorized_client', 700016,
      `Application with identifier '${body.client_id}' was not found in the directory ` +
      `'${tenantId}'.`);
  } else if (!secretOk) {
    answer = entraError(401, 'invalid_client', 7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the ' +
      `client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
  } else if (v2 && (!body.scope || 'resource' in body)) {
    answer = entraError(400, 'invalid_request', 901002,
      "The 'resource' request parameter is not supported.");
  } else if (!v2 && !body.resource) {
    answer = entraError(400, 'invalid_request', 50001,
      'The resource principal was not found in the tenant.');
  } else if (v2 && !String(body.scope).split(' ').every((s) => s.endsWith('/.default'))) {
    answer = entraError(400, 'invalid_scope', 1002012,
      `The provided value for scope ${body.scope} is not valid. Client credential flows must ` +
      'have a scope value with /.default suffixed to the resource identifier.');
  }

  if (answer !== null) {
    response.statusCode = answer.statusCode;
    response.body = answer.body;
  } else {
    const expiresIn = Number(response.body.expires_in);
    const now = Math.floor(Date.now() / 1000);
    const body200 = {
      token_type: 'Bearer',
      expires_in: expiresIn,
      ext_expires_in: expiresIn,
      access_token: response.body.access_token,
    };
    if (mode === 'strings') {
      // Entra's v1 endpoint sends every number as a string.
      Object.assign(body200, {
        expires_in: String(expiresIn),
        ext_expires_in: String(expiresIn),
        expires_on: String(now + expiresIn),
        not_before: String(now),
        refresh_in: String(Math.floor(expiresIn / 2)),
      });
      if (!v2) body200.resource = body.resource;
    }
    response.body = body200;
  }
  console.error(JSON.stringify({
    event: 'token_request',
    path: req.path,
    tenant: req.params.tenant,
    version: v2 ? 'v2' : 'v1',
    mode,
    grant_type: body.grant_type,
    client_id: body.client_id,
    scope: body.scope,
    resource: body.resource,
    secret_ok: secretOk,
    status: response.statusCode,
    token_sha256: response.statusCode === 200 && issued
      ? createHash('sha256').update(issued).digest('hex') : undefined,
    aadsts: response.statusCode === 200 ? undefined : response.body.error_codes?.[0],
    trace_id: response.statusCode === 200 ? undefined : response.body.trace_id,
  }));
});

await server.start(0, '127.0.0.1');
// The library names a loopback server "localhost"; say the address it listens on (tokend's
// --authority-host and the tokens' issuer).
server.issuer.url = `http://127.0.0.1:${server.address().port}`;
process.stdout.write(`${JSON.stringify({ url: server.issuer.url })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  // A client holding a keep-alive connection must not keep us alive.
  setTimeout(() => process.exit(0), 2000).unref();
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
