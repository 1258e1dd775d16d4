package testpeer

import (
	"path/filepath"
	"testing"
)

func TestRequireFindsProgram(t *testing.T) {
	// sh exists on every machine this project builds on.
	p := Require(t, "sh", "dash")
	if !filepath.IsAbs(p) {
		t.Fatalf("Require returned %q, want an absolute path", p)
	}
}

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
	}{{"", false}, {"0", false}, {"false", false}, {"true", true}, {"1", true}} {
		t.Setenv("CI", tc.val)
		if got := InCI(); got != tc.want {
			t.Errorf("CI=%q: InCI() = %v, want %v", tc.val, got, tc.want)
		}
	}
}
