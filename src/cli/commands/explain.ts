import { explainRequest } from "../../explain/explain.js";
import { renderExplanation } from "../../explain/render.js";
import { isRecord } from "../../runtime/attributes.js";
import { readTrace, replayTrace } from "../../runtime/trace.js";
import { escapeInvisible } from "../../syntax/strings.js";
import { parseArgs } from "../args.js";
import { displayName, EXIT_FAIL, EXIT_OK, readText, UsageError, type CliIO } from "../io.js";
import { compilePolicyArgument, policyAsOneText, renderPolicyDiagnostics } from "../policy.js";
import { jsonText } from "../style.js";

export const help = `leash explain POLICY EVENT.json [--state TRACE.jsonl] [--json]

Decides one request and shows why: which rules were candidates (their targets match the action),
which matched, the value of each when/unless clause and of its parts with the attribute values
they read, and why the effect won (precedence, default deny, a [high] action, a revoked key).

  --state TRACE.jsonl   replay this trace first (as leash eval does) so history operators, limits,
                        grants and revocations see its state; EVENT.json is decided after it
  --json                print the explanation as one JSON object
  --help                this text

EVENT.json holds one request: {"principal":{"kind":"agent","id":"bot"},"action":"a.b","time":0,...}.
Clauses are evaluated by the engine itself: each one is compiled as a monitor-only probe rule next
to the policy and decided on the same state. Exit codes: 0 explained, 1 policy or input errors,
2 usage (unknown option, missing file).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { command: "explain", flags: ["json"], values: ["state"], help });
  if (args.help) {
    io.stdout(help + "\n");
    return EXIT_OK;
  }
  if (args.positional.length !== 2) throw new UsageError("explain takes a policy file and an event file (see leash explain --help)");
  const [policyPath, eventPath] = args.positional as [string, string];
  const compiled = compilePolicyArgument(io, policyPath);
  const eventText = readText(io, eventPath);
  const traceText = args.values.state !== undefined ? readText(io, args.values.state) : null;
  if (compiled.policy === null) {
    io.stderr(renderPolicyDiagnostics(io, compiled));
    return EXIT_FAIL;
  }
  // The probes are compiled next to one text of the policy (the AST keeps every rule's own file and place).
  const { source, ast } = policyAsOneText(compiled);
  let request: Record<string, unknown>;
  try {
    const v = JSON.parse(eventText) as unknown;
    if (!isRecord(v) || typeof v.action !== "string") throw new Error("an event is a JSON object with an action");
    const { expect: _expect, ...rest } = v;
    request = rest;
  } catch (e) {
    io.stderr(`${displayName(eventPath)}: ${escapeInvisible(e instanceof Error ? e.message : String(e))}\n`);
    return EXIT_FAIL;
  }
  let state = compiled.policy.initialState();
  if (traceText !== null) {
    const { events, problems } = readTrace(traceText, displayName(args.values.state!));
    if (problems.length > 0) {
      io.stderr(problems.map(escapeInvisible).join("\n") + "\n");
      return EXIT_FAIL;
    }
    state = replayTrace(compiled.policy, events).state;
  }
  const explanation = explainRequest(compiled.policy, ast, source, state, request);
  let text: string;
  try {
    text = args.flags.json ? jsonText(explanation, 2) : renderExplanation(explanation, io.color);
  } catch (e) {
    // JSON.stringify recurses: a request nested thousands of levels deep cannot be written out.
    if (!(e instanceof RangeError)) throw e;
    io.stderr(`${displayName(eventPath)}: the request is nested too deeply to be shown\n`);
    return EXIT_FAIL;
  }
  io.stdout(text + "\n");
  return EXIT_OK;
}
