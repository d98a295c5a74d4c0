package main

import (
	"errors"
	"io"

	"daisydog/node/api"
)

// cmdMonitoring prints the suggested Prometheus alerting rules or the
// Grafana dashboard (the files under deploy/prometheus and deploy/grafana
// are this output).
func cmdMonitoring(w io.Writer, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: daisydog monitoring alerts|dashboard")
	}
	switch args[0] {
	case "alerts":
		return api.WriteAlertRules(w, api.AlertRules())
	case "dashboard":
		return api.WriteDashboard(w, api.DashboardPanels())
	}
	return errors.New("usage: daisydog monitoring alerts|dashboard (unknown " + args[0] + ")")
}
