package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// registry is one server under test, seen through one HTTP client.
type registry struct {
	base   string // e.g. https://127.0.0.1:15101
	user   string
	pass   string
	client *http.Client
}

type endpoint struct {
	base, user, pass, cacert string
}

// transport returns a new connection pool: one per simulated node, so pulls do not share
// connections (each pays its own TCP and TLS handshake, as separate nodes would).
func (e endpoint) transport(maxConns int) *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false, // registry:2 clients (docker, containerd) speak HTTP/1.1 to registries
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	if e.cacert != "" {
		pem, err := os.ReadFile(e.cacert)
		must(err)
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fatalf("no certificate in %s", e.cacert)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t
}

func (e endpoint) registry(maxConns int) *registry {
	return &registry{base: strings.TrimRight(e.base, "/"), user: e.user, pass: e.pass,
		client: &http.Client{Transport: e.transport(maxConns), Timeout: 30 * time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (r *registry) request(method, pathOrURL string, body io.Reader) *http.Request {
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = r.base + u
	}
	req, err := http.NewRequest(method, u, body)
	must(err)
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	req.Header.Set("User-Agent", "berth-bench/1")
	return req
}

// do sends req and fails unless the status is one of want; the body is drained and closed.
func (r *registry) do(req *http.Request, want ...int) *http.Response {
	resp, err := r.client.Do(req)
	if err != nil {
		fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, w := range want {
		if resp.StatusCode == w {
			return resp
		}
	}
	fatalf("%s %s: status %d, want %v", req.Method, req.URL.Redacted(), resp.StatusCode, want)
	return nil
}

// location resolves a Location header against the registry's base URL.
func (r *registry) location(resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		fatalf("%s %s: no Location header", resp.Request.Method, resp.Request.URL.Redacted())
	}
	u, err := url.Parse(loc)
	must(err)
	return resp.Request.URL.ResolveReference(u).String()
}

func withQuery(u, key, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + key + "=" + url.QueryEscape(value)
}

// startUpload is POST /v2/<repo>/blobs/uploads/; it returns the upload URL.
func (r *registry) startUpload(repo string) string {
	resp := r.do(r.request(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil), http.StatusAccepted)
	return r.location(resp)
}

// pushStreamed sends the whole blob in one PATCH with a chunked (unknown-length) body, as docker
// does, then commits it with PUT ?digest=.
func (r *registry) pushStreamed(repo string, c *content, digest string) (commit time.Duration) {
	loc := r.startUpload(repo)
	req := r.request(http.MethodPatch, loc, io.NopCloser(c.reader(0, c.size))) // NopCloser hides the length: chunked
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/octet-stream")
	resp := r.do(req, http.StatusAccepted, http.StatusNoContent)
	loc = r.location(resp)
	start := time.Now()
	r.do(r.request(http.MethodPut, withQuery(loc, "digest", digest), nil), http.StatusCreated)
	return time.Since(start)
}

// pushChunked sends the blob as PATCHes of chunk bytes each, with Content-Range and
// Content-Length, following each response's Location, then commits it with PUT ?digest=.
func (r *registry) pushChunked(repo string, c *content, digest string, chunk int64) (commit time.Duration) {
	loc := r.startUpload(repo)
	for off := int64(0); off < c.size; off += chunk {
		end := min(off+chunk, c.size)
		req := r.request(http.MethodPatch, loc, c.reader(off, end))
		req.ContentLength = end - off
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, end-1))
		resp := r.do(req, http.StatusAccepted, http.StatusNoContent)
		loc = r.location(resp)
	}
	start := time.Now()
	r.do(r.request(http.MethodPut, withQuery(loc, "digest", digest), nil), http.StatusCreated)
	return time.Since(start)
}

// pushSmall pushes a small blob the way docker does: HEAD (absent), POST, PATCH, PUT.
func (r *registry) pushSmall(repo string, b []byte, digest string) {
	r.do(r.request(http.MethodHead, "/v2/"+repo+"/blobs/"+digest, nil), http.StatusNotFound)
	loc := r.startUpload(repo)
	req := r.request(http.MethodPatch, loc, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp := r.do(req, http.StatusAccepted, http.StatusNoContent)
	r.do(r.request(http.MethodPut, withQuery(r.location(resp), "digest", digest), nil), http.StatusCreated)
}

// pushMonolithic pushes a blob with POST then PUT ?digest= carrying the body (used for seeding).
func (r *registry) pushMonolithic(repo string, body io.Reader, size int64, digest string) {
	loc := r.startUpload(repo)
	req := r.request(http.MethodPut, withQuery(loc, "digest", digest), body)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	r.do(req, http.StatusCreated)
}

func (r *registry) putManifest(repo, ref, mediaType string, body []byte) {
	req := r.request(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	r.do(req, http.StatusCreated)
}

// get fetches path (with an optional Range from offset), discards the body and returns its length.
func (r *registry) get(path string, from int64, accept string) int64 {
	req := r.request(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	want := http.StatusOK
	if from > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-")
		want = http.StatusPartialContent
	}
	resp, err := r.client.Do(req)
	if err != nil {
		fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		fatalf("GET %s: body: %v", path, err)
	}
	if resp.StatusCode != want {
		fatalf("GET %s: status %d, want %d", path, resp.StatusCode, want)
	}
	return n
}

// getBytes fetches path and returns its body.
func (r *registry) getBytes(path, accept string) []byte {
	req := r.request(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
	}
	return b
}
