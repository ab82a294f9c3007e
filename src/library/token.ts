/** `use leash/token`: API tokens — a token used from more addresses than it should be. */
export const TOKEN = `// leash/token: token use at the interaction layer (docs/guides/library-token.md).
// Principals of kind token, keyed by their id. Signals: token.leaked (a secret scanner found it).

param max-ips = 2
param revoke-ips = 4
param window = 1h

schema {
  context { ip: string }
}

signals {
  token.leaked
}

rule token-new-ip: challenge * for token *
  when distinct(context.ip by principal within $window) >= $max-ips
  require mfa
  reason "the token is in use from several addresses"

rule token-spread: revoke * for token *
  when distinct(context.ip by principal within $window) >= $revoke-ips
  target principal
  reason "the token is in use from too many addresses: revoked"

rule token-leaked: revoke * for token *
  when after(signal token.leaked by principal)
  target principal
  reason "the token was reported leaked"
`;
