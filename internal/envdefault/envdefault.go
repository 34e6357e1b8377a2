// Package envdefault reads flag defaults from the environment, so that every
// flag of our commands can also be set by the variable its usage text names.
// A variable that is unset or does not parse leaves the default as it is.
package envdefault

import (
	"os"
	"strconv"
	"time"
)

// String returns the variable's value if it is set (even empty), else def.
func String(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// Int returns the variable as an integer, else def.
func Int(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// Duration returns the variable as a Go duration ("30s"), else def.
func Duration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// Bool returns the variable as a boolean ("true", "1"), else false.
func Bool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}
