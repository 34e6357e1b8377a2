package genesys

import (
	"context"
	"net/http"
	"time"
)

// AuditsService reads Genesys's audit trail (/api/v2/audits).
type AuditsService service

// AuditLogMessage is one entry of Genesys's audit trail (the SDK's AuditLogMessage), as far as
// the drift watch reads it: who changed what, and when.
type AuditLogMessage struct {
	ID          string        `json:"id"`
	ServiceName string        `json:"serviceName"`
	EventDate   time.Time     `json:"eventDate"`
	Action      string        `json:"action"`
	EntityType  string        `json:"entityType"`
	Entity      *EntityRef    `json:"entity,omitempty"`
	User        *EntityRef    `json:"user,omitempty"`   // the person who acted, when a person did
	Client      *EntityRef    `json:"client,omitempty"` // the OAuth client that acted, when one did
	RemoteIP    []string      `json:"remoteIp,omitempty"`
	Changes     []AuditChange `json:"propertyChanges,omitempty"`
}

// EntityRef is a reference to a Genesys entity (DomainEntityRef, AddressableEntityRef).
type EntityRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// AuditChange is one property change of an audit message.
type AuditChange struct {
	Property  string   `json:"property"`
	OldValues []string `json:"oldValues,omitempty"`
	NewValues []string `json:"newValues,omitempty"`
}

// UserAudits returns the Directory audit messages about the user id between from and to, newest
// first, at most pageSize (1–500) of them, with POST /api/v2/audits/query/realtime
// (contact-center.md §3; the realtime query reaches 14 days back; permission
// audits:audit:view — without it the error is ErrForbidden).
func (s *AuditsService) UserAudits(ctx context.Context, id string, from, to time.Time, pageSize int) ([]AuditLogMessage, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	type filter struct {
		Property string `json:"property"`
		Value    string `json:"value"`
	}
	type sort struct {
		Name      string `json:"name"`
		SortOrder string `json:"sortOrder"`
	}
	body := struct {
		Interval    string   `json:"interval"`
		ServiceName string   `json:"serviceName"`
		Filters     []filter `json:"filters"`
		Sort        []sort   `json:"sort"`
		PageNumber  int      `json:"pageNumber"`
		PageSize    int      `json:"pageSize"`
	}{
		Interval:    from.UTC().Format(time.RFC3339Nano) + "/" + to.UTC().Format(time.RFC3339Nano),
		ServiceName: "Directory",
		Filters:     []filter{{"EntityId", id}, {"EntityType", "User"}},
		Sort:        []sort{{"Timestamp", "descending"}},
		PageNumber:  1, PageSize: min(max(pageSize, 1), 500),
	}
	req, err := s.client.newRequest(ctx, http.MethodPost, "api/v2/audits/query/realtime", body)
	if err != nil {
		return nil, nil, err
	}
	var out struct {
		Entities []AuditLogMessage `json:"entities"`
	}
	resp, err := s.client.do(req, &out)
	if err != nil {
		return nil, resp, err
	}
	return out.Entities, resp, nil
}
