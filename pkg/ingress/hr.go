package ingress

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// HRSettings are the settings of a source of kind hr: an HR system's webhook signed with an
// HMAC of the body, mapped to jobs field by field. Paths are dotted names into one event, with
// ["quoted names"] for names with spaces (fields["Work Email"]) and [n] for array indexes.
type HRSettings struct {
	// Signature says how the sender signs a request.
	Signature HRSignature `json:"signature"`
	// Events is the path to the array of events in the body ("employees" for BambooHR's
	// field-based webhooks); "" means the body is one event (HiBob, BambooHR's event-based
	// webhooks).
	Events string `json:"events,omitempty"`
	// Actions are the rules that make an event a job; the first whose field has one of its
	// values wins, and an event that no rule matches is acknowledged as ignored. At least one.
	Actions []HRActionRule `json:"actions"`
	// User is where the identifier of the Genesys user is.
	User HRUserField `json:"user"`
	// Ref are the paths whose values, together, identify the change: the job id derives from
	// them, so a redelivery is the same job and a new termination a new one (the employee id
	// and the change's own timestamp or id, not the delivery's). All must be present.
	Ref []string `json:"ref"`
	// TerminationDate is the path to the leaver's last day (or moment); the job's not_before.
	// Optional: without it, or with the value empty, the job runs now.
	TerminationDate string `json:"termination_date,omitempty"`
	// TimeOfDay is when, on a termination date that has no time, the job runs: "HH:MM" in
	// TimeZone. Default "23:59": the end of the last working day, which is what HR means.
	TimeOfDay string `json:"time_of_day,omitempty"`
	// TimeZone is the IANA zone of dates without an offset (default "UTC"): the HR system's or
	// the company's zone.
	TimeZone string `json:"time_zone,omitempty"`
	// Ticket is an optional path to a value for the job's ticket (an HR case number).
	Ticket string `json:"ticket,omitempty"`
}

// HRSignature describes an HMAC signature of the request.
type HRSignature struct {
	// Header carries the signature ("X-BambooHR-Signature", "Bob-Signature"). Required.
	Header string `json:"header"`
	// Algorithm is "sha256" (default) or "sha512".
	Algorithm string `json:"algorithm,omitempty"`
	// Encoding of the signature in the header: "hex" (default) or "base64".
	Encoding string `json:"encoding,omitempty"`
	// Prefix is stripped from the header's value before decoding (such as "sha256=").
	Prefix string `json:"prefix,omitempty"`
	// Signed is what the HMAC covers: "body" (default), "body+timestamp" (the body followed by
	// the timestamp header's value, as BambooHR signs) or "timestamp.body" (the timestamp, a
	// dot, the body). The last two need TimestampHeader.
	Signed string `json:"signed,omitempty"`
	// TimestampHeader is the header with the time of sending (Unix seconds or RFC 3339);
	// when set, it is required and must be within Tolerance of now.
	TimestampHeader string `json:"timestamp_header,omitempty"`
	// Tolerance is how far the timestamp may be from now, as a Go duration (default "5m").
	Tolerance string `json:"tolerance,omitempty"`
}

// HRActionRule makes an event whose Field has one of Values a job with Action.
type HRActionRule struct {
	// Field is a path into the event.
	Field string `json:"field"`
	// Values are compared with the field's value exactly, or ignoring case with IgnoreCase.
	Values     []string `json:"values"`
	IgnoreCase bool     `json:"ignore_case,omitempty"`
	// Action is "deactivate", the default and the only one an ingress source may map to (a
	// reactivation is an operator's: the ingress's NATS role may not publish one).
	Action jobs.Action `json:"action,omitempty"`
	// Priority is the job's lane; default the source's priority.
	Priority jobs.Priority `json:"priority,omitempty"`
}

// HRUserField is where the user's identifier is and which of the job's identifiers it fills.
type HRUserField struct {
	// Path into the event (fields["Work Email"]). Required.
	Path string `json:"path"`
	// As is "user_name" (default) or "external_id".
	As string `json:"as,omitempty"`
}

type hrRule struct {
	field    fieldPath
	values   []string
	fold     bool
	action   jobs.Action
	priority jobs.Priority
}

type hrSource struct {
	name    string
	secrets [][]byte
	exKey   []byte // the first secret, for Example (dev mode only prints it)

	sigHeader  string
	newHash    func() hash.Hash
	encoding   string
	prefix     string
	signed     string
	tsHeader   string
	tolerance  time.Duration
	events     fieldPath
	rules      []hrRule
	user       fieldPath
	userAs     string
	ref        []fieldPath
	date       *fieldPath
	ticket     *fieldPath
	hour, min  int
	loc        *time.Location
	priority   jobs.Priority
	sampleRule HRActionRule
}

// newHR builds the source of kind hr from its configuration and its secrets (HMAC keys;
// several while rotating).
func newHR(cfg SourceConfig, secrets []string) (Source, error) {
	s, err := buildHR(cfg, secrets)
	if err != nil {
		return nil, fmt.Errorf("hr source %q: %w", cfg.Name, err)
	}
	return s, nil
}

func buildHR(cfg SourceConfig, secrets []string) (*hrSource, error) {
	var st HRSettings
	err := parseKindSettings(cfg.Settings, &st)
	if err != nil {
		return nil, err
	}
	s := &hrSource{name: cfg.Name, priority: cfg.Priority}
	if len(secrets) == 0 {
		return nil, errors.New("no secret (secret_files names the HMAC key)")
	}
	for i, sec := range secrets {
		if sec == "" {
			return nil, fmt.Errorf("secret %d is empty", i+1)
		}
		s.secrets = append(s.secrets, []byte(sec))
	}
	s.exKey = []byte(secrets[0])
	if err := checkLane(s.priority); err != nil {
		return nil, err
	}
	if err := s.signature(st.Signature); err != nil {
		return nil, err
	}
	if s.events, err = parsePath(st.Events); err != nil {
		return nil, fmt.Errorf("settings.events: %w", err)
	}
	if len(st.Actions) == 0 {
		return nil, errors.New("settings.actions: at least one rule is required (which field and values mean a leaver)")
	}
	for i, a := range st.Actions {
		r := hrRule{values: a.Values, fold: a.IgnoreCase, action: a.Action, priority: a.Priority}
		if r.field, err = parsePath(a.Field); err != nil || a.Field == "" {
			return nil, fmt.Errorf("settings.actions[%d].field: %v", i, orText(err, "required"))
		}
		if len(a.Values) == 0 {
			return nil, fmt.Errorf("settings.actions[%d].values: at least one value", i)
		}
		switch r.action {
		case "":
			r.action = jobs.ActionDeactivate
		case jobs.ActionDeactivate:
		default:
			return nil, fmt.Errorf("settings.actions[%d].action must be \"deactivate\" (a reactivation is an operator's: the ingress may not publish one)", i)
		}
		if err := checkLane(r.priority); err != nil {
			return nil, fmt.Errorf("settings.actions[%d].%w", i, err)
		}
		s.rules = append(s.rules, r)
	}
	s.sampleRule = st.Actions[0]
	if s.user, err = parsePath(st.User.Path); err != nil || st.User.Path == "" {
		return nil, fmt.Errorf("settings.user.path: %v", orText(err, "required"))
	}
	switch st.User.As {
	case "", "user_name":
		s.userAs = "user_name"
	case "external_id":
		s.userAs = "external_id"
	default:
		return nil, errors.New("settings.user.as must be \"user_name\" or \"external_id\"")
	}
	if len(st.Ref) == 0 {
		return nil, errors.New("settings.ref: at least one path (the employee id and the change's timestamp or id)")
	}
	for i, r := range st.Ref {
		p, err := parsePath(r)
		if err != nil || r == "" {
			return nil, fmt.Errorf("settings.ref[%d]: %v", i, orText(err, "empty"))
		}
		s.ref = append(s.ref, p)
	}
	if st.TerminationDate != "" {
		p, err := parsePath(st.TerminationDate)
		if err != nil {
			return nil, fmt.Errorf("settings.termination_date: %w", err)
		}
		s.date = &p
	}
	if st.Ticket != "" {
		p, err := parsePath(st.Ticket)
		if err != nil {
			return nil, fmt.Errorf("settings.ticket: %w", err)
		}
		s.ticket = &p
	}
	tod := st.TimeOfDay
	if tod == "" {
		tod = "23:59"
	}
	t, err := time.Parse("15:04", tod)
	if err != nil {
		return nil, fmt.Errorf("settings.time_of_day %q is not HH:MM", tod)
	}
	s.hour, s.min = t.Hour(), t.Minute()
	zone := st.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	if s.loc, err = time.LoadLocation(zone); err != nil {
		return nil, fmt.Errorf("settings.time_zone %q is not an IANA time zone", zone)
	}
	return s, nil
}

func (s *hrSource) signature(sig HRSignature) error {
	s.sigHeader, s.prefix, s.tsHeader = sig.Header, sig.Prefix, sig.TimestampHeader
	if s.sigHeader == "" || !isHeaderName(s.sigHeader) {
		return errors.New("settings.signature.header: the signature's header name is required")
	}
	switch sig.Algorithm {
	case "", "sha256":
		s.newHash = sha256.New
	case "sha512":
		s.newHash = sha512.New
	default:
		return errors.New("settings.signature.algorithm must be \"sha256\" or \"sha512\"")
	}
	switch sig.Encoding {
	case "", "hex":
		s.encoding = "hex"
	case "base64":
		s.encoding = "base64"
	default:
		return errors.New("settings.signature.encoding must be \"hex\" or \"base64\"")
	}
	switch sig.Signed {
	case "", "body":
		s.signed = "body"
	case "body+timestamp", "timestamp.body":
		s.signed = sig.Signed
		if s.tsHeader == "" {
			return fmt.Errorf("settings.signature.signed %q needs timestamp_header", sig.Signed)
		}
	default:
		return errors.New("settings.signature.signed must be \"body\", \"body+timestamp\" or \"timestamp.body\"")
	}
	if s.tsHeader != "" && !isHeaderName(s.tsHeader) {
		return fmt.Errorf("settings.signature.timestamp_header %q is not a header name", s.tsHeader)
	}
	s.tolerance = 5 * time.Minute
	if sig.Tolerance != "" {
		d, err := time.ParseDuration(sig.Tolerance)
		if err != nil || d <= 0 {
			return fmt.Errorf("settings.signature.tolerance %q is not a positive duration", sig.Tolerance)
		}
		s.tolerance = d
	}
	return nil
}

// Authenticate checks the timestamp (when configured) and the HMAC against every secret.
func (s *hrSource) Authenticate(r *http.Request, body []byte, now time.Time) error {
	sigText := r.Header.Get(s.sigHeader)
	if sigText == "" {
		return fmt.Errorf("%w: hr: no %s header", ErrUnauthorized, s.sigHeader)
	}
	var ts string
	if s.tsHeader != "" {
		ts = r.Header.Get(s.tsHeader)
		if ts == "" {
			return fmt.Errorf("%w: hr: no %s header", ErrUnauthorized, s.tsHeader)
		}
		at, err := parseSentAt(ts)
		if err != nil {
			return fmt.Errorf("%w: hr: %s header is neither Unix seconds nor RFC 3339", ErrUnauthorized, s.tsHeader)
		}
		if d := now.Sub(at); d > s.tolerance || d < -s.tolerance {
			return fmt.Errorf("%w: hr: %s is %s from now, more than the tolerance %s", ErrUnauthorized, s.tsHeader, d.Round(time.Second), s.tolerance)
		}
	}
	sigText = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sigText), s.prefix))
	var got []byte
	var err error
	if s.encoding == "hex" {
		got, err = hex.DecodeString(sigText)
	} else {
		got, err = base64.StdEncoding.DecodeString(sigText)
		if err != nil {
			got, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(sigText, "="))
		}
	}
	if err != nil {
		return fmt.Errorf("%w: hr: %s is not %s", ErrUnauthorized, s.sigHeader, s.encoding)
	}
	ok := false
	for _, key := range s.secrets {
		if hmac.Equal(got, s.mac(key, body, ts)) {
			ok = true // no early return: each secret costs the same
		}
	}
	if !ok {
		return fmt.Errorf("%w: hr: %s matches no secret", ErrUnauthorized, s.sigHeader)
	}
	return nil
}

func (s *hrSource) mac(key, body []byte, ts string) []byte {
	m := hmac.New(s.newHash, key)
	switch s.signed {
	case "body+timestamp":
		m.Write(body)
		m.Write([]byte(ts))
	case "timestamp.body":
		m.Write([]byte(ts + "."))
		m.Write(body)
	default:
		m.Write(body)
	}
	return m.Sum(nil)
}

// parseSentAt reads a timestamp header: Unix seconds, or RFC 3339 (with "+0000" offsets too).
func parseSentAt(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1e11 { // milliseconds
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad timestamp")
}

// Decode maps the body's events. The body must be JSON with the configured events array.
func (s *hrSource) Decode(_ *http.Request, body []byte, _ time.Time) ([]Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("hr: body is not JSON: %v", jsonErrText(err))
	}
	if dec.More() {
		return nil, errors.New("hr: body is not JSON: data after the value")
	}
	if len(s.events.steps) == 0 {
		if _, ok := doc.(map[string]any); !ok {
			return nil, errors.New("hr: body is not an event object")
		}
		return []Event{s.event(0, doc)}, nil
	}
	v, err := s.events.lookup(doc)
	arr, ok := v.([]any)
	if err != nil || !ok {
		return nil, fmt.Errorf("hr: body has no %s array", s.events)
	}
	out := make([]Event, 0, len(arr))
	for i, e := range arr {
		out = append(out, s.event(i, e))
	}
	return out, nil
}

// refEscaper escapes the '/' that joins the parts of an HR event's ref (and '%', its escape).
var refEscaper = strings.NewReplacer("%", "%25", "/", "%2F")

func (s *hrSource) event(i int, e any) Event {
	parts := make([]string, 0, len(s.ref))
	for _, p := range s.ref {
		v, err := p.scalar(e)
		if err == nil && v == "" {
			err = errNoValue
		}
		if err != nil {
			return Event{Ref: fmt.Sprintf("#%d", i), Err: fmt.Errorf("event %d: ref %s: %v (the change cannot be told from a redelivery)", i, p, err)}
		}
		parts = append(parts, refEscaper.Replace(v))
	}
	ref := strings.Join(parts, "/") // escaped: ("a/b", "c") and ("a", "b/c") are two changes, two ids
	ev := Event{Ref: clipText(strings.ToValidUTF8(ref, "?"), 128)}
	rule, val, ok := s.match(e)
	if !ok {
		ev.Ignored = "no action rule matches"
		return ev
	}
	id, err := s.user.scalar(e)
	if err == nil && strings.TrimSpace(id) == "" {
		err = errNoValue
	}
	if err != nil {
		ev.Err = fmt.Errorf("user %s: %v", s.user, err)
		return ev
	}
	j := jobs.Job{
		Version:     jobs.Version,
		ID:          JobID(s.name, ref),
		Action:      rule.action,
		RequestedBy: RequestedBy(s.name),
		Priority:    laneOf(rule.priority, s.priority),
		Reason:      "hr " + s.name + ": " + clipText(rule.field.String(), 256) + " " + val + " (" + ev.Ref + ")",
	}
	if s.userAs == "external_id" {
		j.User.ExternalID = strings.TrimSpace(id)
	} else {
		j.User.UserName = strings.TrimSpace(id)
	}
	if s.ticket != nil {
		if t, err := s.ticket.scalar(e); err == nil {
			j.Ticket = t
		}
	}
	if s.date != nil {
		nb, err := s.notBefore(e)
		if err != nil {
			ev.Err = err
			return ev
		}
		j.NotBefore = nb
	}
	if err := j.Validate(); err != nil {
		ev.Err = err
		return ev
	}
	ev.Job = &j
	return ev
}

// match is the first rule whose field has one of its values.
func (s *hrSource) match(e any) (hrRule, string, bool) {
	for _, r := range s.rules {
		v, err := r.field.scalar(e)
		if err != nil {
			continue
		}
		for _, want := range r.values {
			if v == want || (r.fold && strings.EqualFold(v, want)) {
				return r, v, true
			}
		}
	}
	return hrRule{}, "", false
}

// notBefore reads the termination date: a date alone is the configured time of day in the
// configured zone; a date with a time and offset is that moment; none (absent, "", or
// BambooHR's "0000-00-00") is zero, which runs now.
func (s *hrSource) notBefore(e any) (time.Time, error) {
	v, err := s.date.scalar(e)
	if errors.Is(err, errNoValue) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("termination date %s: %v", s.date, err)
	}
	v = strings.TrimSpace(v)
	if v == "" || v == "0000-00-00" {
		return time.Time{}, nil
	}
	t, ok := s.parseDate(v)
	if ok && (t.UTC().Year() < 1900 || t.UTC().Year() > 9998) {
		return time.Time{}, fmt.Errorf("termination date %s: %q is out of range", s.date, v)
	}
	if ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("termination date %s: %q is neither a date (YYYY-MM-DD) nor an RFC 3339 time", s.date, clipText(strings.ToValidUTF8(v, "?"), 64))
}

func (s *hrSource) parseDate(v string) (time.Time, bool) {
	if d, err := time.ParseInLocation("2006-01-02", v, s.loc); err == nil {
		return time.Date(d.Year(), d.Month(), d.Day(), s.hour, s.min, 0, 0, s.loc), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, s.loc); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// Example is a shell line posting a signed sample event that the first action rule matches
// (openssl computes the HMAC). It shows the first secret, as a hex key: dev mode alone calls it
// (with a dev fixture).
func (s *hrSource) Example(baseURL string, now time.Time) string {
	url := strings.TrimSuffix(baseURL, "/") + "/v1/sources/" + s.name
	alg := "sha256"
	if s.newHash().Size() == sha512.Size {
		alg = "sha512"
	}
	enc := "od -An -vtx1 | tr -d ' \\n'"
	if s.encoding == "base64" {
		enc = "base64 | tr -d '\\n'"
	}
	var b strings.Builder
	b.WriteString("body=" + shq(s.sampleBody(now)) + "; ")
	signed := `printf '%s' "$body"`
	if s.tsHeader != "" {
		b.WriteString(`ts="$(date +%s)"; `)
		switch s.signed {
		case "body+timestamp":
			signed = `printf '%s%s' "$body" "$ts"`
		case "timestamp.body":
			signed = `printf '%s.%s' "$ts" "$body"`
		}
	}
	b.WriteString(`sig="$(` + signed + " | openssl dgst -" + alg + " -mac HMAC -macopt hexkey:" + hex.EncodeToString(s.exKey) +
		" -binary | " + enc + `)"; `)
	b.WriteString("curl -sS -X POST -H 'Content-Type: application/json' -H " + shq(s.sigHeader+": "+s.prefix) + `"$sig"`)
	if s.tsHeader != "" {
		b.WriteString(" -H " + shq(s.tsHeader+": ") + `"$ts"`)
	}
	b.WriteString(` --data-binary "$body" ` + shq(url))
	return b.String()
}

// sampleBody builds an event that the first action rule matches, for the example.
func (s *hrSource) sampleBody(now time.Time) string {
	event := map[string]any{}
	set := func(p fieldPath, v any) {
		cur := event
		for i, st := range p.steps {
			if st.isIdx {
				return // index paths are not built in the sample
			}
			if i == len(p.steps)-1 {
				cur[st.name] = v
				return
			}
			next, ok := cur[st.name].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[st.name] = next
			}
			cur = next
		}
	}
	for i, p := range s.ref {
		set(p, fmt.Sprintf("dev-%d-%d", now.Unix(), i))
	}
	set(s.user, "jonas.smith.23@example.com")
	if s.date != nil {
		set(*s.date, now.In(s.loc).AddDate(0, 0, -1).Format("2006-01-02")) // yesterday: it runs now
	}
	set(s.rules[0].field, s.sampleRule.Values[0])
	var doc any = event
	for i := len(s.events.steps) - 1; i >= 0; i-- {
		st := s.events.steps[i]
		if st.isIdx {
			doc = []any{doc}
			continue
		}
		if i == len(s.events.steps)-1 {
			doc = map[string]any{st.name: []any{doc}}
		} else {
			doc = map[string]any{st.name: doc}
		}
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// Helpers shared by the okta and hr sources.

// parseKindSettings decodes a kind's settings, refusing unknown members.
func parseKindSettings(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("settings: %v", err)
	}
	return nil
}

func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func checkLane(p jobs.Priority) error {
	switch p {
	case "", jobs.PriorityUrgent, jobs.PriorityNormal:
		return nil
	}
	return fmt.Errorf("priority %q must be \"urgent\" or \"normal\"", p)
}

func laneOf(ps ...jobs.Priority) jobs.Priority {
	for _, p := range ps {
		if p != "" {
			return p
		}
	}
	return jobs.PriorityNormal
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// jsonErrText is a decoding error without the body's content.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "a " + te.Value + " where " + te.Field + " needs " + te.Type.String()
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected end"
	}
	return "not JSON"
}

func orText(err error, text string) string {
	if err != nil {
		return err.Error()
	}
	return text
}

// shq quotes s for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
