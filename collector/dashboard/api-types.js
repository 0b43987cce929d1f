// The REST API's JSON as the dashboard reads it: types only (tsconfig.dashboard.json),
// never loaded by the page. Shapes the collector declares in TypeScript are imported
// from it, so they are written once; the bodies its handlers build inline
// (collector/api/*.ts) are described here, only the fields the page reads.
/**
 * @import { AgentEnd } from '../ingest/gone-agents.js'
 * @import { Counters } from '../../protocol/messages.js'
 */

/** @typedef {import('../../protocol/messages.js').LiveSettings} LiveSettings */
/** @typedef {import('../stats/route-json.js').RouteJson} RouteJson GET /v1/routes lists these. */
/** @typedef {import('../stats/route-json.js').RouteDetailJson} RouteDetailJson GET /v1/routes/:id. */
/** @typedef {import('../stats/route-stats.js').IntervalPoint} IntervalPoint */
/** @typedef {import('../stats/histogram.js').PercentilePoint} PercentilePoint */
/** @typedef {import('../stats/recent-events.js').EventRow} EventRow */
/** @typedef {import('../stats/timeline.js').SampleRow} SampleRow */
/** @typedef {import('../stats/timeline.js').PauseRow} PauseRow */

/**
 * GET /v1/overview.
 * @typedef {object} Overview
 * @property {number} agents
 * @property {number} connectedAgents
 * @property {{ received: number, dropped: number }} events
 * @property {number} uptimeMs
 * @property {string} version
 * @property {number} routes
 */

/**
 * One agent of GET /v1/agents (handler.ts agentJson).
 * @typedef {object} AgentJson
 * @property {string} id
 * @property {string} service
 * @property {string} host
 * @property {number} pid
 * @property {string} nodeVersion
 * @property {boolean} connected
 * @property {LiveSettings} settings
 * @property {number} settingsVersion
 * @property {Counters} counters
 * @property {AgentEnd | null} ended When and how its connection ended; null while connected.
 * @property {AgentCost | null} cost What the agent measures it spends (collector/ingest/agent-cost.ts); null before its first report.
 */

/**
 * @typedef {object} AgentCost
 * @property {number | null} shareOfProcess The agent's share of its process's CPU, 0 to 1.
 * @property {number} nsPerRequest
 * @property {number} hookSamples Requests whose hooks were timed.
 */

/** @typedef {{ routes: RouteJson[] }} RoutesJson GET /v1/routes. */
/** @typedef {{ agents: AgentJson[] }} AgentsJson GET /v1/agents. */
/** @typedef {{ events: EventRow[] }} EventsJson GET /v1/events, newest first. */

/**
 * One snapshot of GET /v1/live: the bodies of /v1/overview, /v1/routes and /v1/agents.
 * @typedef {object} Snapshot
 * @property {number} time
 * @property {Overview} overview
 * @property {RoutesJson} routes
 * @property {AgentsJson} agents
 */

/**
 * A request open now, as GET /v1/inflight and /v1/agents/:id/inflight list it (inflight-api.ts).
 * @typedef {object} InflightRow
 * @property {string} agentId
 * @property {string} method
 * @property {string} path
 * @property {string} route
 * @property {number} ageMs
 * @property {number | null} routeP99Ms null for a route with no finished request yet.
 * @property {boolean} overP99
 */

/**
 * GET /v1/inflight, and GET /v1/agents/:id/inflight (which adds the agent's fields).
 * @typedef {object} Inflight
 * @property {number} open Requests open, listed or not.
 * @property {InflightRow[]} requests Oldest first.
 */

/**
 * GET /v1/agents/:id/runtime (series-api.ts).
 * @typedef {object} Runtime
 * @property {string} agentId
 * @property {AgentEnd | null} ended
 * @property {SampleRow | null} latest
 * @property {SampleRow[]} samples
 * @property {PauseRow[]} pauses
 */

/**
 * One agent's settings state (control-api.ts agentSettingsJson): GET/PUT /v1/agents/:id/settings,
 * and each of `agents` in a scope's answer.
 * @typedef {object} AgentSettingsJson
 * @property {string} id
 * @property {boolean} connected
 * @property {{ settings: LiveSettings, version: number } | null} requested null: it runs its own settings.
 * @property {{ settings: LiveSettings, version: number }} acknowledged
 * @property {{ version: number, error: string } | null} rejected
 */

/**
 * GET/PUT /v1/settings[?service=]: the settings in force for the scope, and its agents.
 * @typedef {object} ScopeSettingsJson
 * @property {LiveSettings} settings
 * @property {AgentSettingsJson[]} agents
 */

/** @typedef {{ 'request-id': string }} RecordingStarted POST /v1/recordings (202). */

/**
 * GET /v1/recordings/:id (control-api.ts operationJson).
 * `status.id` is OperationStatus of control/recordings.ts, a module that needs Node's types.
 * @typedef {object} RecordingJson
 * @property {{ id: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' }} status
 * @property {{ events?: number, 'failure-cause'?: string | null }} [operation]
 */

export {};
