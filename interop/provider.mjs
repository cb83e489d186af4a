// oidc-provider (npm), the reference OpenID Provider for Node, as an independent peer: the
// upstream identity provider in the external-login tests, and the baseline in the benchmark.
// PORT and CLIENTS (a JSON array of client metadata) come from the environment. Any user name
// logs in through its development login form; the password is not checked. PEOPLE (a JSON
// object, user name → claims) gives chosen people their own claims, as a bank's identity
// service would (names, birthdate, a national identifier in the `national_id` scope), or an
// employee directory (`employee_id` in the `employee` scope).
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const people = JSON.parse(process.env.PEOPLE || '{}');
const clients = JSON.parse(process.env.CLIENTS || '[]').map((c) => ({ id_token_signed_response_alg: 'ES256', ...c }));
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: 'es256-1' };

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [jwk] },
  cookies: { keys: ['interop-cookie-key'] },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
  },
  pkce: { required: () => false },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api', 'national_id', 'employee'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'middle_name', 'birthdate'],
    email: ['email', 'email_verified'],
    national_id: ['snils', 'aadhaar'],
    employee: ['employee_id'],
  },
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, RefreshToken: 86400, Grant: 86400, Session: 86400, Interaction: 3600, AuthorizationCode: 60 },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return people[id]
          ? { sub: id, ...people[id] }
          : { sub: id, name: `${id} Upstream`, given_name: id, family_name: 'Upstream', email: `${id}@upstream.example`, email_verified: true };
      },
    };
  },
});
provider.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
