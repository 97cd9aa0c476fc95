package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
	ociLayer    = "application/vnd.oci.image.layer.v1.tar"
	acceptAll   = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
		"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

func manifestBytes(config descriptor, layers []descriptor) []byte {
	b, err := json.Marshal(manifest{SchemaVersion: 2, MediaType: ociManifest, Config: config, Layers: layers})
	must(err)
	return b
}

// configBlob is a minimal image config whose content is unique to label.
func configBlob(label string) []byte {
	return []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"bench":%q}}}`, label))
}

// seedImage pushes an image of `layers` synthetic layers of layerSize bytes each and tags it.
func seedImage(r *registry, repo, tag string, layers int, layerSize int64, seed uint64, stateDir string) string {
	blk := block(seed)
	descs := make([]descriptor, layers)
	var wg sync.WaitGroup
	for i := 0; i < layers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := newContent(blk, layerSize, fmt.Sprintf("%s:%s:layer%d", repo, tag, i))
			d, err := c.digest(seed, stateDir)
			must(err)
			r.pushMonolithic(repo, c.reader(0, c.size), c.size, d)
			descs[i] = descriptor{MediaType: ociLayer, Digest: d, Size: c.size}
		}(i)
	}
	wg.Wait()
	cfg := configBlob(repo + ":" + tag)
	cd := sha256Digest(cfg)
	r.pushMonolithic(repo, bytes.NewReader(cfg), int64(len(cfg)), cd)
	m := manifestBytes(descriptor{MediaType: ociConfig, Digest: cd, Size: int64(len(cfg))}, descs)
	r.putManifest(repo, tag, ociManifest, m)
	return sha256Digest(m)
}
