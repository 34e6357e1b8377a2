package genesyssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

const (
	schemaPatchOp  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	blockingDetail = "Unable to deactivate the user: the user has active assignments. " +
		"(Simulated HYPOTHETICAL fault; not confirmed as real Genesys Cloud behaviour.)"
)

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchError is a 400 ScimError with a scimType.
type patchError struct{ scimType, detail string }

func (e *patchError) Error() string { return e.detail }

// handlePatchUser is PATCH /scim/v2/users/{id}: 200 with the full updated resource and its ETag.
// The version moves only when something changed.
func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request, c *call) {
	ops, ok := s.readPatch(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, true)
		return
	}
	if s.faults.divisionForbidden(u.ID) {
		c.fault = FaultDivision
		c.platformError(w, http.StatusForbidden, "missing.division.permission",
			fmt.Sprintf("You are missing the following permission 'directory:user:edit' in the division '%s'", u.Division))
		return
	}
	if s.refuseVersion(w, r, c, u) {
		return
	}
	next := u.clone()
	if err := s.applyPatch(&next, ops); err != nil {
		var pe *patchError
		errors.As(err, &pe)
		writeSCIMError(w, http.StatusBadRequest, pe.scimType, pe.detail)
		return
	}
	if u.Active && !next.Active {
		if s.faults.blocking(u.ID, len(u.Grants)) {
			c.fault = FaultBlocking
			writeSCIMError(w, http.StatusConflict, "", blockingDetail)
			return
		}
		if s.faults.ignoreDeactivate(u.ID) {
			// 200 and a body that says active:false, with nothing stored (the version unchanged).
			c.fault = FaultIgnored
			s.writePatched(w, r, &next, u.Version)
			return
		}
		if s.cfg.RemoveRolesOnDeactivate {
			next.Grants = nil
		}
		if s.cfg.RevokeTokensOnDeactivate {
			next.Tokens = 0
		}
		s.deactivateAgent(u.ID)
	}
	if !sameUser(*u, next) {
		old := userState(u)
		*u = next
		s.touch(u)
		s.recordLocked(c.clientID, "", "", u, old)
	}
	s.writePatched(w, r, u, u.Version)
}

// writePatched answers a PATCH with u as the resource and the ETag of version.
func (s *Server) writePatched(w http.ResponseWriter, r *http.Request, u *User, version int) {
	res, err := selectAttributes(scimUser(u, scimBase(r)), r.URL.Query())
	if err != nil {
		writeSCIMError(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	w.Header().Set("ETag", s.etag(version))
	writeJSON(w, http.StatusOK, contentSCIM, res)
}

func sameUser(a, b User) bool {
	if !slices.Equal(a.Grants, b.Grants) {
		return false
	}
	a.Grants, b.Grants = nil, nil
	return reflect.DeepEqual(a, b)
}

// readBody reads a JSON request body: 415 for another content type, 413 over the size limit.
func readBody(w http.ResponseWriter, r *http.Request, c *call) ([]byte, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != contentJSON && mt != contentSCIM {
		c.platformError(w, http.StatusUnsupportedMediaType, "unsupported.media.type", "")
		return nil, false
	}
	body, err := io.ReadAll(r.Body)
	if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
		c.platformError(w, http.StatusRequestEntityTooLarge, "request.entity.too.large", "")
		return nil, false
	}
	if err != nil {
		c.platformError(w, http.StatusBadRequest, "bad.request", "unreadable body")
		return nil, false
	}
	return body, true
}

// readPatch decodes a PatchOp body. Key names are matched exactly ("Operations", capital O),
// unlike encoding/json's case-insensitive matching.
func (s *Server) readPatch(w http.ResponseWriter, r *http.Request, c *call) ([]patchOp, bool) {
	body, ok := readBody(w, r, c)
	if !ok {
		return nil, false
	}
	var msg map[string]json.RawMessage
	var schemas []string
	var ops []patchOp
	detail := ""
	switch {
	case json.Unmarshal(body, &msg) != nil:
		detail = "The body is not a JSON object."
	case json.Unmarshal(msg["schemas"], &schemas) != nil || !slices.Contains(schemas, schemaPatchOp):
		detail = `"schemas" must contain ` + schemaPatchOp + "."
	case msg["Operations"] == nil:
		detail = `"Operations" (capital O) is required.`
	case json.Unmarshal(msg["Operations"], &ops) != nil || len(ops) == 0:
		detail = `"Operations" must be a non-empty array of {op, path, value}.`
	default:
		return ops, true
	}
	writeSCIMError(w, http.StatusBadRequest, "invalidSyntax", detail)
	return nil, false
}

// applyPatch applies ops to u in order; u is a copy, committed only when all ops succeed.
func (s *Server) applyPatch(u *User, ops []patchOp) error {
	for _, op := range ops {
		name := op.Op
		if !s.cfg.StrictPatch {
			name = strings.ToLower(name)
		}
		if name != "add" && name != "replace" && name != "remove" {
			return &patchError{"invalidSyntax", "op " + quote(op.Op) + " is not add, replace or remove."}
		}
		if op.Path != "" {
			if err := s.applyPath(u, name, op.Path, op.Value); err != nil {
				return err
			}
			continue
		}
		if name == "remove" {
			return &patchError{"noTarget", "path is required for remove."}
		}
		if s.cfg.StrictPatch {
			return &patchError{"invalidPath", "path is required (path-less operations are refused: strict patch)."}
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(op.Value, &fields) != nil {
			return &patchError{"invalidValue", "a path-less operation needs an object value."}
		}
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if err := s.applyPath(u, name, k, fields[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
