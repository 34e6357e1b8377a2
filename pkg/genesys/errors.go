package genesys

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Match them with errors.Is; they are never returned bare
// but always inside an *APIError, *RateLimitError, *TokenError or a wrapped
// error that names the call.
var (
	// ErrNotFound: 404, or a SCIM search that matched nobody.
	ErrNotFound = errors.New("genesys: not found")
	// ErrVersionConflict: the If-Match version is stale. Genesys documents it
	// three ways: 400 with scimType invalidVers, 412, and a 409 saying so.
	// Re-read the resource and retry.
	ErrVersionConflict = errors.New("genesys: version conflict")
	// ErrConflict: any other 409; something blocks the change. Not retryable.
	ErrConflict = errors.New("genesys: conflict")
	// ErrBadRequest: a 400 that is not a version conflict.
	ErrBadRequest = errors.New("genesys: bad request")
	// ErrUnauthorized: a 401 that survived one fresh token grant.
	ErrUnauthorized = errors.New("genesys: unauthorized")
	// ErrForbidden: 403, usually a permission missing from the OAuth client's role.
	ErrForbidden = errors.New("genesys: forbidden")
	// ErrDivisionForbidden: a 403 that names a division (code
	// "missing.division.permission"): the OAuth client lacks the permission in
	// the division of this one resource, and has it elsewhere. It also
	// matches ErrForbidden.
	ErrDivisionForbidden = errors.New("genesys: forbidden in this resource's division")
	// ErrRateLimited: 429. The error is a *RateLimitError carrying RetryAfter.
	ErrRateLimited = errors.New("genesys: rate limited")
	// ErrTransient: a failure worth retrying later: 408, 5xx other than 501,
	// network errors and timeouts. The client has already retried it until its
	// maximum elapsed time or the caller's context ran out.
	ErrTransient = errors.New("genesys: transient failure")
	// ErrCredentials: the token grant was refused (unknown client, wrong
	// secret). Not the fault of any one request: fix the configuration.
	ErrCredentials = errors.New("genesys: credentials refused")
	// ErrInvalidArgument: the caller passed a value the client refuses to send
	// (an id that is not a Genesys id, a filter value that is not UTF-8).
	ErrInvalidArgument = errors.New("genesys: invalid argument")
	// ErrUnexpectedResponse: a 2xx whose body does not say what the call
	// promised (for example a deactivation answered with active:true).
	ErrUnexpectedResponse = errors.New("genesys: unexpected response")
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// APIError is a non-2xx answer from Genesys Cloud. It carries what the
// response said and which call it answered, never a token or secret.
type APIError struct {
	StatusCode    int    // HTTP status
	Code          string // platform ErrorBody code, e.g. "not.found"; empty for SCIM bodies
	ScimType      string // SCIM error scimType, e.g. "invalidVers"; empty for platform bodies
	Message       string // platform message or SCIM detail
	ContextID     string // platform contextId
	CorrelationID string // ININ-Correlation-Id response header
	Method        string // request method
	Path          string // request path, without query
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genesys: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if c := cmp.Or(e.Code, e.ScimType); c != "" {
		fmt.Fprintf(&b, " %s", c)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation id %s)", e.CorrelationID)
	}
	return b.String()
}

// Is matches the sentinel errors by what the API said, as jetstream's
// APIError does, not by identity.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrVersionConflict:
		return e.isVersionConflict()
	case ErrConflict:
		return e.StatusCode == http.StatusConflict && !e.isVersionConflict()
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest && !e.isVersionConflict()
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrDivisionForbidden:
		return e.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(e.Code), "division")
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrTransient:
		return isTransientStatus(e.StatusCode)
	}
	return false
}

func (e *APIError) isVersionConflict() bool {
	switch e.StatusCode {
	case http.StatusPreconditionFailed:
		return true
	case http.StatusBadRequest:
		// PySDK: 400 with scimType invalidVers. Terraform provider: 400 whose
		// message contains "does not match the current version".
		return strings.EqualFold(e.ScimType, "invalidVers") || mentionsVersion(e.Message)
	case http.StatusConflict:
		// Swagger: 409 ScimError "Version does not match current version.";
		// platform API: 409 "Unexpected version was provided".
		return strings.EqualFold(e.ScimType, "invalidVers") || mentionsVersion(e.Message)
	}
	return false
}

func mentionsVersion(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "version")
}

// isTransientStatus reports the statuses worth retrying: 408 and 5xx except
// 501 Not Implemented, which no retry will change.
func isTransientStatus(code int) bool {
	return code == http.StatusRequestTimeout ||
		(code >= 500 && code <= 599 && code != http.StatusNotImplemented)
}

// RateLimitError is a 429. RetryAfter is what Genesys asked for: the
// Retry-After header in seconds or as an HTTP date, else the
// inin-ratelimit-reset header, else zero. Callers clamp it to their policy.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s (retry after %s)", e.APIError.Error(), e.RetryAfter)
}

// Unwrap lets errors.As find the embedded *APIError.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// TokenError is a failed OAuth client-credentials grant.
type TokenError struct {
	StatusCode  int    // HTTP status from the login host; 0 for a network error
	Code        string // OAuth error, e.g. "invalid_client"
	Description string // OAuth error_description
	Err         error  // the network error, when there was no response
}

func (e *TokenError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("genesys: token grant: %v", e.Err)
	}
	s := fmt.Sprintf("genesys: token grant: %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

func (e *TokenError) Unwrap() error { return e.Err }

// Is: a grant refused with 400 or 401 means the credentials are wrong
// (ErrCredentials); 408, 5xx and network errors are transient.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrCredentials:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnauthorized
	case ErrTransient:
		return e.StatusCode == 0 || isTransientStatus(e.StatusCode)
	}
	return false
}

// TransportError is a request that got no response: connection refused,
// reset, TLS failure, or an attempt that timed out. It is transient.
type TransportError struct {
	Method, Path string
	Err          error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("genesys: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Is makes every transport error transient.
func (e *TransportError) Is(target error) bool { return target == ErrTransient }

// errorBody holds both error shapes Genesys sends: the platform ErrorBody
// (numeric status, code, message, contextId) and the SCIM Error (string
// status, scimType, detail).
type errorBody struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	ContextID string `json:"contextId"`
	ScimType  string `json:"scimType"`
	Detail    string `json:"detail"`
}

// CheckResponse returns nil for a 2xx or 304 response and a typed error for
// anything else: *RateLimitError for 429, *APIError otherwise. It reads at
// most 64 KiB of the body and never fails on a body it cannot decode: the
// status alone still decides the error's kind. It does not close the body.
func CheckResponse(r *http.Response) error {
	return checkResponse(r, time.Now())
}

func checkResponse(r *http.Response, now time.Time) error {
	if c := r.StatusCode; (c >= 200 && c <= 299) || c == http.StatusNotModified {
		return nil
	}
	e := APIError{StatusCode: r.StatusCode, CorrelationID: r.Header.Get("Inin-Correlation-Id")}
	if r.Request != nil {
		e.Method = r.Request.Method
		if r.Request.URL != nil {
			e.Path = r.Request.URL.Path
		}
	}
	if r.Body != nil {
		data, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
		var body errorBody
		if json.Unmarshal(bytes.TrimSpace(data), &body) == nil {
			e.Code, e.ScimType, e.ContextID = body.Code, body.ScimType, body.ContextID
			e.Message = cmp.Or(body.Message, body.Detail)
		}
	}
	e.Message = sanitizeText(e.Message)
	if r.StatusCode == http.StatusTooManyRequests {
		return &RateLimitError{APIError: e, RetryAfter: retryAfter(r.Header, now)}
	}
	return &e
}

// retryAfter reads Retry-After as whole seconds or an HTTP date, measured
// from the response's Date header when present (so a skewed local clock does
// not distort it), else falls back to inin-ratelimit-reset.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if d, ok := parseRetryAfter(h.Get("Retry-After"), h.Get("Date"), now); ok {
		return d
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Inin-Ratelimit-Reset"))); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

func parseRetryAfter(v, date string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if ref, err := http.ParseTime(date); err == nil {
		now = ref
	}
	return max(at.Sub(now), 0), true
}

// sanitizeText keeps an error message printable and short: a body can carry
// anything, and error strings end up in logs.
func sanitizeText(s string) string {
	const maxLen = 512
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxLen {
		s = s[:maxLen] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
