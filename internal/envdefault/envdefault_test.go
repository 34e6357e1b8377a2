package envdefault

import (
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Setenv("ED_S", "")
	t.Setenv("ED_I", "42")
	t.Setenv("ED_BAD_I", "x")
	t.Setenv("ED_D", "1m30s")
	t.Setenv("ED_B", "true")
	if String("ED_S", "def") != "" || String("ED_UNSET", "def") != "def" {
		t.Error("String")
	}
	if Int("ED_I", 1) != 42 || Int("ED_BAD_I", 1) != 1 || Int("ED_UNSET", 7) != 7 {
		t.Error("Int")
	}
	if Duration("ED_D", time.Second) != 90*time.Second || Duration("ED_UNSET", time.Second) != time.Second {
		t.Error("Duration")
	}
	if !Bool("ED_B") || Bool("ED_UNSET") {
		t.Error("Bool")
	}
}
