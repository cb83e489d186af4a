// A relying party built on openid-client (an OpenID-certified library), driven by the Ekdwar
// tests: it prints the authorization URL, reads back the callback URL the browser reached, then
// exchanges the code, validates the ID token, calls userinfo, refreshes, introspects and revokes.
import * as client from 'openid-client';
import * as readline from 'node:readline';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_URI, AUTH_METHOD, ALG } = process.env;
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

try {
  const auth = AUTH_METHOD === 'basic' ? client.ClientSecretBasic(CLIENT_SECRET)
    : AUTH_METHOD === 'none' ? client.None()
    : client.ClientSecretPost(CLIENT_SECRET);
  const config = await client.discovery(new URL(ISSUER), CLIENT_ID, { id_token_signed_response_alg: ALG || 'ES256' }, auth, { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid profile email phone portal offline_access',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  });
  say({ authorize: url.href });
  const callback = await nextLine();
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  let reuse = 'accepted';
  try { await client.refreshTokenGrant(config, tokens.refresh_token); } catch (e) { reuse = e.error || e.code || String(e); }
  const introspection = AUTH_METHOD === 'none' ? null : await client.tokenIntrospection(config, refreshed.access_token);
  await client.tokenRevocation(config, tokens.access_token);
  const endSession = client.buildEndSessionUrl(config, { id_token_hint: refreshed.id_token ?? tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
  say({ claims, userinfo, refreshed: Boolean(refreshed.access_token && refreshed.refresh_token !== tokens.refresh_token), reuse, introspection, endSession: endSession.href });
} catch (e) {
  say({ error: String(e), cause: e.cause ? String(e.cause) : undefined, code: e.code });
  process.exitCode = 1;
}
lines.close();
