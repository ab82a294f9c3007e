/**
 * The child of the parse suite's compile rows (bench/parse.ts, `compileScaleBench`): plain node, no
 * loader, importing the leash bundle as an application would. Arguments: the bundle's file URL, the
 * policy file, its rule count. Compiles once and sends the row (wall and CPU time, peak RSS).
 */
import { readFileSync } from "node:fs";

const [bundle, file, rules] = process.argv.slice(2);
const { compilePolicy } = await import(bundle);
const source = readFileSync(file, "utf8");
const count = Number(rules);
const startRssMb = Math.round(process.memoryUsage().rss / 1048576);
const cpuStart = process.cpuUsage();
const start = performance.now();
const r = compilePolicy(source, { file: "scale.rules" });
const ms = performance.now() - start;
const used = process.cpuUsage(cpuStart);
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const row = { engine: "leash-compile", rules: count, ms: Math.round(ms), cpuMs: Math.round((used.user + used.system) / 1000), peakRssMb, startRssMb, rulesPerSec: Math.round((count / ms) * 1000) };
const first = r.diagnostics[0];
const out = r.policy === null ? { ...row, agree: false, error: `${first?.code ?? "?"} ${first?.message ?? "no policy"}` } : { ...row, agree: true };
if (process.send) process.send(out);
else console.log(JSON.stringify(out));
