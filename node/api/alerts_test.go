package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"daisydog/node/mail"
	"daisydog/policies/sdk"
	"daisydog/storage"
)

// TestAlertTopics: what a parent's alert says for each category the policy
// escalates; nothing at all when the turn discloses abuse (the alert could
// reach the abuser: the support flow and moderators handle it); one line
// per topic however many categories share it; a neutral line for
// categories without a wording of their own.
func TestAlertTopics(t *testing.T) {
	for _, tc := range []struct {
		categories []string
		want       []string // nil: no alert
	}{
		{[]string{sdk.CategorySelfHarm}, []string{"may be thinking about hurting themselves"}},
		{[]string{sdk.CategoryEmergency}, []string{"may be in an emergency"}},
		{[]string{sdk.CategoryGrooming}, []string{"may be talking with someone who asks for secrets, gifts, photos or a meeting"}},
		{[]string{sdk.CategoryPIISolicitation}, []string{"may have been asked for personal details"}},
		{[]string{sdk.CategorySexualMinors, sdk.CategorySexual}, []string{"wrote about something sexual"}},
		{[]string{sdk.CategoryViolence, sdk.CategoryWeapons}, []string{"wrote about violence or weapons"}},
		{[]string{sdk.CategoryDangerousActs}, []string{"wrote about something dangerous to do"}},
		{[]string{sdk.CategorySubstances}, []string{"wrote about drugs or alcohol"}},
		{[]string{sdk.CategoryHate, sdk.CategoryHarassment}, []string{"wrote about hate or bullying"}},
		{[]string{sdk.CategoryScam}, []string{"may have met a scam"}},
		{[]string{sdk.CategoryGrooming, sdk.CategorySelfHarm}, []string{
			"may be talking with someone who asks for secrets, gifts, photos or a meeting", "may be thinking about hurting themselves"}},
		{[]string{"something_new"}, []string{"wrote something Daisy's safety check flagged"}},
		{nil, []string{"wrote something Daisy's safety check flagged"}},
		{[]string{sdk.CategorySelfHarm, sdk.CategoryAbuseDisclosure}, nil},
		{[]string{sdk.CategoryAbuseDisclosure}, nil},
	} {
		got := AlertTopics(tc.categories)
		if !slices.Equal(got, tc.want) {
			t.Errorf("AlertTopics(%v) = %q, want %q", tc.categories, got, tc.want)
		}
		for _, line := range got {
			if strings.Contains(line, "_") {
				t.Errorf("AlertTopics(%v): %q shows a category name to a parent", tc.categories, line)
			}
		}
	}
}

// TestOpenOutboxMessage: a queued e-mail opens only under its own row's
// label and cluster key, and only as what the API sealed.
func TestOpenOutboxMessage(t *testing.T) {
	keys, err := storage.NewKeyring(bytes.Repeat([]byte{9}, storage.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := storage.NewKeyring(bytes.Repeat([]byte{10}, storage.KeySize))
	b, _ := json.Marshal(OutboxMessage{To: "p@example.com", Subject: "s", Body: "code 123", Kind: "verify_email"})
	sealed, err := keys.SealSecret(storage.MailLabel("ml_1"), b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := OpenOutboxMessage(keys, "ml_1", sealed)
	if err != nil || m != (mail.Message{To: "p@example.com", Subject: "s", Body: "code 123", Kind: "verify_email"}) {
		t.Fatalf("open: %+v %v", m, err)
	}
	if _, err := OpenOutboxMessage(keys, "ml_2", sealed); err == nil || !strings.Contains(err.Error(), "open queued e-mail") {
		t.Fatalf("another row's label: %v", err)
	}
	if _, err := OpenOutboxMessage(other, "ml_1", sealed); err == nil {
		t.Fatal("another cluster key opened it")
	}
	junk, _ := keys.SealSecret(storage.MailLabel("ml_3"), []byte("not json"))
	if _, err := OpenOutboxMessage(keys, "ml_3", junk); err == nil || !strings.Contains(err.Error(), "decode queued e-mail") {
		t.Fatalf("not an e-mail: %v", err)
	}
}
