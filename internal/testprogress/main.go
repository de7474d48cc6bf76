// Command testprogress reads `go test -json` on its standard input and
// prints each package's result as it finishes, the output of every failure,
// and every 30 seconds which packages are still running with how many of
// their tests have passed, so that `make test` is never minutes of
// silence. A package that took a minute or more is followed by its slowest
// tests, and a test running for two minutes or more is named while it
// runs. It exits 1 when a package or a build failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// event is one line of test2json's output (go doc test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
}

type pkg struct {
	started time.Time
	passed  int
	output  []string
	// running are the top-level tests started and not finished, and
	// took how long each finished one took.
	running map[string]time.Time
	took    map[string]float64
}

// topLevel reports whether name is a top-level test, not a subtest.
func topLevel(name string) bool { return name != "" && !strings.Contains(name, "/") }

// slowest names p's n slowest finished top-level tests.
func (p *pkg) slowest(n int) string {
	names := make([]string, 0, len(p.took))
	for name := range p.took {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return p.took[names[i]] > p.took[names[j]] })
	var out []string
	for _, name := range names[:min(n, len(names))] {
		out = append(out, fmt.Sprintf("%s %.0fs", name, p.took[name]))
	}
	return strings.Join(out, ", ")
}

func main() {
	var mu sync.Mutex
	running := map[string]*pkg{}
	failed := false
	go func() {
		for range time.Tick(30 * time.Second) {
			mu.Lock()
			var names []string
			for name, p := range running {
				names = append(names, fmt.Sprintf("%s (%s, %d tests passed)", name, time.Since(p.started).Round(time.Second), p.passed))
				for test, at := range p.running {
					if d := time.Since(at); d >= 2*time.Minute {
						names = append(names, fmt.Sprintf("%s.%s (%s)", name, test, d.Round(time.Second)))
					}
				}
			}
			mu.Unlock()
			if len(names) > 0 {
				sort.Strings(names)
				fmt.Println("...  still running:", strings.Join(names, ", "))
			}
		}
	}()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Println(in.Text()) // not test2json: a message of go itself
			continue
		}
		mu.Lock()
		switch {
		case e.Action == "build-output":
			fmt.Print(e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Package == "":
		case e.Action == "start":
			running[e.Package] = &pkg{started: time.Now(), running: map[string]time.Time{}, took: map[string]float64{}}
		case topLevel(e.Test) && (e.Action == "run" || e.Action == "cont"):
			// A parallel test pauses until the serial ones are done: its
			// time runs from when it goes on.
			if p := running[e.Package]; p != nil {
				p.running[e.Test] = time.Now()
			}
		case topLevel(e.Test) && e.Action == "pause":
			if p := running[e.Package]; p != nil {
				delete(p.running, e.Test)
			}
		case e.Action == "output":
			if p := running[e.Package]; p != nil {
				p.output = append(p.output, e.Output)
			}
		case e.Test != "" && (e.Action == "pass" || e.Action == "fail"):
			if p := running[e.Package]; p != nil {
				if e.Action == "pass" {
					p.passed++
				}
				if topLevel(e.Test) {
					delete(p.running, e.Test)
					p.took[e.Test] = e.Elapsed
				}
			}
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			p := running[e.Package]
			delete(running, e.Package)
			switch e.Action {
			case "pass":
				n := 0
				if p != nil {
					n = p.passed
				}
				fmt.Printf("ok   %-40s %6.1fs  %d tests\n", e.Package, e.Elapsed, n)
				if p != nil && e.Elapsed >= 60 {
					fmt.Printf("     slowest: %s\n", p.slowest(8))
				}
			case "skip":
				fmt.Printf("--   %-40s (no tests)\n", e.Package)
			case "fail":
				failed = true
				if p != nil {
					fmt.Print(strings.Join(p.output, ""))
				}
				fmt.Printf("FAIL %-40s %6.1fs\n", e.Package, e.Elapsed)
			}
		}
		mu.Unlock()
	}
	if failed {
		os.Exit(1)
	}
}
