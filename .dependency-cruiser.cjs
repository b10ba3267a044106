/**
 * Dependency rules between the top-level folders, checked by `npm run lint` (dependency-cruiser).
 * Type-only imports count: a type pulled across a boundary is still a shared contract.
 *
 * - backends/ (the simulators) stand in for systems another team owns: they import nothing of the
 *   gateway's, their contract is docs/CONTRACTS.md (backends/contract/).
 * - src/ (the gateway) never imports the simulators, except the dev/embedded entry
 *   src/embedded.ts; production (src/server.ts) must boot without them.
 * - only the composition root (src/app.ts) imports the HTTP route modules in src/http/routes/.
 * - a context's port speaks domain types: it imports no OCC DTO, format or presenter.
 * - no import cycles in src/.
 * Tests and load tests may import both sides; they are not cruised.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'backends-not-to-src',
      comment: 'The simulators share no code with the gateway: write it in backends/contract/ from docs/CONTRACTS.md.',
      severity: 'error',
      from: { path: '^backends/' },
      to: { path: '^src/' },
    },
    {
      name: 'src-not-to-backends',
      comment: 'Only the embedded entry (src/embedded.ts) may start simulators; production must not load them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/embedded\\.ts$' },
      to: { path: '^backends/' },
    },
    {
      name: 'routes-only-from-app',
      comment: 'The HTTP route modules (src/http/routes/) are glue registered by the composition root (src/app.ts); nothing else imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^(src/app\\.ts|src/http/routes/)' },
      to: { path: '^src/http/routes/' },
    },
    {
      name: 'ports-speak-domain-types',
      comment: 'A port returns canonical values (src/domain/) whichever arm answers; rendering OCC is a presenter\'s job (src/occ/), above the port.',
      severity: 'error',
      from: { path: '^src/contexts/[^/]+/[^/]+\\.port\\.ts$' },
      to: { path: '^src/occ/(dto|format|field-mask|promotions)\\.ts$' },
    },
    {
      name: 'no-circular-in-src',
      comment: 'An import cycle in src/: break it (move the shared part into its own module).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|coverage)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
