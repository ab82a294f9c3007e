/** A policy that uses a library module, and a trace its rules decide. */
export const LIBRARY_POLICY = "use leash/login { failures-per-ip: 2 }\n\nrule humans: allow login.attempt for human *\n";
export const LIBRARY_TRACE = [
  '{"signal":"login.fail","context":{"ip":"203.0.113.9"},"time":0}',
  '{"signal":"login.fail","context":{"ip":"203.0.113.9"},"time":1000}',
  '{"principal":{"kind":"human","id":"u"},"action":"login.attempt","context":{"ip":"203.0.113.9"},"time":2000,"expect":"challenge"}',
  '{"principal":{"kind":"human","id":"u"},"action":"login.attempt","context":{"ip":"198.51.100.1"},"time":2000,"expect":"allow"}',
].join("\n");
