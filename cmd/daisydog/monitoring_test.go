package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestMonitoringCommand(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"alerts"}, "groups:", ""},
		{[]string{"dashboard"}, `"uid": "daisydog-edge"`, ""},
		{nil, "", "usage: daisydog monitoring"},
		{[]string{"graphs"}, "", "unknown graphs"},
		{[]string{"alerts", "dashboard"}, "", "usage"},
	} {
		var b bytes.Buffer
		err := cmdMonitoring(&b, tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%v: %v, output lacks %q", tc.args, err, tc.want)
		}
		if tc.args[0] == "dashboard" && !json.Valid(b.Bytes()) {
			t.Error("dashboard is not JSON")
		}
	}
}
