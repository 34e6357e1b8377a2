package genesyssim

import (
	"net/http"
	"strconv"
	"strings"
)

const (
	schemaListResponse  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	externalIDAuthority = "x-pc:scimv2:v1"
	defaultListCount    = 25
	scimTimeFormat      = "2006-01-02T15:04:05.000Z"
)

// scimBase returns the absolute base of the SCIM tree the request came in on, for meta.location.
func scimBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	tree := "/api/v2/scim"
	if strings.Contains(r.Pattern, "/scim/v2/") {
		tree = "/api/v2/scim/v2"
	}
	return scheme + "://" + r.Host + tree
}

// scimUser renders u as a ScimV2User (fact sheet 3.4).
func scimUser(u *User, base string) map[string]any {
	roles := []map[string]string{}
	for _, name := range u.Roles() {
		roles = append(roles, map[string]string{"value": name})
	}
	res := map[string]any{
		"schemas":     []string{schemaUser, schemaEnterprise, schemaGenesys},
		"id":          u.ID,
		"active":      u.Active,
		"userName":    u.UserName,
		"displayName": u.DisplayName,
		"emails":      []map[string]any{{"value": u.UserName, "type": "work", "primary": true}},
		"roles":       roles,
		schemaEnterprise: map[string]any{"division": u.Division, "department": u.Department,
			"employeeNumber": u.EmployeeNumber},
		"meta": map[string]any{"resourceType": "User", "lastModified": u.LastModified.UTC().Format(scimTimeFormat),
			"location": base + "/users/" + u.ID, "version": strconv.Itoa(u.Version)},
	}
	if u.Title != "" {
		res["title"] = u.Title
	}
	if u.ExternalID != "" {
		res["externalId"] = u.ExternalID
		res[schemaGenesys] = map[string]any{"externalIds": []map[string]string{
			{"authority": externalIDAuthority, "value": u.ExternalID}}}
	}
	return res
}

// etag renders a version as the ETag header value.
func (s *Server) etag(version int) string {
	if s.cfg.WeakETag {
		return `W/"` + strconv.Itoa(version) + `"`
	}
	return `"` + strconv.Itoa(version) + `"`
}

// versionMatches reports whether an If-Match / If-None-Match header names version. It accepts
// a list, "*", quoted ("42"), weak (W/"42") and bare (42) forms.
func versionMatches(header string, version int) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" {
			return true
		}
		v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
		if n, err := strconv.Atoi(v); err == nil && n == version {
			return true
		}
	}
	return false
}

// handleGetUser is GET /scim/v2/users/{id}.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	var res map[string]any
	var version int
	u, ok := s.org.live(c.userID)
	ok = ok && (u.Active || !s.cfg.HideInactiveByID)
	if ok {
		res, version = scimUser(u, scimBase(r)), u.Version
	}
	s.mu.Unlock()
	if !ok {
		s.notFound(w, c, true)
		return
	}
	w.Header().Set("ETag", s.etag(version))
	if inm := r.Header.Get("If-None-Match"); inm != "" && versionMatches(inm, version) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	res, err := selectAttributes(res, r.URL.Query())
	if err != nil {
		writeSCIMError(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, contentSCIM, res)
}

// handleDeleteUser is DELETE /scim/v2/users/{id}: a soft delete (state "deleted"), which also
// drops the user's roles and tokens (a restored user comes back without roles).
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, true)
		return
	}
	if s.refuseVersion(w, r, c, u) {
		return
	}
	old := userState(u)
	s.softDelete(u)
	s.recordLocked(c.clientID, "", "", u, old)
	w.WriteHeader(s.cfg.ScimDeleteStatus)
}

// handleDeletePlatformUser is DELETE /api/v2/users/{id} (genesys-api.md, users API): the same
// soft delete as SCIM's, answered 200 with an empty body; it takes no version. An unknown or
// deleted user gets 404.
func (s *Server) handleDeletePlatformUser(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	old := userState(u)
	s.softDelete(u)
	s.recordLocked(c.clientID, "", "", u, old)
	w.WriteHeader(http.StatusOK)
}

// softDelete puts u in the state "deleted": hidden from SCIM reads and lists, and from the platform
// read unless it asks for ?state=deleted; its roles and tokens go with it.
func (s *Server) softDelete(u *User) {
	u.Deleted, u.Active, u.Grants, u.Tokens = true, false, nil, 0
	s.touch(u)
}

// refuseVersion answers a version conflict, from If-Match or the conflict fault, and says so.
func (s *Server) refuseVersion(w http.ResponseWriter, r *http.Request, c *call, u *User) bool {
	if im := r.Header.Get("If-Match"); im != "" && !versionMatches(im, u.Version) {
		s.versionConflict(w)
		return true
	}
	if s.faults.conflict() {
		c.fault = FaultConflict
		s.versionConflict(w)
		return true
	}
	return false
}

// touch records a change to u: a new version and modification time.
func (s *Server) touch(u *User) {
	u.Version++
	u.LastModified = s.cfg.Now()
}

// handleServiceProviderConfig is GET /scim/v2/serviceproviderconfig. The values are the
// simulator's own (the real ones are unconfirmed), except bulk, which cannot be supported.
func (s *Server) handleServiceProviderConfig(w http.ResponseWriter, r *http.Request, c *call) {
	writeJSON(w, http.StatusOK, contentSCIM, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://developer.genesys.cloud/",
		"patch":            map[string]bool{"supported": true},
		"filter":           map[string]any{"supported": true, "maxResults": defaultListCount},
		"etag":             map[string]bool{"supported": true},
		"sort":             map[string]bool{"supported": false},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"changePassword":   map[string]bool{"supported": false},
		"authenticationSchemes": []map[string]any{{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
			"description": "Client-credentials access token", "primary": true}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": scimBase(r) + "/serviceproviderconfig"},
	})
}
