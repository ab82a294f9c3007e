/** `use leash/login`: logins — credential stuffing by address and by account, robotic timing, impossible travel. */
export const LOGIN = `// leash/login: logins at the interaction layer (docs/guides/library-login.md).
// Requests: login.attempt. Signals the login service observes: login.fail (a wrong password),
// login.impossible-travel (its geo check found the account in two places too far apart).

param failures-per-ip = 5
param block-failures-per-ip = 20
param failures-per-account = 5
param window = 1m
param account-window = 15m
param min-gap = 300ms
param min-regularity = 0.1
param travel-window = 1h

schema {
  context { ip: string }
}

actions {
  login.attempt
}

signals {
  login.fail, login.impossible-travel
}

rule login-stuffing-by-ip: challenge login.attempt
  when count(signal login.fail by context.ip within $window) >= $failures-per-ip
  require captcha
  reason "many failed logins from this address"

rule login-block-ip: deny login.attempt
  when count(signal login.fail by context.ip within $window) >= $block-failures-per-ip
  reason "too many failed logins from this address"

rule login-stuffing-by-account: challenge login.attempt
  when count(signal login.fail by principal within $account-window) >= $failures-per-account
  require mfa
  reason "many failed logins for this account"

rule login-robotic-timing: flag login.attempt
  when gap(attempted login.attempt by context.ip) < $min-gap

rule login-robotic-rhythm: flag login.attempt
  when regularity(attempted login.attempt by context.ip over 4) < $min-regularity

rule login-impossible-travel: challenge login.attempt
  when after(signal login.impossible-travel by principal within $travel-window)
  require mfa
  reason "the account was seen too far away too recently"
`;
