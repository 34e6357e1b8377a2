package genesyssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// errorBody is the platform ErrorBody (fact sheet section 6).
type errorBody struct {
	Message           string            `json:"message"`
	Code              string            `json:"code"`
	Status            int               `json:"status"`
	MessageWithParams string            `json:"messageWithParams,omitempty"`
	MessageParams     map[string]string `json:"messageParams,omitempty"`
	ContextID         string            `json:"contextId"`
	Details           []any             `json:"details"`
	Errors            []any             `json:"errors"`
}

// scimError is the SCIM error body (fact sheet 3.7): status is a string.
type scimError struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

const (
	schemaError    = "urn:ietf:params:scim:api:messages:2.0:Error"
	contentJSON    = "application/json"
	contentSCIM    = "application/scim+json"
	msgNotFound    = "The requested resource was not found."
	msgVersionBad  = "Version does not match current version."
	msgRateLimited = "Rate limit exceeded the maximum. Retry the request in [%s] seconds"
)

// Platform error codes and messages (fact sheet section 6, GCX error.go).
var platformMessages = map[string]string{
	"authentication.required":  "No authentication bearer token specified in authorization header.",
	"bad.credentials":          "Invalid login credentials.",
	"credentials.expired":      "The supplied credentials are expired and cannot be used.",
	"not.found":                msgNotFound,
	"bad.request":              "The request could not be understood by the server due to malformed syntax.",
	"unsupported.media.type":   "Unsupported Media Type - Unsupported or incorrect media type, such as an incorrect Content-Type value in the header.",
	"request.entity.too.large": "The request is over the size limit.",
	"method.not.allowed":       "The requested method is not allowed for this resource.",
	"internal.server.error":    "The server encountered an unexpected condition which prevented it from fulfilling the request.",
	"bad.gateway":              "The server received an invalid response from an upstream server.",
	"service.unavailable":      "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
	"request.timeout":          "The request timed out.",
}

// serverErrorCodes maps injected 5xx statuses to platform codes.
var serverErrorCodes = map[int]string{500: "internal.server.error", 502: "bad.gateway",
	503: "service.unavailable", 504: "request.timeout"}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// platformError writes an ErrorBody whose contextId is the request's correlation id.
func (c *call) platformError(w http.ResponseWriter, status int, code, message string) {
	if message == "" {
		message = platformMessages[code]
	}
	writeJSON(w, status, contentJSON, errorBody{Message: message, Code: code, Status: status,
		ContextID: c.correlationID, Details: []any{}, Errors: []any{}})
}

// rateLimited writes the 429 ErrorBody and Retry-After for a wait of retryAfter whole seconds.
func (c *call) rateLimited(w http.ResponseWriter, retryAfter int64) {
	n := strconv.FormatInt(retryAfter, 10)
	w.Header().Set("Retry-After", n)
	writeJSON(w, http.StatusTooManyRequests, contentJSON, errorBody{
		Message:           fmt.Sprintf(msgRateLimited, n),
		Code:              "too.many.requests.retry.after",
		Status:            http.StatusTooManyRequests,
		MessageWithParams: fmt.Sprintf(msgRateLimited, "{0}"),
		MessageParams:     map[string]string{"0": n},
		ContextID:         c.correlationID,
		Details:           []any{},
		Errors:            []any{},
	})
}

func writeSCIMError(w http.ResponseWriter, status int, scimType, detail string) {
	writeJSON(w, status, contentSCIM, scimError{Schemas: []string{schemaError},
		Status: strconv.Itoa(status), ScimType: scimType, Detail: detail})
}

// notFound writes a 404 in the shape Config.NotFoundBody selects on SCIM paths, and an
// ErrorBody elsewhere.
func (s *Server) notFound(w http.ResponseWriter, c *call, scim bool) {
	if scim && s.cfg.NotFoundBody == ErrorShapeSCIM {
		writeSCIMError(w, http.StatusNotFound, "", msgNotFound)
		return
	}
	c.platformError(w, http.StatusNotFound, "not.found", "")
}

// versionConflict writes the version-mismatch answer Config.VersionConflict selects.
func (s *Server) versionConflict(w http.ResponseWriter) {
	switch s.cfg.VersionConflict {
	case VersionConflict409:
		writeSCIMError(w, http.StatusConflict, "", msgVersionBad)
	case VersionConflict412:
		writeSCIMError(w, http.StatusPreconditionFailed, "", msgVersionBad)
	default:
		writeSCIMError(w, http.StatusBadRequest, "invalidVers",
			"The version in the If-Match header does not match the current version of the resource.")
	}
}
