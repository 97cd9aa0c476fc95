// Command s3limit is bench/s3.sh's physical limit and seeder: it talks to the S3 server directly with
// aws-sdk-go-v2, with no registry in between, and prints one JSON object of measurements.
//
//	s3limit <command> [flags]
//
// Commands:
//
//	put            a multipart upload of -size synthetic bytes (bench/client's content: the seed's 64 MiB
//	               ChaCha8 block repeated) with feature/s3/manager's Uploader, -part bytes per part, -concurrency
//	               parts in flight; MiB/s from the first request to CompleteMultipartUpload's answer
//	get            one GetObject of -key, streamed and discarded; MiB/s
//	gets           -concurrency GetObjects of -key at once, each on its own connection; p50, p99, aggregate MiB/s
//	list           ListObjectsV2 of -prefix with -delimiter, every page; seconds and the count of keys and prefixes
//	seed-catalog   registry:2's keys for -repos repositories cat/r00000... under -prefix (<root>/docker/registry/v2/),
//	               each an OCI image (a config blob, no layers) tagged v1; -concurrency PutObjects in flight
//	delete         DeleteObject -key
//
// The server, bucket and keys come from -endpoint, -bucket, S3_ACCESS_KEY and S3_SECRET_KEY. Payloads are sent
// UNSIGNED-PAYLOAD and without the SDK's optional checksums (-signed: SigV4 over the payload's SHA-256, as a
// registry's SDK does on plain http), so the default is what the server itself can take.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const blockSize = 64 << 20

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: s3limit put|get|gets|list|seed-catalog|delete [flags]")
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	endpoint := fs.String("endpoint", "", "S3 server URL, e.g. http://127.0.0.1:15400")
	bucket := fs.String("bucket", "registry", "bucket")
	key := fs.String("key", "", "object key")
	size := fs.Int64("size", 1<<30, "put: bytes")
	seed := fs.Uint64("seed", 1, "put: content seed (bench/client's)")
	part := fs.Int64("part", 10<<20, "put: bytes per part")
	concurrency := fs.Int("concurrency", 4, "put: parts in flight; gets: GETs at once; seed-catalog: PUTs in flight")
	signed := fs.Bool("signed", false, "sign the payload's SHA-256 and let the SDK add its checksums")
	prefix := fs.String("prefix", "", "list, seed-catalog: key prefix")
	delimiter := fs.String("delimiter", "", "list: delimiter")
	repos := fs.Int("repos", 10000, "seed-catalog: repositories")
	must(fs.Parse(args))

	conns := max(*concurrency, 4) + 4
	client := newClient(*endpoint, conns, *signed)
	ctx := context.Background()
	out := map[string]any{}
	switch cmd {
	case "put":
		up := manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = *part
			u.Concurrency = *concurrency
		})
		body := &synthetic{blk: block(*seed), size: *size}
		start := time.Now()
		_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: bucket, Key: key, Body: body})
		must(err)
		rate(out, *size, time.Since(start))
	case "get":
		start := time.Now()
		n := get(ctx, client, *bucket, *key)
		rate(out, n, time.Since(start))
	case "gets":
		secs := make([]float64, *concurrency)
		var wg sync.WaitGroup
		var total int64
		var mu sync.Mutex
		start := time.Now()
		for i := range *concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newClient(*endpoint, 2, *signed) // its own connection, as a node's pull
				t := time.Now()
				n := get(ctx, c, *bucket, *key)
				secs[i] = time.Since(t).Seconds()
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		wall := time.Since(start).Seconds()
		sort.Float64s(secs)
		out["p50"] = secs[(len(secs)+1)/2-1]
		out["p99"] = secs[(len(secs)*99+99)/100-1]
		out["seconds"] = wall
		out["mib_per_s"] = float64(total) / (1 << 20) / wall
	case "list":
		start := time.Now()
		keys, prefixes, pages := 0, 0, 0
		in := &s3.ListObjectsV2Input{Bucket: bucket, Prefix: prefix, MaxKeys: aws.Int32(1000)}
		if *delimiter != "" {
			in.Delimiter = delimiter
		}
		for p := s3.NewListObjectsV2Paginator(client, in); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			must(err)
			keys += len(page.Contents)
			prefixes += len(page.CommonPrefixes)
			pages++
		}
		out["seconds"] = time.Since(start).Seconds()
		out["keys"] = keys
		out["prefixes"] = prefixes
		out["pages"] = pages
	case "seed-catalog":
		out["seconds"], out["objects"] = seedCatalog(ctx, client, *bucket, *prefix, *repos, *concurrency)
	case "delete":
		_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: key})
		must(err)
	default:
		fatalf("unknown command %q", cmd)
	}
	b, err := json.Marshal(out)
	must(err)
	fmt.Println(string(b))
}

func newClient(endpoint string, conns int, signed bool) *s3.Client {
	if endpoint == "" {
		fatalf("-endpoint is required")
	}
	access, secret := os.Getenv("S3_ACCESS_KEY"), os.Getenv("S3_SECRET_KEY")
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}
	opts := s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: access, SecretAccessKey: secret}, nil
		}),
		HTTPClient:                 &http.Client{Transport: tr},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if signed {
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	} else {
		opts.APIOptions = append(opts.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}
	return s3.New(opts)
}

func get(ctx context.Context, c *s3.Client, bucket, key string) int64 {
	resp, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	must(err)
	defer resp.Body.Close()
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
	must(err)
	if resp.ContentLength != nil && n != *resp.ContentLength {
		fatalf("GET %s: %d bytes, not %d", key, n, *resp.ContentLength)
	}
	return n
}

func rate(out map[string]any, n int64, d time.Duration) {
	out["seconds"] = d.Seconds()
	out["bytes"] = n
	out["mib_per_s"] = float64(n) / (1 << 20) / d.Seconds()
}

// block is bench/client's content block: 64 MiB from ChaCha8 keyed by the seed (content.go, block()).
func block(seed uint64) []byte {
	b := make([]byte, blockSize)
	var k [32]byte
	for i := 0; i < 8; i++ {
		k[i] = byte(seed >> (8 * i))
	}
	r := rand.NewChaCha8(k)
	_, _ = r.Read(b)
	return b
}

// synthetic is size bytes of the block repeated: an io.Reader that is not a ReadSeeker, so the Uploader reads it
// into pooled part buffers, as a registry reads a client's upload stream.
type synthetic struct {
	blk       []byte
	size, off int64
}

func (s *synthetic) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.off < s.size {
		i := s.off % blockSize
		k := copy(p[n:], s.blk[i:min(int64(blockSize), i+s.size-s.off)])
		n += k
		s.off += int64(k)
	}
	return n, nil
}

// seedCatalog writes, for each repository, what registry:2 writes when an image is pushed and tagged: the tag's
// current and index links, the manifest revision's link and the config's layer link; the two blobs once.
func seedCatalog(ctx context.Context, c *s3.Client, bucket, prefix string, repos, concurrency int) (float64, int) {
	prefix = strings.TrimSuffix(prefix, "/") + "/"
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
	cd := digest(config)
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}`, cd, len(config)))
	md := digest(manifest)
	blob := func(d string) string {
		h := strings.TrimPrefix(d, "sha256:")
		return prefix + "blobs/sha256/" + h[:2] + "/" + h + "/data"
	}
	type obj struct {
		key  string
		body []byte
	}
	jobs := make(chan obj, 1024)
	var wg sync.WaitGroup
	count := 0
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range jobs {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &o.key, Body: bytes.NewReader(o.body),
					ContentLength: aws.Int64(int64(len(o.body)))})
				must(err)
			}
		}()
	}
	jobs <- obj{blob(cd), config}
	jobs <- obj{blob(md), manifest}
	count += 2
	mh, ch := strings.TrimPrefix(md, "sha256:"), strings.TrimPrefix(cd, "sha256:")
	for i := range repos {
		r := fmt.Sprintf("%srepositories/cat/r%05d/", prefix, i)
		for _, k := range []string{
			"_manifests/tags/v1/current/link",
			"_manifests/tags/v1/index/sha256/" + mh + "/link",
			"_manifests/revisions/sha256/" + mh + "/link",
		} {
			jobs <- obj{r + k, []byte(md)}
		}
		jobs <- obj{r + "_layers/sha256/" + ch + "/link", []byte(cd)}
		count += 4
	}
	close(jobs)
	wg.Wait()
	return time.Since(start).Seconds(), count
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func must(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "s3limit: "+strings.TrimSuffix(format, "\n")+"\n", args...)
	os.Exit(1)
}
