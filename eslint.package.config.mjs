// The compiled package as n8n's verification scanner lints it: every .js of the tarball
// (dist/) with the community-node rules (no timers, process, globals or foreign imports).
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

const { recommended } = n8nCommunityNodesPlugin.configs;

export default [
	{
		files: ['dist/**/*.js'],
		...recommended,
		rules: { ...recommended.rules, 'no-console': 'error' },
	},
];
