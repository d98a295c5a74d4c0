package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"daisydog/node"
	"daisydog/raftcluster"
	"daisydog/storage"
)

// cmdClusterCA is `daisydog cluster ca [status|stage|switch|finish|abort]`:
// the operator's side of a CA rotation (node/carotation.go).
func cmdClusterCA(ctx context.Context, l node.Layout, cl *raftcluster.Client, addr string, args []string) error {
	step := "status"
	if len(args) > 0 {
		step = args[0]
	}
	if len(args) > 1 {
		return errors.New("usage: daisydog cluster ca --data DIR [status|stage|switch|finish|abort]")
	}
	if step == "status" {
		return printCAStatus(ctx, l, cl, addr)
	}
	res, err := node.RotateCA(ctx, l, cl, addr, step)
	if err != nil {
		return err
	}
	fp := res.Fingerprint[:12]
	switch step {
	case storage.CAStage:
		fmt.Printf("staged the new cluster CA %s: every member trusts it beside the current one.\n", fp)
		fmt.Printf("Give API clients that pin the cluster CA the new one to trust as well (%s on every server), then run:\n", l.CANextCert())
		fmt.Printf("  daisydog cluster ca --data %s switch\n", l.Dir)
	case storage.CASwitch:
		fmt.Printf("switched to the cluster CA %s: every member presents a certificate from it; both CAs are still trusted.\n", fp)
		fmt.Printf("New join token (the old one no longer works):\n  %s\n", res.JoinToken)
		fmt.Printf("When API clients trust %s, stop trusting the old CA with:\n  daisydog cluster ca --data %s finish\n", l.CACert(), l.Dir)
	case storage.CAFinish:
		fmt.Printf("finished: the cluster trusts the CA %s alone; certificates from the old CA are refused.\n", fp)
	case storage.CAAbort:
		fmt.Printf("aborted the rotation to %s: the current CA alone is trusted again.\n", fp)
	}
	return nil
}

// printCAStatus shows each member's certificate issuer and trusted CAs.
func printCAStatus(ctx context.Context, l node.Layout, cl *raftcluster.Client, addr string) error {
	members, err := node.CAMembers(ctx, cl, addr)
	if err != nil {
		return err
	}
	local := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return "-"
		}
		ca, err := raftcluster.LoadCA(b, nil)
		if err != nil {
			return "unreadable"
		}
		return shortFP(ca.Fingerprint())
	}
	fmt.Printf("this server: CA %s, staged %s, previous %s\n", local(l.CACert()), local(l.CANextCert()), local(l.CAPrevCert()))
	fmt.Printf("%-12s %-22s %-13s %s\n", "MEMBER", "ADDRESS", "PRESENTS", "TRUSTS")
	for _, m := range members {
		if !m.Answered {
			fmt.Printf("%-12s %-22s %-13s %s\n", m.ID, m.Address, "?", "no answer: "+m.Err)
			continue
		}
		trusted := make([]string, len(m.Trusted))
		for i, t := range m.Trusted {
			trusted[i] = shortFP(t)
		}
		fmt.Printf("%-12s %-22s %-13s %s\n", m.ID, m.Address, shortFP(m.Issuer), strings.Join(trusted, ", "))
	}
	return nil
}

// shortFP is the first 12 hex digits of a fingerprint ("-" for none).
func shortFP(fp string) string {
	switch {
	case fp == "":
		return "-"
	case len(fp) > 12:
		return fp[:12]
	}
	return fp
}
