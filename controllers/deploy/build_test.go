package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
)

// buildCommand is a `go build` line split into leading environment
// assignments and the command's words.
type buildCommand struct {
	env  []string
	args []string
}

// parseBuildCommand splits line, such as "CGO_ENABLED=0 go build -trimpath
// -o manager .", and fails the test unless it runs go build with -o.
func parseBuildCommand(t *testing.T, source, line string) buildCommand {
	t.Helper()
	var command buildCommand
	words := strings.Fields(line)
	for len(words) > 0 && strings.Contains(words[0], "=") {
		command.env = append(command.env, words[0])
		words = words[1:]
	}
	command.args = words
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("%s: %q does not run go build", source, line)
	}
	if i := slices.Index(words, "-o"); i < 0 || i+1 >= len(words) {
		t.Fatalf("%s: %q names no -o output", source, line)
	}
	return command
}

// withOutput returns the command's words with the -o value replaced.
func (c buildCommand) withOutput(output string) []string {
	args := slices.Clone(c.args)
	args[slices.Index(args, "-o")+1] = output
	return args
}

// dockerfileBuild returns the go build line of the Dockerfile's RUN
// instructions.
func dockerfileBuild(t *testing.T) buildCommand {
	t.Helper()
	var builds []string
	for _, line := range readLines(t, "Dockerfile") {
		if run, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(run, "go build") {
			builds = append(builds, run)
		}
	}
	if len(builds) != 1 {
		t.Fatalf("the Dockerfile has %d RUN lines with go build, want 1: %q", len(builds), builds)
	}
	return parseBuildCommand(t, "Dockerfile", builds[0])
}

// makefileBuild returns the go build line of the Makefile's build target.
func makefileBuild(t *testing.T) buildCommand {
	t.Helper()
	inTarget := false
	for _, line := range readLines(t, "Makefile") {
		switch {
		case strings.HasPrefix(line, "build:"):
			inTarget = true
		case inTarget && strings.HasPrefix(line, "\t"):
			if strings.Contains(line, "go build") {
				return parseBuildCommand(t, "Makefile", line)
			}
		case inTarget:
			inTarget = false
		}
	}
	t.Fatal("the Makefile's build target has no go build line")
	return buildCommand{}
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	return lines
}

func TestDockerfileBuildMatchesMakefile(t *testing.T) {
	docker := dockerfileBuild(t)
	makefile := makefileBuild(t)
	if !slices.Equal(docker.env, makefile.env) {
		t.Errorf("environment: Dockerfile %q, Makefile %q", docker.env, makefile.env)
	}
	if got, want := docker.withOutput("OUTPUT"), makefile.withOutput("OUTPUT"); !slices.Equal(got, want) {
		t.Errorf("go build words apart from -o: Dockerfile %q, Makefile %q", got, want)
	}
}

// buildManager builds the manager into a temporary folder with the
// Dockerfile's build line, so the tests run the binary the image contains.
func buildManager(t *testing.T) string {
	t.Helper()
	command := dockerfileBuild(t)
	output := filepath.Join(t.TempDir(), "manager")
	args := command.withOutput(output)

	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, args[0], args[1:]...)
	build.Dir = testenv.RepoRoot()
	build.Env = append(os.Environ(), command.env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s %s failed: %v\n%s", strings.Join(command.env, " "), strings.Join(args, " "), err, out)
	}
	return output
}

// dockerfileCopies returns the source paths of the builder stage's COPY
// instructions, relative to the build context.
func dockerfileCopies(t *testing.T) []string {
	t.Helper()
	var sources []string
	for _, line := range readLines(t, "Dockerfile") {
		words := strings.Fields(line)
		if len(words) < 3 || words[0] != "COPY" || strings.HasPrefix(words[1], "--from") {
			continue
		}
		for _, source := range words[1 : len(words)-1] {
			sources = append(sources, path.Clean(source))
		}
	}
	return sources
}

// managerSourceFiles lists the files of the main module that go build needs
// for the manager: the Go and embedded files of each package it imports,
// relative to the repository root, plus go.mod and go.sum.
func managerSourceFiles(t *testing.T) []string {
	t.Helper()
	list := exec.CommandContext(t.Context(), "go", "list", "-deps", "-json=Dir,Module,GoFiles,EmbedFiles", ".")
	list.Dir = testenv.RepoRoot()
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps failed: %v", err)
	}
	root, err := filepath.Abs(testenv.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	decoder := json.NewDecoder(bytes.NewReader(out))
	for decoder.More() {
		var pkg struct {
			Dir        string
			Module     *struct{ Main bool }
			GoFiles    []string
			EmbedFiles []string
		}
		if err := decoder.Decode(&pkg); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		dir, err := filepath.Rel(root, pkg.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range append(pkg.GoFiles, pkg.EmbedFiles...) {
			files = append(files, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	return files
}

// TestDockerfileCopiesManagerSources fails when a package the manager
// imports lies outside the folders the Dockerfile copies, or when
// .dockerignore excludes one of its files.
func TestDockerfileCopiesManagerSources(t *testing.T) {
	copies := dockerfileCopies(t)
	var ignored []string
	for _, line := range readLines(t, ".dockerignore") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, strings.TrimSuffix(line, "/"))
		}
	}

	files := managerSourceFiles(t)
	if !slices.Contains(files, "main.go") {
		t.Fatalf("go list names no main.go among %q", files)
	}
	for _, file := range files {
		copied := slices.ContainsFunc(copies, func(source string) bool {
			return file == source || strings.HasPrefix(file, source+"/")
		})
		if !copied {
			t.Errorf("the Dockerfile does not copy %s, which the manager build needs", file)
		}
		// NOTE: This matches patterns as path.Match does plus folder
		// prefixes, which covers the patterns in .dockerignore today but
		// not Docker's ** or ! rules.
		for _, pattern := range ignored {
			matched, err := path.Match(pattern, file)
			if err != nil {
				t.Fatalf(".dockerignore pattern %q: %v", pattern, err)
			}
			if matched || strings.HasPrefix(file, pattern+"/") {
				t.Errorf(".dockerignore pattern %q excludes %s, which the manager build needs", pattern, file)
			}
		}
	}
}
