package genesyssim

import (
	"slices"
	"strings"
)

const maxFilterDepth = 32

// Schema URNs; an attribute may be qualified with them ("urn:...:enterprise:2.0:User:division").
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaGenesys    = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"
)

var (
	// filterAttrs are the attributes a comparison may name, in canonical (lower-case) form.
	filterAttrs = setOf("id", "username", "externalid", "email", "active", "employeenumber", "division",
		"manager", "displayname", "title", "department", "roles")
	// valuePathAttrs are the multi-valued attributes a value path may name, with their sub-attributes.
	valuePathAttrs = map[string]map[string]bool{
		"emails":      setOf("value", "type", "primary"),
		"roles":       setOf("value"),
		"externalids": setOf("authority", "value"),
	}
	attrAliases     = map[string]string{"emails.value": "email", "roles.value": "roles", "manager.value": "manager"}
	caseInsensitive = setOf("username", "email", "active")
	otherOperators  = setOf("ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr")
)

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// canonicalAttr lower-cases name, drops a schema URN prefix and resolves aliases.
func canonicalAttr(name string) string {
	l := strings.ToLower(name)
	for _, urn := range []string{schemaUser, schemaEnterprise, schemaGenesys} {
		if p := strings.ToLower(urn) + ":"; strings.HasPrefix(l, p) {
			l = l[len(p):]
			break
		}
	}
	if a, ok := attrAliases[l]; ok {
		return a
	}
	return l
}

type filterParser struct {
	toks  []token
	i     int
	depth int
	// sub is the sub-attributes of the value path being parsed; nil at the top level.
	sub map[string]bool
}

// parseFilter parses a SCIM filter. Errors are *filterError.
func parseFilter(s string) (filterNode, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, filterErrorf("unexpected %q at %d", t.text, t.pos)
	}
	return n, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }

func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *filterParser) and() (filterNode, error) {
	var nodes andNode
	for {
		n, err := p.atom()
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		t := p.peek()
		if t.kind != tokWord {
			break
		}
		switch kw := strings.ToLower(t.text); kw {
		case "and":
			p.i++
			continue
		case "or", "not":
			return nil, filterErrorf("%q is not supported", t.text)
		default:
			return nil, filterErrorf("unexpected %q at %d", t.text, t.pos)
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return nodes, nil
}

func (p *filterParser) atom() (filterNode, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		if p.depth++; p.depth > maxFilterDepth {
			return nil, filterErrorf("nested too deeply")
		}
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		p.depth--
		return n, p.expect(tokRParen)
	case tokWord:
		if strings.EqualFold(t.text, "not") {
			return nil, filterErrorf("%q is not supported", t.text)
		}
		if p.peek().kind == tokLBracket {
			return p.valuePath(t)
		}
		return p.comparison(t)
	default:
		return nil, filterErrorf("expected an attribute at %d", t.pos)
	}
}

// valuePath parses attr[subfilter]; value paths do not nest.
func (p *filterParser) valuePath(attrTok token) (filterNode, error) {
	attr := canonicalAttr(attrTok.text)
	subs, ok := valuePathAttrs[attr]
	if !ok || p.sub != nil {
		return nil, filterErrorf("attribute %q has no value path", attrTok.text)
	}
	p.i++ // '['
	p.sub = subs
	sub, err := p.and()
	p.sub = nil
	if err != nil {
		return nil, err
	}
	return valuePathNode{attr: attr, sub: sub}, p.expect(tokRBracket)
}

func (p *filterParser) comparison(attrTok token) (filterNode, error) {
	attr, allowed := canonicalAttr(attrTok.text), filterAttrs
	if p.sub != nil {
		attr, allowed = strings.ToLower(attrTok.text), p.sub
	}
	if !allowed[attr] {
		return nil, filterErrorf("attribute %q is not supported", attrTok.text)
	}
	op := p.next()
	switch lop := strings.ToLower(op.text); {
	case op.kind != tokWord:
		return nil, filterErrorf("expected an operator at %d", op.pos)
	case otherOperators[lop]:
		return nil, filterErrorf("operator %q is not supported", op.text)
	case lop != "eq":
		return nil, filterErrorf("unknown operator %q", op.text)
	}
	v := p.next()
	switch {
	case v.kind == tokString:
		return eqNode{attr: attr, value: v.text}, nil
	case v.kind != tokWord:
		return nil, filterErrorf("expected a value at %d", v.pos)
	case slices.Contains([]string{"true", "false"}, strings.ToLower(v.text)):
		return eqNode{attr: attr, value: strings.ToLower(v.text)}, nil
	case strings.EqualFold(v.text, "null"):
		return eqNode{attr: attr, null: true}, nil
	}
	return eqNode{attr: attr, value: v.text}, nil
}

func (p *filterParser) expect(kind tokenKind) error {
	if t := p.next(); t.kind != kind {
		return filterErrorf("unexpected %q at %d", t.text, t.pos)
	}
	return nil
}
