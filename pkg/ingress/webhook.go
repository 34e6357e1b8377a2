package ingress

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// WebhookSettings are the settings of a [KindWebhook] source.
type WebhookSettings struct {
	// Tolerance is how far webhook-timestamp may be from the ingress clock, either way, as a Go
	// duration ("5m"). It is also the replay window the timestamp closes: keep it well under the
	// jobs stream's duplicate window (24 h). Defaults to 5m.
	Tolerance string `json:"tolerance,omitempty"`
}

// maxWebhookIDLength bounds webhook-id, so that "<webhook-id>#<line>" fits an Event.Ref.
const maxWebhookIDLength = 100

// webhook is the generic Standard Webhooks source: a sender posting our job JSON, one object or
// JSON lines, signed with a whsec_ secret.
type webhook struct {
	name     string
	priority jobs.Priority
	verifier *audit.Verifier
	exKey    []byte // the first secret's key, for Example (dev mode only prints it)
}

func newWebhook(cfg SourceConfig, secrets []string) (Source, error) {
	var st WebhookSettings
	if len(cfg.Settings) > 0 {
		dec := json.NewDecoder(bytes.NewReader(cfg.Settings))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			return nil, fmt.Errorf("settings: %w", jsonError(err))
		}
	}
	tolerance := audit.DefaultTolerance
	if st.Tolerance != "" {
		d, err := time.ParseDuration(st.Tolerance)
		if err != nil || d <= 0 || d > 12*time.Hour {
			return nil, fmt.Errorf("settings.tolerance %q: want a duration from 1s to 12h", audit.Clip(st.Tolerance, 40))
		}
		tolerance = d
	}
	v, err := audit.NewVerifier(tolerance, secrets...)
	if err != nil { // the error names no secret (audit.ErrInvalidSecret)
		return nil, fmt.Errorf("secret_files: %w", err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secrets[0], audit.SecretPrefix))
	return &webhook{name: cfg.Name, priority: cfg.Priority, verifier: v, exKey: key}, nil
}

// AllOrNothing: a sender of our own job JSON can fix its payload, so one rejected event fails
// the whole request and nothing is published.
func (w *webhook) AllOrNothing() bool { return true }

// jobsDecoded: every job Decode returns came out of jobs.Decode.
func (w *webhook) jobsDecoded() {}

// Authenticate checks the Standard Webhooks headers and signature.
func (w *webhook) Authenticate(r *http.Request, body []byte, now time.Time) error {
	if err := w.verifier.Verify(r.Header, body, now); err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	return nil
}

// Decode reads one job object (line 1) or JSON lines. Each line becomes a job whose id is
// JobID(source, "<webhook-id>#<line>"), whose requested_by names the source, and whose version
// and priority default to 1 and the source's priority.
func (w *webhook) Decode(r *http.Request, body []byte, _ time.Time) ([]Event, error) {
	id := r.Header.Get(audit.HeaderWebhookID)
	if id == "" || len(id) > maxWebhookIDLength || strings.IndexFunc(id, func(c rune) bool { return unicode.IsControl(c) || c == '#' }) >= 0 {
		return nil, fmt.Errorf("webhook-id: want 1-%d characters without control characters or '#'", maxWebhookIDLength)
	}
	if p := jobs.TextProblem(id); p != "" {
		return nil, fmt.Errorf("webhook-id: %s", p)
	}
	return DecodeWebhookBody(w.name, w.priority, id, r.Header.Get("Content-Type"), body)
}

// DecodeWebhookBody is the decoder of a webhook source named source whose jobs default to
// priority: the body of the delivery webhookID with the given Content-Type. It returns an
// error for a body without any job; a line that is not a valid job is an Event with Err.
func DecodeWebhookBody(source string, priority jobs.Priority, webhookID, contentType string, body []byte) ([]Event, error) {
	var lines [][]byte
	mt, _, _ := mime.ParseMediaType(contentType)
	switch trimmed := bytes.TrimSpace(body); {
	case mt == "application/x-ndjson" || mt == "application/jsonl" || mt == "application/x-jsonlines":
		lines = bytes.Split(body, []byte("\n"))
	case len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed):
		lines = [][]byte{trimmed} // one object, possibly written over several lines
	default:
		lines = bytes.Split(body, []byte("\n"))
	}
	var events []Event
	for i, line := range lines {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ref := fmt.Sprintf("%s#%d", webhookID, i+1)
		job, err := decodeWebhookLine(source, priority, JobID(source, ref), line)
		if err != nil {
			events = append(events, Event{Ref: ref, Err: err})
			continue
		}
		events = append(events, Event{Ref: ref, Job: &job})
	}
	if len(events) == 0 {
		return nil, errors.New("no job in the body")
	}
	return events, nil
}

// decodeWebhookLine fills in the id, requested_by, version and priority of one job object and
// decodes it with jobs.Decode, the rules every worker applies. A sender's own requested_by is
// kept after the source: "ingress:<source> for <theirs>"; a sender's id is replaced.
func decodeWebhookLine(source string, priority jobs.Priority, id string, line []byte) (jobs.Job, error) {
	if len(line) > jobs.MaxJobSize {
		return jobs.Job{}, fmt.Errorf("%w: %d bytes, limit %d", jobs.ErrTooLarge, len(line), jobs.MaxJobSize)
	}
	members, err := readMembers(line)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("%w: %v", jobs.ErrMalformed, err)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	add := func(name string, raw []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		n, _ := json.Marshal(name)
		b.Write(n)
		b.WriteByte(':')
		b.Write(raw)
	}
	str := func(s string) []byte { v, _ := json.Marshal(s); return v }
	has := map[string]bool{}
	for _, m := range members {
		has[m.name] = true
		switch m.name {
		case "id":
			continue
		case "requested_by":
			var theirs string
			if json.Unmarshal(m.raw, &theirs) == nil {
				add(m.name, str(RequestedBy(source)+" for "+theirs))
				continue
			}
		}
		add(m.name, m.raw)
	}
	add("id", str(id))
	if !has["version"] {
		add("version", []byte("1"))
	}
	if !has["requested_by"] {
		add("requested_by", str(RequestedBy(source)))
	}
	if !has["priority"] && priority != "" {
		add("priority", str(string(priority)))
	}
	b.WriteByte('}')
	job, err := jobs.Decode(b.Bytes())
	if err != nil {
		return jobs.Job{}, err
	}
	if err := checkProducerJob(job); err != nil {
		return jobs.Job{}, err
	}
	return job, nil
}

// checkProducerJob refuses what only an operator or a worker may ask for, never a sender at the
// ingress: a reactivation (operators alone, review D4: a webhook must not give a leaver access back;
// the ingress's NATS role may not publish one), the delete and cleanup actions (their lanes; a
// deletion cannot be undone), force (it
// overrides the worker's check that the deactivation was ours), and replay_of, cleanup_of and
// delete_of (links to other jobs, which the ingress's own ids could only fake). A dry run, which
// changes nothing, is allowed.
func checkProducerJob(j jobs.Job) error {
	var bad []string
	switch j.Action {
	case jobs.ActionReactivate, jobs.ActionDelete, jobs.ActionCleanup:
		bad = append(bad, "action "+string(j.Action))
	}
	if j.Force {
		bad = append(bad, "force")
	}
	for _, f := range []struct{ name, v string }{{"replay_of", j.ReplayOf}, {"cleanup_of", j.CleanupOf}, {"delete_of", j.DeleteOf}} {
		if f.v != "" {
			bad = append(bad, f.name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s: not accepted from an ingress source (an operator's or a worker's)", jobs.ErrInvalidJob, strings.Join(bad, ", "))
	}
	return nil
}

type member struct {
	name string
	raw  json.RawMessage
}

// readMembers splits one JSON object into its members, in order, keeping duplicates.
func readMembers(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return nil, shortErr(err)
	} else if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, shortErr(err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, shortErr(err)
		}
		ms = append(ms, member{name, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, shortErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return ms, nil
}

func shortErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of input")
	}
	return err
}

// Example is a shell command that signs a job for a user of the dev simulator with openssl and
// posts it. It prints the source's first secret (as a hex key): dev mode alone calls it.
func (w *webhook) Example(baseURL string, _ time.Time) string {
	url := strings.TrimSuffix(baseURL, "/") + "/v1/sources/" + w.name
	body := `{"action":"deactivate","user":{"user_name":"ines.smith.21@example.com"},"reason":"left the company","ticket":"SOAR-1"}`
	return fmt.Sprintf(`body='%s'; id="msg_$(date +%%s%%N)"; ts="$(date +%%s)"; `+
		`sig="$(printf '%%s.%%s.%%s' "$id" "$ts" "$body" | openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary | base64)"; `+
		`curl -sS -X POST %s -H 'Content-Type: application/json' -H "webhook-id: $id" -H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sig" --data-binary "$body"`,
		body, hex.EncodeToString(w.exKey), url)
}
