// Command testprogress reads `go test -json` on its standard input and
// prints each package's result as it finishes, the output of every failure,
// and every 30 seconds which packages are still running with how many of
// their tests have passed, so that `make test` is never minutes of
// silence. It exits 1 when a package or a build failed.
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
			running[e.Package] = &pkg{started: time.Now()}
		case e.Action == "output":
			if p := running[e.Package]; p != nil {
				p.output = append(p.output, e.Output)
			}
		case e.Test != "" && e.Action == "pass":
			if p := running[e.Package]; p != nil {
				p.passed++
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
