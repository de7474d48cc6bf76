package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are latch's Prometheus series. Each latch process owns one registry,
// so tests can start several latch servers in one binary.
type Metrics struct {
	Registry *prometheus.Registry
	Requests *prometheus.CounterVec   // by route and status code
	Latency  *prometheus.HistogramVec // by route
	Grants   *prometheus.CounterVec   // token endpoint grants by grant type and result
	SignIns  *prometheus.CounterVec   // sign-in attempts by method and result
	Errors   *prometheus.CounterVec   // server-side errors by component
}

// NewMetrics registers latch's series on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latch_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		Grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_token_grants_total", Help: "Token endpoint grants by grant type and result.",
		}, []string{"grant_type", "result"}),
		SignIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_signins_total", Help: "Sign-in attempts by method and result.",
		}, []string{"method", "result"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_errors_total", Help: "Server-side errors by component.",
		}, []string{"component"}),
	}
	m.Registry.MustRegister(m.Requests, m.Latency, m.Grants, m.SignIns, m.Errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series with no observations are not exported; start the error series
	// at zero so a dashboard's rate() has something to read from the start.
	for _, c := range []string{"http", "signin", "oidc"} {
		m.Errors.WithLabelValues(c)
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Instrument counts and times every request by the route pattern that served
// it (never by raw path, which would let callers mint unbounded series).
func (m *Metrics) Instrument(route func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &StatusWriter{ResponseWriter: w, Status: http.StatusOK}
		next.ServeHTTP(sw, r)
		name := route(r)
		m.Requests.WithLabelValues(name, strconv.Itoa(sw.Status)).Inc()
		m.Latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if sw.Status >= 500 {
			m.Errors.WithLabelValues("http").Inc()
		}
	})
}

// StatusWriter remembers the status code written through it.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	wrote  bool
}

// WriteHeader records the status code.
func (s *StatusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.Status = code
		s.wrote = true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write marks the header as written with the default status.
func (s *StatusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
