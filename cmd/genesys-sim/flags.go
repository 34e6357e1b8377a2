package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

const defaultListen = "127.0.0.1:8089"

const usageHeader = `genesys-sim runs the Genesys Cloud simulator: the login path (POST /oauth/token) and the
API paths (/api/v2/...) on one base URL, a seeded org, rate limits, fault injection and
a request log. Point both the API URL and the login URL of a client at the printed base URL.

Usage: genesys-sim [flags]

Flags:
`

const usageFooter = `
Admin paths (no authentication: keep the simulator on loopback):
  GET  /admin/health                    GET  /admin/requests[?since=<seq>]
  GET  /admin/counters                  POST /admin/reset[?org=true]
  GET  /admin/users[/{id}]              POST /admin/users
  PUT  /admin/users/{id}/tokens         GET  /admin/roles
  GET|PUT /admin/faults                 POST /admin/clients/{id}/disable|enable
  POST /admin/tokens                    POST /admin/tokens/revoke-all|expire-all
  GET|PUT /admin/agents/{id}            contact-center state of a user (AgentState JSON)
  GET  /admin/flows                     PUT  /admin/flows/{id}
  GET  /admin/oauth-clients             PUT  /admin/oauth-clients/{id}
  GET  /admin/queues                    GET  /admin/stations
  GET  /admin/management-units          GET  /admin/presence-definitions

Example:
  genesys-sim --users 500 --rate-limit 300 --rate-window 6s --error-rate 0.02
  curl -u sim-client:sim-secret -d grant_type=client_credentials http://127.0.0.1:8089/oauth/token
`

// options are the parsed flags.
type options struct {
	listen string
	cfg    genesyssim.Config
}

// printUsage writes the --help text.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	fs.SetOutput(w)
	fmt.Fprint(w, usageHeader)
	fs.PrintDefaults()
	fmt.Fprint(w, usageFooter)
}

// newFlagSet binds every flag to o. Durations take Go syntax ("250ms", "60s"). The set prints
// nothing itself: run reports parse errors and prints the usage for --help.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("genesys-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c, f := &o.cfg, &o.cfg.Faults
	fs.StringVar(&o.listen, "listen", defaultListen, "`address` to listen on (host:port; port 0 picks a free port)")

	fs.Var((*clientsFlag)(&c.Clients), "client", "OAuth client as `id:secret[:perm,perm]`; repeat for several. Without a permission list the client has every permission; with an empty one (id:secret:) none (default sim-client:sim-secret)")
	fs.Int64Var(&c.Seed, "seed", genesyssim.DefaultSeed, "`seed` of the org and of the fault draws")
	fs.IntVar(&c.Users, "users", genesyssim.DefaultUsers, "number of seeded users (negative: none)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", genesyssim.DefaultTokenTTL, "access token lifetime, reported as expires_in")
	fs.BoolVar(&c.AllowBodyCredentials, "body-credentials", false, "also accept client_id/client_secret in the token request body (undocumented; Basic only when unset)")

	fs.IntVar(&c.RateLimit, "rate-limit", genesyssim.DefaultRateLimit, "accepted API requests allowed in any rate window")
	fs.DurationVar(&c.RateWindow, "rate-window", genesyssim.DefaultRateWindow, "length of the rolling rate window (shorten to scale time)")
	fs.StringVar((*string)(&c.RateLimitMode), "rate-mode", string(genesyssim.RateLimitPerClient), "`mode` of the rate window: client (one per OAuth client) or token (one per access token)")
	fs.IntVar(&c.RateLimitAllowedHeader, "rate-allowed-header", 0, "value reported in inin-ratelimit-allowed (0: the rate limit)")

	fs.StringVar((*string)(&c.VersionConflict), "version-conflict", string(genesyssim.VersionConflict400), "`status` answering a version mismatch: 400 (scimType invalidVers), 409 or 412")
	fs.StringVar((*string)(&c.NotFoundBody), "not-found-body", string(genesyssim.ErrorShapeSCIM), "`shape` of a 404 body on SCIM paths: scim (ScimError) or platform (ErrorBody)")
	fs.BoolVar(&c.RemoveRolesOnDeactivate, "remove-roles-on-deactivate", false, "drop a user's roles when SCIM deactivates them (kept when unset)")
	fs.BoolVar(&c.RevokeTokensOnDeactivate, "revoke-tokens-on-deactivate", false, "clear a user's tokens when SCIM deactivates them (kept when unset)")
	fs.BoolVar(&c.NotFoundWhenNoTokens, "tokens-404-when-none", false, "answer DELETE /api/v2/tokens/{userId} with 404 for a user without tokens (204 when unset)")
	fs.BoolVar(&c.HideInactiveByID, "hide-inactive-by-id", false, "answer SCIM GET by id of an inactive user with 404 (200 active:false when unset)")
	fs.BoolVar(&c.FilterIncludesInactive, "filter-includes-inactive", false, "let SCIM filters that do not mention active match inactive users")
	fs.BoolVar(&c.StrictPatch, "strict-patch", false, "refuse the Entra PATCH forms (\"Replace\", \"False\", path-less ops) that are accepted when unset")
	fs.BoolVar(&c.WeakETag, "weak-etag", false, "send ETag as W/\"<version>\" instead of \"<version>\"")
	fs.IntVar(&c.ScimDeleteStatus, "scim-delete-status", 204, "success `status` of SCIM DELETE: 200 or 204")
	fs.BoolVar(&c.OffQueueOnDeactivate, "off-queue-on-deactivate", false, "set a user OFF_QUEUE and Offline when SCIM deactivates them (unconfirmed; kept when unset)")
	fs.BoolVar(&c.RemoveQueuesOnDeactivate, "remove-queues-on-deactivate", false, "drop a user's queue memberships when SCIM deactivates them (unconfirmed; kept when unset)")
	fs.BoolVar(&c.ClearStationOnDeactivate, "clear-station-on-deactivate", false, "clear a user's default and associated station when SCIM deactivates them (unconfirmed; kept when unset)")
	fs.BoolVar(&c.DisableForwardingOnDeactivate, "disable-forwarding-on-deactivate", false, "turn a user's call forwarding off when SCIM deactivates them (unconfirmed; kept when unset)")
	fs.BoolVar(&c.RemoveFromWFMOnDeactivate, "remove-wfm-on-deactivate", false, "remove a user from their WFM management unit when SCIM deactivates them (unconfirmed; kept when unset)")
	fs.BoolVar(&c.OfflineOnTokenDelete, "offline-on-token-delete", false, "set a user's presence Offline when DELETE /api/v2/tokens/{userId} revokes their tokens (unconfirmed; kept when unset)")
	fs.StringVar(&c.RoutingStatusPermission, "routing-status-permission", "", "`permission` PUT /api/v2/users/{id}/routingstatus requires (unconfirmed; none when empty)")
	fs.StringVar(&c.PresencePermission, "presence-permission", "", "`permission` PATCH /api/v2/users/{id}/presences/purecloud requires (unconfirmed; none when empty)")
	fs.BoolVar(&c.RemoveGroupMembers, "remove-group-members", false, "let a queue member who joined through a group be removed one by one (refused with 400 when unset, as the fact sheet says)")
	fs.BoolVar(&c.TakeDefaultStation, "take-default-station", false, "let PUT .../station/defaultstation/{stationId} take another user's default station (409 when unset)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", genesyssim.DefaultMaxBodyBytes, "largest accepted request body; larger gets 413")
	fs.IntVar(&c.LogSize, "log-size", genesyssim.DefaultLogSize, "request log entries kept (oldest dropped)")

	fs.Int64Var(&f.Seed, "fault-seed", 0, "`seed` of the fault draws (0: the org seed)")
	fs.Var((*listFlag)(&f.Routes), "fault-routes", "comma-separated `routes` (templates) faults apply to, e.g. \"PATCH /api/v2/scim/v2/users/{id}\" (default all /api routes)")
	fs.DurationVar(&f.LatencyMin, "latency-min", 0, "smallest injected latency")
	fs.DurationVar(&f.LatencyMax, "latency-max", 0, "largest injected latency (uniform between min and max; 0: none)")
	fs.Float64Var(&f.ErrorRate, "error-rate", 0, "share (0-1) of API requests answered with a 5xx")
	fs.Var((*intListFlag)(&f.ErrorStatuses), "error-statuses", "comma-separated 5xx `statuses` to draw from (default 500,502,503,504)")
	fs.DurationVar(&f.ServiceUnavailableRetryAfter, "503-retry-after", 0, "Retry-After sent with injected 503s (0: none)")
	fs.Float64Var(&f.BurstRate, "burst-rate", 0, "probability (0-1) that a request starts a burst of 429s")
	fs.IntVar(&f.BurstLength, "burst-length", 3, "consecutive requests a 429 burst refuses")
	fs.DurationVar(&f.BurstRetryAfter, "burst-retry-after", time.Second, "Retry-After of burst 429s (rounded up to seconds)")
	fs.Float64Var(&f.TimeoutRate, "timeout-rate", 0, "share (0-1) of API requests never answered")
	fs.DurationVar(&f.MaxHang, "max-hang", 30*time.Second, "how long an unanswered request holds its connection at most")
	fs.Float64Var(&f.ConflictRate, "conflict-rate", 0, "share (0-1) of SCIM PATCH/DELETE answered with a version conflict")
	fs.Float64Var(&f.BlockingRate, "blocking-rate", 0, "HYPOTHETICAL: share (0-1) of SCIM deactivations refused with a non-version 409 (unconfirmed; off by default)")
	fs.Var((*listFlag)(&f.BlockingUsers), "blocking-users", "HYPOTHETICAL: comma-separated user `ids` whose deactivation is always refused with that 409")
	fs.BoolVar(&f.BlockingWhileGranted, "blocking-while-granted", false, "HYPOTHETICAL: the blocking 409 applies only while the user holds grants, so removing them unblocks the deactivation")
	fs.Float64Var(&f.IgnoreDeactivateRate, "ignore-deactivate-rate", 0, "share (0-1) of SCIM deactivations answered 200 active:false with nothing stored (a silently ignored deactivation)")
	fs.Var((*listFlag)(&f.IgnoreDeactivateUsers), "ignore-deactivate-users", "comma-separated user `ids` whose next deactivation is silently ignored, once each")
	return fs
}

// clientsFlag parses repeated id:secret[:perm,perm] values.
type clientsFlag []genesyssim.Client

func (c *clientsFlag) String() string {
	if c == nil {
		return ""
	}
	var ids []string
	for _, cl := range *c {
		ids = append(ids, cl.ID)
	}
	return strings.Join(ids, ",")
}

func (c *clientsFlag) Set(v string) error {
	id, rest, ok := strings.Cut(v, ":")
	if !ok || id == "" {
		return fmt.Errorf("%q is not id:secret[:perm,perm]", v)
	}
	cl := genesyssim.Client{ID: id, Secret: rest}
	if secret, perms, hasPerms := strings.Cut(rest, ":"); hasPerms {
		cl.Secret, cl.Permissions = secret, []string{}
		for p := range strings.SplitSeq(perms, ",") {
			if p != "" {
				cl.Permissions = append(cl.Permissions, p)
			}
		}
	}
	*c = append(*c, cl)
	return nil
}

// listFlag is a comma-separated (and repeatable) list of strings.
type listFlag []string

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// intListFlag is a comma-separated (and repeatable) list of integers.
type intListFlag []int

func (l *intListFlag) String() string {
	if l == nil {
		return ""
	}
	var s []string
	for _, n := range *l {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

func (l *intListFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		*l = append(*l, n)
	}
	return nil
}
