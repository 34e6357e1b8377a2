package enqueue

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// jsonMembers is the set of member names of a JSON line, from jsonRow's tags.
var jsonMembers = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[jsonRow]()
	for i := range t.NumField() {
		names[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	return names
})

// checkMembers checks a line's member names as the job schema does: exactly as spelled, each at
// most once. encoding/json alone would match "USER_NAME" or "Email" to a field regardless of case
// and let the last of two members win silently, so {"user_name":"a@…","USER_NAME":"b@…"} would
// become a job for b@…. It returns the object with only the first of each known member, so that
// the row still shows what it asked for, and a problem for every other member. A line that is not
// a well-formed object is returned as it is: decoding reports it.
func checkMembers(text []byte) ([]byte, []jobs.Problem) {
	members, ok := topLevelMembers(text)
	if !ok {
		return text, nil
	}
	var problems []jobs.Problem
	kept := map[string]json.RawMessage{}
	seen := map[string]bool{}
	for _, m := range members {
		field := quoteName(m.name)
		switch {
		case seen[m.name]:
			problems = append(problems, jobs.Problem{Field: field, Message: "given twice"})
		case !jsonMembers()[m.name]:
			problems = append(problems, jobs.Problem{Field: field, Message: unknownMember(m.name)})
		default:
			kept[m.name] = m.raw
		}
		seen[m.name] = true
	}
	if len(problems) == 0 {
		return text, nil
	}
	cleaned, _ := json.Marshal(kept) // raw values the decoder has checked
	return cleaned, problems
}

type jsonMember struct {
	name string
	raw  json.RawMessage
}

// unknownMember says why a name is not a member, pointing at the spelling it differs from in case.
func unknownMember(name string) string {
	for known := range jsonMembers() {
		if strings.EqualFold(known, name) {
			return "unknown member: names are case-sensitive, write " + known
		}
	}
	return "unknown member (known: " + knownColumns + ")"
}

// topLevelMembers lists the members of one JSON object in order, duplicates included; ok is false
// when the text is not one well-formed object.
func topLevelMembers(text []byte) (members []jsonMember, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		members = append(members, jsonMember{name, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, false
	}
	return members, !dec.More()
}

// quoteName shows a member name from the input as a field: plain names as they are, any other
// quoted and clipped, so that a hostile name cannot forge a field or flood a message.
func quoteName(name string) string {
	if name != "" && len(name) <= 64 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_0123456789") == "" {
		return name
	}
	return strconv.QuoteToASCII(clip(name))
}
