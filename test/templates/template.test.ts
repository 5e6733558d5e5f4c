/**
 * The shipped template (templates/whatsapp-external-agent.json, fixed path) checked against
 * this package's own node and credential classes, loaded from the sources: every node type
 * exists (or is n8n core), every parameter the template sets exists in that node's panel, is
 * shown for the chosen operation/mode and holds a valid value, credentials are referenced by
 * type and readable name only, the trigger has a fixed webhookId, the agent URL is a
 * placeholder, nothing on the hot path is an expression, the connections are exactly the
 * pipeline of SPEC §1, and n8n-workflow's own Workflow class and parameter checks accept it.
 * The real-n8n import and run is test/e2e/template.e2e.test.ts.
 */
import { readFileSync } from 'fs';
import { join } from 'path';

import {
	NodeHelpers,
	Workflow,
	type ICredentialType,
	type INode,
	type INodeParameters,
	type INodeProperties,
	type INodePropertyCollection,
	type INodePropertyOptions,
	type INodeType,
	type INodeTypeDescription,
	type IConnections,
} from 'n8n-workflow';

import { ExternalAgentApi } from '../../credentials/ExternalAgentApi.credentials';
import { WhatsAppCloudApi } from '../../credentials/WhatsAppCloudApi.credentials';
import { WhatsAppWebhookApi } from '../../credentials/WhatsAppWebhookApi.credentials';
import { CallExternalAgent } from '../../nodes/CallExternalAgent/CallExternalAgent.node';
import { SendWhatsApp } from '../../nodes/SendWhatsApp/SendWhatsApp.node';
import { WhatsAppAgentTrigger } from '../../nodes/WhatsAppAgentTrigger/WhatsAppAgentTrigger.node';

const TEMPLATE_PATH = join(__dirname, '..', '..', 'templates', 'whatsapp-external-agent.json');
const PACKAGE = 'n8n-nodes-whatsapp-agent';

interface TemplateNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: INodeParameters;
	webhookId?: string;
	credentials?: Record<string, Record<string, unknown>>;
	onError?: string;
	[key: string]: unknown;
}

interface Template {
	id?: string;
	name: string;
	nodes: TemplateNode[];
	connections: IConnections;
	settings: Record<string, unknown>;
	[key: string]: unknown;
}

const raw = readFileSync(TEMPLATE_PATH, 'utf8');
const template = JSON.parse(raw) as Template;

// The versions the template uses (Call External Agent is a versioned node: its 1.1 has conversations).
const ourNodeTypes: INodeType[] = [new WhatsAppAgentTrigger(), new CallExternalAgent().getNodeType(1.1), new SendWhatsApp()];
const ourNodes = new Map(ourNodeTypes.map((nodeType) => [`${PACKAGE}.${nodeType.description.name}`, nodeType]));
const ourCredentials = new Map<string, ICredentialType>(
	[new WhatsAppCloudApi(), new WhatsAppWebhookApi(), new ExternalAgentApi()].map((credential) => [credential.name, credential]),
);

/**
 * n8n core types the template may use, with the parameters they accept. n8n-nodes-base is not
 * a dependency of this package, so its sticky note is described here from n8n's own node
 * (StickyNote.node.ts: content, height, width, color; version 1).
 */
const STICKY_NOTE = 'n8n-nodes-base.stickyNote';
const stickyNoteType: INodeType = {
	description: {
		displayName: 'Sticky Note',
		name: 'stickyNote',
		group: ['input'],
		version: 1,
		description: 'Make your workflow easier to understand',
		defaults: { name: 'Sticky Note' },
		inputs: [],
		outputs: [],
		properties: [
			{ displayName: 'Content', name: 'content', type: 'string', default: '' },
			{ displayName: 'Height', name: 'height', type: 'number', default: 160, required: true },
			{ displayName: 'Width', name: 'width', type: 'number', default: 240, required: true },
			{ displayName: 'Color', name: 'color', type: 'number', default: 1 },
		],
	} as INodeTypeDescription,
};
const coreNodes = new Map<string, INodeType>([[STICKY_NOTE, stickyNoteType]]);

function nodeTypeOf(type: string): INodeType | undefined {
	return ourNodes.get(type) ?? coreNodes.get(type);
}

const byName = (name: string) => {
	const node = template.nodes.find((candidate) => candidate.name === name);
	if (!node) throw new Error(`The template has no node "${name}"`);
	return node;
};
const workingNodes = template.nodes.filter((node) => node.type !== STICKY_NOTE);

const TRIGGER = 'WhatsApp Agent Trigger';
const MARK_READ = 'Mark as Read + Typing';
const AGENT = 'Call External Agent';
const REPLY = 'Send Agent Reply';
const LATER_REPLY = 'Send Later Reply';

/** Every problem with one parameter value against its property (recursing into collections). */
function valueProblems(property: INodeProperties, value: unknown, path: string): string[] {
	const problems: string[] = [];
	switch (property.type) {
		case 'string':
		case 'notice':
			if (typeof value !== 'string') problems.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
			break;
		case 'number':
			if (typeof value !== 'number') problems.push(`${path}: expected a number, got ${JSON.stringify(value)}`);
			else {
				const { minValue, maxValue } = (property.typeOptions ?? {}) as { minValue?: number; maxValue?: number };
				if (minValue !== undefined && value < minValue) problems.push(`${path}: ${value} is below the minimum ${minValue}`);
				if (maxValue !== undefined && value > maxValue) problems.push(`${path}: ${value} is above the maximum ${maxValue}`);
			}
			break;
		case 'boolean':
			if (typeof value !== 'boolean') problems.push(`${path}: expected true or false, got ${JSON.stringify(value)}`);
			break;
		case 'options': {
			const allowed = (property.options as INodePropertyOptions[]).map((option) => option.value);
			if (!allowed.includes(value as string)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(allowed)}`);
			break;
		}
		case 'multiOptions': {
			const allowed = (property.options as INodePropertyOptions[]).map((option) => option.value);
			if (!Array.isArray(value)) problems.push(`${path}: expected a list, got ${JSON.stringify(value)}`);
			else for (const entry of value) if (!allowed.includes(entry)) problems.push(`${path}: ${JSON.stringify(entry)} is not one of ${JSON.stringify(allowed)}`);
			break;
		}
		case 'collection': {
			if (typeof value !== 'object' || value === null || Array.isArray(value)) {
				problems.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
				break;
			}
			const children = property.options as INodeProperties[];
			for (const [key, child] of Object.entries(value)) {
				const match = children.find((option) => option.name === key);
				if (!match) problems.push(`${path}.${key}: no such option (known: ${children.map((option) => option.name).join(', ')})`);
				else problems.push(...valueProblems(match, child, `${path}.${key}`));
			}
			break;
		}
		case 'fixedCollection': {
			if (typeof value !== 'object' || value === null || Array.isArray(value)) {
				problems.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
				break;
			}
			const groups = property.options as INodePropertyCollection[];
			for (const [key, entries] of Object.entries(value)) {
				const group = groups.find((option) => option.name === key);
				if (!group) {
					problems.push(`${path}.${key}: no such group (known: ${groups.map((option) => option.name).join(', ')})`);
					continue;
				}
				const list = Array.isArray(entries) ? entries : [entries];
				list.forEach((entry, index) => {
					for (const [field, fieldValue] of Object.entries(entry as Record<string, unknown>)) {
						const match = group.values.find((candidate) => candidate.name === field);
						if (!match) problems.push(`${path}.${key}[${index}].${field}: no such field`);
						else problems.push(...valueProblems(match, fieldValue, `${path}.${key}[${index}].${field}`));
					}
				});
			}
			break;
		}
		default:
			break;
	}
	return problems;
}

/** Problems of a node's parameters against its type's properties (name exists, shown, value valid). */
function parameterProblems(node: TemplateNode, description: INodeTypeDescription): string[] {
	const problems: string[] = [];
	for (const [name, value] of Object.entries(node.parameters)) {
		const candidates = description.properties.filter((property) => property.name === name);
		if (candidates.length === 0) {
			problems.push(`${node.name}: parameter "${name}" does not exist in ${description.name}`);
			continue;
		}
		const shown = candidates.filter((property) => NodeHelpers.displayParameter(node.parameters, property, node as unknown as INode, description));
		if (shown.length === 0) {
			problems.push(`${node.name}: parameter "${name}" is hidden for these settings, so n8n would drop it`);
			continue;
		}
		const perCandidate = shown.map((property) => valueProblems(property, value, `${node.name}.${name}`));
		if (perCandidate.every((list) => list.length > 0)) problems.push(...perCandidate[0]);
	}
	return problems;
}

/** Every string value inside a parameter tree, with its path. */
function strings(value: unknown, path: string): Array<{ path: string; value: string }> {
	if (typeof value === 'string') return [{ path, value }];
	if (Array.isArray(value)) return value.flatMap((entry, index) => strings(entry, `${path}[${index}]`));
	if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, entry]) => strings(entry, `${path}.${key}`));
	return [];
}

/** `connections[from].main[output]` as "target:index" strings. */
function targets(from: string, output: number): string[] {
	const main = (template.connections[from]?.main ?? []) as Array<Array<{ node: string; type: string; index: number }> | null>;
	return (main[output] ?? []).map((connection) => `${connection.node}:${connection.type}:${connection.index}`);
}

describe('the template file', () => {
	test('is one workflow in the shape n8n imports and exports (name, nodes, connections, settings)', () => {
		expect(Array.isArray(template)).toBe(false);
		expect(typeof template.name).toBe('string');
		expect(template.name.length).toBeGreaterThan(0);
		expect(Array.isArray(template.nodes)).toBe(true);
		expect(typeof template.connections).toBe('object');
		expect(template.settings).toMatchObject({ executionOrder: 'v1' });
		// Imported inactive: the user fills in credentials and the agent URL first.
		expect(template.active).toBe(false);
		// A fixed id (16 characters, n8n's alphabet) so `n8n import:workflow` replaces rather than duplicates.
		expect(template.id).toMatch(/^[A-Za-z0-9]{16}$/);
	});

	test('node names and ids are unique, every node has a position and a typeVersion its type has', () => {
		const names = template.nodes.map((node) => node.name);
		const ids = template.nodes.map((node) => node.id);
		expect(new Set(names).size).toBe(names.length);
		expect(new Set(ids).size).toBe(ids.length);
		for (const node of template.nodes) {
			expect(node.position).toEqual([expect.any(Number), expect.any(Number)]);
			const nodeType = nodeTypeOf(node.type);
			const versions = ([] as number[]).concat(nodeType?.description.version ?? []);
			expect({ node: node.name, typeVersion: node.typeVersion, ok: versions.includes(node.typeVersion) }).toEqual({
				node: node.name,
				typeVersion: node.typeVersion,
				ok: true,
			});
		}
	});

	test("every node type is one of this package's nodes (its description.name) or n8n core", () => {
		for (const node of template.nodes) {
			expect({ node: node.name, type: node.type, known: nodeTypeOf(node.type) !== undefined }).toEqual({ node: node.name, type: node.type, known: true });
		}
		const types = workingNodes.map((node) => node.type);
		expect(types.every((type) => type.startsWith(`${PACKAGE}.`))).toBe(true);
		expect([...new Set(types)].sort()).toEqual([`${PACKAGE}.callExternalAgent`, `${PACKAGE}.sendWhatsApp`, `${PACKAGE}.whatsAppAgentTrigger`]);
	});

	test("every parameter exists in its node's properties, is shown for the node's settings, and holds a valid value", () => {
		const problems = template.nodes.flatMap((node) => parameterProblems(node, nodeTypeOf(node.type)!.description));
		expect(problems).toEqual([]);
	});

	test('the parameter check itself catches unknown names, hidden parameters and invalid values', () => {
		const description = new SendWhatsApp().description;
		const node = (parameters: INodeParameters) => ({ ...byName(REPLY), parameters });
		expect(parameterProblems(node({ operation: 'sendAgentReply', nope: 1 }), description)).toEqual([
			expect.stringContaining('"nope" does not exist'),
		]);
		expect(parameterProblems(node({ operation: 'sendAgentReply', typingIndicator: true }), description)).toEqual([
			expect.stringContaining('"typingIndicator" is hidden'),
		]);
		expect(parameterProblems(node({ operation: 'sendEverything' }), description)).toEqual([expect.stringContaining('is not one of')]);
		expect(parameterProblems(node({ operation: 'sendAgentReply', options: { textLimit: 5000, bogus: true } }), description)).toEqual([
			expect.stringContaining('above the maximum 4096'),
			expect.stringContaining('options.bogus: no such option'),
		]);
	});

	test("n8n-workflow's parameter checks find no issues in any node", () => {
		for (const node of template.nodes) {
			const { description } = nodeTypeOf(node.type)!;
			const parameters = NodeHelpers.getNodeParameters(description.properties, node.parameters, true, false, node as unknown as INode, description);
			expect(parameters).not.toBeNull();
			const issues = NodeHelpers.getNodeParametersIssues(description.properties, { ...(node as unknown as INode), parameters: parameters! }, description);
			expect({ node: node.name, issues }).toEqual({ node: node.name, issues: null });
		}
	});

	test("n8n-workflow's Workflow class accepts it with this package's node types, and starts at the trigger", () => {
		const nodeTypes = {
			getByName: (type: string) => nodeTypeOf(type)!,
			getByNameAndVersion: (type: string) => nodeTypeOf(type)!,
			getKnownTypes: () => ({}),
		};
		const workflow = new Workflow({
			id: template.id,
			name: template.name,
			nodes: template.nodes as unknown as INode[],
			connections: template.connections,
			active: false,
			nodeTypes: nodeTypes as never,
			settings: template.settings,
		});
		// The webhook node is where n8n starts a production run.
		expect(workflow.queryNodes((nodeType) => typeof nodeType.webhook === 'function').map((node) => node.name)).toEqual([TRIGGER]);
		expect(workflow.getChildNodes(TRIGGER).sort()).toEqual([AGENT, LATER_REPLY, MARK_READ, REPLY].sort());
		expect(workflow.getParentNodes(REPLY).sort()).toEqual([AGENT, MARK_READ, TRIGGER].sort());
		expect(workflow.getParentNodes(LATER_REPLY)).toEqual([TRIGGER]);
		// The Workflow class filled in defaults, as n8n does on import: the values the template
		// relies on survive that.
		expect(workflow.getNode(TRIGGER)!.parameters).toMatchObject({ webhookSetup: 'automatic' });
		expect(workflow.getNode(MARK_READ)!.parameters).toMatchObject({ operation: 'markAsRead', typingIndicator: true });
		expect(workflow.getNode(AGENT)!.parameters).toMatchObject({ onAgentError: 'fallback', fallbackMessage: expect.any(String) });
		expect(workflow.getNode(REPLY)!.parameters).toMatchObject({ operation: 'sendAgentReply' });
		expect(workflow.getNode(LATER_REPLY)!.parameters).toMatchObject({ operation: 'sendAgentReply' });
	});
});

describe('credentials, webhook id and agent URL', () => {
	test("credentials are referenced by a type the node accepts, with a readable name and nothing else (no id, no data)", () => {
		for (const node of template.nodes) {
			const accepted = (nodeTypeOf(node.type)!.description.credentials ?? []).map((credential) => credential.name);
			for (const [type, reference] of Object.entries(node.credentials ?? {})) {
				expect({ node: node.name, type, exists: ourCredentials.has(type), accepted: accepted.includes(type) }).toEqual({
					node: node.name,
					type,
					exists: true,
					accepted: true,
				});
				expect(Object.keys(reference)).toEqual(['name']);
				expect(reference.name).toMatch(/^[A-Z][A-Za-z ]{2,40}$/);
			}
		}
	});

	test('each credential type has one name across the template, so the user creates each credential once', () => {
		const names = new Map<string, Set<unknown>>();
		for (const node of template.nodes) {
			for (const [type, reference] of Object.entries(node.credentials ?? {})) {
				names.set(type, (names.get(type) ?? new Set()).add(reference.name));
			}
		}
		expect([...names.keys()].sort()).toEqual(['externalAgentApi', 'whatsAppCloudApi', 'whatsAppWebhookApi']);
		for (const set of names.values()) expect(set.size).toBe(1);
	});

	test("every node's required credentials are referenced", () => {
		for (const node of workingNodes) {
			// A credential shown only for some parameter values is required only then.
			const shown = (credential: { displayOptions?: { show?: Record<string, unknown[] | undefined> } }) =>
				Object.entries(credential.displayOptions?.show ?? {}).every(([name, values]) => (values ?? []).includes((node.parameters as Record<string, unknown>)[name]));
			const required = (nodeTypeOf(node.type)!.description.credentials ?? [])
				.filter((credential) => credential.required && shown(credential))
				.map((credential) => credential.name);
			for (const type of required) expect({ node: node.name, type, referenced: Boolean(node.credentials?.[type]) }).toEqual({ node: node.name, type, referenced: true });
		}
	});

	test('the file holds no secret: no credential data, no token-like strings', () => {
		const secretFields = [...ourCredentials.values()].flatMap((credential) =>
			credential.properties.filter((property) => (property.typeOptions as { password?: boolean } | undefined)?.password).map((property) => property.name),
		);
		expect(secretFields).toEqual(expect.arrayContaining(['accessToken', 'appSecret', 'verifyToken', 'bearerToken', 'signingSecret']));
		for (const field of secretFields) expect(raw).not.toMatch(new RegExp(`"${field}"\\s*:`));
		// Meta access tokens start with EAA; long hex or base64 runs look like secrets.
		expect(raw).not.toMatch(/EAA[A-Za-z0-9]{20,}/);
		expect(raw).not.toMatch(/[A-Fa-f0-9]{40,}/);
		expect(template.pinData ?? {}).toEqual({});
	});

	test('the trigger carries a fixed webhookId (a UUID), so its URLs stay the same after import', () => {
		const trigger = byName(TRIGGER);
		expect(trigger.type).toBe(`${PACKAGE}.whatsAppAgentTrigger`);
		expect(trigger.webhookId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
		expect(template.nodes.filter((node) => node.webhookId !== undefined)).toHaveLength(1);
	});

	test("the agent URL is a placeholder on a reserved example domain, not someone's real endpoint", () => {
		const url = new URL(String(byName(AGENT).parameters.url));
		expect(url.protocol).toBe('https:');
		expect(url.hostname).toMatch(/(^|\.)example\.(com|org|net)$/);
	});

	test('no n8n expression anywhere on the hot path (every expression costs more than our nodes in n8n 2.41)', () => {
		const found = workingNodes.flatMap((node) => strings(node.parameters, node.name).filter((entry) => entry.value.startsWith('=') || entry.value.includes('{{')));
		expect(found).toEqual([]);
	});
});

describe('the pipeline (SPEC §1)', () => {
	test('trigger Messages → Mark as Read + Typing → Call External Agent → Send Agent Reply', () => {
		expect(targets(TRIGGER, 0)).toEqual([`${MARK_READ}:main:0`]);
		expect(targets(MARK_READ, 0)).toEqual([`${AGENT}:main:0`]);
		expect(targets(AGENT, 0)).toEqual([`${REPLY}:main:0`]);
	});

	test('trigger Agent Callbacks (output 3) → Send Later Reply; Statuses (output 2) left free for the user', () => {
		expect(targets(TRIGGER, 2)).toEqual([`${LATER_REPLY}:main:0`]);
		expect(targets(TRIGGER, 1)).toEqual([]);
		expect(new WhatsAppAgentTrigger().description.outputNames).toEqual(['Messages', 'Statuses', 'Agent Callbacks', 'Conversation Events']);
	});

	test('nothing else is connected: the replies are the ends, no other edges exist', () => {
		const edges = Object.entries(template.connections).flatMap(([from, byType]) =>
			Object.entries(byType).flatMap(([type, outputs]) =>
				(outputs ?? []).flatMap((list, output) => (list ?? []).map((connection) => `${from}[${type}:${output}] → ${connection.node}[${connection.type}:${connection.index}]`)),
			),
		);
		expect(edges.sort()).toEqual(
			[
				`${TRIGGER}[main:0] → ${MARK_READ}[main:0]`,
				`${TRIGGER}[main:2] → ${LATER_REPLY}[main:0]`,
				// Conversation Events (emitted only with the trigger's option on) are recorded by the agent node.
				`${TRIGGER}[main:3] → ${AGENT}[main:0]`,
				`${MARK_READ}[main:0] → ${AGENT}[main:0]`,
				`${AGENT}[main:0] → ${REPLY}[main:0]`,
			].sort(),
		);
	});

	test('each step does what the pipeline needs: read receipt with typing that never stops the reply, fallback on agent errors, agent replies sent', () => {
		expect(byName(TRIGGER).parameters.webhookSetup).toBe('automatic');
		expect(byName(MARK_READ)).toMatchObject({ type: `${PACKAGE}.sendWhatsApp`, parameters: { operation: 'markAsRead', typingIndicator: true }, onError: 'continueRegularOutput' });
		expect(byName(AGENT)).toMatchObject({ type: `${PACKAGE}.callExternalAgent`, parameters: { onAgentError: 'fallback' } });
		expect(String(byName(AGENT).parameters.fallbackMessage).length).toBeGreaterThan(0);
		for (const name of [REPLY, LATER_REPLY]) {
			expect(byName(name)).toMatchObject({ type: `${PACKAGE}.sendWhatsApp`, parameters: { operation: 'sendAgentReply' } });
			// Send Agent Reply reads the recipient from the item: no "to" to fill in.
			expect(byName(name).parameters.to ?? '').toBe('');
		}
	});

	test('conversations are a visible, explained step that needs no credential until turned on', () => {
		expect(byName(AGENT).parameters.conversations ?? false).toBe(false);
		expect(byName(AGENT).typeVersion).toBe(1.1);
		expect(new CallExternalAgent().getNodeType(1.1).description.outputNames).toEqual(['Reply', 'Handoff', 'Paused']);
		const note = template.nodes.find((node) => node.type === STICKY_NOTE && /Remember Conversations/.test(String(node.parameters.content)));
		expect(String(note?.parameters.content)).toMatch(/Handoff.*Paused.*Conversation Events/s);
	});

	test('sticky notes explain the steps (at least one per step) and are not connected', () => {
		const notes = template.nodes.filter((node) => node.type === STICKY_NOTE);
		expect(notes.length).toBeGreaterThanOrEqual(3);
		for (const note of notes) {
			expect(String(note.parameters.content).length).toBeGreaterThan(50);
			expect(template.connections[note.name]).toBeUndefined();
		}
	});
});
