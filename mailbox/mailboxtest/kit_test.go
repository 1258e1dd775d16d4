package mailboxtest

import (
	"strings"
	"testing"
)

func TestCasesWellFormed(t *testing.T) {
	all := cases()
	if len(all) < 60 {
		t.Errorf("%d cases, the kit promises at least 60", len(all))
	}
	seen := map[string]bool{}
	for _, k := range all {
		if seen[k.name] {
			t.Errorf("case %q twice", k.name)
		}
		seen[k.name] = true
		if area, name, ok := strings.Cut(k.name, "/"); !ok || area == "" || name == "" || strings.Contains(name, "/") {
			t.Errorf("case %q is not named Area/Case", k.name)
		}
		if len(k.explain) < 20 || k.run == nil {
			t.Errorf("case %q lacks an explanation or a body", k.name)
		}
	}
	t.Logf("%d cases", len(all))
}
