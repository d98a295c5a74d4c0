package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	mailer "daisydog/node/mail"
	"daisydog/policies/sdk"
	"daisydog/storage"
)

// Parent alerts. A turn the policy escalates (a child in crisis, someone
// asking for secrets, photos, a meeting or personal details, …) already
// raises a safety event for the moderators; the family's parents are told
// too, by e-mail, so that a grown-up who knows the child can check in:
//
//   - Only parents whose address is verified get it (an unverified
//     address may be someone else's).
//   - The e-mail names the child's nickname, the time and what kind of
//     thing Daisy noticed, in plain words — never the message itself: it
//     may hold what the policy redacted, and e-mail is not sealed. The
//     parent reads the turn in the parent console.
//   - At most one per child per AlertEvery, so a child who repeats
//     themselves does not flood the inbox.
//   - An abuse disclosure sends no e-mail to the parents (a product
//     decision to review, docs/safety.md): the person disclosed may be at
//     home. The turn is escalated to the moderators like every other.
//
// Delivery: once every member runs a binary with the replicated outbox
// (storage/alert_outbox.go, node/alertjob.go), the leader sends alerts from
// replicated state — at least once, never lost to a node's crash, the
// throttle cluster-wide. Before that (a rolling upgrade from an older
// release) and for escalations committed before the outbox started, the
// node that took the turn sends them here, right after it, through its
// in-memory mail queue (throttled per node).

// AlertEvery is the least time between two alerts about one child.
const AlertEvery = 15 * time.Minute

// alertThrottle remembers when each child's parents were last alerted.
type alertThrottle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func newAlertThrottle() *alertThrottle { return &alertThrottle{last: map[string]time.Time{}} }

// allow reports whether an alert about child may go out at now, and if so
// records it.
func (a *alertThrottle) allow(child string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.last[child]; ok && now.Sub(t) < AlertEvery && !now.Before(t) {
		return false
	}
	if len(a.last) >= 10000 {
		for id, t := range a.last {
			if now.Sub(t) >= AlertEvery {
				delete(a.last, id)
			}
		}
	}
	a.last[child] = now
	return true
}

// AlertTopics says, for a parent, what kind of thing the categories are;
// nothing when an alert must not go to the parents.
func AlertTopics(categories []string) []string {
	var out []string
	for _, c := range categories {
		var t string
		switch c {
		case sdk.CategoryAbuseDisclosure:
			return nil
		case sdk.CategorySelfHarm:
			t = "may be thinking about hurting themselves"
		case sdk.CategoryEmergency:
			t = "may be in an emergency"
		case sdk.CategoryGrooming:
			t = "may be talking with someone who asks for secrets, gifts, photos or a meeting"
		case sdk.CategoryPIISolicitation:
			t = "may have been asked for personal details"
		case sdk.CategorySexualMinors, sdk.CategorySexual:
			t = "wrote about something sexual"
		case sdk.CategoryViolence, sdk.CategoryWeapons:
			t = "wrote about violence or weapons"
		case sdk.CategoryDangerousActs:
			t = "wrote about something dangerous to do"
		case sdk.CategorySubstances:
			t = "wrote about drugs or alcohol"
		case sdk.CategoryHate, sdk.CategoryHarassment:
			t = "wrote about hate or bullying"
		case sdk.CategoryScam:
			t = "may have met a scam"
		default:
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = []string{"wrote something Daisy's safety check flagged"}
	}
	return out
}

// alertParents e-mails the child's verified parents about an escalated
// turn (see above). Failures are logged (without personal data) and never
// change the turn's answer: the safety event is stored either way.
func (s *Server) alertParents(ctx context.Context, a storage.Actor, child storage.ChildRow, dek []byte, categories []string, at time.Time, index uint64) {
	if s.Mail == nil || s.outboxDelivers(ctx, index) {
		return
	}
	topics := AlertTopics(categories)
	if len(topics) == 0 || !s.alerts.allow(child.ID, at) {
		return
	}
	recipients, err := s.DB.AlertRecipients(ctx, a)
	if err != nil {
		s.log.Warn("safety alert: reading the parents failed", "err", err)
		return
	}
	nick, err := storage.Unseal(dek, child.NicknameSealed, storage.FieldAAD(storage.FieldNickname, child.ID))
	if err != nil {
		s.log.Warn("safety alert: opening the nickname failed", "err", err)
		return
	}
	m := AlertMessage(string(nick), topics, at, s.MailLinkBase)
	for _, r := range recipients {
		email, err := storage.Unseal(dek, r.EmailSealed, storage.FieldAAD(storage.FieldEmail, r.ParentID))
		if err != nil {
			s.log.Warn("safety alert: opening an address failed", "err", err)
			continue
		}
		m.To = string(email)
		s.enqueue(m)
	}
}

// outboxDelivers reports whether the replicated outbox sends the alert of
// the turn committed at index: it started at an earlier log index. If the
// outbox cannot be read the turn's node sends it (a duplicate is better
// than a lost alert).
func (s *Server) outboxDelivers(ctx context.Context, index uint64) bool {
	o, err := s.DB.AlertOutboxState(ctx)
	return err == nil && o.Started && index > o.StartIndex
}

// HoldMessage is the e-mail to a child's verified parents when a
// moderator pauses the child's chat to reach the family (a safety hold
// with reason parent_contact_pending): no content, what it means, what to
// do.
func HoldMessage(nick string, at time.Time, linkBase string) mailer.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello from DaisyDog,\n\nOn %s a DaisyDog moderator paused %s's chat with Daisy, because something in it needs a grown-up from your family.\n\n",
		at.UTC().Format("Monday 2 January 2006 at 15:04 UTC"), nick)
	fmt.Fprintf(&b, "Nothing %s wrote has been deleted, and the chat will be back on as soon as the moderator has spoken with you. Please get in touch with the people who run DaisyDog for your family or school", nick)
	if linkBase != "" {
		fmt.Fprintf(&b, "; the parent console shows the pause: %s/ui/\n\n", strings.TrimRight(linkBase, "/"))
	} else {
		b.WriteString("; the parent console shows the pause.\n\n")
	}
	fmt.Fprintf(&b, "If you think %s is in danger right now, call your local emergency number.\n", nick)
	return mailer.Message{Subject: "DaisyDog: please get in touch about " + nick, Body: b.String(), Kind: "safety_hold"}
}

// AlertMessage is the e-mail (without its recipient).
func AlertMessage(nick string, topics []string, at time.Time, linkBase string) mailer.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello from DaisyDog,\n\nDaisy noticed something in %s's chat on %s that may need your attention: %s %s.\n\n",
		nick, at.UTC().Format("Monday 2 January 2006 at 15:04 UTC"), nick, strings.Join(topics, "; "))
	b.WriteString("Daisy answered gently and kept the chat safe. The message itself is not in this e-mail; ")
	if linkBase != "" {
		fmt.Fprintf(&b, "you can read it in the parent console: %s/ui/\n\n", strings.TrimRight(linkBase, "/"))
	} else {
		b.WriteString("you can read it in the parent console.\n\n")
	}
	fmt.Fprintf(&b, "If you think %s is in danger right now, call your local emergency number.\n\n", nick)
	fmt.Fprintf(&b, "You get at most one of these e-mails about %s every %d minutes.\n", nick, int(AlertEvery/time.Minute))
	return mailer.Message{Subject: "DaisyDog: please check in with " + nick, Body: b.String(), Kind: "safety_alert"}
}
