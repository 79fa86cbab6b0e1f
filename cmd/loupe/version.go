package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion is `loupe version`.
func runVersion(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return &usageError{message: fmt.Sprintf("version takes no arguments, got %q", args), hint: "loupe version"}
	}
	fmt.Fprintf(stdout, "loupe %s\n", version())
	return nil
}

// version returns the module version the binary was built from, "devel"
// for a build from a source tree, with the VCS revision when recorded.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel " + rev + dirty
}
