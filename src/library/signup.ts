/** `use leash/signup`: account creation — bursts of sign-ups from one address, forms filled faster than a person can. */
export const SIGNUP = `// leash/signup: account creation at the interaction layer (docs/guides/library-signup.md).
// Requests: account.create. Signals: signup.form-shown (the sign-up form was served to the session).

param signups-per-ip = 3
param block-signups-per-ip = 10
param window = 1h
param min-fill-time = 3s

schema {
  context { ip: string }
}

actions {
  account.create
}

signals {
  signup.form-shown
}

rule signup-burst-by-ip: challenge account.create
  when count(account.create by context.ip within $window) >= $signups-per-ip
  require captcha
  reason "many accounts created from this address"

rule signup-block-ip: deny account.create
  when count(attempted account.create by context.ip within $window) >= $block-signups-per-ip
  reason "too many sign-ups from this address"

rule signup-too-fast: flag account.create
  when since(signal signup.form-shown by session) < $min-fill-time

rule signup-robotic-timing: flag account.create
  when gap(attempted account.create by context.ip) < $min-fill-time
`;
