import { config } from '@n8n/node-cli/eslint';

// n8n's community-node rule set applies to everything that ships (core/, nodes/, credentials/).
// Tests, benchmarks and scripts run on developer machines and in CI only, never inside n8n,
// so the runtime restrictions (timers, process, imports) do not apply to them.
export default [
	...config,
	{
		ignores: ['dist/**', 'node_modules/**', '.cache/**', '.n8n-local/**', 'coverage/**', 'examples/**', '**/*.js', '**/*.mjs'],
	},
	{
		files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
		rules: {
			'@n8n/community-nodes/no-restricted-globals': 'off',
			'@n8n/community-nodes/no-restricted-imports': 'off',
			'@n8n/community-nodes/missing-paired-item': 'off',
			'@n8n/community-nodes/require-node-api-error': 'off',
			// Tests start fakes and a real n8n, and use throwaway credentials for them.
			'@n8n/community-nodes/no-dangerous-functions': 'off',
			'@n8n/community-nodes/no-hardcoded-secrets': 'off',
			'@typescript-eslint/no-explicit-any': 'off',
			'@typescript-eslint/no-non-null-assertion': 'off',
			'no-console': 'off',
		},
	},
];
