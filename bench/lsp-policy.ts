/**
 * A policy of `count` rules of the kinds bench/parse.ts generates, each rule with a body of its own (ids,
 * thresholds and windows vary), so the lints find what they would in a real file: no duplicates.
 */
export function lspPolicy(count: number): string {
  const templates: ((i: number) => string)[] = [
    (i) => `rule validate-builds-${i}: allow build.validate for agent "deploy-bot-${i}" on repo/*`,
    (i) => `rule draft-${i}: allow ticket.draft, ticket.read for agent "helper-${i}" valid for ${5 + (i % 50)}m`,
    (i) => `rule one-secret-${i}: allow secret.read for service "billing-${i}" on secret/billing/* limit 1 per session within 1h`,
    (i) => `rule no-mass-rotation-${i}: deny secret.rotate when count(secret.rotate by principal within ${1 + (i % 23)}h) >= ${3 + (i % 89)}\n  reason "rotating many secrets needs a human"`,
    (i) => `rule release-approval-${i}: challenge release.push for agent "releaser-${i}" unless after(approval.granted by session within 1h) require mfa`,
    (i) => `rule no-exfil-${i}: deny email.send, http.post for agent "mailer-${i}" when after(secret.read by session within 10m)`,
    (i) => `rule stuffing-${i}: challenge login.attempt when count(attempted login.fail by context.ip within ${1 + (i % 59)}m) >= ${5 + (i % 97)}`,
    (i) => `rule robotic-${i}: flag login.attempt when gap(login.attempt by context.ip) < ${100 + i}ms or regularity(login.attempt by context.ip over 10) < 0.1`,
    (i) => `rule chaining-${i}: deny * for service "svc-${i}" when distinct(action.domain by principal within 5m) > 3`,
    (i) => `rule checkout-${i}: flag payment.submit for agent "shopper-${i}" when sequence(account.create, cart.add | cart.update by session within 30s)`,
    (i) => `rule risk-${i}: revoke * for human "user-${i}" when context.risk >= 0.9 and not (principal.team in ["sre", "security"]) target principal`,
    (i) => `rule scoped-${i}: allow ticket.* for agent "bot-*" { team: "support" }, human * on "tickets/${i}/*"\n  when resource.owner == principal.id and context.mfa == true label session += tickets for 1h`,
  ];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(templates[i % templates.length]!(i));
  return lines.join("\n") + "\n";
}
