/**
 * The oldest Node memaudit runs on: @kubernetes/client-node 2.x needs 22.19. Kept free of
 * imports and modern syntax so an old Node can load it and print the message.
 */
export const MIN_NODE = [22, 19] as const;

/** null when `version` (e.g. "20.20.2") is new enough, else the message to print. */
export function nodeVersionProblem(version: string): string | null {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return null;
  return (
    `memaudit needs Node.js ${MIN_NODE[0]}.${MIN_NODE[1]} or newer (Node 24 recommended); this is Node ${version}.\n` +
    'Install a newer Node, or in a checkout run ./bin/memaudit after `npm ci`, which brings Node 24.\n'
  );
}
