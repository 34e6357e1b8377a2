package genesys

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// parseEqFilter is an independent reader of `attr eq "<JSON string>"`: it
// returns the attribute and value only if the filter is exactly that one
// comparison, with nothing after the closing quote.
func parseEqFilter(f string) (attr, value string, ok bool) {
	attr, rest, found := strings.Cut(f, ` eq "`)
	if !found || !validAttrPath(attr) {
		return "", "", false
	}
	// Find the closing quote: the first '"' not escaped by an odd run of '\'.
	end := -1
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++ // skip the escaped character
		case '"':
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 || end != len(rest)-1 {
		return "", "", false // unterminated, or text after the value
	}
	lit := `"` + rest[:end+1]
	if strings.ContainsFunc(lit, func(r rune) bool { return r < 0x20 }) {
		return "", "", false // raw control characters are not valid JSON
	}
	if err := json.Unmarshal([]byte(lit), &value); err != nil {
		return "", "", false
	}
	return attr, value, true
}

func FuzzFilterEq(f *testing.F) {
	for _, s := range []string{
		"", "00u1abcd", "jane.doe@example.com", `x" or userName eq "admin`, `\`, `\"`, `"`, `a\" and active eq true or id eq "`,
		"line\nbreak", "tab\tand\x00nul", "\u2028", "ünïcødé", `) or (id pr`, "a\x7fb", "\xff\xfe", strings.Repeat("x", 1025),
	} {
		f.Add("externalId", s)
	}
	f.Add("userName", "x")
	f.Add("urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds.value", "x")
	f.Add("bad attr", "x")
	f.Fuzz(func(t *testing.T, attr, value string) {
		filter, err := FilterEq(attr, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("FilterEq error %v is not ErrInvalidArgument", err)
			}
			if validAttrPath(attr) && utf8.ValidString(value) && len(value) <= 1024 {
				t.Fatalf("FilterEq(%q, %q) refused a valid input: %v", attr, value, err)
			}
			return
		}
		gotAttr, gotValue, ok := parseEqFilter(filter)
		if !ok || gotAttr != attr || gotValue != value {
			t.Fatalf("FilterEq(%q, %q) = %q; reads back as ok=%t attr=%q value=%q", attr, value, filter, ok, gotAttr, gotValue)
		}
	})
}

func FuzzCheckResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
		retry  string
	}{
		{404, platform404, ""}, {404, scim404, ""}, {400, scim400Vers, ""}, {409, scim409Vers, ""},
		{429, `{"status":429,"code":"too.many.requests.retry.after"}`, "7"},
		{429, ``, "Fri, 27 Nov 2026 10:00:12 GMT"}, {500, `<html>`, ""}, {503, `{"status":"503"}`, "-1"},
		{400, `{"status":{"nested":true},"code":42}`, ""}, {418, "\x00\xff", "99999999999999999999"},
		{200, `{}`, ""}, {409, `{"detail":"` + strings.Repeat("v", 600) + `"}`, ""},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body), s.retry)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, retry string) {
		if status < 100 || status > 999 {
			return
		}
		r := response(status, string(body), "Retry-After", retry, "Date", "Fri, 27 Nov 2026 10:00:00 GMT")
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		err := CheckResponse(r)
		success := status >= 200 && status <= 299 || status == 304
		if success != (err == nil) {
			t.Fatalf("status %d: err = %v", status, err)
		}
		if err == nil {
			return
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != status {
			t.Fatalf("status %d: err = %#v, want an *APIError with that status", status, err)
		}
		msg := err.Error()
		if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r\x00") || len(msg) > 2048 {
			t.Fatalf("Error() = %q: want one printable line of bounded length", msg)
		}
		var rl *RateLimitError
		if errors.As(err, &rl) != (status == 429) || (rl != nil && rl.RetryAfter < 0) {
			t.Fatalf("status %d: rate limit error %+v", status, rl)
		}
		if errors.Is(err, ErrVersionConflict) && errors.Is(err, ErrConflict) {
			t.Fatal("both a version conflict and another conflict")
		}
	})
}
