package ingress

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// fieldPath is a parsed path into a JSON value: dotted names, ["quoted names"] for names with
// spaces, dots or brackets (BambooHR's fields["Work Email"]), and [n] array indexes:
// employees[0].fields["Employment Status"].
type fieldPath struct {
	text  string
	steps []pathStep
}

type pathStep struct {
	name  string
	index int // when isIndex
	isIdx bool
}

// parsePath parses a path; "" is the value itself.
func parsePath(s string) (fieldPath, error) {
	p := fieldPath{text: s}
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '[':
			end := i + 1
			if end < len(s) && s[end] == '"' {
				// a JSON string, then ']'
				j := end + 1
				for j < len(s) && s[j] != '"' {
					if s[j] == '\\' {
						j++
					}
					j++
				}
				if j >= len(s) || j+1 >= len(s) || s[j+1] != ']' {
					return fieldPath{}, fmt.Errorf("path %q: unterminated [\"name\"] at %d", s, i)
				}
				var name string
				if err := json.Unmarshal([]byte(s[end:j+1]), &name); err != nil {
					return fieldPath{}, fmt.Errorf("path %q: bad quoted name at %d", s, i)
				}
				p.steps = append(p.steps, pathStep{name: name})
				i = j + 2
			} else {
				j := strings.IndexByte(s[end:], ']')
				if j < 0 {
					return fieldPath{}, fmt.Errorf("path %q: unterminated [ at %d", s, i)
				}
				n, err := strconv.Atoi(s[end : end+j])
				if err != nil || n < 0 {
					return fieldPath{}, fmt.Errorf("path %q: [%s] is neither an index nor a quoted name", s, s[end:end+j])
				}
				p.steps = append(p.steps, pathStep{index: n, isIdx: true})
				i = end + j + 1
			}
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return fieldPath{}, fmt.Errorf("path %q ends with a dot", s)
				}
			} else if i < len(s) && s[i] != '[' {
				return fieldPath{}, fmt.Errorf("path %q: expected '.' or '[' at %d", s, i)
			}
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				if s[j] == ']' || s[j] == '"' {
					return fieldPath{}, fmt.Errorf("path %q: unexpected %q at %d (quote names with [\"...\"])", s, s[j], j)
				}
				j++
			}
			if j == i {
				return fieldPath{}, fmt.Errorf("path %q: empty name at %d", s, i)
			}
			p.steps = append(p.steps, pathStep{name: s[i:j]})
			i = j
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return fieldPath{}, fmt.Errorf("path %q ends with a dot", s)
				}
			}
		}
	}
	return p, nil
}

// errNoValue says the path leads nowhere in this document (a member or index that is absent,
// or JSON null).
var errNoValue = errors.New("no value")

// lookup follows the path through v (decoded with UseNumber).
func (p fieldPath) lookup(v any) (any, error) {
	for _, st := range p.steps {
		if st.isIdx {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, errNoValue
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, errNoValue
		}
		if v, ok = obj[st.name]; !ok {
			return nil, errNoValue
		}
	}
	if v == nil {
		return nil, errNoValue
	}
	return v, nil
}

// scalar is the value at the path as text: a string as it stands, a number as written, a
// boolean as true or false. An object or array is an error; so is no value.
func (p fieldPath) scalar(v any) (string, error) {
	v, err := p.lookup(v)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("%s is not a string, number or boolean", p.text)
}

func (p fieldPath) String() string { return p.text }
