package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// load is a closed-loop keep-alive HTTP/1.1 load generator, like wrk: `conns` connections, each
// sending the same request as soon as the previous response is in. It exists because wrk and
// h2load both wait for a body after a HEAD response that carries Content-Length, so they cannot
// measure manifest HEAD, the request every AlwaysPullImages pod start makes.
func load(e endpoint, method, path, accept string, conns int, warmup, duration time.Duration) map[string]any {
	u, err := url.Parse(e.base)
	must(err)
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: berth-bench/1\r\n", method, path, u.Host)
	if e.user != "" {
		fmt.Fprintf(&req, "Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(e.user+":"+e.pass)))
	}
	if accept != "" {
		fmt.Fprintf(&req, "Accept: %s\r\n", accept)
	}
	req.WriteString("\r\n")
	request := req.Bytes()
	var tlsConfig *tls.Config
	if u.Scheme == "https" {
		tlsConfig = e.transport(1).TLSClientConfig
	}

	var recording, stopping atomic.Bool
	var errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]float64, conns)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fail := func(err error) {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
			var conn net.Conn
			var err error
			if tlsConfig != nil {
				conn, err = tls.Dial("tcp", u.Host, tlsConfig)
			} else {
				conn, err = net.Dial("tcp", u.Host)
			}
			if err != nil {
				fail(err)
				return
			}
			defer conn.Close()
			br := bufio.NewReaderSize(conn, 64<<10)
			samples := make([]float64, 0, 1<<16)
			for !stopping.Load() {
				start := time.Now()
				if _, err := conn.Write(request); err != nil {
					fail(err)
					return
				}
				if err := readResponse(br, method == "HEAD"); err != nil {
					fail(err)
					return
				}
				if recording.Load() {
					samples = append(samples, time.Since(start).Seconds()*1000)
				}
			}
			lat[i] = samples
		}(i)
	}
	time.Sleep(warmup)
	recording.Store(true)
	start := time.Now()
	time.Sleep(duration)
	recording.Store(false)
	elapsed := time.Since(start).Seconds()
	stopping.Store(true)
	wg.Wait()
	var all []float64
	for _, s := range lat {
		all = append(all, s...)
	}
	sort.Float64s(all)
	out := map[string]any{"requests": len(all), "seconds": elapsed, "req_per_s": float64(len(all)) / elapsed,
		"p50_ms": percentile(all, 50), "p99_ms": percentile(all, 99), "errors": errs.Load()}
	if e := firstErr.Load(); e != nil {
		out["first_error"] = e
	}
	return out
}

// readResponse reads one response; it must be 200. A HEAD response has no body whatever its
// Content-Length says; a GET body is read by Content-Length.
func readResponse(br *bufio.Reader, head bool) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("unexpected status line %q", bytes.TrimSpace(line))
	}
	length := int64(-1)
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 15 && (line[0] == 'C' || line[0] == 'c') && bytes.EqualFold(line[:15], []byte("content-length:")) {
			length, err = strconv.ParseInt(string(bytes.TrimSpace(line[15:])), 10, 64)
			if err != nil {
				return err
			}
		}
	}
	if head {
		return nil
	}
	if length < 0 {
		return fmt.Errorf("GET response without Content-Length")
	}
	_, err = io.CopyN(io.Discard, br, length)
	return err
}
