/** `use leash/checkout`: checkout — card testing, many new cards, fresh accounts paying at once, takeover before payment. */
export const CHECKOUT = `// leash/checkout: checkout at the interaction layer (docs/guides/library-checkout.md).
// Requests: cart.add, address.update, payment.method.add, payment.submit (account.create comes
// from leash/signup or your own actions). Signals the payment service observes: payment.declined;
// approval.granted when a person approves what the session asked for.

param declines-per-session = 3
param declines-per-ip = 5
param decline-window = 10m
param cards-per-session = 3
param card-window = 1h
param fresh-account-window = 30s
param takeover-window = 2m
param approval-window = 10m

schema {
  context { ip: string }
}

actions {
  cart.add, address.update, payment.method.add, payment.submit, account.create
}

signals {
  payment.declined, approval.granted
}

rule checkout-card-testing: deny payment.submit
  when count(signal payment.declined by session within $decline-window) >= $declines-per-session
  reason "card testing: many declined payments in this session"

rule checkout-card-testing-by-ip: challenge payment.submit
  when count(signal payment.declined by context.ip within $decline-window) >= $declines-per-ip
  require captcha
  reason "many declined payments from this address"

rule checkout-many-cards: challenge payment.method.add
  when count(attempted payment.method.add by session within $card-window) >= $cards-per-session
  unless after(signal approval.granted by session within $approval-window)
  require human-approval satisfied by approval.granted
  reason "many payment methods added in one session"

rule checkout-fresh-account: flag payment.submit
  when sequence(account.create, cart.add by session within $fresh-account-window)

rule checkout-takeover-pattern: challenge payment.submit
  when sequence(address.update, payment.method.add by session within $takeover-window)
  unless after(signal approval.granted by session within $approval-window)
  require human-approval satisfied by approval.granted
  reason "new address and new card just before paying"
`;
