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
//	GET    /api/v2/users/{id}/roles                       UserAuthorization
//	GET    /api/v2/authorization/subjects/{id}            AuthzSubject, one grant per role and division
//	POST   /api/v2/authorization/subjects/{id}/bulkremove 204
//	POST   /api/v2/authorization/subjects/{id}/bulkadd    204 (official SDKs; not in the fact sheet)
//	GET    /api/v2/users/{id}/queues                      UserQueueEntityListing (joined defaults to true)
//
// Paths are lower-case only, as documented (case-insensitivity is unconfirmed). An unknown
// /api path answers 404 and a known path with another method 405, both as platform ErrorBody.
// Not simulated: SCIM PUT and groups, PATCH and DELETE /api/v2/users/{id}, user listings, joining and leaving queues,
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
// (3.5), SCIM DELETE directory:user:delete, DELETE /tokens/{userId} oauth:token:delete,
// roles and subjects reads authorization:grant:view, bulkremove authorization:grant:delete, bulkadd authorization:grant:add.
// SCIM GETs need no permission.
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
//	GET  /admin/roles                    roles and divisions
//	GET  /admin/faults, PUT /admin/faults   Faults JSON, durations as "250ms"
//	POST /admin/clients/{id}/disable|enable
//	POST /admin/tokens                   {"clientId": "..."} → {"access_token": "..."}
//	POST /admin/tokens/revoke-all, /admin/tokens/expire-all
package genesyssim
