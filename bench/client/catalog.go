package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// catalog lists every repository with GET /v2/_catalog?n=<page>, following the Link header page by page on one
// keep-alive connection, as a mirroring tool or a registry UI does. It returns the time from the first request to
// the last page's last byte, the pages and the repositories counted.
func catalog(e endpoint, page int) map[string]any {
	r := e.registry(1)
	next := "/v2/_catalog?n=" + strconv.Itoa(page)
	repos, pages := 0, 0
	start := time.Now()
	for next != "" {
		req := r.request(http.MethodGet, next, nil)
		resp, err := r.client.Do(req)
		if err != nil {
			fatalf("GET %s: %v", next, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			fatalf("GET %s: status %d, %v: %.200s", next, resp.StatusCode, err, b)
		}
		var c struct {
			Repositories []string `json:"repositories"`
		}
		must(json.Unmarshal(b, &c))
		repos += len(c.Repositories)
		pages++
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			// registry:2's form: </v2/_catalog?last=x&n=1000>; rel="next"
			if i, j := strings.IndexByte(l, '<'), strings.IndexByte(l, '>'); i >= 0 && j > i {
				next = r.location(&http.Response{Header: http.Header{"Location": {l[i+1 : j]}}, Request: req})
			}
		}
	}
	secs := time.Since(start).Seconds()
	return map[string]any{"seconds": secs, "repositories": repos, "pages": pages}
}
