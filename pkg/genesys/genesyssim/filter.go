package genesyssim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A SCIM filter (RFC 7644 3.4.2.2), restricted to what the fact sheet documents: "eq" clauses
// joined by "and", grouping parentheses, and value paths such as
// emails[value eq "x"] or externalIds[authority eq "x" and value eq "y"].
// Attribute names, operators and keywords are case-insensitive. Values are JSON strings
// (with JSON escapes) or, as in Genesys's documented examples, bare words (userName eq a@b.org),
// where true, false and null are literals and anything else is compared as text.
// Other operators (ne, co, sw, pr, ...), "or" and "not" are refused as unsupported.

// filterError is a malformed or unsupported filter: a 400 with scimType invalidFilter.
type filterError struct{ msg string }

func (e *filterError) Error() string { return "invalid filter: " + e.msg }

func filterErrorf(format string, args ...any) error {
	return &filterError{msg: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokString
	tokLBracket
	tokRBracket
	tokLParen
	tokRParen
)

type token struct {
	kind tokenKind
	text string // the word, or the decoded string
	pos  int
}

// tokenize splits a filter into words, JSON strings and brackets.
func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		switch ch := s[i]; {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case strings.IndexByte("[]()", ch) >= 0:
			kind := map[byte]tokenKind{'[': tokLBracket, ']': tokRBracket, '(': tokLParen, ')': tokRParen}[ch]
			toks = append(toks, token{kind: kind, text: string(ch), pos: i})
			i++
		case ch == '"':
			end, err := stringEnd(s, i)
			if err != nil {
				return nil, err
			}
			var text string
			if err := json.Unmarshal([]byte(s[i:end]), &text); err != nil {
				return nil, filterErrorf("bad string at %d: %v", i, err)
			}
			toks = append(toks, token{kind: tokString, text: text, pos: i})
			i = end
		default:
			start := i
			for i < len(s) && strings.IndexByte(" \t\n\r[]()\"", s[i]) < 0 {
				i++
			}
			toks = append(toks, token{kind: tokWord, text: s[start:i], pos: start})
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

// stringEnd returns the index just past the closing quote of the string starting at s[start].
func stringEnd(s string, start int) (int, error) {
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped character; json.Unmarshal validates the escape
		case '"':
			return i + 1, nil
		}
	}
	return 0, filterErrorf("unterminated string at %d", start)
}

// filterNode is a parsed filter.
type filterNode interface {
	match(r record) bool
	mentions(attr string) bool
}

// record is what a filter is evaluated against: a user, or one element of a multi-valued attribute.
type record interface {
	values(attr string) []string
	elements(attr string) []map[string]string
}

type eqNode struct {
	attr  string
	value string // for null: ""
	null  bool
}

type andNode []filterNode

type valuePathNode struct {
	attr string
	sub  filterNode
}

func (n eqNode) match(r record) bool {
	vals := r.values(n.attr)
	if n.null {
		return len(vals) == 0
	}
	for _, v := range vals {
		if v == n.value || caseInsensitive[n.attr] && strings.EqualFold(v, n.value) {
			return true
		}
	}
	return false
}

func (n eqNode) mentions(attr string) bool { return n.attr == attr }

func (n andNode) match(r record) bool {
	for _, c := range n {
		if !c.match(r) {
			return false
		}
	}
	return true
}

func (n andNode) mentions(attr string) bool {
	for _, c := range n {
		if c.mentions(attr) {
			return true
		}
	}
	return false
}

func (n valuePathNode) match(r record) bool {
	for _, e := range r.elements(n.attr) {
		if n.sub.match(elementRecord(e)) {
			return true
		}
	}
	return false
}

func (n valuePathNode) mentions(attr string) bool { return n.attr == attr }

// elementRecord is one element of a multi-valued attribute, keyed by lower-case sub-attribute.
type elementRecord map[string]string

func (e elementRecord) values(attr string) []string {
	if v, ok := e[attr]; ok {
		return []string{v}
	}
	return nil
}

func (e elementRecord) elements(string) []map[string]string { return nil }
