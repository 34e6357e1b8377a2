package genesyssim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// parsePatchPath parses a PATCH path: an attribute ("active", "roles", a schema-qualified name)
// optionally followed by a value filter ("roles[value eq \"Agent\"]").
func parsePatchPath(path string) (attr string, sub filterNode, err error) {
	toks, err := tokenize(path)
	if err != nil {
		return "", nil, err
	}
	p := &filterParser{toks: toks}
	t := p.next()
	if t.kind != tokWord {
		return "", nil, filterErrorf("expected an attribute")
	}
	attr = canonicalAttr(t.text)
	if p.peek().kind == tokLBracket {
		n, err := p.valuePath(t)
		if err != nil {
			return "", nil, err
		}
		vp := n.(valuePathNode)
		attr, sub = vp.attr, vp.sub
	}
	if t := p.peek(); t.kind != tokEOF {
		return "", nil, filterErrorf("unexpected %q at %d", t.text, t.pos)
	}
	return attr, sub, nil
}

// applyPath applies one operation (op already lower-case) on one path.
func (s *Server) applyPath(u *User, op, path string, value json.RawMessage) error {
	attr, sub, err := parsePatchPath(path)
	if err != nil {
		return &patchError{"invalidPath", err.Error()}
	}
	if attr == "roles" {
		return s.patchRoles(u, op, sub, value)
	}
	if sub != nil {
		return &patchError{"invalidPath", "path " + quote(path) + " is not supported."}
	}
	var field *string
	switch attr {
	case "active":
		if op == "remove" {
			return &patchError{"mutability", "active cannot be removed."}
		}
		b, err := s.patchBool(value)
		u.Active = b
		return err
	case "displayname":
		field = &u.DisplayName
	case "title":
		field = &u.Title
	case "externalid":
		field = &u.ExternalID
	default:
		return &patchError{"invalidPath", "path " + quote(path) + " is not supported by the simulator."}
	}
	if op == "remove" {
		*field = ""
		return nil
	}
	if json.Unmarshal(value, field) != nil {
		return &patchError{"invalidValue", path + " must be a string."}
	}
	return nil
}

// patchBool decodes a boolean; lenient mode also takes "True"/"False" strings (Entra sends them).
func (s *Server) patchBool(raw json.RawMessage) (bool, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var str string
	if !s.cfg.StrictPatch && json.Unmarshal(raw, &str) == nil {
		switch strings.ToLower(str) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, &patchError{"invalidValue", "active must be a boolean."}
}

// patchRoles applies a roles operation. Roles are named by role name (roles[].value). An added
// role is granted in the Home division; a removed role is removed from every division.
func (s *Server) patchRoles(u *User, op string, sub filterNode, raw json.RawMessage) error {
	if sub != nil {
		if op != "remove" {
			return &patchError{"invalidPath", "a roles value filter is supported with remove only."}
		}
		u.Grants = slices.DeleteFunc(u.Grants, func(g Grant) bool {
			return sub.match(elementRecord{"value": g.RoleName})
		})
		return nil
	}
	if op == "remove" && (len(raw) == 0 || bytes.Equal(raw, []byte("null"))) {
		u.Grants = nil
		return nil
	}
	names, err := s.roleNames(raw)
	if err != nil {
		return err
	}
	switch op {
	case "remove":
		u.Grants = slices.DeleteFunc(u.Grants, func(g Grant) bool { return slices.Contains(names, g.RoleName) })
	case "replace":
		u.Grants = slices.DeleteFunc(u.Grants, func(g Grant) bool { return !slices.Contains(names, g.RoleName) })
		fallthrough
	default: // add
		held := u.Roles()
		for _, name := range names {
			if !slices.Contains(held, name) {
				s.org.grant(u, name, "Home")
			}
		}
	}
	return nil
}

// roleNames decodes [{"value":"Agent"}, ...] (or, leniently, one such object) and checks that
// every role exists in the org.
func (s *Server) roleNames(raw json.RawMessage) ([]string, error) {
	var items []struct{ Value string }
	if json.Unmarshal(raw, &items) != nil {
		var one struct{ Value string }
		if s.cfg.StrictPatch || json.Unmarshal(raw, &one) != nil {
			return nil, &patchError{"invalidValue", `roles must be an array of {"value": "<role name>"}.`}
		}
		items = append(items, one)
	}
	var names []string
	for _, it := range items {
		if _, ok := s.org.role(it.Value); !ok {
			return nil, &patchError{"invalidValue", "role " + quote(it.Value) + " does not exist."}
		}
		names = append(names, it.Value)
	}
	return names, nil
}
