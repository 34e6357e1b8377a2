package relay

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Mode says how a delivery is shaped and authenticated for one kind of receiver.
type Mode string

// The modes are ModeStandard (the default), ModeSplunkHEC and ModeHMACHeader, each in its file
// mode_<name>.go with its [Adapter].

// Endpoint defaults.
const (
	DefaultEndpointTimeout = 15 * time.Second
	DefaultRetryAfterCap   = time.Hour
	maxConcurrency         = 256
)

// Endpoint is one receiver of audit events. Its zero value is not valid: Name, URL and the
// credentials of its Mode are required. An Endpoint is a plain value; the relay copies it.
type Endpoint struct {
	// Name identifies the endpoint in consumer names (relay-<name>), metrics, KV keys and dead
	// letter subjects: 1–64 of A–Z a–z 0–9 '-' '_'. Required.
	Name string
	// URL receives a POST per event. https, or http to a loopback host, or http anywhere with
	// AllowHTTP. It must not carry user info. Required.
	URL string
	// Mode shapes and authenticates deliveries. Defaults to ModeStandard.
	Mode Mode
	// Secrets are the whsec_ secrets that sign every delivery, whatever the mode (one
	// webhook-signature entry each; two while rotating). Required for ModeStandard, optional for
	// the others.
	Secrets []string
	// HEC holds the settings of ModeSplunkHEC; other modes ignore it.
	HEC HECSettings
	// HMAC holds the settings of ModeHMACHeader; other modes ignore it.
	HMAC HMACSettings
	// Subjects filter what the endpoint receives, such as "genesys.audit.user.>". Defaults to
	// Config.Subjects.
	Subjects []string
	// Concurrency is how many deliveries may be in flight across all relay replicas (the
	// consumer's MaxAckPending). 1 keeps events in stream order, also across retries: a failing
	// event holds back the ones after it. Defaults to 1.
	Concurrency int
	// Timeout bounds one attempt, connection to last byte of the answer. Defaults to 15 s.
	Timeout time.Duration
	// Schedule is the delay before each retry: len(Schedule)+1 attempts in all, then the event
	// goes to the relay dead-letter subject. Each delay gets up to 20 % added jitter. Defaults to
	// DefaultSchedule() (5 s doubling to 1 h, about 24.4 h in all).
	Schedule []time.Duration
	// RetryAfterCap bounds how long a Retry-After answer may postpone the next attempt; a
	// Retry-After shorter than the schedule's delay does not shorten it. Defaults to 1 h.
	RetryAfterCap time.Duration
	// AllowPrivate lets the endpoint resolve to loopback, private (RFC 1918, fc00::/7),
	// link-local, CGNAT and other non-public addresses, for an on-premises SIEM. Default false.
	AllowPrivate bool
	// AllowHTTP permits a plain http URL to a non-loopback host; events and signatures then
	// cross the network unencrypted. Default false.
	AllowHTTP bool
	// StartAt is where a new endpoint's consumer starts: "new" (events stored from now on),
	// "all" (the whole audit stream) or an RFC 3339 time. It only matters when the consumer is
	// first created; `relay replay` sends older events. Defaults to "new".
	StartAt string
}

// DefaultSchedule returns the default retry delays: 5 s doubling to 2560 s, then 1 h 23 times:
// 34 attempts over 24 h 25 min before jitter (jitter only adds). Hourly retries at the end keep a
// recovered endpoint's ordered backlog waiting at most an hour.
func DefaultSchedule() []time.Duration {
	var s []time.Duration
	for d := 5 * time.Second; d < time.Hour; d *= 2 {
		s = append(s, d)
	}
	for range 23 {
		s = append(s, time.Hour)
	}
	return s
}

var endpointNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// withDefaults returns e with every default applied; each mode's adapter applies its own.
func (e Endpoint) withDefaults(subjects []string) Endpoint {
	e.Mode = cmp.Or(e.Mode, ModeStandard)
	e.Concurrency = cmp.Or(e.Concurrency, 1)
	e.Timeout = cmp.Or(e.Timeout, DefaultEndpointTimeout)
	e.RetryAfterCap = cmp.Or(e.RetryAfterCap, DefaultRetryAfterCap)
	e.StartAt = cmp.Or(e.StartAt, "new")
	if len(e.Schedule) == 0 {
		e.Schedule = DefaultSchedule()
	}
	if len(e.Subjects) == 0 {
		e.Subjects = subjects
	}
	return e
}

// validate checks an endpoint after defaults. Its errors name the endpoint and never carry a
// secret or the URL's query.
func (e Endpoint) validate() error {
	if !endpointNameRE.MatchString(e.Name) {
		return fmt.Errorf("audit: endpoint name %q: want 1–64 of A–Z a–z 0–9 '-' '_'", audit.Clip(e.Name, 64))
	}
	var errs []error
	if err := checkEndpointURL(e); err != nil {
		errs = append(errs, err)
	}
	if a, err := adapterFor(e); err != nil {
		errs = append(errs, err)
	} else if err := a.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(e.Secrets) > 0 {
		if _, err := audit.NewSigner(e.Secrets...); err != nil {
			errs = append(errs, err)
		}
	}
	if e.Concurrency < 1 || e.Concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency %d not in 1–%d", e.Concurrency, maxConcurrency))
	}
	if e.Timeout <= 0 || e.Timeout > 5*time.Minute || e.RetryAfterCap <= 0 {
		errs = append(errs, errors.New("timeout must be in (0, 5m], retry_after_cap positive"))
	}
	for _, d := range e.Schedule {
		if d <= 0 {
			errs = append(errs, errors.New("every schedule delay must be positive"))
			break
		}
	}
	if _, err := e.startTime(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("audit: endpoint %s: %w", e.Name, errors.Join(errs...))
	}
	return nil
}

// checkEndpointURL enforces https (or http to loopback, or AllowHTTP), no user info, and no
// literal non-public address without AllowPrivate; names are checked again at connection time.
func checkEndpointURL(e Endpoint) error {
	u, err := url.Parse(e.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("url: want an absolute https:// URL")
	}
	if u.User != nil {
		return errors.New("url must not carry user info; use the mode's token or secret")
	}
	host := u.Hostname()
	addr, isIP := netip.ParseAddr(host)
	loopback := host == "localhost" || (isIP == nil && addr.Zone() == "" && addr.Unmap().IsLoopback())
	if u.Scheme == "http" && !loopback && !e.AllowHTTP {
		return fmt.Errorf("url %s: plain http only to a loopback host, or set allow_http", redactURL(e.URL))
	}
	if isIP == nil && !e.AllowPrivate {
		if reason := blockedReason(addr); reason != "" {
			return (&EgressError{Host: host, Addr: addr.Unmap(), Reason: reason})
		}
	}
	return nil
}

// startTime parses StartAt: zero for "new" and "all", the time for an RFC 3339 value.
func (e Endpoint) startTime() (time.Time, error) {
	switch e.StartAt {
	case "new", "all":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, e.StartAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("start_at %q: want new, all or an RFC 3339 time", audit.Clip(e.StartAt, 64))
	}
	return t, nil
}

// redactURL returns scheme://host/path of raw: no user info, query or fragment, which may carry
// tokens. It is what logs, errors and dead letters show of an endpoint's URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL]"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// secretsOf lists the endpoint's secret strings and its adapter's, so that text quoting a
// receiver can be scrubbed.
func (e Endpoint) secretsOf(a Adapter) []string {
	s := append(a.Secrets(), e.Secrets...)
	for _, sec := range e.Secrets {
		s = append(s, strings.TrimPrefix(sec, audit.SecretPrefix))
	}
	return s
}

// scrub replaces every secret in text with [redacted].
func scrub(text string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
