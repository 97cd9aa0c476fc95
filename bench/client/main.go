// Command benchclient is the small registry client bench/run.sh drives: it pushes and pulls
// synthetic blobs and images against one server and prints one JSON object of measurements.
//
//	benchclient <command> [flags]
//
// Commands: push, pull, seed-blob, seed-image, pulls, catalog, ci, load, soak, wait-ready, limits.
// Every command takes -url, -user, -pass and -cacert (a PEM CA for https URLs).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var e endpoint
	fs.StringVar(&e.base, "url", "", "registry base URL, e.g. http://127.0.0.1:15001")
	fs.StringVar(&e.user, "user", "", "basic auth user")
	fs.StringVar(&e.pass, "pass", "", "basic auth password")
	fs.StringVar(&e.cacert, "cacert", "", "PEM CA certificate trusted for https")
	stateDir := fs.String("state", "", "directory that caches SHA-256 states of synthetic content")
	repo := fs.String("repo", "bench/blob", "repository")
	tag := fs.String("tag", "v1", "tag")
	size := fs.Int64("size", 1<<30, "blob size in bytes")
	seed := fs.Uint64("seed", 1, "content seed")
	nonce := fs.String("nonce", "", "makes the content (and digest) unique")
	mode := fs.String("mode", "stream", "push mode: stream (one chunked PATCH) or chunked (PATCH per -chunk)")
	chunk := fs.Int64("chunk", 8<<20, "bytes per PATCH in chunked mode")
	digest := fs.String("digest", "", "blob digest")
	from := fs.Int64("from", 0, "Range start for pull (0: full GET)")
	layers := fs.Int("layers", 4, "layers per image")
	layerSize := fs.Int64("layer-size", 50<<20, "bytes per layer")
	concurrency := fs.Int("concurrency", 64, "concurrent clients")
	waves := fs.Int("waves", 1, "pull waves (pulls: each wave starts -concurrency pulls at once)")
	blobs := fs.Int("blobs", 2000, "ci: small blobs to push")
	manifests := fs.Int("manifests", 200, "ci: manifests to push (blobs are split evenly among them)")
	blobSize := fs.Int("blob-size", 8<<10, "ci: bytes per small blob")
	repos := fs.Int("repos", 8, "ci: repositories the jobs are spread over")
	sinceNs := fs.Int64("since-ns", 0, "wait-ready: the process start time, Unix ns")
	timeout := fs.Duration("timeout", 60*time.Second, "wait-ready: give up after")
	dir := fs.String("dir", "", "limits: directory on the disk under test")
	method := fs.String("method", "HEAD", "load: HEAD or GET")
	path := fs.String("path", "", "load: request path")
	accept := fs.String("accept", ociManifest, "load: Accept header")
	warmup := fs.Duration("warmup", 2*time.Second, "load: warm-up before measuring")
	duration := fs.Duration("duration", 10*time.Second, "load, soak: measured time")
	interval := fs.Duration("interval", time.Minute, "soak: one report line per interval")
	pageSize := fs.Int("n", 1000, "catalog: repositories per page")
	must(fs.Parse(args))

	out := map[string]any{}
	switch cmd {
	case "push":
		r := e.registry(4)
		c := newContent(block(*seed), *size, *nonce)
		d, err := c.digest(*seed, *stateDir)
		must(err)
		start := time.Now()
		var commit time.Duration
		switch *mode {
		case "stream":
			commit = r.pushStreamed(*repo, c, d)
		case "chunked":
			commit = r.pushChunked(*repo, c, d, *chunk)
		default:
			fatalf("unknown -mode %q", *mode)
		}
		secs := time.Since(start).Seconds()
		out["seconds"] = secs
		out["commit_seconds"] = commit.Seconds() // the final PUT alone
		out["bytes"] = c.size
		out["mib_per_s"] = float64(c.size) / (1 << 20) / secs
		out["digest"] = d
	case "seed-blob":
		r := e.registry(4)
		c := newContent(block(*seed), *size, *nonce)
		d, err := c.digest(*seed, *stateDir)
		must(err)
		r.pushMonolithic(*repo, c.reader(0, c.size), c.size, d)
		out["digest"] = d
		out["bytes"] = c.size
	case "pull":
		r := e.registry(4)
		start := time.Now()
		n := r.get("/v2/"+*repo+"/blobs/"+*digest, *from, "")
		secs := time.Since(start).Seconds()
		out["seconds"] = secs
		out["bytes"] = n
		out["mib_per_s"] = float64(n) / (1 << 20) / secs
	case "seed-image":
		r := e.registry(8)
		out["digest"] = seedImage(r, *repo, *tag, *layers, *layerSize, *seed, *stateDir)
	case "pulls":
		for k, v := range concurrentPulls(e, *repo, *tag, *concurrency, *waves) {
			out[k] = v
		}
	case "catalog":
		for k, v := range catalog(e, *pageSize) {
			out[k] = v
		}
	case "ci":
		for k, v := range ciPush(e, *nonce, *blobs, *manifests, *blobSize, *repos, *concurrency) {
			out[k] = v
		}
	case "load":
		for k, v := range load(e, *method, *path, *accept, *concurrency, *warmup, *duration) {
			out[k] = v
		}
	case "soak":
		for k, v := range soak(e, *concurrency, *duration, *interval, *blobSize) {
			out[k] = v
		}
	case "wait-ready":
		out["ms"] = waitReady(e, *sinceNs, *timeout)
	case "limits":
		if *dir == "" {
			fatalf("limits needs -dir")
		}
		for k, v := range limits(*size, *seed, *dir) {
			out[k] = v
		}
	default:
		usage()
	}
	b, err := json.Marshal(out)
	must(err)
	fmt.Println(string(b))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchclient push|pull|seed-blob|seed-image|pulls|catalog|ci|load|soak|wait-ready|limits [flags]")
	os.Exit(2)
}

func must(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchclient: "+strings.TrimSuffix(format, "\n")+"\n", args...)
	os.Exit(1)
}
