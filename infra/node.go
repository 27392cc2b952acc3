package main

import (
	"os"
	"path/filepath"

	"github.com/aws/jsii-runtime-go"

	"github.com/frontdesk-health/frontdesk/shared/platform"
)

// useBundledNode points the jsii runtime at the Node 22 that package.json pins
// (npm package "node"), so `go run ./infra` and `go test ./infra` do not depend
// on the system's Node version (Node 20 is end-of-life and prints a banner).
// An explicit JSII_NODE wins. Under `npx cdk`, node_modules/.bin is already first
// on PATH, which has the same effect.
//
// It must run before the first jsii call. The generated packages' init functions
// already created the kernel process description (command and environment) but
// not started it; closing that client makes the next call build a new one that
// sees the variables set here. Type registrations are global and survive.
func useBundledNode() {
	defer jsii.Close()
	if os.Getenv("JSII_NODE") == "" {
		if root, ok := repoRoot(); ok {
			for _, p := range []string{
				filepath.Join(root, "node_modules", "node", "bin", "node"),
				filepath.Join(root, "node_modules", ".bin", "node"),
			} {
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					os.Setenv("JSII_NODE", p)
					break
				}
			}
		}
	}
	// Without the bundled Node the system one is used; its age is not ours to fix here.
	if os.Getenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	}
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
	}
}

// repoRoot is platform.RepoRoot for callers that only need to know whether it was found.
func repoRoot() (string, bool) {
	root, err := platform.RepoRoot()
	return root, err == nil
}
