package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"daisydog/node"
)

const adminUsage = `daisydog admin create --data DIR --email ADDRESS [--url https://HOST:PORT]

Creates the FIRST administrator, once: it works only while the cluster has
no staff account. Run it on a server: the request is authorised by a
credential derived from the cluster key in DIR. The password is read from
$DAISYDOG_ADMIN_PASSWORD or, if unset, from the first line of standard input
(at least 12 characters). Then log in at POST /v1/admin/login and enrol TOTP;
further administrators and moderators are invited (POST /v1/admin/invites).
`

func cmdAdmin(args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(os.Stderr, adminUsage)
		return errors.New("admin needs a subcommand: create")
	}
	fs := flag.NewFlagSet("admin create", flag.ExitOnError)
	data := fs.String("data", "", "this server's data directory")
	email := fs.String("email", "", "the administrator's e-mail address")
	url := fs.String("url", "", "API base URL (default: this node's advertised HTTPS address)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *data == "" || *email == "" {
		return errors.New("--data and --email are required")
	}
	l := node.Layout{Dir: *data}
	nf, err := l.ReadNode()
	if err != nil {
		return err
	}
	token, err := node.BootstrapTokenFor(l)
	if err != nil {
		return err
	}
	password := os.Getenv("DAISYDOG_ADMIN_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	base := *url
	if base == "" {
		base = "https://" + nf.AdvertiseHTTP
	}
	caPEM, err := os.ReadFile(l.CACert())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	body, _ := json.Marshal(map[string]string{"email": *email, "password": password})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(base, "/")+"/v1/admin/bootstrap", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bootstrap "+token)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("bootstrap refused (%d): %s", res.StatusCode, strings.TrimSpace(string(out)))
	}
	fmt.Printf("administrator created: %s\nnext: log in with POST %s/v1/admin/login, then enrol TOTP with the secret it returns (POST /v1/admin/mfa)\n",
		strings.TrimSpace(string(out)), strings.TrimRight(base, "/"))
	return nil
}

// parsePrefixes parses a comma-separated list of CIDR prefixes or addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range splitList(s) {
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("--admin-allow: %q is not an address or CIDR prefix", p)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("--admin-allow: %q is not an address or CIDR prefix", p)
		}
		out = append(out, pf.Masked())
	}
	return out, nil
}
