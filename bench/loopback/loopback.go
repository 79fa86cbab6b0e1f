// Package loopback keeps the benchmark tools on this machine: they send
// load only to loopback addresses.
package loopback

import (
	"fmt"
	"net"
	"net/url"
)

// Check returns an error naming tool unless endpoint is an http(s) URL on
// a loopback address (127.0.0.0/8, ::1) or localhost.
func Check(tool, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("-endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-endpoint %q: want an http:// or https:// URL", endpoint)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-endpoint %q: %s only targets loopback addresses (127.0.0.0/8, ::1, localhost)", endpoint, tool)
}
