package genesyssim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultClientID     = "sim-client"
	DefaultClientSecret = "sim-secret"
	DefaultSeed         = 1
	DefaultUsers        = 100
	DefaultTokenTTL     = 86399 * time.Second
	DefaultRateLimit    = 300
	DefaultRateWindow   = 60 * time.Second
	DefaultMaxBodyBytes = 512000
	DefaultLogSize      = 100_000
)

// VersionConflict selects how a failed If-Match (or an injected version conflict) is answered.
// The fact sheet (3.5) lists three documented answers; the worker must treat all as "re-read and retry".
type VersionConflict string

const (
	// VersionConflict400 answers 400 ScimError with scimType "invalidVers" (current PySDK text).
	VersionConflict400 VersionConflict = "400"
	// VersionConflict409 answers 409 ScimError "Version does not match current version." (swagger).
	VersionConflict409 VersionConflict = "409"
	// VersionConflict412 answers 412 Precondition Failed (older SDK docs).
	VersionConflict412 VersionConflict = "412"
)

// ErrorShape selects the body of a 404 on SCIM paths, which the fact sheet leaves open (3.7).
type ErrorShape string

const (
	// ErrorShapeSCIM is the SCIM ScimError body: {"schemas":[...Error],"status":"404","detail":...}.
	ErrorShapeSCIM ErrorShape = "scim"
	// ErrorShapePlatform is the platform ErrorBody: {"status":404,"code":"not.found",...}.
	ErrorShapePlatform ErrorShape = "platform"
)

// RateLimitMode selects what the rolling window is kept per.
type RateLimitMode string

const (
	// RateLimitPerClient keeps one window per OAuth client, however many tokens it holds.
	RateLimitPerClient RateLimitMode = "client"
	// RateLimitPerToken keeps one window per access token, as the limits page words it.
	RateLimitPerToken RateLimitMode = "token"
)

// Client is an OAuth client allowed to run the client-credentials grant.
type Client struct {
	// ID is the client id sent as the Basic user name.
	ID string `json:"id"`
	// Secret is the client secret sent as the Basic password.
	Secret string `json:"-"`
	// Permissions are the permissions the client's roles grant, e.g. "directory:user:edit".
	// Nil means every permission; an empty non-nil slice means none.
	Permissions []string `json:"permissions"`
}

// Config configures a Server. The zero value is a working simulator with the defaults below.
// Boolean switches are named so that false is the default behaviour.
type Config struct {
	// Clients are the OAuth clients the token endpoint knows.
	// Defaults to one client "sim-client" with secret "sim-secret" and every permission.
	Clients []Client
	// Seed makes the org and the fault draws reproducible. Defaults to 1.
	Seed int64
	// Users is the number of seeded users. Negative means none. Defaults to 100.
	Users int
	// TokenTTL is the lifetime of an issued access token, reported as expires_in.
	// Defaults to 86399 s (the fact sheet's example; 86399 vs 86400 is unconfirmed).
	TokenTTL time.Duration
	// AllowBodyCredentials also accepts client_id/client_secret in the form body of the
	// token request (undocumented, reported by the community). Defaults to false: Basic only.
	AllowBodyCredentials bool

	// RateLimit is the number of accepted API requests allowed in any RateWindow. Defaults to 300.
	RateLimit int
	// RateWindow is the length of the rolling window. Shorten it to scale time in benchmarks.
	// Defaults to 60 s.
	RateWindow time.Duration
	// RateLimitMode keeps the window per OAuth client or per access token.
	// Defaults to RateLimitPerClient, the stricter reading (see doc.go).
	RateLimitMode RateLimitMode
	// RateLimitAllowedHeader is the value reported in inin-ratelimit-allowed, which varies on
	// real orgs (a 2021 trace showed 180 with a 300 limit). Defaults to RateLimit.
	RateLimitAllowedHeader int

	// VersionConflict is how a version mismatch is answered. Defaults to VersionConflict400.
	VersionConflict VersionConflict
	// NotFoundBody is the body shape of a 404 on SCIM paths. Defaults to ErrorShapeSCIM.
	NotFoundBody ErrorShape
	// RemoveRolesOnDeactivate drops every grant when a user is deactivated through SCIM.
	// Defaults to false: roles are kept (Help ?p=238123).
	RemoveRolesOnDeactivate bool
	// RevokeTokensOnDeactivate clears a user's tokens when the user is deactivated (unconfirmed).
	// Defaults to false: tokens survive until DELETE /api/v2/tokens/{userId}.
	RevokeTokensOnDeactivate bool
	// NotFoundWhenNoTokens answers DELETE /api/v2/tokens/{userId} with 404 for an existing user
	// who holds no tokens. Defaults to false: 204.
	NotFoundWhenNoTokens bool
	// HideInactiveByID answers GET /scim/v2/users/{id} of an inactive user with 404.
	// Defaults to false: 200 with "active": false (the fact sheet's suggestion).
	HideInactiveByID bool
	// FilterIncludesInactive lets a filter that does not mention "active" match inactive users.
	// Defaults to false: only "active eq false" (or any clause on active) shows inactive users.
	FilterIncludesInactive bool
	// StrictPatch refuses the Entra forms of a PATCH whose acceptance is unconfirmed: a
	// capitalised op ("Replace"), "False"/"True" as strings for active, and a path-less op with
	// an object value. Defaults to false: lenient, all three accepted.
	StrictPatch bool
	// WeakETag sends ETag as W/"<version>". Defaults to false: "<version>".
	WeakETag bool
	// ScimDeleteStatus is the success status of SCIM DELETE, 200 or 204 (both documented).
	// Defaults to 204.
	ScimDeleteStatus int
	// OffQueueOnDeactivate sets a user OFF_QUEUE (presence Offline) when SCIM deactivates them
	// (unconfirmed, contact-center.md section 1). Defaults to false: routing status and
	// presence are kept.
	OffQueueOnDeactivate bool
	// RemoveQueuesOnDeactivate drops every queue membership, group ones included, when SCIM
	// deactivates a user (unconfirmed). Defaults to false: memberships are kept.
	RemoveQueuesOnDeactivate bool
	// ClearStationOnDeactivate clears a user's default and associated station when SCIM
	// deactivates them (unconfirmed). Defaults to false: stations are kept.
	ClearStationOnDeactivate bool
	// DisableForwardingOnDeactivate turns call forwarding off (targets kept) when SCIM
	// deactivates a user (unconfirmed). Defaults to false: forwarding keeps ringing.
	DisableForwardingOnDeactivate bool
	// RemoveFromWFMOnDeactivate removes a user from their WFM management unit when SCIM
	// deactivates them (unconfirmed). Defaults to false: the unit is kept.
	RemoveFromWFMOnDeactivate bool
	// OfflineOnTokenDelete sets a user's presence Offline (and so OFF_QUEUE) when
	// DELETE /api/v2/tokens/{userId} revokes their tokens (unconfirmed, contact-center.md
	// section 2). Defaults to false: presence is kept.
	OfflineOnTokenDelete bool
	// RoutingStatusPermission is the permission PUT /api/v2/users/{id}/routingstatus requires
	// (the SDK lists none; what is enforced is unconfirmed). Defaults to "": none.
	RoutingStatusPermission string
	// PresencePermission is the permission PATCH /api/v2/users/{id}/presences/purecloud
	// requires (the SDK lists none; unconfirmed). Defaults to "": none.
	PresencePermission string
	// RemoveGroupMembers lets DELETE .../members/{memberId} and POST .../members?delete=true
	// remove a member who joined the queue through a group. Defaults to false: refused with 400,
	// as the fact sheet says such a member cannot be removed one by one.
	RemoveGroupMembers bool
	// TakeDefaultStation lets PUT /api/v2/users/{id}/station/defaultstation/{stationId} take a
	// station that is another user's default (that user loses it; unconfirmed). Defaults to
	// false: refused with 409.
	TakeDefaultStation bool
	// MaxBodyBytes is the largest accepted request body (request.bytes.max); larger → 413.
	// Defaults to 512000.
	MaxBodyBytes int64
	// LogSize bounds the request log; the oldest entries are dropped. Defaults to 100000.
	LogSize int

	// Faults are the initial fault-injection settings; change them at runtime with SetFaults.
	// Defaults to none.
	Faults Faults
	// Now is the clock for the rate window, token expiry, timestamps and the log.
	// Injected latency and hangs use real timers. Defaults to time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Clients == nil {
		c.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret}}
	}
	c.Seed = cmp.Or(c.Seed, DefaultSeed)
	switch {
	case c.Users == 0:
		c.Users = DefaultUsers
	case c.Users < 0:
		c.Users = 0
	}
	c.TokenTTL = cmp.Or(c.TokenTTL, DefaultTokenTTL)
	c.RateLimit = cmp.Or(c.RateLimit, DefaultRateLimit)
	c.RateWindow = cmp.Or(c.RateWindow, DefaultRateWindow)
	c.RateLimitMode = cmp.Or(c.RateLimitMode, RateLimitPerClient)
	c.RateLimitAllowedHeader = cmp.Or(c.RateLimitAllowedHeader, c.RateLimit)
	c.VersionConflict = cmp.Or(c.VersionConflict, VersionConflict400)
	c.NotFoundBody = cmp.Or(c.NotFoundBody, ErrorShapeSCIM)
	c.ScimDeleteStatus = cmp.Or(c.ScimDeleteStatus, 204)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.LogSize = cmp.Or(c.LogSize, DefaultLogSize)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Faults = c.Faults.withDefaults()
	return c
}

func (c Config) validate() error {
	var errs []error
	ids := map[string]bool{}
	for _, cl := range c.Clients {
		if cl.ID == "" || ids[cl.ID] {
			errs = append(errs, fmt.Errorf("client id %q is empty or repeated", cl.ID))
		}
		ids[cl.ID] = true
	}
	if c.TokenTTL < time.Second {
		errs = append(errs, fmt.Errorf("token TTL %v is under 1s", c.TokenTTL))
	}
	if c.RateLimit < 1 || c.RateWindow <= 0 {
		errs = append(errs, fmt.Errorf("rate limit %d per %v is not positive", c.RateLimit, c.RateWindow))
	}
	if !slices.Contains([]RateLimitMode{RateLimitPerClient, RateLimitPerToken}, c.RateLimitMode) {
		errs = append(errs, fmt.Errorf("rate limit mode %q is not client or token", c.RateLimitMode))
	}
	if !slices.Contains([]VersionConflict{VersionConflict400, VersionConflict409, VersionConflict412}, c.VersionConflict) {
		errs = append(errs, fmt.Errorf("version conflict %q is not 400, 409 or 412", c.VersionConflict))
	}
	if c.NotFoundBody != ErrorShapeSCIM && c.NotFoundBody != ErrorShapePlatform {
		errs = append(errs, fmt.Errorf("not-found body %q is not scim or platform", c.NotFoundBody))
	}
	if c.ScimDeleteStatus != 200 && c.ScimDeleteStatus != 204 {
		errs = append(errs, fmt.Errorf("SCIM delete status %d is not 200 or 204", c.ScimDeleteStatus))
	}
	if c.MaxBodyBytes < 1 || c.LogSize < 1 {
		errs = append(errs, errors.New("max body bytes and log size must be positive"))
	}
	errs = append(errs, c.Faults.validate())
	return errors.Join(errs...)
}
