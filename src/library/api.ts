/** `use leash/api`: API action sequences — enumeration of resources, chaining across business functions. */
export const API = `// leash/api: API action sequences at the interaction layer (docs/guides/library-api.md).
// Actions are named DOMAIN.VERB (crm.read, billing.export): action.domain is the business function.

param max-domains = 3
param domain-window = 5m
param max-resources = 50
param resource-window = 1m
param export-window = 10m

schema {
  resource { path: string }
}

rule api-chaining: deny * for service *, token *
  when distinct(action.domain by principal within $domain-window) > $max-domains
  reason "calls span too many business functions"

rule api-enumeration: challenge * for service *, token *
  when distinct(resource.path by principal within $resource-window) >= $max-resources
  require human-approval
  reason "many different resources read in a short time"

rule api-read-then-export: flag *.export
  when after(attempted *.read by principal within $export-window)
`;
