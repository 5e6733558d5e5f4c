import type { INodeProperties } from 'n8n-workflow';

const show = { show: { operation: ['sendLocation'] } };

export const sendLocationProperties: INodeProperties[] = [
	{
		displayName: 'Latitude',
		name: 'latitude',
		type: 'string',
		default: '',
		required: true,
		placeholder: '37.4421',
		description: 'Between -90 and 90',
		displayOptions: show,
	},
	{
		displayName: 'Longitude',
		name: 'longitude',
		type: 'string',
		default: '',
		required: true,
		placeholder: '-122.1615',
		description: 'Between -180 and 180',
		displayOptions: show,
	},
	{
		displayName: 'Location Name',
		name: 'locationName',
		type: 'string',
		default: '',
		placeholder: 'Philz Coffee',
		displayOptions: show,
	},
	{
		displayName: 'Address',
		name: 'address',
		type: 'string',
		default: '',
		placeholder: '101 Forest Ave, Palo Alto, CA 94301',
		displayOptions: show,
	},
];
