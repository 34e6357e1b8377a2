package genesyssim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// handleListUsers is GET /scim/v2/users: startIndex (1-based), count (default 25; 0 returns only
// totalResults), filter, attributes and excludedAttributes. Without a filter only active users
// are listed; a filter that mentions "active" decides for itself; any other filter sees only
// active users unless Config.FilterIncludesInactive.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	start, err1 := intParam(q, "startIndex", 1)
	count, err2 := intParam(q, "count", defaultListCount)
	if err := errors.Join(err1, err2); err != nil {
		writeSCIMError(w, http.StatusBadRequest, "invalidValue", err.Error())
		return
	}
	start, count = max(start, 1), max(count, 0)
	var f filterNode
	if fs := q.Get("filter"); fs != "" {
		var err error
		if f, err = parseFilter(fs); err != nil {
			writeSCIMError(w, http.StatusBadRequest, "invalidFilter", err.Error())
			return
		}
	}
	showInactive := f != nil && (s.cfg.FilterIncludesInactive || f.mentions("active"))
	page := []map[string]any{}
	total := 0
	s.mu.Lock()
	for _, id := range s.org.order {
		u, ok := s.org.live(id)
		if !ok || !u.Active && !showInactive || f != nil && !f.match(userRecord{u}) {
			continue
		}
		total++
		if total >= start && len(page) < count {
			page = append(page, scimUser(u, scimBase(r)))
		}
	}
	s.mu.Unlock()
	for i := range page {
		var err error
		if page[i], err = selectAttributes(page[i], q); err != nil {
			writeSCIMError(w, http.StatusBadRequest, "invalidValue", err.Error())
			return
		}
	}
	body := map[string]any{"schemas": []string{schemaListResponse}, "totalResults": total,
		"startIndex": start, "itemsPerPage": len(page)}
	if count > 0 {
		body["Resources"] = page // capital R, as Genesys sends it
	}
	writeJSON(w, http.StatusOK, contentSCIM, body)
}

func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", name, v)
	}
	return n, nil
}

// userRecord evaluates filters against a user.
type userRecord struct{ u *User }

func (r userRecord) values(attr string) []string {
	u := r.u
	var v string
	switch attr {
	case "id":
		v = u.ID
	case "username", "email":
		v = u.UserName
	case "externalid":
		v = u.ExternalID
	case "active":
		v = strconv.FormatBool(u.Active)
	case "employeenumber":
		v = u.EmployeeNumber
	case "division":
		v = u.Division
	case "displayname":
		v = u.DisplayName
	case "title":
		v = u.Title
	case "department":
		v = u.Department
	case "roles":
		return u.Roles()
	}
	if v == "" {
		return nil
	}
	return []string{v}
}

func (r userRecord) elements(attr string) []map[string]string {
	switch attr {
	case "emails":
		return []map[string]string{{"value": r.u.UserName, "type": "work", "primary": "true"}}
	case "roles":
		var out []map[string]string
		for _, name := range r.u.Roles() {
			out = append(out, map[string]string{"value": name})
		}
		return out
	case "externalids":
		if r.u.ExternalID != "" {
			return []map[string]string{{"authority": externalIDAuthority, "value": r.u.ExternalID}}
		}
	}
	return nil
}

// alwaysReturned are the attributes attributes/excludedAttributes cannot drop (fact sheet 3.2).
var alwaysReturned = setOf("schemas", "id", "username", "active", "meta")

// selectAttributes applies the attributes or excludedAttributes query (comma-separated, possibly
// repeated) to a rendered resource. Names are case-insensitive and may be schema-qualified;
// "emails.value" selects emails; "urn:...:enterprise:2.0:User:division" selects one extension field.
func selectAttributes(res map[string]any, q url.Values) (map[string]any, error) {
	include, exclude := splitList(q["attributes"]), splitList(q["excludedAttributes"])
	if len(include) == 0 && len(exclude) == 0 {
		return res, nil
	}
	if len(include) > 0 && len(exclude) > 0 {
		return nil, errors.New("attributes and excludedAttributes are mutually exclusive")
	}
	out := map[string]any{}
	if len(exclude) > 0 {
		out = maps.Clone(res)
	}
	for k, v := range res {
		if alwaysReturned[strings.ToLower(k)] {
			out[k] = v
		}
	}
	for _, name := range append(include, exclude...) {
		top, sub := resolveAttr(res, name)
		switch {
		case top == "" || alwaysReturned[strings.ToLower(top)]:
		case len(exclude) > 0 && sub == "":
			delete(out, top)
		case len(exclude) > 0:
			if ext, ok := out[top].(map[string]any); ok {
				ext = maps.Clone(ext)
				delete(ext, sub)
				out[top] = ext
			}
		case sub == "":
			out[top] = res[top]
		default:
			ext, _ := out[top].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
			}
			ext[sub] = res[top].(map[string]any)[sub]
			out[top] = ext
		}
	}
	return out, nil
}

// resolveAttr finds the top-level key of res that name selects and, for an extension field,
// the field's key. It returns "" when res has no such attribute (unknown names are ignored).
func resolveAttr(res map[string]any, name string) (top, sub string) {
	l := strings.ToLower(strings.TrimPrefix(strings.ToLower(name), strings.ToLower(schemaUser)+":"))
	for k, v := range res {
		kl := strings.ToLower(k)
		if l == kl {
			return k, ""
		}
		ext, isExt := v.(map[string]any)
		if !isExt || !strings.HasPrefix(l, kl+":") {
			continue
		}
		for field := range ext {
			if strings.EqualFold(field, l[len(kl)+1:]) {
				return k, field
			}
		}
		return "", ""
	}
	if head, _, ok := strings.Cut(l, "."); ok {
		return resolveAttr(res, head)
	}
	return "", ""
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
