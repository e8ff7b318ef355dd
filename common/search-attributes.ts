/** Custom search attributes the warehouse's workflows set, registered on the Temporal server at start. */
export const searchAttributeTypes = {
  BusinessDate: 'Keyword',
  EtlStatus: 'Keyword',
} as const;

/** `--search-attribute K=Type` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return Object.entries(searchAttributeTypes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}
