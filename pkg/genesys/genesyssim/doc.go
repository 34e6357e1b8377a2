// Package genesyssim is a Genesys Cloud simulator for tests, benchmarks and dev runs: the paths,
// bodies, status codes, headers and rate limits of the fact sheet (reference/genesys-api.md),
// a seeded org, fault injection, a switch for every behaviour the fact sheet leaves unconfirmed,
// and a request log. It follows the fact sheet, not our client: it does not import pkg/genesys.
//
// # Running it
//
// A Server is an http.Handler for one host that serves both the login host's and the API
// host's paths, so one base URL is both the "API URL" and the "login URL":
//
//	sim, err := genesyssim.New(genesyssim.Config{Users: 20})
//	hs := httptest.NewServer(sim) // or NewTestServer(t, cfg), which also closes it
//
// cmd/genesys-sim runs it as a process (see its --help).
//
// # Paths
//
//	POST   /oauth/token                                   client-credentials grant (Basic auth)
//	GET    /api/v2/scim/v2/users                          list: startIndex, count, filter, attributes
//	GET    /api/v2/scim/v2/users/{id}                     ETag, If-None-Match → 304
//	PATCH  /api/v2/scim/v2/users/{id}                     PatchOp: active, roles, displayName, title, externalId
//	DELETE /api/v2/scim/v2/users/{id}                     soft delete
//	GET    /api/v2/scim/v2/serviceproviderconfig
//	       (the same five under the older /api/v2/scim/ tree)
//	DELETE /api/v2/tokens/{userId}                        204, clears the user's tokens
//	DELETE /api/v2/tokens/me                              200, revokes the calling token
//	GET    /api/v2/users/{id}                             platform User (state active|inactive; ?state=deleted)
//	DELETE /api/v2/users/{id}                             200 empty, the same soft delete as SCIM's
//	GET    /api/v2/users/{id}/roles                       UserAuthorization
//	GET    /api/v2/authorization/subjects/{id}            AuthzSubject, one grant per role and division
//	POST   /api/v2/authorization/subjects/{id}/bulkremove 204
//	POST   /api/v2/authorization/subjects/{id}/bulkadd    204 (official SDKs; not in the fact sheet)
//	GET    /api/v2/users/{id}/queues                      UserQueueEntityListing (joined defaults to true)
//	POST   /api/v2/audits/query/realtime                  AuditRealtimeQueryResultsResponse of the audit trail (audits.go)
//	POST   /api/v2/audits/query                           AuditQueryExecutionStatusResponse (Succeeded at once)
//	GET    /api/v2/audits/query/{transactionId}[/results] its status; AuditQueryExecutionResultsResponse, ?cursor&pageSize
//
// Contact-center paths (reference/contact-center.md section 2; bodies as in the SDK docs):
//
//	GET    /api/v2/users/{id}/routingstatus               RoutingStatus (unknown user: 200 OFF_QUEUE, as documented)
//	PUT    /api/v2/users/{id}/routingstatus               {"status"} → 200 RoutingStatus
//	GET    /api/v2/users/{id}/presences/purecloud         UserPresence
//	PATCH  /api/v2/users/{id}/presences/purecloud         {"presenceDefinition":{"id"}} → 200 UserPresence
//	GET    /api/v2/presence/definitions                   the system presence definitions, one page (unpaged in the SDK)
//	GET    /api/v2/routing/queues/{queueId}/members       QueueMemberEntityListing: pageSize (≤100), pageNumber, name, memberBy, joined
//	DELETE /api/v2/routing/queues/{queueId}/members/{memberId}  204
//	POST   /api/v2/routing/queues/{queueId}/members       [{"id"}] (1–100) → 204; ?delete=true removes
//	GET    /api/v2/users/{id}/station                     UserStations
//	DELETE /api/v2/users/{id}/station/associatedstation   204
//	DELETE /api/v2/users/{id}/station/defaultstation      204
//	PUT    /api/v2/users/{id}/station/defaultstation/{stationId}  204 (another user's default: 409)
//	GET    /api/v2/users/{id}/callforwarding              CallForwarding
//	PATCH  /api/v2/users/{id}/callforwarding              fields sent replace the stored ones → 200
//	GET    /api/v2/flows                                  FlowEntityListing, ?lockedBy={userId}, paged
//	POST   /api/v2/flows/actions/unlock?flow={flowId}     200 Flow
//	GET    /api/v2/oauth/clients                          OAuthClientEntityListing (one page, createdBy)
//	GET    /api/v2/oauth/clients/{clientId}               OAuthClient
//	PUT    /api/v2/oauth/clients/{clientId}               OAuthClient (name, authorizedGrantType, state) → 200
//	GET    /api/v2/workforcemanagement/agents/{agentId}/managementunit  {user, managementUnit, businessUnit}
//	POST   /api/v2/workforcemanagement/agents             {"userIds","destinationManagementUnitId"|null} → 200 MoveAgentsResponse
//	GET    /api/v2/users/{id}/verifiers                   VerifierEntityListing
//	DELETE /api/v2/users/{id}/verifiers/{verifierId}      204
//
// Unknown users, queues, stations, flows, OAuth clients and verifiers get 404 ErrorBody; a
// malformed body or parameter 400. Routing status and presence are kept consistent as in the
// Genesys UI: leaving "On Queue" takes the agent OFF_QUEUE, going on queue is "On Queue". A user
// in no management unit gets 200 with the user only (Genesys's answer there is unconfirmed).
//
// Paths are lower-case only, as documented (case-insensitivity is unconfirmed). An unknown
// /api path answers 404 and a known path with another method 405, both as platform ErrorBody.
// Not simulated: SCIM PUT and groups, PATCH /api/v2/users/{id} (restore), user listings, queue members who have not joined (every membership is joined),
// PUT /api/v2/authorization/roles/{roleId}/users/remove.
//
// # Authentication and permissions
//
// The token endpoint takes Basic credentials (body credentials only with
// Config.AllowBodyCredentials) and grant_type=client_credentials. An unknown client gets 400
// {"error":"invalid_client","description":"client not found",...}; a wrong secret or a
// disabled client 401 "authentication failed"; a missing grant_type 400 invalid_request; another
// grant type 400 unsupported_grant_type (these two codes are unconfirmed). Success is
// {"access_token","token_type":"bearer","expires_in"} without a refresh token. The token
// endpoint is not rate limited and not faulted: the limits page counts API requests per token,
// and a refused grant is simulated with SetClientEnabled.
//
// An API request without a bearer token gets 401 authentication.required; an unknown or revoked
// token, or one of a disabled client, 401 bad.credentials; an expired one 401
// credentials.expired. Each route requires any of its permissions (Client.Permissions, nil for
// all), else 403 missing.any.permissions listing them: SCIM PATCH any of the fact sheet's list
// (3.5), SCIM DELETE and DELETE /api/v2/users/{id} directory:user:delete, DELETE /tokens/{userId} oauth:token:delete,
// roles and subjects reads authorization:grant:view, bulkremove authorization:grant:delete, bulkadd authorization:grant:add.
// SCIM GETs need no permission. The contact-center routes require the SDK's lists: queue
// members GET any of routing:queue:view|edit|readonly and routing:queueMember:manage, DELETE and
// POST routing:queue:edit or routing:queueMember:manage; users/{id}/queues routing:queue:view;
// station GET telephony:otherStationAssociation:view, associated DELETE
// telephony:station:disassociate, default DELETE/PUT telephony:plugin:all or
// telephony:phone:assign; callforwarding GET/PATCH conversation:callForwarding:view/edit; flows
// GET architect:flow:view, unlock architect:flow:unlock; oauth clients GET oauth:client:view, PUT
// oauth:client:edit; WFM GET wfm:agent:view (or one of the SDK's other readers:
// wfm:publishedSchedule:view, wfm:schedule:view, coaching:appointment:add|edit,
// learning:assignment:add|reschedule; not wfm:agent:edit), POST wfm:agent:edit; verifiers GET
// mfa:verifier:view, DELETE mfa:verifier:delete; presence definitions
// presence:presenceDefinition:view. Routing status GET and presence GET need none; routing
// status PUT and presence PATCH need what Config.RoutingStatusPermission and
// Config.PresencePermission name (none by default: the SDK lists none).
//
// # Rate limits
//
// Every accepted API request takes a slot in a rolling window of Config.RateWindow that holds
// Config.RateLimit slots (default 300 per 60 s), kept per OAuth client (default, the stricter
// reading: a fleet cannot escape the budget by holding several tokens) or per token
// (RateLimitPerToken, as the limits page words it). A request at t leaves the window at
// t+RateWindow. Refused requests (429) take no slot; requests that get a 5xx fault or a
// permission error do. Every /api response, 401 and 429 included, carries:
//
//	inin-ratelimit-allowed  Config.RateLimitAllowedHeader (default: the limit)
//	inin-ratelimit-count    accepted requests in the window, this one included
//	inin-ratelimit-reset    seconds, rounded up, until the oldest request leaves the window
//	ININ-Correlation-Id     a new UUID per request (also on /oauth/token), echoed as contextId
//
// The first request over the limit gets 429, Retry-After = the seconds until the oldest
// request in the window leaves it, rounded up (at least 1), and the ErrorBody
// too.many.requests.retry.after "Rate limit exceeded the maximum. Retry the request in [N]
// seconds" with messageWithParams and messageParams {"0":"N"}.
//
// # SCIM details
//
// meta.version starts at a seeded value and moves by one on every change (an operation that
// changes nothing leaves it). ETag is "<version>" (W/"<version>" with Config.WeakETag).
// If-Match and If-None-Match accept "42", W/"42", bare 42, lists and *. A failed If-Match
// answers as Config.VersionConflict says. Unfiltered lists hide inactive users; "active eq
// false" shows them (see Config.FilterIncludesInactive). Deleted users are hidden everywhere
// except GET /api/v2/users/{id}?state=deleted. Filters: see filter.go (eq, and, parentheses,
// value paths; quoted JSON strings or bare words; others → 400 invalidFilter). PATCH needs
// "schemas" with the PatchOp URN and "Operations" with a capital O (matched exactly). Roles are
// changed by name: add grants the role in Home, remove drops it in every division, and SCIM
// roles[] lists every role held in any division. 400s and 409s on SCIM paths are ScimError
// (string status); 401/403/413/415/429/5xx are platform ErrorBody; a SCIM 404 is shaped by
// Config.NotFoundBody. The SCIM content type is application/scim+json.
//
// # Switches for unconfirmed behaviour (Config)
//
//	VersionConflict           400 invalidVers (default) | 409 | 412
//	RemoveRolesOnDeactivate   false: roles kept on deactivation (default) | true: dropped
//	RevokeTokensOnDeactivate  false: tokens survive deactivation (default) | true: cleared
//	NotFoundWhenNoTokens      false: DELETE /tokens/{id} of a token-less user is 204 (default) | true: 404
//	NotFoundBody              scim ScimError (default) | platform ErrorBody, for SCIM 404s
//	HideInactiveByID          false: GET by id of an inactive user is 200 active:false (default) | true: 404
//	FilterIncludesInactive    false: filters without "active" see active users only (default) | true: all
//	StrictPatch               false: "Replace", "False" and path-less ops accepted (default) | true: 400
//	AllowBodyCredentials      false: Basic only (default) | true: form client_id/client_secret too
//	WeakETag                  false: "42" (default) | true: W/"42"
//	ScimDeleteStatus          204 (default) | 200
//	RateLimitMode             client (default) | token
//	RateLimitAllowedHeader    the reported allowance (default: the limit)
//	TokenTTL                  86399 s (default)
//
// Contact-center switches (reference/contact-center.md; each behaviour is UNCONFIRMED there):
//
//	OffQueueOnDeactivate           false: SCIM deactivation keeps routing status and presence (default) | true: OFF_QUEUE, Offline
//	RemoveQueuesOnDeactivate       false: it keeps queue memberships (default) | true: drops them all
//	ClearStationOnDeactivate       false: it keeps the stations (default) | true: clears default and associated
//	DisableForwardingOnDeactivate  false: forwarding keeps ringing (default) | true: turned off, targets kept
//	RemoveFromWFMOnDeactivate      false: the WFM unit is kept (default) | true: removed
//	    (section 1: "whether inactive by itself ... sets the agent OFF_QUEUE, removes queue
//	    memberships, clears the station, ... disables call forwarding, or removes the user
//	    from WFM. Assume it does none of these.")
//	OfflineOnTokenDelete           false: DELETE /tokens/{userId} keeps the presence (default) | true: Offline
//	    (section 2, presence: "whether token deletion sets Offline by itself")
//	RoutingStatusPermission        "": PUT routingstatus needs no permission (default) | the named one
//	PresencePermission             "": PATCH presences/purecloud needs no permission (default) | the named one
//	    (section 2: "SDK lists none"; presence:userPresence:edit is the bulk PUT's)
//	RemoveGroupMembers             false: a member through a group cannot be removed one by one, 400 (default) | true: removed
//	    (section 2, queue memberships: "a member added through a group ... cannot be removed one by one")
//	TakeDefaultStation             false: another user's default station cannot be set, 409 (default) | true: taken from them
//	    (not in the fact sheet: a station has one defaultUser in the SDK's UserStation)
//
// # Seeded org
//
// New seeds the org from Config.Seed and Config.Users; the same seed gives the same org, and
// the org of n users is a prefix of the org of n+k users. Divisions: Home (the home division),
// Sales, Support, Backoffice. Roles: employee, Agent, Supervisor, Admin, Master Admin. Each user
// has a UUID, userName first.last.N@example.com (lower case; some contain an apostrophe or
// a non-ASCII letter), an Okta-like externalId "00u…", employeeNumber 100000+N, a division
// (70% Home), a version 1–40 and 0–3 tokens (uniform). About 10% are inactive. Everyone holds
// employee in Home; then about 5% Master Admin in Home and one other division, 5% Admin in
// Home, 15% Supervisor in Home and another division, 15% Agent in Home and another division,
// and the rest Agent in their own division. Users 1–4 are fixed archetypes so that even a tiny
// org has each case: 1 an active Master Admin in two divisions with 2 tokens, 2 an inactive
// Agent with 1 token, 3 an active Agent with no tokens, 4 an active Supervisor in two divisions
// with 3 tokens.
//
// Contact-center state (AgentState) is drawn per user from a generator seeded with the seed and
// the user id, so the users above are unchanged and prefixes stay prefixes. Every user is a
// direct member of 0–3 of the queues Support, Billing, Sales and Escalations (derived from the
// user id, as before the state existed; AddUser gives an added user the same and nothing else:
// OFF_QUEUE, Offline), and starts OFF_QUEUE, Available (Offline if inactive). Users have 0–2 MFA
// verifiers (administrators 0–1). Administrators create 1–2 client-credentials OAuth clients.
// Agents and supervisors: about 80% of the active ones IDLE and On Queue; 40% in Tier 2 and 25%
// in Overflow through a group; each has a station of their own, 85% as default (half of the
// active ones also associated); 20% forward calls to an external +1555 number (10% more have
// targets but forwarding off); 80% in one of three WFM units; 12% lock a flow of their own and 6%
// created an OAuth client (CODE grant). The org also has three unlocked flows, one OAuth client
// created by nobody on record, and three spare stations. Archetypes: user 2 (inactive agent) has
// two verifiers, Tier 2 and Overflow by group, a default station, forwarding on, a WFM unit, a
// locked flow and an OAuth client; user 3 (active agent) the same, IDLE, with its station also
// associated; user 4 (supervisor) is IDLE, in Overflow by group, with a default station only,
// forwarding off, a WFM unit and one verifier. Agent, SetAgent, Flows, SetFlow, OAuthClients,
// SetOAuthClient, Queues, Stations, ManagementUnits and PresenceDefinitions read and change it.
//
// # Faults
//
// Faults (Config.Faults, SetFaults, PUT /admin/faults) are drawn from a generator seeded with
// Faults.Seed, so sequential runs are reproducible: uniform latency, a share of 5xx, bursts of
// 429s, timeouts (no answer: the connection is dropped when the client gives up or after
// MaxHang), injected version conflicts on SCIM writes, and a HYPOTHETICAL blocking 409 on
// deactivation. The blocking 409 comes from the original tutorial's claim that Genesys refuses
// to deactivate users with certain assignments; the fact sheet does not confirm it, so it is off
// by default. Faults apply to /api paths only.
//
// # Request log and admin paths
//
// Requests, RequestsSince and Counters read the log (bounded by Config.LogSize; counters are
// not). The admin paths need no authentication, are not logged and not rate limited, so this
// is a test tool: keep it on loopback.
//
//	GET  /admin/health                   {"status":"ok"}
//	GET  /admin/requests[?since=<seq>]   []Request, oldest first
//	GET  /admin/counters                 Counters
//	POST /admin/reset[?org=true]         Reset (and ResetOrg)
//	GET  /admin/users, /admin/users/{id} User state (404 for an unknown id)
//	POST /admin/users                    AddUser (User JSON) → 201
//	PUT  /admin/users/{id}/tokens        {"tokens": n}
//	POST /admin/users/{id}/login         Login: the user is granted a token (lastTokenIssued moves) → {"dateIssued"}; 400 when inactive
//	POST /admin/users/{id}/activate[?by=<name>]  ActivateAsAdmin: active again, by an admin in the UI (audit trail) → 204
//	GET  /admin/audits                   AuditTrail, oldest first
//	GET  /admin/roles                    roles and divisions
//	GET  /admin/faults, PUT /admin/faults   Faults JSON, durations as "250ms"
//	POST /admin/clients/{id}/disable|enable
//	POST /admin/tokens                   {"clientId": "..."} → {"access_token": "..."}
//	POST /admin/tokens/revoke-all, /admin/tokens/expire-all
//	GET  /admin/agents/{id}, PUT /admin/agents/{id}   Agent, SetAgent (AgentState JSON) → 204
//	GET  /admin/flows, PUT /admin/flows/{id}          Flows, SetFlow (Flow JSON) → 204
//	GET  /admin/oauth-clients, PUT /admin/oauth-clients/{id}   OAuthClients, SetOAuthClient → 204
//	GET  /admin/queues, /admin/stations, /admin/management-units, /admin/presence-definitions
//
// The PUTs answer 404 for an unknown user and 400 for state naming no queue, station or unit
// of the org (ErrInvalidState).
package genesyssim
