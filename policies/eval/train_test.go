package eval

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
)

// syntheticCases builds a small labelled set (made up here, not taken
// from any evaluation file): hateful statements about a made-up group and
// ordinary chat, from several sources so that leave-one-source-out runs.
func syntheticCases() []Case {
	var out []Case
	safe := []string{"i like my dog", "we went to the park", "can you help with homework", "my cat is fluffy", "pizza is great", "i play football"}
	bad := []string{"all zorblins are vermin", "zorblins should be wiped out", "i despise every zorblin", "zorblins are subhuman filth", "get rid of the zorblins"}
	for i := range 60 {
		src := fmt.Sprintf("src%d", i%3)
		out = append(out, Case{ID: fmt.Sprintf("s%d", i), Source: src, Label: LabelSafe, Category: "none", Direction: "input",
			Text: fmt.Sprintf("%s %d", safe[i%len(safe)], i)})
		out = append(out, Case{ID: fmt.Sprintf("u%d", i), Source: src, Label: LabelUnsafe, Category: "hate", Direction: "input",
			Text: fmt.Sprintf("%s %d", bad[i%len(bad)], i)})
	}
	return out
}

func TestTrainDeterministicAndHeldOut(t *testing.T) {
	opt := TrainOptions{Bits: 10, Epochs: 3, Folds: 3}
	res1, err := Train(context.Background(), syntheticCases(), opt, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := Train(context.Background(), syntheticCases(), opt, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := res1.Model.MarshalBinary()
	b2, _ := res2.Model.MarshalBinary()
	if !bytes.Equal(b1, b2) {
		t.Fatal("same data and options gave different models")
	}
	if len(res1.CV) != 3 || len(res1.LOSO) != 3 {
		t.Fatalf("want 3 sources in CV and LOSO, got %d and %d", len(res1.CV), len(res1.LOSO))
	}
	// The hate head must have learnt the made-up group: held-out recall
	// on unsafe rows is high although no rule knows the word.
	caught, unsafe := 0, 0
	for _, g := range res1.CV {
		caught += g.Caught
		unsafe += g.Unsafe
	}
	if unsafe == 0 || float64(caught)/float64(unsafe) < 0.8 {
		t.Fatalf("held-out recall %d/%d: the model did not learn", caught, unsafe)
	}
	var buf bytes.Buffer
	WriteTrainTable(&buf, res1)
	if !bytes.Contains(buf.Bytes(), []byte("leave-one-source-out")) {
		t.Fatal("table lacks the leave-one-source-out part")
	}
}

func TestTrainRefusesEmpty(t *testing.T) {
	if _, err := Train(context.Background(), []Case{{ID: "x", Label: LabelUnknown}}, TrainOptions{}, io.Discard); err == nil {
		t.Fatal("training on nothing should fail")
	}
}
