package taskwire_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUseFromAnotherModule follows the README's "Use it in your module": a new module requires
// taskwire.dev/samples/go, replaced by this checkout, and builds a program that imports the
// client, with no module proxy (the client needs only the standard library).
func TestUseFromAnotherModule(t *testing.T) {
	checkout, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	app := t.TempDir()
	program := `package main

import (
	"context"
	"fmt"

	"taskwire.dev/samples/go/taskwire"
)

func main() {
	_, err := taskwire.Dial(context.Background(), taskwire.Options{Addr: "127.0.0.1:1"})
	fmt.Println(err != nil)
}
`
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	for _, args := range [][]string{
		{"mod", "init", "example.com/app"},
		{"mod", "edit", "-require=taskwire.dev/samples/go@v0.0.0", "-replace=taskwire.dev/samples/go=" + checkout},
		{"build", "-o", filepath.Join(app, "app"), "."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = app
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := exec.Command(filepath.Join(app, "app")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Fatalf("the program built against the client: %v\n%s", err, out)
	}
}
