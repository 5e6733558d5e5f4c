/**
 * The "Test" of the External Agent credential (`testedBy` on Call External Agent). The agent's
 * URL is a node parameter, so the credential alone cannot reach the agent: the test checks
 * what can be wrong in the credential itself (an empty token or header, a header name this
 * node sets itself, a token pasted with "Bearer ", a signing secret too short to be safe).
 */
import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { agentCredentialProblems } from '../../core/agent-request';

export async function externalAgentApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const problems = agentCredentialProblems(credential.data ?? {});
	if (problems.length > 0) return { status: 'Error', message: problems.join(' ') };
	return {
		status: 'OK',
		message:
			'The credential is complete. Your agent itself is reached when Call External Agent runs, because its URL is set on the node.',
	};
}
