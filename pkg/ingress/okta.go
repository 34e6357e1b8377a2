package ingress

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// OktaSettings are the settings of a source of kind okta (an Okta event hook). Every member is
// optional; the zero value maps user.lifecycle.deactivate and user.lifecycle.suspend to a
// deactivation of the target's login (alternateId) as user_name.
type OktaSettings struct {
	// Header is the request header that carries the secret Okta is configured to send (the
	// event hook's auth header: key and value). Default "Authorization".
	Header string `json:"header,omitempty"`
	// Events maps an Okta event type to the job it makes. An event whose type is not here is
	// acknowledged and counted as ignored. Default: [DefaultOktaEvents]. A reactivation is made
	// only when an event type is mapped to it here.
	Events map[string]OktaEventMapping `json:"events,omitempty"`
	// UserAttribute says which attribute of the event's target of type "User" names the user:
	// "alternateId" (the Okta login, default), "id" (the Okta user id), or
	// "detailEntry.<name>" (a member of the target's detailEntry, when the event carries it).
	UserAttribute string `json:"user_attribute,omitempty"`
	// UserField is the job's identifier the attribute fills: "user_name" (default for
	// alternateId and detailEntry) or "external_id". An Okta id is not a Genesys id: with
	// user_attribute "id" the field must be external_id (the default then).
	UserField string `json:"user_field,omitempty"`
}

// OktaEventMapping is the job an Okta event type makes.
type OktaEventMapping struct {
	// Action is "deactivate", the only action an ingress source may map to (a reactivation is an
	// operator's: the ingress's NATS role may not publish one).
	Action jobs.Action `json:"action"`
	// Priority is the job's lane; default the source's priority.
	Priority jobs.Priority `json:"priority,omitempty"`
}

// DefaultOktaEvents is the event mapping of an Okta source whose settings name none: a
// deactivation and a suspension in Okta each deactivate the Genesys user, in the source's lane.
func DefaultOktaEvents() map[string]OktaEventMapping {
	return map[string]OktaEventMapping{
		"user.lifecycle.deactivate": {Action: jobs.ActionDeactivate},
		"user.lifecycle.suspend":    {Action: jobs.ActionDeactivate},
	}
}

// OktaChallengeHeader is the header of Okta's one-time verification GET.
const OktaChallengeHeader = "X-Okta-Verification-Challenge"

// maxChallenge bounds the verification value echoed back (Okta's is a short token).
const maxChallenge = 1024

type oktaSource struct {
	name      string
	header    string
	secrets   [][sha256.Size]byte
	exSecret  string // the first secret, for Example (dev mode only prints it)
	events    map[string]OktaEventMapping
	attribute string // "alternateId", "id" or "detailEntry.<name>"
	field     string // "user_name" or "external_id"
	priority  jobs.Priority
}

// newOkta builds the source of kind okta from its configuration and its secrets (the values
// of the auth header Okta sends; several while rotating).
func newOkta(cfg SourceConfig, secrets []string) (Source, error) {
	var st OktaSettings
	if err := parseKindSettings(cfg.Settings, &st); err != nil {
		return nil, fmt.Errorf("okta source %q: %w", cfg.Name, err)
	}
	s := &oktaSource{name: cfg.Name, header: st.Header, events: st.Events, attribute: st.UserAttribute,
		field: st.UserField, priority: cfg.Priority}
	if s.header == "" {
		s.header = "Authorization"
	}
	if !isHeaderName(s.header) {
		return nil, fmt.Errorf("okta source %q: settings.header %q is not a header name", cfg.Name, s.header)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("okta source %q: no secret (secret_files names the auth header value Okta sends)", cfg.Name)
	}
	for i, sec := range secrets {
		if sec == "" {
			return nil, fmt.Errorf("okta source %q: secret %d is empty", cfg.Name, i+1)
		}
		s.secrets = append(s.secrets, sha256.Sum256([]byte(sec)))
	}
	s.exSecret = secrets[0]
	if s.events == nil {
		s.events = DefaultOktaEvents()
	}
	if len(s.events) == 0 {
		return nil, fmt.Errorf("okta source %q: settings.events maps no event type", cfg.Name)
	}
	for typ, m := range s.events {
		if typ == "" {
			return nil, fmt.Errorf("okta source %q: settings.events has an empty event type", cfg.Name)
		}
		if m.Action != jobs.ActionDeactivate {
			return nil, fmt.Errorf("okta source %q: settings.events[%q].action must be \"deactivate\" (a reactivation is an operator's: the ingress may not publish one)", cfg.Name, typ)
		}
		if err := checkLane(m.Priority); err != nil {
			return nil, fmt.Errorf("okta source %q: settings.events[%q].%w", cfg.Name, typ, err)
		}
	}
	if err := checkLane(s.priority); err != nil {
		return nil, fmt.Errorf("okta source %q: %w", cfg.Name, err)
	}
	switch {
	case s.attribute == "":
		s.attribute = "alternateId"
	case s.attribute == "alternateId", s.attribute == "id":
	case strings.HasPrefix(s.attribute, "detailEntry.") && len(s.attribute) > len("detailEntry."):
	default:
		return nil, fmt.Errorf("okta source %q: settings.user_attribute must be \"alternateId\", \"id\" or \"detailEntry.<name>\"", cfg.Name)
	}
	switch {
	case s.field == "" && s.attribute == "id":
		s.field = "external_id"
	case s.field == "":
		s.field = "user_name"
	case s.field == "user_name" && s.attribute == "id":
		return nil, fmt.Errorf("okta source %q: an Okta user id is not a Genesys user name: with user_attribute \"id\", user_field must be \"external_id\"", cfg.Name)
	case s.field == "user_name", s.field == "external_id":
	default:
		return nil, fmt.Errorf("okta source %q: settings.user_field must be \"user_name\" or \"external_id\"", cfg.Name)
	}
	return s, nil
}

// headersOnly: Authenticate reads the header alone, so the server calls it before the body.
func (s *oktaSource) headersOnly() {}

// Authenticate compares the configured header with every secret in constant time (over their
// SHA-256, so the length of a secret does not show either).
func (s *oktaSource) Authenticate(r *http.Request, _ []byte, _ time.Time) error {
	vals := r.Header.Values(s.header)
	if len(vals) == 0 {
		return fmt.Errorf("%w: okta: no %s header", ErrUnauthorized, s.header)
	}
	if len(vals) > 1 {
		return fmt.Errorf("%w: okta: %d %s headers", ErrUnauthorized, len(vals), s.header)
	}
	got := sha256.Sum256([]byte(vals[0]))
	ok := 0
	for i := range s.secrets {
		ok |= subtle.ConstantTimeCompare(got[:], s.secrets[i][:])
	}
	if ok != 1 {
		return fmt.Errorf("%w: okta: %s header matches no secret", ErrUnauthorized, s.header)
	}
	return nil
}

// Handshake answers Okta's one-time verification GET: the value of
// X-Okta-Verification-Challenge back as {"verification": "<value>"}.
func (s *oktaSource) Handshake(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	challenge := r.Header.Get(OktaChallengeHeader)
	if challenge == "" {
		return false
	}
	if len(challenge) > maxChallenge {
		http.Error(w, "verification challenge too long", http.StatusBadRequest)
		return true
	}
	body, err := json.Marshal(struct {
		Verification string `json:"verification"`
	}{challenge})
	if err != nil { // a string always marshals
		http.Error(w, "internal error", http.StatusInternalServerError)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
	return true
}

// oktaDelivery is the body of an event hook POST (the fields we read).
type oktaDelivery struct {
	EventType string `json:"eventType"`
	EventID   string `json:"eventId"`
	Data      *struct {
		Events []json.RawMessage `json:"events"`
	} `json:"data"`
}

// oktaLogEvent is one element of data.events: a System Log LogEvent (the fields we read).
type oktaLogEvent struct {
	UUID      string `json:"uuid"`
	EventType string `json:"eventType"`
	Published string `json:"published"`
	Actor     *struct {
		AlternateID string `json:"alternateId"`
	} `json:"actor"`
	Outcome *struct {
		Result string `json:"result"`
	} `json:"outcome"`
	Target []oktaTarget `json:"target"`
}

type oktaTarget struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	AlternateID string         `json:"alternateId"`
	DetailEntry map[string]any `json:"detailEntry"`
}

// Decode maps data.events[] to events. The job id derives from each LogEvent's uuid, which Okta
// keeps when it delivers the event again (its documented duplicate check); the delivery's own
// eventId differs per delivery and covers several events, so it is not the reference.
func (s *oktaSource) Decode(_ *http.Request, body []byte, _ time.Time) ([]Event, error) {
	var d oktaDelivery
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("okta: body is not an event hook delivery: %v", jsonErrText(err))
	}
	if dec.More() {
		return nil, errors.New("okta: body is not an event hook delivery: data after the JSON object")
	}
	if d.Data == nil || d.Data.Events == nil {
		return nil, errors.New("okta: body is not an event hook delivery: no data.events array")
	}
	out := make([]Event, 0, len(d.Data.Events))
	for i, raw := range d.Data.Events {
		out = append(out, s.event(i, raw))
	}
	return out, nil
}

func (s *oktaSource) event(i int, raw json.RawMessage) Event {
	var e oktaLogEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{Ref: fmt.Sprintf("#%d", i), Err: fmt.Errorf("data.events[%d] is not a LogEvent: %v", i, jsonErrText(err))}
	}
	ref := e.UUID
	if ref == "" {
		return Event{Ref: fmt.Sprintf("#%d", i), Err: fmt.Errorf("data.events[%d] has no uuid", i)}
	}
	ev := Event{Ref: clipText(ref, 128)}
	m, ok := s.events[e.EventType]
	if !ok {
		ev.Ignored = "event type " + clipText(strings.ToValidUTF8(e.EventType, "?"), 128) + " is not mapped"
		return ev
	}
	if e.Outcome != nil && e.Outcome.Result != "" && e.Outcome.Result != "SUCCESS" {
		ev.Ignored = "outcome " + clipText(strings.ToValidUTF8(e.Outcome.Result, "?"), 64) + ": Okta did not make the change"
		return ev
	}
	val, err := s.targetValue(e.Target)
	if err != nil {
		ev.Err = err
		return ev
	}
	j := jobs.Job{
		Version:     jobs.Version,
		ID:          JobID(s.name, ref),
		Action:      m.Action,
		RequestedBy: RequestedBy(s.name),
		Ticket:      ref,
		Priority:    laneOf(m.Priority, s.priority),
		Reason:      "okta " + e.EventType + " " + ref,
	}
	if e.Actor != nil && e.Actor.AlternateID != "" {
		// quoted when it holds an invisible or control character: the actor's name must
		// neither display as another nor make the target's job fail the reason's rules
		j.Reason += " by " + clipText(shown(strings.ToValidUTF8(e.Actor.AlternateID, "?")), 256)
	}
	if t, err := time.Parse(time.RFC3339Nano, e.Published); err == nil {
		j.RequestedAt = t.UTC()
	}
	if s.field == "external_id" {
		j.User.ExternalID = val
	} else {
		j.User.UserName = val
	}
	if err := j.Validate(); err != nil {
		ev.Err = err
		return ev
	}
	ev.Job = &j
	return ev
}

// targetValue is the configured attribute of the event's one target of type User. Several User
// targets are one only when they are the same user and name the same value: which user is meant
// must be clear from the attribute the job uses, not from the id alone (which may be absent).
func (s *oktaSource) targetValue(targets []oktaTarget) (string, error) {
	var found []oktaTarget
	for _, t := range targets {
		if t.Type == "User" {
			found = append(found, t)
		}
	}
	if len(found) == 0 {
		return "", errors.New("no target of type User")
	}
	val, err := s.userValue(found[0])
	if err != nil {
		return "", err
	}
	for _, t := range found[1:] {
		if v, err := s.userValue(t); err != nil || v != val || t.ID != found[0].ID {
			return "", fmt.Errorf("%d targets of type User: which user is meant is not clear", len(found))
		}
	}
	return val, nil
}

func (s *oktaSource) userValue(t oktaTarget) (string, error) {
	switch s.attribute {
	case "alternateId":
		if t.AlternateID == "" {
			return "", errors.New("the User target has no alternateId")
		}
		return t.AlternateID, nil
	case "id":
		if t.ID == "" {
			return "", errors.New("the User target has no id")
		}
		return t.ID, nil
	}
	key := strings.TrimPrefix(s.attribute, "detailEntry.")
	v, ok := t.DetailEntry[key]
	str, isStr := v.(string)
	if !ok || !isStr || str == "" {
		return "", fmt.Errorf("the User target's detailEntry has no string %q", key)
	}
	return str, nil
}

// Example is the verification GET and a POST of a deactivation, as one shell line. It shows the
// first secret: dev mode alone calls it (with a dev fixture).
func (s *oktaSource) Example(baseURL string, now time.Time) string {
	url := strings.TrimSuffix(baseURL, "/") + "/v1/sources/" + s.name
	auth := shq(s.header + ": " + s.exSecret)
	typ := "user.lifecycle.deactivate"
	if _, ok := s.events[typ]; !ok {
		typs := make([]string, 0, len(s.events))
		for t := range s.events {
			typs = append(typs, t)
		}
		sort.Strings(typs)
		typ = typs[0]
	}
	target := `{"id":"00u3m90rxKjGQ0G6L1d6","type":"User","alternateId":"noor.dubois.22@example.com","displayName":"Noor Dubois"}`
	if strings.HasPrefix(s.attribute, "detailEntry.") {
		target = `{"id":"00u3m90rxKjGQ0G6L1d6","type":"User","alternateId":"noor.dubois.22@example.com","detailEntry":{` +
			jsonText(strings.TrimPrefix(s.attribute, "detailEntry.")) + `:"noor.dubois.22@example.com"}}`
	}
	at := jsonText(now.UTC().Format(time.RFC3339))
	body := `{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","contentType":"application/json",` +
		`"eventId":"dev-` + fmt.Sprint(now.Unix()) + `","eventTime":` + at + `,"data":{"events":[{"uuid":"dev-` +
		fmt.Sprint(now.UnixNano()) + `","published":` + at + `,"eventType":` + jsonText(typ) +
		`,"actor":{"id":"00u1qw6mqitPHM8AJ0g7","type":"User","alternateId":"admin@example.com"},"outcome":{"result":"SUCCESS"},"target":[` + target + `]}]}}`
	return "curl -sS -H " + auth + " -H '" + OktaChallengeHeader + ": dev-challenge' " + shq(url) + "; echo; " +
		"curl -sS -X POST -H " + auth + " -H 'Content-Type: application/json' --data-binary " + shq(body) + " " + shq(url)
}
