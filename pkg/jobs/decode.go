package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxJobSize is the largest job message, in bytes, that [Decode] reads. The largest valid job is
// well under it; anything bigger is rejected before it is parsed.
const MaxJobSize = 16 << 10

// Decode reads a job message. In order, it rejects: a message over [MaxJobSize] ([ErrTooLarge]);
// bytes that are not UTF-8 or not exactly one JSON object ([ErrMalformed]); a missing or
// non-numeric version (a [*ValidationError] naming only "version"); a version other than
// [Version] ([ErrUnsupportedVersion], without the noise a foreign layout would cause). Otherwise
// it returns a [*ValidationError] with every problem: unknown, duplicate, null or mistyped
// members, empty optional strings, and every rule of [Job.Validate]. Member names are case
// sensitive, as in the JSON Schema.
//
// On success Decode lowercases user.id and sets an absent priority to [PriorityNormal]. All errors
// match [ErrInvalidJob]. Decode is safe for concurrent use and does not panic on any input.
func Decode(data []byte) (Job, error) {
	if len(data) > MaxJobSize {
		return Job{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxJobSize)
	}
	if !utf8.Valid(data) {
		return Job{}, fmt.Errorf("%w: not valid UTF-8", ErrMalformed)
	}
	members, err := readObject(data)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Job{}, fmt.Errorf("%w: unexpected end of input", ErrMalformed)
	}
	if err != nil {
		return Job{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := checkVersion(members); err != nil {
		return Job{}, err
	}
	d := decoder{bad: map[string]bool{}}
	j := d.job(members)
	if err := j.Validate(); err != nil {
		for _, pr := range err.(*ValidationError).Problems {
			if !d.bad[pr.Field] { // already reported as mistyped or empty
				d.p = append(d.p, pr)
			}
		}
	}
	if err := d.p.err(); err != nil {
		return Job{}, err
	}
	j.User.ID = strings.ToLower(j.User.ID)
	if j.Priority == "" {
		j.Priority = PriorityNormal
	}
	return j, nil
}

type member struct {
	name string
	raw  json.RawMessage
}

// readObject splits one JSON object into its members, in order, keeping duplicates.
func readObject(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string) // inside an object the decoder yields only string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		ms = append(ms, member{name, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return ms, nil
}

func checkVersion(ms []member) error {
	var raw json.RawMessage
	for _, m := range ms {
		if m.name == "version" {
			raw = m.raw
		}
	}
	if raw == nil {
		return &ValidationError{Problems: []Problem{{"version", "required"}}}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return &ValidationError{Problems: []Problem{{"version", "must be an integer, not " + kind(raw)}}}
	}
	if f != Version {
		return fmt.Errorf("%w %s", ErrUnsupportedVersion, clip(string(raw), 24))
	}
	return nil
}

// decoder turns members into a Job, recording problems and the fields they concern.
type decoder struct {
	p   problems
	bad map[string]bool
}

func (d *decoder) fail(field, msg string) {
	d.p.add(field, msg)
	d.bad[field] = true
	if strings.HasPrefix(field, "user.") {
		d.bad["user"] = true // no "exactly one identifier" noise on top
	}
}

func (d *decoder) job(ms []member) Job {
	j := Job{Version: Version}
	strs := map[string]*string{
		"id": &j.ID, "action": (*string)(&j.Action), "reason": &j.Reason, "requested_by": &j.RequestedBy,
		"ticket": &j.Ticket, "priority": (*string)(&j.Priority), "replay_of": &j.ReplayOf,
		"cleanup_of": &j.CleanupOf, "delete_of": &j.DeleteOf,
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.name] {
			d.fail(fieldName("", m.name), "duplicate member")
			continue
		}
		seen[m.name] = true
		switch m.name {
		case "version":
		case "user":
			j.User = d.user(m.raw)
		case "dry_run":
			d.boolean(m.name, m.raw, &j.DryRun)
		case "force":
			d.boolean(m.name, m.raw, &j.Force)
		case "requested_at":
			d.time(m.name, m.raw, &j.RequestedAt)
		case "not_before":
			d.time(m.name, m.raw, &j.NotBefore)
		default:
			if dst, ok := strs[m.name]; ok {
				d.str(m.name, m.raw, dst)
			} else {
				d.fail(fieldName("", m.name), "unknown member")
			}
		}
	}
	return j
}

func (d *decoder) user(raw json.RawMessage) UserRef {
	var u UserRef
	ms, err := readObject(raw)
	if err != nil {
		d.fail("user", "must be an object, not "+kind(raw))
		return u
	}
	dst := map[string]*string{"id": &u.ID, "external_id": &u.ExternalID, "user_name": &u.UserName}
	seen := map[string]bool{}
	for _, m := range ms {
		field := fieldName("user", m.name)
		switch p, ok := dst[m.name]; {
		case seen[m.name]:
			d.fail(field, "duplicate member")
		case !ok:
			d.fail(field, "unknown member")
		default:
			d.str(field, m.raw, p)
		}
		seen[m.name] = true
	}
	return u
}

func (d *decoder) str(field string, raw json.RawMessage, dst *string) bool {
	if raw[0] != '"' {
		d.fail(field, "must be a string, not "+kind(raw))
		return false
	}
	_ = json.Unmarshal(raw, dst) // a string token that the decoder has already checked
	if *dst == "" {
		d.fail(field, "must not be empty")
		return false
	}
	return true
}

func (d *decoder) boolean(field string, raw json.RawMessage, dst *bool) {
	if err := json.Unmarshal(raw, dst); err != nil || raw[0] == 'n' {
		d.fail(field, "must be a boolean, not "+kind(raw))
	}
}

func (d *decoder) time(field string, raw json.RawMessage, dst *time.Time) {
	var s string
	if !d.str(field, raw, &s) {
		return
	}
	t, err := ParseTime(s)
	if err != nil {
		d.fail(field, err.Error())
		return
	}
	*dst = t
}

// ParseTime reads a date-time as the job schema writes it (requested_at, not_before): RFC 3339
// with an offset ("Z" or ±hh:mm) and an optional fraction of a second. Its error is the message
// Decode reports for such a member.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if !timeRE.MatchString(s) || err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 date-time with an offset, such as 2026-11-27T09:30:00Z")
	}
	return t, nil
}

// kind names the JSON type of a syntactically valid value, for messages.
func kind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// fieldName builds a field path for a member name from the input, quoting and clipping names that
// are not plain identifiers so that hostile names cannot forge paths or flood messages.
func fieldName(parent, name string) string {
	plain := name != "" && len(name) <= 64 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_0123456789") == ""
	if !plain {
		name = strconv.QuoteToASCII(clip(name, 64))
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
