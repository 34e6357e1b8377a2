package genesyssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The simulator's audit trail: every change of a user's state it makes (a SCIM PATCH that moves
// active, either DELETE, an admin activation) is recorded as Genesys records it for its audit
// query (contact-center.md §3): who (the OAuth client of an API call; an admin user for an admin
// path), the action, the entity and its property changes, and when. POST
// /api/v2/audits/query/realtime (permission audits:audit:view) serves it with the request and
// response shapes of the SDK's AuditRealtimeQueryRequest and AuditRealtimeQueryResultsResponse
// (AuditLogMessage entities). The asynchronous POST /api/v2/audits/query is not simulated.

// AuditServiceDirectory is the serviceName under which Genesys audits user changes.
const AuditServiceDirectory = "Directory"

// AdminUserID names the admin user that the admin paths act as in the audit trail (a person in
// the admin UI); its name is AdminUserName unless the admin path names one.
const (
	AdminUserID   = "a0000000-0000-4000-8000-00000000ad01"
	AdminUserName = "admin"
)

// realtimeAuditDays is how far back the realtime audit query reaches (contact-center.md §3).
const realtimeAuditDays = 14

// AuditRecord is one entry of the simulator's audit trail.
type AuditRecord struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	ClientID   string    `json:"clientId,omitempty"` // the OAuth client of an API call
	UserID     string    `json:"userId,omitempty"`   // the admin user of an admin path
	UserName   string    `json:"userName,omitempty"`
	Action     string    `json:"action"` // "Update" or "Delete"
	EntityType string    `json:"entityType"`
	EntityID   string    `json:"entityId"`
	EntityName string    `json:"entityName,omitempty"`
	Property   string    `json:"property,omitempty"` // the changed property ("state"); empty for a delete
	OldValue   string    `json:"oldValue,omitempty"`
	NewValue   string    `json:"newValue,omitempty"`
}

// AuditTrail returns the audit trail, oldest first.
func (s *Server) AuditTrail() []AuditRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.org.audits)
}

func userState(u *User) string {
	switch {
	case u.Deleted:
		return "deleted"
	case u.Active:
		return "active"
	}
	return "inactive"
}

// recordLocked appends an audit record of a change of u's state from old; s.mu is held. An
// unchanged state records nothing.
func (s *Server) recordLocked(clientID, userID, userName string, u *User, old string) {
	now := userState(u)
	if now == old {
		return
	}
	action := "Update"
	if u.Deleted {
		action = "Delete"
	}
	s.org.audits = append(s.org.audits, AuditRecord{ID: newCorrelationID(), Time: s.cfg.Now().UTC(), ClientID: clientID,
		UserID: userID, UserName: userName, Action: action, EntityType: "User", EntityID: u.ID, EntityName: u.DisplayName,
		Property: "state", OldValue: old, NewValue: now})
}

// ActivateAsAdmin re-activates a user as a person in the admin UI would: active again, recorded
// in the audit trail as done by the admin user who (AdminUserName when empty). An unknown or
// deleted user is ErrUnknownUser; an active one is left as it is (nothing recorded).
func (s *Server) ActivateAsAdmin(id, who string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(id)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownUser, id)
	}
	if u.Active {
		return nil
	}
	old := userState(u)
	u.Active = true
	s.touch(u)
	if who == "" {
		who = AdminUserName
	}
	s.recordLocked("", AdminUserID, who, u, old)
	return nil
}

// auditQuery is the body of POST /api/v2/audits/query/realtime (AuditRealtimeQueryRequest).
type auditQuery struct {
	Interval    string `json:"interval"`
	ServiceName string `json:"serviceName"`
	Filters     []struct {
		Property string `json:"property"`
		Value    string `json:"value"`
	} `json:"filters"`
	Sort []struct {
		Name      string `json:"name"`
		SortOrder string `json:"sortOrder"`
	} `json:"sort"`
	PageNumber int `json:"pageNumber"`
	PageSize   int `json:"pageSize"`
}

// auditFilterProps are the filter properties the simulator knows, by the record field they match.
var auditFilterProps = map[string]func(AuditRecord) string{
	"EntityId":   func(a AuditRecord) string { return a.EntityID },
	"EntityType": func(a AuditRecord) string { return a.EntityType },
	"Action":     func(a AuditRecord) string { return a.Action },
	"UserId":     func(a AuditRecord) string { return a.UserID },
	"ClientId":   func(a AuditRecord) string { return a.ClientID },
}

func parseInterval(s string) (time.Time, time.Time, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("interval %q: want start/end in ISO-8601", s)
	}
	from, err1 := time.Parse(time.RFC3339Nano, a)
	to, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil || !from.Before(to) {
		return time.Time{}, time.Time{}, fmt.Errorf("interval %q: want start/end in ISO-8601, start before end", s)
	}
	return from, to, nil
}

// handleAuditRealtime is POST /api/v2/audits/query/realtime: the audit records of the last 14
// days that match the interval, the service and every filter, newest first unless sorted
// ascending by Timestamp, one page of pageSize (default 25, at most 500).
func (s *Server) handleAuditRealtime(w http.ResponseWriter, r *http.Request, c *call) {
	q, from, to, ok := readAuditQuery(w, r, c)
	if !ok {
		return
	}
	q.PageNumber = max(q.PageNumber, 1)
	if q.PageSize == 0 {
		q.PageSize = 25
	}
	if q.PageSize < 1 || q.PageSize > 500 {
		c.platformError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("pageSize %d not in 1–500", q.PageSize))
		return
	}
	match := s.matchAudits(q, from, to, true)
	total := len(match)
	start := min((q.PageNumber-1)*q.PageSize, total)
	page := match[start:min(start+q.PageSize, total)]
	entities := make([]map[string]any, 0, len(page))
	for _, a := range page {
		entities = append(entities, auditLogMessage(a))
	}
	writeJSON(w, http.StatusOK, contentJSON, map[string]any{"entities": entities, "pageSize": q.PageSize,
		"pageNumber": q.PageNumber, "total": total, "pageCount": (total + q.PageSize - 1) / q.PageSize})
}

// matchAudits returns the records of the Directory service in [from, to) that match every filter,
// newest first unless q sorts ascending; realtime bounds them to the last 14 days.
func (s *Server) matchAudits(q auditQuery, from, to time.Time, realtime bool) []AuditRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldest := s.cfg.Now().Add(-realtimeAuditDays * 24 * time.Hour)
	var match []AuditRecord
	for _, a := range s.org.audits {
		if q.ServiceName != AuditServiceDirectory || a.Time.Before(from) || !a.Time.Before(to) || realtime && a.Time.Before(oldest) {
			continue
		}
		keep := true
		for _, f := range q.Filters {
			keep = keep && auditFilterProps[f.Property](a) == f.Value
		}
		if keep {
			match = append(match, a)
		}
	}
	if len(q.Sort) == 0 || !strings.EqualFold(q.Sort[0].SortOrder, "ascending") {
		slices.Reverse(match)
	}
	return match
}

// readAuditQuery decodes and checks an audit query body, answering 400 itself.
func readAuditQuery(w http.ResponseWriter, r *http.Request, c *call) (auditQuery, time.Time, time.Time, bool) {
	var q auditQuery
	body, ok := readBody(w, r, c)
	if !ok {
		return q, time.Time{}, time.Time{}, false
	}
	if err := json.Unmarshal(body, &q); err != nil {
		c.platformError(w, http.StatusBadRequest, "bad.request", "The request body could not be parsed.")
		return q, time.Time{}, time.Time{}, false
	}
	from, to, err := parseInterval(q.Interval)
	if err == nil && q.ServiceName == "" {
		err = fmt.Errorf("serviceName is required")
	}
	for _, f := range q.Filters {
		if _, known := auditFilterProps[f.Property]; err == nil && !known {
			err = fmt.Errorf("unknown filter property %q", f.Property)
		}
	}
	if err != nil {
		c.platformError(w, http.StatusBadRequest, "bad.request", err.Error())
		return q, time.Time{}, time.Time{}, false
	}
	return q, from, to, true
}

// auditTransaction is one asynchronous audit query: its request and what it found.
type auditTransaction struct {
	q       auditQuery
	started time.Time
	results []AuditRecord
}

func (t *auditTransaction) status(id string) map[string]any {
	return map[string]any{"id": id, "state": "Succeeded", "startDate": t.started.Format("2006-01-02T15:04:05.000Z"),
		"interval": t.q.Interval, "serviceName": t.q.ServiceName, "filters": t.q.Filters}
}

// handleAuditQuery is POST /api/v2/audits/query: the query runs at once (state Succeeded).
func (s *Server) handleAuditQuery(w http.ResponseWriter, r *http.Request, c *call) {
	q, from, to, ok := readAuditQuery(w, r, c)
	if !ok {
		return
	}
	t := &auditTransaction{q: q, started: s.cfg.Now().UTC(), results: s.matchAudits(q, from, to, false)}
	id := newCorrelationID()
	s.mu.Lock()
	if s.org.auditQueries == nil {
		s.org.auditQueries = map[string]*auditTransaction{}
	}
	s.org.auditQueries[id] = t
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, contentJSON, t.status(id))
}

func (s *Server) auditTransaction(w http.ResponseWriter, r *http.Request, c *call) (string, *auditTransaction, bool) {
	id := r.PathValue("transactionId")
	s.mu.Lock()
	t, ok := s.org.auditQueries[id]
	s.mu.Unlock()
	if !ok {
		c.platformError(w, http.StatusNotFound, "not.found", "")
	}
	return id, t, ok
}

// handleAuditQueryStatus is GET /api/v2/audits/query/{transactionId}.
func (s *Server) handleAuditQueryStatus(w http.ResponseWriter, r *http.Request, c *call) {
	if id, t, ok := s.auditTransaction(w, r, c); ok {
		writeJSON(w, http.StatusOK, contentJSON, t.status(id))
	}
}

// handleAuditQueryResults is GET /api/v2/audits/query/{transactionId}/results?cursor=&pageSize=
// (default 25, at most 500): one page and the cursor of the next, absent on the last.
func (s *Server) handleAuditQueryResults(w http.ResponseWriter, r *http.Request, c *call) {
	id, t, ok := s.auditTransaction(w, r, c)
	if !ok {
		return
	}
	size, start := 25, 0
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			c.platformError(w, http.StatusBadRequest, "bad.request", "pageSize must be 1–500")
			return
		}
		size = n
	}
	if v := r.URL.Query().Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(t.results) {
			c.platformError(w, http.StatusBadRequest, "bad.request", "invalid cursor")
			return
		}
		start = n
	}
	end := min(start+size, len(t.results))
	entities := make([]map[string]any, 0, end-start)
	for _, a := range t.results[start:end] {
		entities = append(entities, auditLogMessage(a))
	}
	out := map[string]any{"id": id, "pageSize": size, "entities": entities}
	if end < len(t.results) {
		out["cursor"] = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, contentJSON, out)
}

// auditLogMessage renders a record as an AuditLogMessage.
func auditLogMessage(a AuditRecord) map[string]any {
	m := map[string]any{
		"id": a.ID, "serviceName": AuditServiceDirectory, "eventDate": a.Time.Format("2006-01-02T15:04:05.000Z"),
		"action": a.Action, "entityType": a.EntityType, "remoteIp": []string{"127.0.0.1"},
		"entity": map[string]any{"id": a.EntityID, "name": a.EntityName, "selfUri": "/api/v2/users/" + a.EntityID},
	}
	if a.UserID != "" {
		m["user"] = map[string]any{"id": a.UserID, "name": a.UserName, "selfUri": "/api/v2/users/" + a.UserID}
	}
	if a.ClientID != "" {
		m["client"] = map[string]any{"id": a.ClientID, "selfUri": "/api/v2/oauth/clients/" + a.ClientID}
	}
	if a.Property != "" {
		m["propertyChanges"] = []map[string]any{{"property": a.Property, "entity": a.EntityType,
			"oldValues": []string{a.OldValue}, "newValues": []string{a.NewValue}}}
	}
	return m
}
