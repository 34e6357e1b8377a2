package genesys

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func response(status int, body string, hdr ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	u, _ := url.Parse("https://api.mypurecloud.com/api/v2/scim/v2/users/" + testUserID + "?attributes=id")
	return &http.Response{
		StatusCode: status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    &http.Request{Method: http.MethodPatch, URL: u},
	}
}

const (
	scim400Vers   = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidVers","detail":"Version does not match current version."}`
	scim409Vers   = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","detail":"Version does not match current version."}`
	scim404       = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"User not found"}`
	platform404   = `{"message":"The requested resource was not found.","code":"not.found","status":404,"contextId":"ctx-1","details":[],"errors":[]}`
	platform409   = `{"message":"Resource conflict - Unexpected version was provided","code":"conflict","status":409}`
	blocking409   = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","detail":"User has active assignments"}`
	platform400   = `{"message":"does not match the current version","code":"bad.request","status":400}`
	badRequest400 = `{"message":"Invalid filter","code":"bad.request","status":400}`
	forbidden403  = `{"message":"You must have at least one of the following permissions assigned: directory:user:edit","code":"missing.any.permissions","status":403}`
)

func TestCheckResponseKinds(t *testing.T) {
	t.Parallel()
	kinds := []error{ErrNotFound, ErrVersionConflict, ErrConflict, ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrRateLimited, ErrTransient}
	tests := []struct {
		name   string
		status int
		body   string
		want   error // the one kind that must match; nil for success
		code   string
	}{
		{"200", 200, `{}`, nil, ""},
		{"204", 204, ``, nil, ""},
		{"304", 304, ``, nil, ""},
		{"404 platform body", 404, platform404, ErrNotFound, "not.found"},
		{"404 SCIM body, string status", 404, scim404, ErrNotFound, ""},
		{"400 invalidVers", 400, scim400Vers, ErrVersionConflict, "invalidVers"},
		{"400 version message (Terraform provider)", 400, platform400, ErrVersionConflict, "bad.request"},
		{"412", 412, ``, ErrVersionConflict, ""},
		{"409 SCIM version", 409, scim409Vers, ErrVersionConflict, ""},
		{"409 platform version", 409, platform409, ErrVersionConflict, "conflict"},
		{"409 blocking", 409, blocking409, ErrConflict, ""},
		{"400 other", 400, badRequest400, ErrBadRequest, "bad.request"},
		{"401", 401, `{"status":401,"code":"authentication.required"}`, ErrUnauthorized, "authentication.required"},
		{"403", 403, forbidden403, ErrForbidden, "missing.any.permissions"},
		{"429", 429, `{"status":429,"code":"too.many.requests.retry.after"}`, ErrRateLimited, "too.many.requests.retry.after"},
		{"408", 408, ``, ErrTransient, ""},
		{"500", 500, `{"status":500,"code":"internal.server.error"}`, ErrTransient, "internal.server.error"},
		{"502 HTML body", 502, `<html>Bad Gateway</html>`, ErrTransient, ""},
		{"503", 503, `{"status":503,"code":"service.unavailable"}`, ErrTransient, "service.unavailable"},
		{"504", 504, `{"status":504,"code":"request.timeout"}`, ErrTransient, "request.timeout"},
		{"501 not retried", 501, ``, nil, ""},
		{"418 unknown", 418, `garbage`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckResponse(response(tt.status, tt.body, "Inin-Correlation-Id", "corr-1"))
			if tt.status < 300 || tt.status == 304 {
				if err != nil {
					t.Fatalf("CheckResponse = %v, want nil", err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("CheckResponse = %T %v, want *APIError", err, err)
			}
			if ae.StatusCode != tt.status || ae.CorrelationID != "corr-1" || ae.Method != "PATCH" ||
				ae.Path != "/api/v2/scim/v2/users/"+testUserID || cmpOr(ae.Code, ae.ScimType) != tt.code {
				t.Errorf("APIError = %+v", ae)
			}
			for _, k := range kinds {
				if got := errors.Is(err, k); got != (k == tt.want) {
					t.Errorf("errors.Is(%v) = %t, want %t", k, got, k == tt.want)
				}
			}
			msg := err.Error()
			for _, part := range []string{"PATCH", ae.Path, "corr-1"} {
				if !strings.Contains(msg, part) {
					t.Errorf("Error() = %q, missing %q", msg, part)
				}
			}
			if strings.Contains(msg, "attributes=") {
				t.Errorf("Error() = %q includes the query", msg)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestCheckResponseRetryAfter(t *testing.T) {
	t.Parallel()
	date := "Fri, 27 Nov 2026 10:00:00 GMT"
	tests := []struct {
		name string
		hdr  []string
		want time.Duration
	}{
		{"seconds", []string{"Retry-After", "7"}, 7 * time.Second},
		{"HTTP date against Date header", []string{"Retry-After", "Fri, 27 Nov 2026 10:00:12 GMT", "Date", date}, 12 * time.Second},
		{"HTTP date in the past", []string{"Retry-After", "Fri, 27 Nov 2026 09:59:00 GMT", "Date", date}, 0},
		{"missing: falls back to inin-ratelimit-reset", []string{"Inin-Ratelimit-Reset", "12"}, 12 * time.Second},
		{"garbage: falls back to reset", []string{"Retry-After", "soon", "Inin-Ratelimit-Reset", "3"}, 3 * time.Second},
		{"negative", []string{"Retry-After", "-5"}, 0},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckResponse(response(429, `{"status":429,"code":"too.many.requests.retry.after"}`, tt.hdr...))
			var rl *RateLimitError
			if !errors.As(err, &rl) {
				t.Fatalf("err = %T, want *RateLimitError", err)
			}
			if rl.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %s, want %s", rl.RetryAfter, tt.want)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != 429 {
				t.Errorf("errors.As(*APIError) = %v", ae)
			}
		})
	}
}

func TestCheckResponseHTTPDateWithoutDateHeaderUsesNow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r := response(429, ``, "Retry-After", now.Add(30*time.Second).Format(http.TimeFormat))
	var rl *RateLimitError
	if !errors.As(checkResponse(r, now), &rl) || rl.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v, want 30s", rl)
	}
}

func TestCheckResponseBodyIsBounded(t *testing.T) {
	t.Parallel()
	huge := `{"message":"` + strings.Repeat("x", 10<<20) + `"}`
	r := response(500, huge)
	err := CheckResponse(r)
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	rest, _ := io.ReadAll(r.Body)
	if read := len(huge) - len(rest); read > maxErrorBody {
		t.Errorf("read %d bytes of the body, want at most %d", read, maxErrorBody)
	}
	if len(err.Error()) > 1024 {
		t.Errorf("error string is %d bytes long", len(err.Error()))
	}
}

func TestCheckResponseSanitizesMessage(t *testing.T) {
	t.Parallel()
	err := CheckResponse(response(400, "{\"message\":\"line1\\nline2\\u0000\",\"code\":\"bad.request\"}"))
	if strings.ContainsAny(err.Error(), "\n\x00") {
		t.Errorf("Error() = %q has control characters", err.Error())
	}
}
