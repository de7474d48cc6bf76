package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// benchConfig is what `latch bench` runs with.
type benchConfig struct {
	url                                 string
	emails                              []string
	password                            string
	passwordStdin                       bool
	clientID, clientSecret, redirectURI string
	duration, warmup                    time.Duration
	workers                             int
	endpoints                           []string
	json                                bool
}

// cmdBench runs `latch bench`: real flows over HTTP against a running
// latch, one endpoint after another, each for --duration after --warmup,
// with --workers concurrent browsers and apps. It prints, per endpoint,
// successful requests per second, latency percentiles and failures.
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseBenchFlags(args, getenv, stdin, stderr)
	if err != nil {
		return err
	}
	t := cfg.target()
	if err := t.discover(ctx); err != nil {
		return err
	}
	if err := t.introduce(ctx); err != nil {
		return setupError("sign-in", cfg, err)
	}
	report := benchReport{URL: cfg.url, Duration: cfg.duration.String(), Warmup: cfg.warmup.String(), Workers: cfg.workers,
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var runErr error
	for _, e := range cfg.endpoints {
		fmt.Fprintf(stderr, "measuring %s for %s after %s warm-up\n", e, cfg.duration, cfg.warmup)
		res, err := runEndpoint(ctx, t, e, cfg)
		if err != nil {
			runErr = err
			break
		}
		report.Results = append(report.Results, res)
	}
	if len(report.Results) > 0 {
		if err := report.write(stdout, cfg.json); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	return report.failures()
}

func parseBenchFlags(args []string, getenv func(string) string, stdin io.Reader, stderr io.Writer) (*benchConfig, error) {
	cfg := &benchConfig{}
	var endpoints string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://localhost:8080", "latch's base URL (its issuer, or one replica)")
	fs.Func("email", "an existing account with a password and no second factor (required); or several, comma-separated,\n"+
		"with the same password, which the workers take turns on. Parallel sign-ins of one account trip latch's\n"+
		"per-account throttle: for signin and end, give one account per worker", func(s string) error {
		cfg.emails = nil
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" && !slices.Contains(cfg.emails, e) {
				cfg.emails = append(cfg.emails, e)
			}
		}
		return nil
	})
	fs.StringVar(&cfg.password, "password", "", "the account's password (visible to other users of this machine: prefer --password-stdin)")
	fs.BoolVar(&cfg.passwordStdin, "password-stdin", false, "read the account's password from the first line of standard input")
	fs.StringVar(&cfg.clientID, "client-id", "chatgpt-web", "a confidential, first-party client in latch's clients file")
	fs.StringVar(&cfg.clientSecret, "client-secret", "demo-chatgpt-secret-not-for-production", "the client's secret")
	fs.StringVar(&cfg.redirectURI, "redirect-uri", "http://localhost:9001/callback", "one of the client's redirect URIs (nothing needs to listen there)")
	fs.DurationVar(&cfg.duration, "duration", 15*time.Second, "how long to measure each endpoint")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "how long to run each endpoint before measuring")
	fs.IntVar(&cfg.workers, "workers", 8, "concurrent workers, each a browser and app of its own")
	fs.StringVar(&endpoints, "endpoints", strings.Join(benchEndpoints, ","), "comma-separated endpoints to measure: "+strings.Join(benchEndpoints, ", "))
	fs.BoolVar(&cfg.json, "json", false, "print the results as JSON")
	if err := parseFlags(fs, args, getenv, stderr); err != nil {
		return nil, err
	}
	var err error
	if cfg.endpoints, err = parseEndpoints(endpoints); err != nil {
		return nil, err
	}
	if err := cfg.readPassword(stdin); err != nil {
		return nil, err
	}
	return cfg, cfg.validate()
}

// parseEndpoints reads --endpoints, keeping the run order of benchEndpoints.
func parseEndpoints(s string) ([]string, error) {
	want := map[string]bool{}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if e == "all" {
			return benchEndpoints, nil
		}
		if !slices.Contains(benchEndpoints, e) {
			return nil, fmt.Errorf("--endpoints: unknown endpoint %q (say %s)", e, strings.Join(benchEndpoints, ", "))
		}
		want[e] = true
	}
	var out []string
	for _, e := range benchEndpoints {
		if want[e] {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--endpoints: name at least one endpoint")
	}
	return out, nil
}

func (c *benchConfig) readPassword(stdin io.Reader) error {
	switch {
	case c.passwordStdin && c.password != "":
		return errors.New("--password-stdin: say --password or --password-stdin, not both")
	case c.passwordStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("--password-stdin: %w", err)
		}
		if c.password = strings.TrimRight(line, "\r\n"); c.password == "" {
			return errors.New("--password-stdin: standard input is empty")
		}
	case c.password == "":
		return errors.New("--password-stdin: required (or --password): the account's password")
	}
	return nil
}

func (c *benchConfig) validate() error {
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--url: %q is not an http(s) URL without query or fragment", c.url)
	}
	c.url = strings.TrimSuffix(c.url, "/")
	switch {
	case len(c.emails) == 0:
		return errors.New("--email: required (an account with a password and no second factor)")
	case c.clientID == "":
		return errors.New("--client-id: must not be empty")
	case c.clientSecret == "":
		return errors.New("--client-secret: required; the bench needs a confidential client")
	case c.duration <= 0:
		return errors.New("--duration: must be positive")
	case c.warmup < 0:
		return errors.New("--warmup: must not be negative")
	case c.workers < 1 || c.workers > 10000:
		return errors.New("--workers: must be between 1 and 10000")
	}
	if r, err := url.Parse(c.redirectURI); err != nil || r.Scheme == "" || r.Host == "" {
		return fmt.Errorf("--redirect-uri: %q is not an absolute URL", c.redirectURI)
	}
	return nil
}

// target is the latch the workers talk to. They share one transport whose
// idle pool keeps a connection for every worker: Go's default of 2 idle
// connections per host would have most workers open a new connection for
// every request, and the bench would measure TCP set-up.
func (c *benchConfig) target() *benchTarget {
	base, _ := url.Parse(c.url)
	redirect, _ := url.Parse(c.redirectURI)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0 // no limit
	tr.MaxIdleConnsPerHost = 2 * c.workers
	return &benchTarget{base: base, emails: c.emails, password: c.password, clientID: c.clientID,
		clientSecret: c.clientSecret, redirectURI: c.redirectURI, redirect: redirect,
		ua: "latch-bench/" + version, transport: tr}
}

// workerStats is what one worker saw while measuring.
type workerStats struct {
	latencies       []time.Duration
	errors, limited int
	first, limit    error // the first failure and the first 429
	done            time.Time
}

// runEndpoint prepares a flow per worker, runs them through the warm-up and
// the measured window, and sums up. A flow that cannot be prepared before
// the run stops the bench: it is a setting, not a measurement.
func runEndpoint(ctx context.Context, t *benchTarget, endpoint string, cfg *benchConfig) (benchResult, error) {
	flows := make([]benchFlow, cfg.workers)
	errs := make([]error, cfg.workers)
	var wg sync.WaitGroup
	for i := range flows {
		flows[i] = newFlow(endpoint, t, i)
		// Workers of one account sign in one after another: in parallel,
		// latch's per-account throttle would refuse some of them.
		lock := t.setupLock[t.emails[i%len(t.emails)]]
		wg.Go(func() {
			lock.Lock()
			defer lock.Unlock()
			errs[i] = flows[i].setup(ctx)
		})
	}
	wg.Wait()
	defer teardown(ctx, flows)
	for _, err := range errs {
		if err != nil {
			return benchResult{}, setupError(endpoint, cfg, err)
		}
	}
	start := time.Now()
	warmEnd, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.duration)
	stats := make([]workerStats, cfg.workers)
	for i, f := range flows {
		wg.Go(func() { work(ctx, f, warmEnd, end, &stats[i]) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return benchResult{}, errors.New("interrupted")
	}
	return summarize(endpoint, cfg.workers, warmEnd, stats), nil
}

// work runs one worker until end, keeping what began after warmEnd. After
// a failure it prepares its flow again (a rotated-out refresh token, an
// ended session) and pauses a moment, so a refusing latch is not flooded.
func work(ctx context.Context, f benchFlow, warmEnd, end time.Time, st *workerStats) {
	broken := false
	for {
		began := time.Now()
		if !began.Before(end) || ctx.Err() != nil {
			break
		}
		var took time.Duration
		var err error
		if broken {
			err = f.setup(ctx)
		}
		if err == nil {
			took, err = f.step(ctx)
		}
		if ctx.Err() != nil {
			break
		}
		if !began.Before(warmEnd) {
			st.record(took, err)
		}
		if broken = err != nil; broken {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	st.done = time.Now()
}

func (st *workerStats) record(took time.Duration, err error) {
	switch {
	case err == nil:
		st.latencies = append(st.latencies, took)
		return
	case rateLimited(err):
		st.limited++
		if st.limit == nil {
			st.limit = err
		}
	default:
		st.errors++
		if st.first == nil {
			st.first = err
		}
	}
}

// teardown signs the workers out, also after Ctrl-C.
func teardown(ctx context.Context, flows []benchFlow) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, f := range flows {
		wg.Go(func() { f.teardown(ctx) })
	}
	wg.Wait()
}

// setupError says in one line why workers could not start, naming the flag
// to change where there is one.
func setupError(endpoint string, cfg *benchConfig, first error) error {
	msg := first.Error()
	var be *benchError
	switch {
	case rateLimited(first):
		return fmt.Errorf("%s: %s%s", endpoint, msg, limitHint(msg))
	case errors.As(first, &be) && strings.Contains(be.detail, "/login/verify"):
		return fmt.Errorf("--email: an account asks for a second factor; the bench needs accounts with a password only (%s)", msg)
	case errors.As(first, &be) && be.what == "POST /login" && be.status == http.StatusUnauthorized:
		return fmt.Errorf("--email, --password: latch refused a sign-in: %s", msg)
	case errors.As(first, &be) && strings.HasPrefix(be.what, "POST /oauth/token") && strings.Contains(be.detail, "invalid_client"):
		return fmt.Errorf("--client-secret: latch refused client %s: %s", cfg.clientID, be.detail)
	case errors.As(first, &be) && be.status == http.StatusBadRequest && strings.HasPrefix(be.what, "GET /authorize"):
		return fmt.Errorf("--client-id, --redirect-uri: latch refused the authorization request: %s", msg)
	}
	return fmt.Errorf("%s: %s", endpoint, msg)
}

// benchResult is one endpoint's line of the report. Requests, req/s and
// the percentiles count only the answers the flow expected.
type benchResult struct {
	Endpoint    string  `json:"endpoint"`
	Workers     int     `json:"workers"`
	Requests    int     `json:"requests"`
	PerSecond   float64 `json:"req_per_s"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Errors      int     `json:"errors"`
	RateLimited int     `json:"rate_limited"`
	FirstError  string  `json:"first_error,omitempty"`
	// FirstLimit is latch's answer to the first rate-limited request.
	FirstLimit string `json:"first_rate_limited,omitempty"`
	// SetupEach says what untimed work precedes each measured request.
	SetupEach string `json:"setup_each,omitempty"`
}

func summarize(endpoint string, workers int, warmEnd time.Time, stats []workerStats) benchResult {
	r := benchResult{Endpoint: endpoint, Workers: workers, SetupEach: setupEach[endpoint]}
	var all []time.Duration
	last := warmEnd
	for _, st := range stats {
		all = append(all, st.latencies...)
		r.Errors += st.errors
		r.RateLimited += st.limited
		if st.first != nil && r.FirstError == "" {
			r.FirstError = oneLine(st.first)
		}
		if st.limit != nil && r.FirstLimit == "" {
			r.FirstLimit = oneLine(st.limit)
		}
		if st.done.After(last) {
			last = st.done
		}
	}
	slices.Sort(all)
	r.Requests = len(all)
	if elapsed := last.Sub(warmEnd).Seconds(); elapsed > 0 {
		r.PerSecond = round(float64(len(all))/elapsed, 1)
	}
	r.P50, r.P90, r.P99 = quantileMS(all, 0.50), quantileMS(all, 0.90), quantileMS(all, 0.99)
	return r
}

// quantileMS is the q-quantile of sorted latencies in milliseconds, by
// nearest rank: a latency that some request actually had.
func quantileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(max(int(math.Ceil(q*float64(len(sorted))))-1, 0), len(sorted)-1)
	return round(float64(sorted[i])/float64(time.Millisecond), 3)
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// benchReport is the whole run.
type benchReport struct {
	URL        string        `json:"url"`
	Duration   string        `json:"duration"`
	Warmup     string        `json:"warmup"`
	Workers    int           `json:"workers"`
	GoVersion  string        `json:"go_version"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	Results    []benchResult `json:"results"`
}

func (r *benchReport) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "latch bench of %s: %s per endpoint after %s warm-up, %d workers; bench built with %s, GOMAXPROCS %d\n\n",
		r.URL, r.Duration, r.Warmup, r.Workers, r.GoVersion, r.GOMAXPROCS)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\tworkers\trequests\treq/s\tp50 ms\tp90 ms\tp99 ms\terrors\trate-limited")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%d\t%d\n", res.Endpoint, res.Workers, res.Requests,
			res.PerSecond, res.P50, res.P90, res.P99, res.Errors, res.RateLimited)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, res := range r.Results {
		if res.SetupEach != "" {
			notes = append(notes, fmt.Sprintf("%s: each measured request follows %s, untimed, which bounds its req/s", res.Endpoint, res.SetupEach))
		}
		if res.FirstError != "" {
			notes = append(notes, fmt.Sprintf("%s: first failure: %s", res.Endpoint, res.FirstError))
		}
		if res.FirstLimit != "" {
			notes = append(notes, fmt.Sprintf("%s: first rate-limited: %s", res.Endpoint, res.FirstLimit))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// failures makes a run with refused or failed requests exit non-zero: its
// figures do not describe latch working.
func (r *benchReport) failures() error {
	var errs, limited int
	first, limit := "", ""
	for _, res := range r.Results {
		errs += res.Errors
		limited += res.RateLimited
		if first == "" {
			first = res.FirstError
		}
		if limit == "" {
			limit = res.FirstLimit
		}
	}
	switch {
	case limited > 0:
		return fmt.Errorf("%d requests were refused with 429, the first: %s%s", limited, limit, limitHint(limit))
	case errs > 0:
		return fmt.Errorf("%d requests failed; the first: %s", errs, first)
	}
	return nil
}

// limitHint says what to change when latch's per-address sign-in limit
// answered 429. Its per-account throttle answers 429 too, and that one no
// flag lifts.
func limitHint(msg string) string {
	switch {
	case strings.Contains(msg, "from your network"):
		return "; start latch with a higher --rate-limit (sign-ins per minute per address) to benchmark"
	case strings.Contains(msg, "failed attempts"):
		return "; latch's per-account throttle refuses parallel sign-ins of one account: give --email one account per worker"
	}
	return ""
}
