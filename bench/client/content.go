package main

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// blockSize is the period of synthetic layer content: a 64 MiB pseudo-random block, repeated.
const blockSize = 64 << 20

// nonceLen bytes at the end of every synthetic blob make its digest unique per push, so every
// push stores a new blob, and no server can skip the write because the blob already exists.
const nonceLen = 16

// block returns the 64 MiB pseudo-random block for seed (ChaCha8, deterministic).
func block(seed uint64) []byte {
	b := make([]byte, blockSize)
	var key [32]byte
	for i := 0; i < 8; i++ {
		key[i] = byte(seed >> (8 * i))
	}
	r := rand.NewChaCha8(key)
	_, _ = r.Read(b)
	return b
}

// content is a synthetic blob of size bytes: the seed's block repeated, then a 16-byte nonce.
type content struct {
	blk   []byte
	size  int64
	nonce [nonceLen]byte
}

func newContent(blk []byte, size int64, nonce string) *content {
	if size < nonceLen {
		panic("blob smaller than its nonce")
	}
	c := &content{blk: blk, size: size}
	sum := sha256.Sum256([]byte(nonce))
	copy(c.nonce[:], sum[:nonceLen])
	return c
}

// at copies the bytes at [off, off+len(p)) into p.
func (c *content) at(p []byte, off int64) int {
	n := 0
	prefix := c.size - nonceLen
	for n < len(p) && off < c.size {
		if off < prefix {
			k := copy(p[n:], c.blk[off%blockSize:min(int64(blockSize), off%blockSize+prefix-off)])
			n += k
			off += int64(k)
		} else {
			k := copy(p[n:], c.nonce[off-prefix:])
			n += k
			off += int64(k)
		}
	}
	return n
}

// slice returns a view (no copy where possible) of up to max bytes at off.
func (c *content) slice(off int64, max int) []byte {
	prefix := c.size - nonceLen
	if off >= prefix {
		return c.nonce[off-prefix:]
	}
	start := off % blockSize
	end := min(int64(blockSize), start+int64(max), start+prefix-off)
	return c.blk[start:end]
}

// reader streams [off, end) of the content; WriteTo hands out 1 MiB slices with no copy.
type reader struct {
	c        *content
	off, end int64
}

func (c *content) reader(off, end int64) *reader { return &reader{c: c, off: off, end: end} }

func (r *reader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	if int64(len(p)) > r.end-r.off {
		p = p[:r.end-r.off]
	}
	n := r.c.at(p, r.off)
	r.off += int64(n)
	return n, nil
}

func (r *reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.off < r.end {
		s := r.c.slice(r.off, int(min(int64(1<<20), r.end-r.off)))
		n, err := w.Write(s)
		total += int64(n)
		r.off += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// digest is the content's sha256 digest. The hash of the repeated prefix is computed once per
// (seed, size) and its state saved in stateDir, so a push costs the client no hashing.
func (c *content) digest(seed uint64, stateDir string) (string, error) {
	prefix := c.size - nonceLen
	h := sha256.New()
	file := ""
	if stateDir != "" {
		file = filepath.Join(stateDir, fmt.Sprintf("sha256-state-%d-%d", seed, prefix))
		if saved, err := os.ReadFile(file); err == nil {
			if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); err == nil {
				return finish(h, c.nonce[:]), nil
			}
			h.Reset()
		}
	}
	if _, err := c.reader(0, prefix).WriteTo(h); err != nil {
		return "", err
	}
	if file != "" {
		if state, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
			tmp := file + ".tmp"
			if os.WriteFile(tmp, state, 0o644) == nil {
				_ = os.Rename(tmp, file)
			}
		}
	}
	return finish(h, c.nonce[:]), nil
}

func finish(h hash.Hash, tail []byte) string {
	h.Write(tail)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
