package ingress

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Kind names a type of source in the configuration ("kind" of a source).
type Kind string

const (
	// KindWebhook is a generic sender signing our job JSON (one job, or JSON lines) with Standard
	// Webhooks; the job id derives from webhook-id, so a retried delivery is a duplicate.
	KindWebhook Kind = "standard_webhooks"
	// KindOkta is an Okta event hook: the one-time verification GET, a static Authorization
	// header, and data.events[] mapped by event type.
	KindOkta Kind = "okta"
	// KindHR is an HR system's webhook signed with an HMAC of the body (BambooHR and the like),
	// mapped field by field; a termination date becomes not_before.
	KindHR Kind = "hr"
)

// SourceConfig is one member of the configuration's "sources": what every kind shares, and the
// kind's own settings as raw JSON for its constructor to parse (unknown members refused there).
type SourceConfig struct {
	// Name identifies the source: 1–32 of a–z 0–9 '-'. Its URL is /v1/sources/<name>; it labels
	// the metrics and names the source in every job it makes (requested_by "ingress:<name>").
	Name string `json:"name"`
	// Kind selects the source type.
	Kind Kind `json:"kind"`
	// SecretFiles are read at start, one secret per file (surrounding white space trimmed): the
	// whsec_ secrets of a webhook source (several while rotating), the Authorization header value
	// Okta sends, the HMAC key of an HR source. A secret never appears in config, logs or errors.
	SecretFiles []string `json:"secret_files"`
	// MaxBodyBytes bounds a request body (default 1 MiB); a larger one is 413.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// MaxEvents bounds the events of one request (default 1000); more is 413.
	MaxEvents int `json:"max_events,omitempty"`
	// RatePerSecond and Burst limit the authenticated requests the source may make (defaults 50
	// and 100); past them the answer is 429 with Retry-After and nothing is published. Requests
	// that fail authentication do not count: they cannot spend the real sender's budget.
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Burst         int     `json:"burst,omitempty"`
	// Priority is the lane of the jobs the source makes unless its mapping says otherwise
	// (default normal).
	Priority jobs.Priority `json:"priority,omitempty"`
	// Settings are the kind's own settings.
	Settings json.RawMessage `json:"settings,omitempty"`
}

// Source authenticates the requests of one configured source and maps their events to jobs.
// It is built once from its [SourceConfig] and secrets, and must be safe for concurrent use.
type Source interface {
	// Authenticate checks the request's credentials (headers, and body for a signature) at now.
	// body is the whole body, read within MaxBodyBytes. An error fails the request with 401 and
	// no detail; its text (which never carries a secret) goes to the log and the metric's reason.
	Authenticate(r *http.Request, body []byte, now time.Time) error
	// Decode maps an authenticated body to events, in the order the sender wrote them. An error
	// rejects the whole request (400, the error's text as the reason): a body that is not what
	// the kind sends. Events that map to no action or fail the job rules are Events with
	// Ignored or Err set, not an error.
	Decode(r *http.Request, body []byte, now time.Time) ([]Event, error)
}

// Event is one event of a request, mapped.
type Event struct {
	// Ref is the sender's own reference for it, for the answer and the log: "<webhook-id>#<line>",
	// an Okta eventId, an HR employee id. Never a secret, at most 128 characters.
	Ref string
	// Job is the job it maps to: its id derived from the source and the sender's stable event
	// reference (so a redelivery is a duplicate), requested_by "ingress:<source name>". Nil
	// when Ignored or Err is set.
	Job *jobs.Job
	// Ignored says why an event maps to no action (an event type no mapping names, a user the
	// mapping filters out): acknowledged and counted, not an error.
	Ignored string
	// Err is why the event cannot become a job (an identifier that fails validation, a field
	// the mapping needs is missing): a 4xx reason the sender can log.
	Err error
}

// Challenger is implemented by a source with a handshake of its own outside Decode, such as
// Okta's one-time verification GET. Handshake is called after Authenticate for a request that
// is not a POST; it writes the whole answer and reports whether it did.
type Challenger interface {
	Handshake(w http.ResponseWriter, r *http.Request) bool
}

// Exampler is implemented by a source that can show how to call it: dev mode prints, for each
// source, a curl command line built from Example (which may call openssl for a signature).
type Exampler interface {
	Example(baseURL string, now time.Time) string
}

// ErrUnauthorized is what Authenticate's errors wrap.
var ErrUnauthorized = errors.New("ingress: unauthorized")

// JobID is the id of the job made from the event ref of the source named source: "in-" and 26
// base32 characters of a SHA-256 over both, so that the same event delivered again (a retry, a
// replay within the jobs stream's duplicate window) is the same job, and two sources never
// collide. ref is the sender's stable event reference (webhook-id and line, Okta eventId,
// HR system's event or employee id and change).
func JobID(source, ref string) string {
	h := sha256.New()
	for _, s := range []string{"genesys-deactivator/ingress/v1", source, ref} {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	return "in-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))[:26])
}

// RequestedBy is the requested_by of every job the source named source makes.
func RequestedBy(source string) string { return "ingress:" + source }
