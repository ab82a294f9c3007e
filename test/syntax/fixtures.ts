/** Three mistakes on three lines, between valid rules (test/syntax/errors.test.ts, test/cli-check.test.ts). */
export const THREE_ERRORS = `rule ok-1: allow ticket.read for agent *
rule typo: alow ticket.draft
rule : deny secret.rotate
rule bad-key: deny x when count(x by ip within 1m) > 3
rule ok-2: deny y
`;
