// An OpenID provider that behaves like Auth0, for tests and local development only.
//
// panva's oidc-provider (a certified OpenID provider) set up the way an Auth0 tenant looks to a
// client: Auth0's endpoint paths, an issuer ending in "/", PKCE required, `audience` at the
// authorization and token endpoints turned into RS256 JWT access tokens for that API, profile and
// email claims in the ID token, a /userinfo that accepts those access tokens, /v2/logout with
// `returnTo` beside RP-initiated logout, and a client_credentials client for machine tokens.
//
//   node node/oidc.mjs --config config.json
//
// config.json (written by tests/support/oidc.py):
//   port              0 for any free port (the chosen one is printed), or a fixed one
//   audiences         resource servers (API identifiers) tokens may be issued for
//   accounts_file     JSON {sub: {name, nickname, email, picture, ...}}, read at every look-up so
//                     a test can change a profile between two sign-ins
//   clients           oidc-provider client metadata (client_id, client_secret, redirect_uris, ...)
//   keys              private RSA JWKs to sign with (the first signs); generated when absent
//   access_token_ttl  seconds (default 3600)
//
// When it is listening it prints one JSON line {"ready": true, "issuer", "port"} on stdout.
// Nothing here is a secret: keys and accounts are test data made when it starts.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({ options: { config: { type: 'string' } } });
if (!args.config) {
  console.error('usage: node oidc.mjs --config config.json');
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
const audiences = config.audiences ?? [];
const accessTokenTTL = config.access_token_ttl ?? 3600;
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const stats = { jwks: 0, userinfo: 0, token: 0 };

function generateKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

const keys = config.keys?.length ? config.keys : [generateKey()];
const publicKeys = new Map(
  keys.map((jwk) => [jwk.kid, crypto.createPublicKey({ key: jwk, format: 'jwk' })]),
);

function readAccounts() {
  if (!config.accounts_file) return {};
  try {
    return JSON.parse(fs.readFileSync(config.accounts_file, 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return {};
    throw err;
  }
}

function accountClaims(sub) {
  const profile = readAccounts()[sub];
  return profile ? { ...profile, sub } : undefined;
}

// Which claims a scope releases, as Auth0 does for its standard scopes.
const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'nickname', 'picture', 'given_name', 'family_name', 'updated_at'],
  email: ['email', 'email_verified'],
};

function claimsForScopes(all, scopes) {
  const out = { sub: all.sub };
  for (const scope of scopes) {
    for (const claim of CLAIMS[scope] ?? []) {
      if (all[claim] !== undefined) out[claim] = all[claim];
    }
  }
  return out;
}

// --- Listen first, so the issuer can carry the port the kernel picked. ------------------------
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}/`;

function isFirstParty(client) {
  return Boolean(client?.clientId);
}

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  jwks: { keys },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Auth0's paths, so a client pointed at this issuer builds the same URLs it would for Auth0.
  routes: {
    authorization: '/authorize',
    token: '/oauth/token',
    jwks: '/.well-known/jwks.json',
    userinfo: '/userinfo',
    end_session: '/oidc/logout',
    revocation: '/oauth/revoke',
  },
  scopes: OIDC_SCOPES,
  claims: CLAIMS,
  // Auth0 puts the profile claims the scopes ask for into the ID token itself.
  conformIdTokenClaims: false,
  extraParams: ['audience', 'screen_hint'],
  pkce: { required: () => true },
  responseTypes: ['code'],
  ttl: {
    AccessToken: accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 86400,
    Grant: 86400,
    ClientCredentials: accessTokenTTL,
    RefreshToken: 86400,
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Auth0 signs out without asking: the confirmation form submits itself (a script-less
      // client, such as a test with requests, posts the same form).
      async logoutSource(ctx, form) {
        const yes = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><html><head><title>Signing out</title></head><body>
          <p>Signing out&hellip;</p>${yes}
          <script>document.getElementById('op.logoutForm').submit()</script></body></html>`;
      },
    },
    resourceIndicators: {
      enabled: true,
      // Auth0's `audience` names the API the access token is for.
      defaultResource(ctx, client, oneOf) {
        return ctx.oidc.params?.audience ?? oneOf ?? undefined;
      },
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resource) {
        if (!audiences.includes(resource)) throw new errors.InvalidTarget();
        return {
          // Auth0's API tokens carry the OpenID scopes beside the API's own.
          scope: [...OIDC_SCOPES, 'read:tapes', 'write:tapes'].join(' '),
          audience: resource,
          accessTokenTTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') return { gty: 'client-credentials' };
    return undefined;
  },
  async findAccount(ctx, sub) {
    if (!accountClaims(sub)) return undefined;
    return {
      accountId: sub,
      async claims(use, scope) {
        const all = accountClaims(sub) ?? { sub };
        return claimsForScopes(all, (scope ?? '').split(' '));
      },
    };
  },
  // First-party clients skip the consent screen, as on Auth0.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!isFirstParty(ctx.oidc.client)) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(OIDC_SCOPES.join(' '));
    for (const audience of audiences) {
      grant.addResourceScope(audience, [...OIDC_SCOPES, 'read:tapes', 'write:tapes'].join(' '));
    }
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

// --- Auth0's extras, in front of the provider's own routes. -----------------------------------

function base64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// The access token's claims if this provider signed it and it is still valid, else undefined.
function verifyAccessJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let header;
  let payload;
  try {
    header = base64urlJson(parts[0]);
    payload = base64urlJson(parts[1]);
  } catch {
    return undefined;
  }
  const key = publicKeys.get(header.kid);
  if (header.alg !== 'RS256' || !key) return undefined;
  const ok = crypto.verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    key,
    Buffer.from(parts[2], 'base64url'),
  );
  if (!ok || payload.iss !== issuer) return undefined;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) return undefined;
  return payload;
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test__/stats') {
    ctx.body = stats;
    return;
  }
  if (ctx.path === '/.well-known/jwks.json') stats.jwks += 1;
  if (ctx.path === '/oauth/token' && ctx.method === 'POST') {
    stats.token += 1;
    // Auth0 takes `audience` at the token endpoint too (client_credentials); the provider only
    // knows `resource`, and only parses the body itself, so the form is read and handed over.
    if (ctx.is('application/x-www-form-urlencoded')) {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      if (form.audience && !form.resource) form.resource = form.audience;
      delete form.audience;
      ctx.req.body = form;
    }
  }
  if (ctx.path === '/userinfo') {
    stats.userinfo += 1;
    // Auth0's /userinfo takes the API's JWT access tokens (their audience includes it); the
    // provider's own only takes tokens without an audience, so JWTs are answered here.
    const auth = ctx.get('authorization');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (token.split('.').length === 3) {
      const payload = verifyAccessJwt(token);
      const scopes = (payload?.scope ?? '').split(' ');
      const all = payload && accountClaims(payload.sub);
      if (!payload || !scopes.includes('openid') || !all) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        ctx.body = { error: 'invalid_token', error_description: 'invalid access token' };
        return;
      }
      ctx.body = claimsForScopes(all, scopes);
      return;
    }
  }
  if (ctx.path === '/v2/logout') {
    // Auth0's classic logout: ?client_id=...&returnTo=... ; mapped onto RP-initiated logout.
    const url = new URL('/oidc/logout', issuer);
    const { client_id: clientId, returnTo } = ctx.query;
    if (clientId) url.searchParams.set('client_id', clientId);
    if (returnTo) url.searchParams.set('post_logout_redirect_uri', returnTo);
    ctx.redirect(url.href);
    return;
  }
  await next();
  // The built-in pages @import a web font; tests run without internet, so leave it out.
  if (typeof ctx.body === 'string' && ctx.body.includes('fonts.googleapis.com')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
  }
});

server.on('request', provider.callback());

function stop() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
