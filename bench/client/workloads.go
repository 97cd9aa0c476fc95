package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// concurrentPulls starts `concurrency` pulls at once, `waves` times. A pull is what a node does:
// GET the manifest by tag, then the config and each layer in turn, on its own connection pool.
func concurrentPulls(e endpoint, repo, tag string, concurrency, waves int) map[string]any {
	var durations []float64
	var total int64
	var mu sync.Mutex
	wallStart := time.Now()
	for w := 0; w < waves; w++ {
		var ready, done sync.WaitGroup
		gate := make(chan struct{})
		for i := 0; i < concurrency; i++ {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				r := e.registry(2)
				defer r.client.CloseIdleConnections()
				ready.Done()
				<-gate
				start := time.Now()
				var m manifest
				must(json.Unmarshal(r.getBytes("/v2/"+repo+"/manifests/"+tag, acceptAll), &m))
				n := r.get("/v2/"+repo+"/blobs/"+m.Config.Digest, 0, "")
				for _, l := range m.Layers {
					got := r.get("/v2/"+repo+"/blobs/"+l.Digest, 0, "")
					if got != l.Size {
						fatalf("layer %s: got %d bytes, want %d", l.Digest, got, l.Size)
					}
					n += got
				}
				d := time.Since(start).Seconds()
				mu.Lock()
				durations = append(durations, d)
				total += n
				mu.Unlock()
			}()
		}
		ready.Wait()
		close(gate)
		done.Wait()
	}
	wall := time.Since(wallStart).Seconds()
	sort.Float64s(durations)
	return map[string]any{
		"pulls": len(durations), "bytes": total, "wall": wall,
		"mib_per_s": float64(total) / (1 << 20) / wall,
		"p50":       percentile(durations, 50), "p99": percentile(durations, 99), "max": durations[len(durations)-1],
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// ciPush is a busy CI: `manifests` image pushes, `concurrency` at a time, spread over `repos`
// repositories. Each image is a config plus layers, all small unique blobs pushed as docker does
// (HEAD, POST, PATCH, PUT), then its manifest by tag.
func ciPush(e endpoint, nonce string, blobs, manifests, blobSize, repos, concurrency int) map[string]any {
	per := blobs / manifests
	if per < 2 {
		fatalf("ci: need at least 2 blobs per manifest (config + layer)")
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.registry(2)
			defer r.client.CloseIdleConnections()
			for j := range jobs {
				repo := fmt.Sprintf("ci/app%d", j%repos)
				var descs []descriptor
				for k := 0; k < per; k++ {
					b := smallBlob(nonce, j*per+k, blobSize)
					d := sha256Digest(b)
					r.pushSmall(repo, b, d)
					descs = append(descs, descriptor{MediaType: ociLayer, Digest: d, Size: int64(len(b))})
				}
				descs[0].MediaType = ociConfig
				r.putManifest(repo, fmt.Sprintf("build-%d", j), ociManifest, manifestBytes(descs[0], descs[1:]))
			}
		}()
	}
	for j := 0; j < manifests; j++ {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	secs := time.Since(start).Seconds()
	requests := manifests*per*4 + manifests
	return map[string]any{"seconds": secs, "blobs": manifests * per, "manifests": manifests,
		"requests": requests, "req_per_s": float64(requests) / secs}
}

// smallBlob is blobSize pseudo-random bytes unique to (nonce, i).
func smallBlob(nonce string, i, blobSize int) []byte {
	var key [32]byte
	copy(key[:], []byte(sha256Digest([]byte(fmt.Sprintf("%s/%d", nonce, i))))[7:39])
	b := make([]byte, blobSize)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// waitReady polls GET /v2/ every 2 ms until it answers 200 and returns the milliseconds since
// sinceNs (the harness's timestamp taken just before it started the server process).
func waitReady(e endpoint, sinceNs int64, timeout time.Duration) float64 {
	r := e.registry(1)
	r.client.Timeout = 2 * time.Second
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := r.client.Do(r.request(http.MethodGet, "/v2/", nil))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return float64(time.Now().UnixNano()-sinceNs) / 1e6
			}
			last = resp.Status
		} else {
			last = err.Error()
			if !errors.Is(err, syscall.ECONNREFUSED) {
				r.client.CloseIdleConnections()
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	fatalf("wait-ready %s: no 200 within %s (last: %s)", e.base, timeout, last)
	return 0
}

// limits measures what this machine can do with size bytes of the same synthetic content:
// SHA-256 in process, a sequential write to dir with the fsync policy of a blob commit (write, fsync
// the file, rename, fsync the directory) through the page cache and with O_DIRECT, and a copy over a
// loopback TCP socket.
func limits(size int64, seed uint64, dir string) map[string]any {
	c := newContent(block(seed), size, "limits")
	out := map[string]any{"bytes": size}

	start := time.Now()
	_, err := c.digest(seed, "")
	must(err)
	out["sha256_s"] = time.Since(start).Seconds()

	secs, err := durableWrite(c, dir, false)
	must(err)
	out["disk_fsync_s"] = secs
	// Berth writes uploads past their first 4 MiB with O_DIRECT; where the disk refuses it, say so.
	if secs, err := durableWrite(c, dir, true); err == nil {
		out["disk_direct_s"] = secs
	} else {
		fmt.Fprintf(os.Stderr, "limits: direct write: %v\n", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		conn, err := ln.Accept()
		must(err)
		n, _ := io.CopyBuffer(io.Discard, conn, make([]byte, 256<<10))
		conn.Close()
		got <- n
	}()
	start = time.Now()
	conn, err := net.Dial("tcp", ln.Addr().String())
	must(err)
	_, err = c.reader(0, c.size).WriteTo(conn)
	must(err)
	conn.Close()
	if n := <-got; n != size {
		fatalf("loopback: copied %d of %d bytes", n, size)
	}
	out["loopback_s"] = time.Since(start).Seconds()
	return out
}

// durableWrite writes c to a new file in dir, fsyncs it, renames it and fsyncs dir, and returns
// the seconds taken. With direct, whole 4 KiB blocks are written with O_DIRECT from one aligned 2 MiB
// buffer, as Berth writes uploads (one write at a time here; Berth overlaps them with hashing), and
// a partial last block through the page cache.
func durableWrite(c *content, dir string, direct bool) (float64, error) {
	tmp := filepath.Join(dir, fmt.Sprintf(".limits-%d.tmp", os.Getpid()))
	final := filepath.Join(dir, fmt.Sprintf(".limits-%d", os.Getpid()))
	defer os.Remove(tmp)
	defer os.Remove(final)
	start := time.Now()
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(tmp, flags, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if direct {
		const align, chunk = 4096, 2 << 20
		raw := make([]byte, chunk+align)
		skip := (align - int(uintptr(unsafe.Pointer(&raw[0]))&(align-1))) & (align - 1)
		buf := raw[skip : skip+chunk]
		whole := c.size - c.size%align
		for at := int64(0); at < whole; {
			n := c.at(buf[:min(int64(chunk), whole-at)], at)
			if _, err := f.WriteAt(buf[:n], at); err != nil {
				return 0, err
			}
			at += int64(n)
		}
		if whole < c.size {
			tail, err := os.OpenFile(tmp, os.O_WRONLY, 0)
			if err != nil {
				return 0, err
			}
			_, err = tail.WriteAt(buf[:c.at(buf[:c.size-whole], whole)], whole)
			tail.Close()
			if err != nil {
				return 0, err
			}
		}
	} else if _, err := c.reader(0, c.size).WriteTo(f); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return 0, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}
