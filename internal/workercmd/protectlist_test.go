package workercmd

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// L10: --protect-roles was split on every comma, so a role named "Billing, EMEA" could not be
// protected (the worker protected "Billing" and "EMEA" instead). CSV quoting keeps it whole.
func TestProtectRolesWithACommaReachTheWorker(t *testing.T) {
	t.Parallel()
	var cfg Config
	fs := newFlagSet(&cfg, io.Discard)
	err := fs.Parse([]string{"--dev", "--protect-roles", `Master Admin, "Billing, EMEA", "Ops ""Tier 1"""`,
		"--protect-users", `a@b.c, "ext,42"`})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	p := cfg.workerConfig().Protect
	if want := []string{"Master Admin", "Billing, EMEA", `Ops "Tier 1"`}; !slices.Equal(p.Roles, want) {
		t.Errorf("protected roles %q, want %q", p.Roles, want)
	}
	if want := []string{"a@b.c", "ext,42"}; !slices.Equal(p.ExternalIDs, want) {
		t.Errorf("protected external ids %q, want %q", p.ExternalIDs, want)
	}
}

func TestSplitList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" , ,", nil, false},
		{"Master Admin", []string{"Master Admin"}, false},
		{"Admin, Master Admin ,", []string{"Admin", "Master Admin"}, false},
		{`"Billing, EMEA"`, []string{"Billing, EMEA"}, false},
		{"Admin\nSupervisor", []string{"Admin", "Supervisor"}, false},
		{`Admin, "Billing, EMEA`, nil, true}, // unclosed quote
		{`Bob's "best" role`, nil, true},     // a bare quote: quote the whole name
	}
	for _, tt := range tests {
		got, err := splitList(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("splitList(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// A value that cannot be read stops the worker at start, naming the flag.
func TestUnreadableProtectListIsAConfigError(t *testing.T) {
	t.Parallel()
	var cfg Config
	fs := newFlagSet(&cfg, io.Discard)
	if err := fs.Parse([]string{"--dev", "--protect-roles", `Admin, "Billing, EMEA`}); err != nil {
		t.Fatal(err)
	}
	err := cfg.validate()
	if err == nil || !strings.Contains(err.Error(), "--protect-roles: ") || !strings.Contains(err.Error(), `"Billing, EMEA"`) {
		t.Errorf("validate = %v, want an error about --protect-roles with a quoting hint", err)
	}
}
