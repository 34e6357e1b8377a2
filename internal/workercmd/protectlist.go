package workercmd

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// splitList reads the value of a list flag such as --protect-roles: names separated by commas
// (or newlines), each trimmed of surrounding space, empty ones dropped. A name that holds a
// comma or a quote is quoted as in CSV, with inner quotes doubled:
//
//	Admin, "Billing, EMEA", Master Admin
//
// Splitting on every comma made such a role impossible to protect: "Billing" and "EMEA" were
// protected instead, and the real role not at all. A value CSV cannot read is an error, never a
// guess, because a protection list read wrongly protects the wrong users.
func splitList(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w (quote a name that holds a comma or a quote, doubling inner quotes: \"Billing, EMEA\")", err)
		}
		for _, f := range rec {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
}

// checkLists reports the protect flags that cannot be read.
func (c *Config) checkLists() error {
	var errs []error
	if _, err := splitList(c.ProtectRoles); err != nil {
		errs = append(errs, fmt.Errorf("--protect-roles: %w", err))
	}
	if _, err := splitList(c.ProtectUsers); err != nil {
		errs = append(errs, fmt.Errorf("--protect-users: %w", err))
	}
	return errors.Join(errs...)
}
