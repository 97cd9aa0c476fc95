package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// soak runs a mixed workload from `workers` clients for `duration`: each worker owns a repository
// and pushes images (a shared base layer plus unique blobs), pulls its own and the shared base image
// (checking every digest), moves tags and deletes old images by digest, while the server's online
// GC runs. It prints one JSON line per interval (ops, errors, p50/p99 ms) to stdout and a totals
// line at the end. Any unexpected status or wrong digest is an error, never fatal.
func soak(e endpoint, workers int, duration, interval time.Duration, blobSize int) map[string]any {
	s := &soaker{e: e, blobSize: blobSize}
	base := e.registry(4)
	s.baseLayer = smallBlob("soak-base", 0, blobSize)
	s.baseDigest = sha256Digest(s.baseLayer)
	baseManifest := s.pushImage(base, "soak/base", "stable", [][]byte{s.baseLayer})
	if baseManifest == "" {
		fatalf("soak: cannot push the base image")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s.work(w, stop)
		}(w)
	}
	start := time.Now()
	ticker := time.NewTicker(interval)
	deadline := time.After(duration)
	enc := json.NewEncoder(os.Stdout)
	report := func() {
		ops, errs, lat := s.drain()
		line := map[string]any{"t_s": int(time.Since(start).Seconds()), "ops": ops, "errors": errs}
		if len(lat) > 0 {
			sort.Float64s(lat)
			line["p50_ms"] = percentile(lat, 50)
			line["p99_ms"] = percentile(lat, 99)
		}
		must(enc.Encode(line))
	}
loop:
	for {
		select {
		case <-ticker.C:
			report()
		case <-deadline:
			break loop
		}
	}
	close(stop)
	wg.Wait()
	report()
	return map[string]any{"seconds": time.Since(start).Seconds(), "ops": s.totalOps.Load(), "errors": s.totalErrors.Load(),
		"pushes": s.pushes.Load(), "pulls": s.pulls.Load(), "tag_moves": s.moves.Load(), "deletes": s.deletes.Load(),
		"first_errors": s.firstErrors()}
}

type soaker struct {
	e          endpoint
	blobSize   int
	baseLayer  []byte
	baseDigest string

	mu          sync.Mutex
	ops, errs   int64
	latencies   []float64
	errorSample []string

	totalOps, totalErrors, pushes, pulls, moves, deletes atomic.Int64
}

type liveImage struct {
	digest string
	tags   []string
	blobs  []string
}

func (s *soaker) work(w int, stop <-chan struct{}) {
	r := s.e.registry(4)
	repo := fmt.Sprintf("soak/w%d", w)
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	var live []liveImage
	n := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		started := time.Now()
		var ok bool
		switch op := rng.IntN(10); {
		case op < 3 || len(live) < 2: // push a new image: the shared base layer, two unique blobs
			n++
			tag := fmt.Sprintf("t%d", n)
			blobs := [][]byte{s.baseLayer, smallBlob(repo, 2*n, s.blobSize), smallBlob(repo, 2*n+1, s.blobSize)}
			d := s.pushImage(r, repo, tag, blobs)
			if ok = d != ""; ok {
				digests := []string{}
				for _, b := range blobs {
					digests = append(digests, sha256Digest(b))
				}
				live = append(live, liveImage{digest: d, tags: []string{tag}, blobs: digests})
				s.pushes.Add(1)
			}
		case op < 7: // pull one of this worker's images, or the shared base image
			if rng.IntN(4) == 0 {
				ok = s.pullImage(r, "soak/base", "stable", "", []string{s.baseDigest})
			} else {
				img := live[rng.IntN(len(live))]
				ok = s.pullImage(r, repo, img.tags[len(img.tags)-1], img.digest, img.blobs)
			}
			s.pulls.Add(1)
		case op < 9: // move a tag: tag an existing manifest again under a new name
			i := rng.IntN(len(live))
			n++
			tag := fmt.Sprintf("m%d", n)
			body, status := s.fetch(r, http.MethodGet, "/v2/"+repo+"/manifests/"+live[i].digest, acceptAll)
			if ok = status == http.StatusOK && sha256Digest(body) == live[i].digest; ok {
				ok = s.send(r, http.MethodPut, "/v2/"+repo+"/manifests/"+tag, ociManifest, body, http.StatusCreated)
				if ok {
					live[i].tags = append(live[i].tags, tag)
				}
			} else {
				s.fail(fmt.Sprintf("GET manifest %s in %s: status %d", live[i].digest, repo, status))
			}
			s.moves.Add(1)
		default: // delete the oldest image by digest; its blobs become garbage for the online GC
			img := live[0]
			live = live[1:]
			ok = s.send(r, http.MethodDelete, "/v2/"+repo+"/manifests/"+img.digest, "", nil, http.StatusAccepted)
			if ok {
				_, status := s.fetch(r, http.MethodGet, "/v2/"+repo+"/manifests/"+img.tags[0], acceptAll)
				if ok = status == http.StatusNotFound; !ok {
					s.fail(fmt.Sprintf("deleted %s in %s is still served by tag: %d", img.digest, repo, status))
				}
			}
			s.deletes.Add(1)
		}
		s.record(time.Since(started), ok)
	}
}

// pushImage pushes each blob (HEAD first, as docker does), a config, and the manifest by tag;
// it returns the manifest's digest, or "" after counting an error.
func (s *soaker) pushImage(r *registry, repo, tag string, layers [][]byte) string {
	cfg := configBlob(repo + ":" + tag)
	var descs []descriptor
	for _, b := range append([][]byte{cfg}, layers...) {
		d := sha256Digest(b)
		if _, status := s.fetch(r, http.MethodHead, "/v2/"+repo+"/blobs/"+d, ""); status != http.StatusOK {
			if !s.send(r, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d, "application/octet-stream", b, http.StatusCreated) {
				return ""
			}
		}
		descs = append(descs, descriptor{MediaType: ociLayer, Digest: d, Size: int64(len(b))})
	}
	descs[0].MediaType = ociConfig
	m := manifestBytes(descs[0], descs[1:])
	if !s.send(r, http.MethodPut, "/v2/"+repo+"/manifests/"+tag, ociManifest, m, http.StatusCreated) {
		return ""
	}
	return sha256Digest(m)
}

// pullImage gets the manifest by tag (checking its digest when known) and every listed blob,
// checking each blob's content against its digest.
func (s *soaker) pullImage(r *registry, repo, tag, want string, blobs []string) bool {
	body, status := s.fetch(r, http.MethodGet, "/v2/"+repo+"/manifests/"+tag, acceptAll)
	if status != http.StatusOK || (want != "" && sha256Digest(body) != want) {
		s.fail(fmt.Sprintf("GET %s:%s: status %d", repo, tag, status))
		return false
	}
	for _, d := range blobs {
		b, status := s.fetch(r, http.MethodGet, "/v2/"+repo+"/blobs/"+d, "")
		if status != http.StatusOK || sha256Digest(b) != d {
			s.fail(fmt.Sprintf("GET blob %s of %s: status %d, %d bytes", d, repo, status, len(b)))
			return false
		}
	}
	return true
}

func (s *soaker) fetch(r *registry, method, path, accept string) ([]byte, int) {
	req := r.request(method, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		s.fail(fmt.Sprintf("%s %s: %v", method, path, err))
		return nil, 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.fail(fmt.Sprintf("%s %s: reading the body: %v", method, path, err))
		return nil, 0
	}
	return b, resp.StatusCode
}

func (s *soaker) send(r *registry, method, path, contentType string, body []byte, want int) bool {
	req := r.request(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.ContentLength = int64(len(body))
	resp, err := r.client.Do(req)
	if err != nil {
		s.fail(fmt.Sprintf("%s %s: %v", method, path, err))
		return false
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		s.fail(fmt.Sprintf("%s %s: status %d, want %d: %.200s", method, path, resp.StatusCode, want, msg))
		return false
	}
	return true
}

func (s *soaker) fail(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errorSample) < 20 {
		s.errorSample = append(s.errorSample, why)
	}
}

func (s *soaker) record(d time.Duration, ok bool) {
	s.totalOps.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops++
	if !ok {
		s.errs++
		s.totalErrors.Add(1)
	}
	s.latencies = append(s.latencies, float64(d.Microseconds())/1000)
}

func (s *soaker) drain() (int64, int64, []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops, errs, lat := s.ops, s.errs, s.latencies
	s.ops, s.errs, s.latencies = 0, 0, nil
	return ops, errs, lat
}

func (s *soaker) firstErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errorSample...)
}
