/** Every example of examples/ (NAME.rules with its trace NAME.jsonl), bundled into the page. */
export interface Example {
  readonly name: string;
  readonly policy: string;
  readonly trace: string;
}

const policies = import.meta.glob("../../examples/*.rules", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const traces = import.meta.glob("../../examples/*.jsonl", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

export const EXAMPLES: readonly Example[] = Object.entries(policies)
  .map(([path, policy]) => ({
    name: path.slice(path.lastIndexOf("/") + 1).replace(/\.rules$/, ""),
    policy,
    trace: traces[path.replace(/\.rules$/, ".jsonl")] ?? "",
  }))
  .sort((a, b) => (a.name < b.name ? -1 : 1));
